import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { toIso, toJson } from '../../db/codec.ts';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.ts';
import { AppError, badRequest, conflict, notFound } from '../../errors.ts';
import { newId, sha256Hex } from '../../ids.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import type { Principal } from '../../users/users.service.ts';
import { type FeedSchedule, memberIcalEntries, renderIcal, scheduleIcalEntries } from '../schedule/ical.ts';
import { type EntrySource, type LayerSpec, onCallAt, type RenderedSchedule, renderSchedule, type ScheduleEntry, type ScheduleSpec, validateSchedule } from '../schedule/schedule.ts';
import { layersOf, type OverrideRow, type ScheduleRepo, type ScheduleRow, type SwapRow } from './schedules.repo.ts';
import {
  type entrySchema, type LayerIn, type layerSchema, MAX_OVERRIDE_DAYS, MAX_RENDER_DAYS, type memberSchema, type overrideSchema,
  type scheduleSchema, type swapSchema,
} from './schedules.schemas.ts';

type Member = z.infer<typeof memberSchema>;
type MemberRow = { id: string; email: string; name: string };
const DAY_MS = 86_400_000;
/** How far ahead the on-call overview looks for gaps. */
const GAP_HORIZON_DAYS = 7;
/** onCallAt looks this far ahead for the next change; overrides starting within it matter. */
const ONCALL_LOOKAHEAD_DAYS = 91;
const FEED_PAST_DAYS = 30;
const FEED_FUTURE_DAYS = 180;

/** Raised when a file or request names people who are not users; `details` lists each with its path. */
export function unknownUsers(missing: { path: string; email: string }[]): AppError {
  const emails = [...new Set(missing.map((m) => m.email))];
  return badRequest('unknown_user', `no user ${emails.join(', ')} (create it first, or declare it under users)`,
    missing.map((m) => ({ path: m.path, message: `no user ${m.email}` })));
}

/** User ids for the emails at the given paths; throws `unknown_user` naming every missing one. */
export async function resolveEmails(repo: ScheduleRepo, refs: { path: string; email: string }[], tx?: Db | Tx): Promise<Map<string, string>> {
  const rows = await repo.usersByEmails(refs.map((r) => r.email), tx);
  const ids = new Map(rows.map((u) => [u.email, u.id]));
  const missing = refs.filter((r) => !ids.has(r.email.toLowerCase()));
  if (missing.length) throw unknownUsers(missing);
  return ids;
}

/** Every member email of the layers, with its path, for resolveEmails. */
export const layerMemberRefs = (layers: LayerIn[], prefix: string) =>
  layers.flatMap((layer, li) => layer.members.map((email, mi) => ({ path: `${prefix}layers.${li}.members.${mi}`, email })));

/** The stored layer (members as ids) in one canonical shape, so equal layers serialise equally. */
export function layerSpecOf(layer: LayerIn, ids: Map<string, string>): LayerSpec {
  const spec: LayerSpec = { name: layer.name, start: layer.start, rotation: layer.rotation, members: layer.members.map((e) => ids.get(e)!) };
  if (layer.end) spec.end = layer.end;
  if (layer.members_per_turn !== undefined && layer.members_per_turn !== 1) spec.members_per_turn = layer.members_per_turn;
  if (layer.restrictions?.length) spec.restrictions = layer.restrictions.map((r) => ({ ...(r.days ? { days: r.days } : {}), from: r.from, to: r.to }));
  return spec;
}

/** Problems the schedule algebra finds with these layers; throws `invalid_schedule` listing them. */
export function assertValidLayers(timeZone: string, layers: LayerSpec[], prefix = ''): void {
  const problems = validateSchedule({ timeZone, layers, overrides: [] });
  if (problems.length) {
    throw badRequest('invalid_schedule', `${prefix}the schedule has problems: ${problems.join('; ')}`, { problems: problems.map((p) => `${prefix}${p}`) });
  }
}

const sourceOut = (source: EntrySource) =>
  source.type === 'layer' ? { type: source.type, layer: source.layer } : source.type === 'override' ? { type: source.type, id: source.id } : { type: source.type };

/** A window [start, end) from an API request: end after start, at most `maxDays` long. */
function checkWindow(start: string, end: string, maxDays: number, what: string): { from: Date; to: Date } {
  const from = new Date(start);
  const to = new Date(end);
  if (!(to > from)) throw badRequest('invalid_window', `${what}: end must be after start`);
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) throw badRequest('window_too_long', `${what}: at most ${maxDays} days`);
  return { from, to };
}

