import type { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { toIso } from '../../db/codec.ts';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.ts';
import { AppError, badRequest, conflict, notFound } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { PoliciesRepo, EscalationPolicy, PolicyLevel } from './policies.repo.ts';
import type { policyOutSchema, TargetRef } from './policy.schemas.ts';

export type PolicyView = z.infer<typeof policyOutSchema>;

/** Levels as people write them: targets named by email or schedule name. */
export interface LevelInput {
  delay_minutes: number;
  strategy: 'all' | 'round_robin';
  targets: TargetRef[];
}

const nameTaken = (name: string) => conflict('escalation_policy_exists', `an escalation policy named ${name} already exists`);

export function createPoliciesService(deps: { db: Db; repo: PoliciesRepo; clock: Clock }) {
  const { db, repo, clock } = deps;

  /**
   * Turns emails and schedule names into ids. Every unknown one is listed (with its path under `at`)
   * in one 400 `unknown_target`.
   */
  async function resolveLevels(levels: LevelInput[], tx: Db | Tx, at: string): Promise<PolicyLevel[]> {
    const refs = levels.flatMap((l) => l.targets);
    const emails = refs.flatMap((t) => (t.type === 'user' ? [t.email] : []));
    const names = refs.flatMap((t) => (t.type === 'schedule' ? [t.name] : []));
    const users = new Map((await repo.usersByEmails(emails, tx)).map((u) => [u.email, u.id]));
    const schedules = new Map((await repo.schedulesByNames(names, tx)).map((s) => [s.name, s.id]));
    const problems: { path: string; message: string }[] = [];
    const resolved = levels.map((level, li) => ({
      delay_minutes: level.delay_minutes,
      strategy: level.strategy,
      targets: level.targets.map((t, ti) => {
        const id = t.type === 'user' ? users.get(t.email) : schedules.get(t.name);
        if (!id) problems.push({ path: `${at}.levels.${li}.targets.${ti}`, message: t.type === 'user' ? `no user ${t.email}` : `no schedule ${t.name}` });
        return { type: t.type, id: id ?? '' };
      }),
    }));
    if (problems.length) throw badRequest('unknown_target', problems.map((p) => p.message).join('; '), problems);
    return resolved;
  }

  /** Policies with their targets' names and the services using them. */
  async function presentMany(policies: EscalationPolicy[], tx: Db | Tx = db): Promise<PolicyView[]> {
    const targets = policies.flatMap((p) => p.levels.flatMap((l) => l.targets));
    const users = new Map((await repo.usersByIds(targets.filter((t) => t.type === 'user').map((t) => t.id), tx)).map((u) => [u.id, u]));
    const schedules = new Map((await repo.schedulesByIds(targets.filter((t) => t.type === 'schedule').map((t) => t.id), tx)).map((s) => [s.id, s]));
    const services = await repo.servicesByPolicy(tx);
    return policies.map((p) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      repeat: p.repeat,
      levels: p.levels.map((l) => ({
        delay_minutes: l.delay_minutes,
        strategy: l.strategy,
        targets: l.targets.map((t) => {
          if (t.type === 'user') {
            const u = users.get(t.id);
            return { type: 'user' as const, id: t.id, email: u?.email ?? null, name: u?.name ?? null };
          }
          return { type: 'schedule' as const, id: t.id, name: schedules.get(t.id)?.name ?? null };
        }),
      })),
      services: services.get(p.id) ?? [],
      created_at: p.created_at,
      updated_at: p.updated_at,
    }));
  }

  async function requirePolicy(ref: string, tx: Db | Tx = db): Promise<EscalationPolicy> {
    const found = (await repo.findByName(ref, tx)) ?? (await repo.findById(ref, tx));
    if (!found) throw notFound('escalation_policy', `escalation policy ${ref} not found`);
    return found;
  }

  return {
    resolveLevels,
    presentMany,

    async list(): Promise<PolicyView[]> {
      return presentMany(await repo.list());
    },

    async get(ref: string): Promise<PolicyView> {
      return (await presentMany([await requirePolicy(ref)]))[0];
    },

    async create(input: { name: string; description: string; repeat: number; levels: LevelInput[] }): Promise<PolicyView> {
      const now = toIso(clock.now());
      const policy: EscalationPolicy = {
        id: newId(),
        name: input.name,
        description: input.description,
        repeat: input.repeat,
        levels: await resolveLevels(input.levels, db, 'body'),
        created_at: now,
        updated_at: now,
      };
      try {
        await repo.insert(policy);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(input.name);
        throw error;
      }
      return (await presentMany([policy]))[0];
    },

    async update(ref: string, patch: { name?: string; description?: string; repeat?: number; levels?: LevelInput[] }): Promise<PolicyView> {
      const policy = await requirePolicy(ref);
      const changes: Partial<EscalationPolicy> = { updated_at: toIso(clock.now()) };
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.description !== undefined) changes.description = patch.description;
      if (patch.repeat !== undefined) changes.repeat = patch.repeat;
      if (patch.levels !== undefined) changes.levels = await resolveLevels(patch.levels, db, 'body');
      try {
        await repo.update(policy.id, changes);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(patch.name ?? policy.name);
        throw error;
      }
      return (await presentMany([{ ...policy, ...changes }]))[0];
    },

    /** Deletes a policy no service uses; otherwise 409 `policy_in_use` naming the services. */
    async remove(ref: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const policy = await requirePolicy(ref, tx);
        const services = await repo.servicesUsing(policy.id, tx);
        if (services.length) {
          throw new AppError('policy_in_use', 409, `escalation policy ${policy.name} is used by ${services.join(', ')}; point them elsewhere first`, { services });
        }
        await repo.delete(policy.id, tx);
      });
    },
  };
}

export type PoliciesService = ReturnType<typeof createPoliciesService>;
