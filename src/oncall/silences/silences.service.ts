import type { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { toIso } from '../../db/codec.ts';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.ts';
import { badRequest, conflict, notFound } from '../../errors.ts';
import { newId } from '../../ids.ts';
import { activeWindowEnd, nextActiveStart, OPEN_ENDED } from './silence.ts';
import type { silenceCreateSchema, silenceOutSchema, silencePatchSchema } from './silence.schemas.ts';
import type { SilencesRepo, StoredSilence } from './silences.repo.ts';

export type SilenceView = z.infer<typeof silenceOutSchema>;
export type SilenceCreate = z.output<typeof silenceCreateSchema>;
export type SilencePatch = z.output<typeof silencePatchSchema>;
type SilenceState = SilenceView['status'];

/** `active` now, `pending` (will be active later), or `expired` (never again). */
export function silenceStatus(s: StoredSilence, at: Date): { status: SilenceState; next_change_at: string | null } {
  const end = activeWindowEnd(s, at);
  if (end) return { status: 'active', next_change_at: end.getTime() >= OPEN_ENDED.getTime() ? null : toIso(end) };
  const next = nextActiveStart(s, at);
  if (next) return { status: 'pending', next_change_at: toIso(next) };
  return { status: 'expired', next_change_at: null };
}

/** Checks the parts that depend on each other: the range and the need for an end. Throws 400. */
export function checkSilenceRange(s: { starts_at: string; ends_at: string | null; recurrence: unknown }): void {
  if (s.ends_at === null && !s.recurrence) throw badRequest('validation_failed', 'a silence without a recurrence needs ends_at', [{ path: 'body.ends_at', message: 'required without a recurrence' }]);
  if (s.ends_at !== null && s.ends_at <= s.starts_at) throw badRequest('validation_failed', 'ends_at must be after starts_at', [{ path: 'body.ends_at', message: 'must be after starts_at' }]);
}

/** A silence as the API shows it, with its status at `at`. */
export const presentSilence = (s: StoredSilence, at: Date): SilenceView => ({
  id: s.id,
  name: s.name,
  matchers: s.matchers,
  starts_at: s.starts_at,
  ends_at: s.ends_at,
  recurrence: s.recurrence,
  comment: s.comment,
  ...silenceStatus(s, at),
  created_by: s.created_by,
  created_at: s.created_at,
  updated_at: s.updated_at,
});

const nameTaken = (name: string | null | undefined) => conflict('silence_exists', `a silence named ${name} already exists`);

export function createSilencesService(deps: { db: Db; repo: SilencesRepo; clock: Clock }) {
  const { repo, clock } = deps;

  /** By id, or by name for named silences. */
  async function requireSilence(ref: string, tx: Db | Tx = deps.db): Promise<StoredSilence> {
    const found = (await repo.findById(ref, tx)) ?? (await repo.findByName(ref, tx));
    if (!found) throw notFound('silence', `silence ${ref} not found`);
    return found;
  }

  return {
    present: presentSilence,

    async list(state?: SilenceState): Promise<SilenceView[]> {
      const at = clock.now();
      // The status depends on recurring windows, so it is computed here rather than in SQL.
      const rows = await repo.list();
      return rows.map((s) => presentSilence(s, at)).filter((s) => !state || s.status === state);
    },

    async get(ref: string): Promise<SilenceView> {
      return presentSilence(await requireSilence(ref), clock.now());
    },

    async create(input: SilenceCreate, createdBy: string): Promise<SilenceView> {
      const now = clock.now();
      const row: StoredSilence = {
        id: newId(),
        name: input.name ?? null,
        matchers: input.matchers,
        starts_at: input.starts_at ?? toIso(now),
        ends_at: input.ends_at ?? null,
        recurrence: input.recurrence ?? null,
        comment: input.comment,
        created_by: createdBy,
        created_at: toIso(now),
        updated_at: toIso(now),
      };
      checkSilenceRange(row);
      try {
        await repo.insert(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(row.name);
        throw error;
      }
      return presentSilence(row, now);
    },

    async update(ref: string, patch: SilencePatch): Promise<SilenceView> {
      const existing = await requireSilence(ref);
      const now = clock.now();
      const next: StoredSilence = {
        ...existing,
        ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
        updated_at: toIso(now),
      };
      checkSilenceRange(next);
      try {
        await repo.update(existing.id, {
          name: next.name, matchers: next.matchers, starts_at: next.starts_at, ends_at: next.ends_at,
          recurrence: next.recurrence, comment: next.comment, updated_at: next.updated_at,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(next.name);
        throw error;
      }
      return presentSilence(next, now);
    },

    async remove(ref: string): Promise<void> {
      const existing = await requireSilence(ref);
      await repo.delete(existing.id);
    },
  };
}

export type SilencesService = ReturnType<typeof createSilencesService>;