/** The user behind the request; swaps and personal feeds need one (a token without a user has none). */
function userRequired(principal: Principal | null): string {
  if (!principal?.userId) throw new AppError('user_required', 403, 'this needs a signed-in user or a token that belongs to a user');
  return principal.userId;
}

/** A calendar feed key: 160 random bits, hex, so it sits in a URL as it is. */
const newFeedKey = () => randomBytes(20).toString('hex');

export function createSchedulesService(deps: { db: Db; repo: ScheduleRepo; clock: Clock; secrets: SecretBox; publicUrl: string }) {
  const { db, repo, clock, secrets, publicUrl } = deps;

  /** Looks members up once per request and presents them; a deleted user keeps its id, without an email. */
  async function memberDirectory(ids: Iterable<string>, tx?: Db | Tx) {
    const rows = await repo.usersByIds([...ids], tx);
    const byId = new Map<string, MemberRow>(rows.map((u) => [u.id, u]));
    return (id: string): Member => {
      const u = byId.get(id);
      return u ? { id: u.id, email: u.email, name: u.name } : { id, email: '', name: '(deleted user)' };
    };
  }

  async function presentSchedules(rows: ScheduleRow[]): Promise<z.input<typeof scheduleSchema>[]> {
    const layersById = new Map(rows.map((r) => [r.id, layersOf(r)]));
    const member = await memberDirectory([...layersById.values()].flat().flatMap((l) => l.members));
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      description: row.description,
      time_zone: row.time_zone,
      layers: layersById.get(row.id)!.map((l): z.input<typeof layerSchema> => ({
        name: l.name,
        start: l.start,
        end: l.end ?? null,
        rotation: l.rotation,
        members: l.members.map(member),
        members_per_turn: l.members_per_turn ?? 1,
        restrictions: l.restrictions ?? [],
      })),
      created_at: row.created_at,
      updated_at: row.updated_at,
    }));
  }

  async function presentOverrides(rows: OverrideRow[]): Promise<z.input<typeof overrideSchema>[]> {
    const member = await memberDirectory(rows.flatMap((o) => (o.replaces_user_id ? [o.user_id, o.replaces_user_id] : [o.user_id])));
    return rows.map((o) => ({
      id: o.id,
      name: o.name,
      user: member(o.user_id),
      replaces: o.replaces_user_id ? member(o.replaces_user_id) : null,
      start: o.starts_at,
      end: o.ends_at,
      reason: o.reason,
      created_by: o.created_by,
      created_at: o.created_at,
    }));
  }

  async function presentSwaps(rows: SwapRow[]): Promise<z.input<typeof swapSchema>[]> {
    const member = await memberDirectory(rows.flatMap((s) => (s.taker_id ? [s.requester_id, s.taker_id] : [s.requester_id])));
    return rows.map((s) => ({
      id: s.id,
      requester: member(s.requester_id),
      taker: s.taker_id ? member(s.taker_id) : null,
      override_id: s.override_id,
      start: s.starts_at,
      end: s.ends_at,
      status: s.status as 'open' | 'taken' | 'cancelled',
      note: s.note,
      created_at: s.created_at,
      updated_at: s.updated_at,
    }));
  }

  async function requireSchedule(name: string, tx?: Db | Tx): Promise<ScheduleRow> {
    const row = await repo.findByName(name, tx);
    if (!row) throw notFound('schedule', `schedule ${name} not found`);
    return row;
  }

  async function specOf(schedule: ScheduleRow, window: { from: Date; to: Date }, tx?: Db | Tx): Promise<ScheduleSpec> {
    const found = await repo.specFor(schedule.id, window, tx);
    if (!found) throw notFound('schedule', `schedule ${schedule.name} not found`);
    return found.spec;
  }

  const feedUrl = (key: string) => `${publicUrl}/calendar/${key}.ics`;

  async function rotateFeed(ownerType: 'schedule' | 'user', ownerId: string) {
    const key = newFeedKey();
    const now = toIso(clock.now());
    await repo.replaceFeed({ key_hash: sha256Hex(key), owner_type: ownerType, owner_id: ownerId, key_encrypted: secrets.encrypt(key), created_at: now });
    return { url: feedUrl(key), created_at: now };
  }

  async function currentFeed(ownerType: 'schedule' | 'user', ownerId: string) {
    const row = await repo.findFeed(ownerType, ownerId);
    return row ? { url: feedUrl(secrets.decrypt(row.key_encrypted)), created_at: row.created_at } : { url: null, created_at: null };
  }

  async function layerSpecsFrom(layers: LayerIn[], timeZone: string): Promise<LayerSpec[]> {
    const ids = await resolveEmails(repo, layerMemberRefs(layers, 'body.'));
    const specs = layers.map((l) => layerSpecOf(l, ids));
    assertValidLayers(timeZone, specs);
    return specs;
  }

  return {
    requireSchedule,
    presentSchedules,

    async list() {
      return presentSchedules(await repo.list());
    },

    async get(name: string) {
      return (await presentSchedules([await requireSchedule(name)]))[0];
    },

    async create(input: { name: string; description?: string; time_zone: string; layers: LayerIn[] }) {
      const layers = await layerSpecsFrom(input.layers, input.time_zone);
      const now = toIso(clock.now());
      const row: ScheduleRow = { id: newId(), name: input.name, description: input.description ?? '', time_zone: input.time_zone, layers: toJson(layers), created_at: now, updated_at: now };
      try {
        await repo.insert(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('schedule_exists', `a schedule named ${input.name} already exists`);
        throw error;
      }
      return (await presentSchedules([row]))[0];
    },

    async update(name: string, patch: { name?: string; description?: string; time_zone?: string; layers?: LayerIn[] }) {
      const schedule = await requireSchedule(name);
      const timeZone = patch.time_zone ?? schedule.time_zone;
      const layers = patch.layers ? await layerSpecsFrom(patch.layers, timeZone) : layersOf(schedule);
      // A new zone moves local layer starts: check the stored layers against it too.
      if (!patch.layers && patch.time_zone) assertValidLayers(timeZone, layers);
      try {
        await repo.update(schedule.id, {
          name: patch.name ?? schedule.name,
          description: patch.description ?? schedule.description,
          time_zone: timeZone,
          layers: toJson(layers),
          updated_at: toIso(clock.now()),
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('schedule_exists', `a schedule named ${patch.name} already exists`);
        throw error;
      }
      return (await presentSchedules([(await repo.findById(schedule.id))!]))[0];
    },

    async remove(name: string) {
      const schedule = await requireSchedule(name);
      await db.transaction().execute((tx) => repo.delete(schedule.id, tx));
    },

    /** The final schedule, each layer, the overrides and the gaps over [from, to), with member names. */
    async render(name: string, window: { from?: string; to?: string }) {
      const schedule = await requireSchedule(name);
      const from = window.from ? new Date(window.from) : clock.now();
      const to = window.to ? new Date(window.to) : new Date(from.getTime() + 7 * DAY_MS);
      if (!(to > from)) throw badRequest('invalid_window', 'to must be after from');
      if (to.getTime() - from.getTime() > MAX_RENDER_DAYS * DAY_MS) throw badRequest('window_too_long', `render at most ${MAX_RENDER_DAYS} days at a time`);
      const rendered = renderSchedule(await specOf(schedule, { from, to }), from, to);
      const all = [...rendered.final, ...rendered.layers.flatMap((l) => l.entries), ...rendered.overrides];
      const member = await memberDirectory(all.flatMap((e) => e.members));
      const entry = (e: ScheduleEntry): z.input<typeof entrySchema> => ({ start: toIso(e.start), end: toIso(e.end), members: e.members.map(member), source: sourceOut(e.source) });
      return {
        schedule: { id: schedule.id, name: schedule.name, time_zone: schedule.time_zone },
        from: toIso(from),
        to: toIso(to),
        final: rendered.final.map(entry),
        layers: rendered.layers.map((l) => ({ name: l.name, entries: l.entries.map(entry) })),
        overrides: rendered.overrides.map(entry),
        gaps: rendered.gaps.map((g) => ({ start: toIso(g.start), end: toIso(g.end) })),
      };
    },

    /** Who is on call at `at` (default now) on each schedule (or one), until when, and gaps in the next week. */
    async onCall(query: { schedule?: string; at?: string }) {
      const at = query.at ? new Date(query.at) : clock.now();
      const window = { from: at, to: new Date(at.getTime() + ONCALL_LOOKAHEAD_DAYS * DAY_MS) };
      const specs = query.schedule
        ? [{ schedule: await requireSchedule(query.schedule), spec: undefined }]
        : await repo.allSpecs(window);
      const results = [];
      for (const { schedule, spec: known } of specs) {
        const spec = known ?? await specOf(schedule, window);
        const ref = { id: schedule.id, name: schedule.name, time_zone: schedule.time_zone };
        try {
          const now = onCallAt(spec, at);
          const gaps = renderSchedule(spec, at, new Date(at.getTime() + GAP_HORIZON_DAYS * DAY_MS)).gaps;
          const problems: string[] = [];
          if (now.members.length === 0) problems.push('nobody is on call now');
          for (const g of gaps) {
            if (g.start.getTime() > at.getTime()) problems.push(`nobody is on call from ${toIso(g.start)} to ${toIso(g.end)}`);
          }
          results.push({ schedule: ref, members: now.members, until: now.until ? toIso(now.until) : null, source: sourceOut(now.source), gaps: gaps.map((g) => ({ start: toIso(g.start), end: toIso(g.end) })), problems });
        } catch (error) {
          // One broken schedule (say, a zone the runtime no longer knows) must not hide the others.
          if (!(error instanceof AppError)) throw error;
          results.push({ schedule: ref, members: [], until: null, source: { type: 'gap' as const }, gaps: [], problems: [error.message] });
        }
      }
      const member = await memberDirectory(results.flatMap((r) => r.members));
      return { at: toIso(at), schedules: results.map((r) => ({ ...r, members: r.members.map(member) })) };
    },

    // Overrides

    async listOverrides(name: string, window: { from?: string; to?: string }) {
      const schedule = await requireSchedule(name);
      const from = window.from ? new Date(window.from) : clock.now();
      const to = window.to ? new Date(window.to) : new Date('9999-12-31T00:00:00.000Z');
      return presentOverrides(await repo.listOverrides(schedule.id, { from, to }));
    },

    async createOverride(name: string, input: { user: string; replaces?: string | null; start: string; end: string; reason?: string }, principal: Principal | null) {
      const schedule = await requireSchedule(name);
      checkWindow(input.start, input.end, MAX_OVERRIDE_DAYS, 'override');
      const refs = [{ path: 'body.user', email: input.user }, ...(input.replaces ? [{ path: 'body.replaces', email: input.replaces }] : [])];
      const ids = await resolveEmails(repo, refs);
      if (input.replaces && input.replaces === input.user) throw badRequest('invalid_override', 'a person cannot replace themselves');
      const row: OverrideRow = {
        id: newId(),
        schedule_id: schedule.id,
        name: null,
        user_id: ids.get(input.user)!,
        replaces_user_id: input.replaces ? ids.get(input.replaces)! : null,
        starts_at: input.start,
        ends_at: input.end,
        reason: input.reason ?? '',
        created_by: principal?.name ?? 'api',
        created_at: toIso(clock.now()),
      };
      await repo.insertOverride(row);
      return (await presentOverrides([row]))[0];
    },

    async deleteOverride(name: string, id: string) {
      const schedule = await requireSchedule(name);
      const row = await repo.findOverride(schedule.id, id);
      if (!row) throw notFound('override', `override ${id} not found on ${name}`);
      await repo.deleteOverride(row.id);
    },

    // Shift swaps

    async listSwaps(name: string) {
      const schedule = await requireSchedule(name);
      return presentSwaps(await repo.listSwaps(schedule.id));
    },

    /** Offers part of the caller's own shift to others; refused unless the caller is on call all of that time. */
    async requestSwap(name: string, input: { start: string; end: string; note?: string }, principal: Principal | null) {
      const requester = userRequired(principal);
      const schedule = await requireSchedule(name);
      const window = checkWindow(input.start, input.end, MAX_OVERRIDE_DAYS, 'swap');
      if (window.to <= clock.now()) throw badRequest('invalid_window', 'that shift is over');
      const { final } = renderSchedule(await specOf(schedule, window), window.from, window.to);
      const notCovered = final.find((e) => !e.members.includes(requester));
      if (notCovered) {
        throw conflict('not_on_call', `you are not on call on ${name} from ${toIso(notCovered.start)} to ${toIso(notCovered.end)}; offer only your own shift`);
      }
      const now = toIso(clock.now());
      const row: SwapRow = {
        id: newId(), schedule_id: schedule.id, requester_id: requester, taker_id: null, override_id: null,
        starts_at: input.start, ends_at: input.end, status: 'open', note: input.note ?? '', created_at: now, updated_at: now,
      };
      await repo.insertSwap(row);
      return (await presentSwaps([row]))[0];
    },

    /** Takes an open swap: the taker replaces the requester with an override over the swap's window. */
    async takeSwap(name: string, id: string, principal: Principal | null) {
      const taker = userRequired(principal);
      const schedule = await requireSchedule(name);
      const swapId = await db.transaction().execute(async (tx) => {
        const swap = await repo.findSwap(schedule.id, id, tx);
        if (!swap) throw notFound('swap', `swap ${id} not found on ${name}`);
        if (swap.status !== 'open') throw conflict('swap_not_open', `this swap is ${swap.status}`);
        if (swap.requester_id === taker) throw conflict('own_swap', 'you cannot take your own swap; cancel it instead');
        const member = await memberDirectory([swap.requester_id, taker], tx);
        const now = toIso(clock.now());
        const override: OverrideRow = {
          id: newId(), schedule_id: schedule.id, name: null, user_id: taker, replaces_user_id: swap.requester_id,
          starts_at: swap.starts_at, ends_at: swap.ends_at,
          reason: `shift swap: ${member(taker).name} takes over from ${member(swap.requester_id).name}`,
          created_by: principal?.name ?? 'api', created_at: now,
        };
        await repo.insertOverride(override, tx);
        if (!(await repo.settleSwap(swap.id, { status: 'taken', taker_id: taker, override_id: override.id, updated_at: now }, tx))) {
          throw conflict('swap_not_open', 'someone else settled this swap first');
        }
        return swap.id;
      });
      return (await presentSwaps([(await repo.findSwap(schedule.id, swapId))!]))[0];
    },

    /** Withdraws an open swap; only its requester or an admin may. */
    async cancelSwap(name: string, id: string, principal: Principal | null) {
      const schedule = await requireSchedule(name);
      const swap = await repo.findSwap(schedule.id, id);
      if (!swap) throw notFound('swap', `swap ${id} not found on ${name}`);
      const isRequester = !!principal?.userId && principal.userId === swap.requester_id;
      if (!isRequester && principal?.role !== 'admin') throw new AppError('forbidden', 403, 'only the requester or an admin can cancel a swap');
      if (swap.status !== 'open' || !(await repo.settleSwap(swap.id, { status: 'cancelled', updated_at: toIso(clock.now()) }))) {
        throw conflict('swap_not_open', `this swap is ${swap.status === 'open' ? 'no longer open' : swap.status}`);
      }
      return (await presentSwaps([(await repo.findSwap(schedule.id, swap.id))!]))[0];
    },

    // Calendar feeds

    async scheduleFeed(name: string) {
      return currentFeed('schedule', (await requireSchedule(name)).id);
    },
    async rotateScheduleFeed(name: string) {
      return rotateFeed('schedule', (await requireSchedule(name)).id);
    },
    async userFeed(principal: Principal | null) {
      return currentFeed('user', userRequired(principal));
    },
    async rotateUserFeed(principal: Principal | null) {
      return rotateFeed('user', userRequired(principal));
    },

    /** The iCal text behind a feed file name (`{key}.ics`): 30 days back to 180 ahead. Unknown keys are 404. */
    async renderFeed(file: string): Promise<string> {
      const key = /^([0-9a-f]{40})\.ics$/.exec(file)?.[1];
      const feed = key ? await repo.findFeedByKeyHash(sha256Hex(key)) : undefined;
      if (!feed) throw notFound('feed', 'no calendar feed with that key');
      const now = clock.now();
      const window = { from: new Date(now.getTime() - FEED_PAST_DAYS * DAY_MS), to: new Date(now.getTime() + FEED_FUTURE_DAYS * DAY_MS) };
      const names = async (rendered: RenderedSchedule[]) => {
        const ids = rendered.flatMap((r) => r.final.flatMap((e) => e.members));
        return new Map((await repo.usersByIds(ids)).map((u) => [u.id, u.name]));
      };
      if (feed.owner_type === 'schedule') {
        const found = await repo.specFor(feed.owner_id, window);
        if (!found) throw notFound('feed', 'no calendar feed with that key');
        const rendered = renderSchedule(found.spec, window.from, window.to);
        const entries = scheduleIcalEntries({ id: found.schedule.id, name: found.schedule.name, rendered }, await names([rendered]));
        return renderIcal({ name: `On call: ${found.schedule.name}`, entries, now });
      }
      const [user] = await repo.usersByIds([feed.owner_id]);
      if (!user) throw notFound('feed', 'no calendar feed with that key');
      const schedules: FeedSchedule[] = [];
      for (const { schedule, spec } of await repo.allSpecs(window)) {
        // Only schedules the person is in; one that no longer renders must not take the others down.
        if (!layersOf(schedule).some((l) => l.members.includes(user.id)) && !spec.overrides.some((o) => o.member === user.id)) continue;
        try {
          schedules.push({ id: schedule.id, name: schedule.name, rendered: renderSchedule(spec, window.from, window.to) });
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
        }
      }
      const entries = memberIcalEntries(user.id, schedules, await names(schedules.map((s) => s.rendered)));
      return renderIcal({ name: `On call: ${user.name}`, entries, now });
    },
  };
}

export type SchedulesService = ReturnType<typeof createSchedulesService>;
