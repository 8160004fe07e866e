import type { Clock } from '../clock.ts';
import { fromJson, toIso } from '../db/codec.ts';
import type { Db, Tx } from '../db/database.ts';
import type { JobQueue, TxJobHandler } from '../jobs/jobs.ts';
import type { Notifier } from './notifications/notifier.ts';
import { nextChanges, onCallAt } from './schedule/schedule.ts';
import type { ScheduleRepo } from './schedules/schedules.repo.ts';

/**
 * Hand-off notices: when a shift starts or ends, the people concerned get an e-mail and an in-app notice.
 * Each schedule has at most one pending `handoff` job, due at its next change; running it notifies and arms
 * the next. `reconcile` re-arms them after schedules or overrides change (and periodically, as a safety net).
 */

export const HANDOFF_JOB = 'handoff';
const LOOKAHEAD_MS = 90 * 86_400_000;
const uniqueKey = (scheduleId: string) => `handoff:${scheduleId}`;

export function createHandoffs(deps: { db: Db; jobs: JobQueue; schedules: ScheduleRepo; notifier: Notifier; clock: Clock; publicUrl: string; wake: () => void }) {
  const { db, jobs, schedules, notifier } = deps;

  /** Arms (or re-arms) one schedule's next hand-off job; removes it when nothing changes within 90 days. */
  async function arm(tx: Tx, scheduleId: string, after: Date, now: Date): Promise<Date | null> {
    const found = await schedules.specFor(scheduleId, { from: after, to: new Date(after.getTime() + LOOKAHEAD_MS) }, tx);
    if (!found) {
      await jobs.cancelByKey(tx, uniqueKey(scheduleId));
      return null;
    }
    let next: Date | undefined;
    try {
      next = nextChanges(found.spec, after, 1)[0]?.at;
    } catch {
      // An invalid schedule (edited by hand in the database) has no hand-offs until it is fixed.
      next = undefined;
    }
    if (!next || next.getTime() - after.getTime() > LOOKAHEAD_MS) {
      await jobs.cancelByKey(tx, uniqueKey(scheduleId));
      return null;
    }
    const existing = await tx.selectFrom('jobs').select(['due_at']).where('unique_key', '=', uniqueKey(scheduleId)).executeTakeFirst();
    if (existing?.due_at === toIso(next)) return next;
    await jobs.schedule(tx, { kind: HANDOFF_JOB, dueAt: next, ref: scheduleId, uniqueKey: uniqueKey(scheduleId), payload: { at: toIso(next) } }, now);
    return next;
  }

  const handler: TxJobHandler = {
    mode: 'tx',
    async run(tx, job, now) {
      const scheduleId = job.ref;
      if (!scheduleId) return;
      const at = new Date(fromJson<{ at?: string }>(job.payload, {}).at ?? job.due_at);
      const found = await schedules.specFor(scheduleId, { from: new Date(at.getTime() - 1), to: new Date(at.getTime() + LOOKAHEAD_MS) }, tx);
      if (!found) return;
      const change = nextChanges(found.spec, new Date(at.getTime() - 1), 1)[0];
      // Only notify for a change that still happens at this instant (the schedule may have been edited since).
      if (change && change.at.getTime() === at.getTime() && now.getTime() - at.getTime() < 3_600_000) {
        const scheduleUrl = `${deps.publicUrl}/schedules/${encodeURIComponent(found.schedule.name)}`;
        const until = onCallAt(found.spec, at).until;
        for (const userId of change.started) {
          await notifier.notifyHandoff(tx, userId, { scheduleName: found.schedule.name, scheduleUrl, starts: true, at: toIso(at), until: until ? toIso(until) : null }, now);
        }
        for (const userId of change.ended) {
          await notifier.notifyHandoff(tx, userId, { scheduleName: found.schedule.name, scheduleUrl, starts: false, at: toIso(at), until: null }, now);
        }
      }
      // The job row is deleted after this returns; the unique key is free again for the next one.
      await tx.deleteFrom('jobs').where('id', '=', job.id).execute();
      await arm(tx, scheduleId, at, now);
      return deps.wake;
    },
  };

  return {
    handler,
    /** Re-arms hand-off jobs for one schedule (after an edit) or all of them. */
    async reconcile(scheduleId?: string): Promise<void> {
      const now = deps.clock.now();
      const ids = scheduleId ? [scheduleId] : (await db.selectFrom('schedules').select('id').execute()).map((r) => r.id);
      for (const id of ids) {
        await db.transaction().execute((tx) => arm(tx, id, now, now));
      }
      deps.wake();
    },
  };
}

export type Handoffs = ReturnType<typeof createHandoffs>;
