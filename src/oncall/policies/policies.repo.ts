import { fromJson, toJson } from '../../db/codec.ts';
import type { Db, Tx } from '../../db/database.ts';
import type { EscalationPoliciesTable } from '../../db/schema.ts';

export type PolicyRow = EscalationPoliciesTable;

export interface PolicyTarget {
  type: 'user' | 'schedule';
  /** A user id or a schedule id. */
  id: string;
}

/** One step of a policy: after `delay_minutes` without an acknowledgement the next level is notified. */
export interface PolicyLevel {
  delay_minutes: number;
  /** `all`: every target is notified; `round_robin`: one target per incident, taking turns. */
  strategy: 'all' | 'round_robin';
  targets: PolicyTarget[];
}

export interface EscalationPolicy {
  id: string;
  name: string;
  description: string;
  /** How many times the whole policy runs again after its last level (PagerDuty's num_loops), 0–9. */
  repeat: number;
  levels: PolicyLevel[];
  created_at: string;
  updated_at: string;
}

const parsePolicy = (row: PolicyRow): EscalationPolicy => ({
  id: row.id,
  name: row.name,
  description: row.description,
  repeat: Number(row.repeat),
  levels: fromJson<PolicyLevel[]>(row.levels, []),
  created_at: row.created_at,
  updated_at: row.updated_at,
});

export function createPoliciesRepo(db: Db) {
  return {
    async findById(id: string, tx: Db | Tx = db): Promise<EscalationPolicy | undefined> {
      const row = await tx.selectFrom('escalation_policies').selectAll().where('id', '=', id).executeTakeFirst();
      return row && parsePolicy(row);
    },
    async findByName(name: string, tx: Db | Tx = db): Promise<EscalationPolicy | undefined> {
      const row = await tx.selectFrom('escalation_policies').selectAll().where('name', '=', name).executeTakeFirst();
      return row && parsePolicy(row);
    },
    async list(tx: Db | Tx = db): Promise<EscalationPolicy[]> {
      const rows = await tx.selectFrom('escalation_policies').selectAll().orderBy('name').execute();
      return rows.map(parsePolicy);
    },
    async insert(policy: EscalationPolicy, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('escalation_policies').values({ ...policy, levels: toJson(policy.levels) }).execute();
    },
    async update(id: string, patch: Partial<Omit<EscalationPolicy, 'id' | 'created_at'>>, tx: Db | Tx = db): Promise<void> {
      const { levels, ...rest } = patch;
      await tx.updateTable('escalation_policies').set({ ...rest, ...(levels ? { levels: toJson(levels) } : {}) }).where('id', '=', id).execute();
    },
    async delete(id: string, tx: Db | Tx = db): Promise<void> {
      await tx.deleteFrom('escalation_policies').where('id', '=', id).execute();
    },
    /** Names of the services whose escalation policy this is. */
    async servicesUsing(id: string, tx: Db | Tx = db): Promise<string[]> {
      const rows = await tx.selectFrom('services').select('name').where('escalation_policy_id', '=', id).orderBy('name').execute();
      return rows.map((r) => r.name);
    },
    /** Service names per policy id, for every policy some service uses. */
    async servicesByPolicy(tx: Db | Tx = db): Promise<Map<string, string[]>> {
      const rows = await tx.selectFrom('services').select(['name', 'escalation_policy_id']).where('escalation_policy_id', 'is not', null).orderBy('name').execute();
      const out = new Map<string, string[]>();
      for (const r of rows) {
        const list = out.get(r.escalation_policy_id!) ?? [];
        list.push(r.name);
        out.set(r.escalation_policy_id!, list);
      }
      return out;
    },
    /** Users by lower-case email (targets are written as emails). */
    async usersByEmails(emails: string[], tx: Db | Tx = db): Promise<TargetUser[]> {
      if (emails.length === 0) return [];
      return tx.selectFrom('users').select(['id', 'email', 'name']).where('email', 'in', [...new Set(emails)]).execute();
    },
    async usersByIds(ids: string[], tx: Db | Tx = db): Promise<TargetUser[]> {
      if (ids.length === 0) return [];
      return tx.selectFrom('users').select(['id', 'email', 'name']).where('id', 'in', [...new Set(ids)]).execute();
    },
    async schedulesByNames(names: string[], tx: Db | Tx = db): Promise<TargetSchedule[]> {
      if (names.length === 0) return [];
      return tx.selectFrom('schedules').select(['id', 'name']).where('name', 'in', [...new Set(names)]).execute();
    },
    async schedulesByIds(ids: string[], tx: Db | Tx = db): Promise<TargetSchedule[]> {
      if (ids.length === 0) return [];
      return tx.selectFrom('schedules').select(['id', 'name']).where('id', 'in', [...new Set(ids)]).execute();
    },
  };
}

export interface TargetUser {
  id: string;
  email: string;
  name: string;
}

export interface TargetSchedule {
  id: string;
  name: string;
}

export type PoliciesRepo = ReturnType<typeof createPoliciesRepo>;
