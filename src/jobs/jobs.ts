import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { toIso, toJson } from '../db/codec.ts';
import type { Db, DialectName, Tx } from '../db/database.ts';
import type { JobsTable } from '../db/schema.ts';
import { newId } from '../ids.ts';

/**
 * Durable timers. Every delayed action (escalation steps, acknowledgement timeouts, snoozes, deliveries,
 * hand-off notices) is a row in `jobs` with a due time, written in the same transaction as the change
 * that needs it, so a timer exists exactly when its cause committed.
 *
 * Two kinds of handler:
 * - `tx` handlers change only the database. They run inside the transaction that deletes their job, so
 *   each runs exactly once, even across crashes and several processes.
 * - `lease` handlers talk to the outside world (SMTP, webhooks). A process claims the job for a lease,
 *   runs it outside any transaction, then records the result. Only a crash between sending and recording
 *   repeats a send (at-least-once, with a stable id the receiver can deduplicate on).
 *
 * On PostgreSQL, claims use FOR UPDATE SKIP LOCKED so several processes share the table; on SQLite the
 * single writer serialises them.
 */

export type JobRow = JobsTable;

export interface NewJob {
  kind: string;
  dueAt: Date;
  incidentId?: string | null;
  ref?: string | null;
  payload?: unknown;
  /** At most one pending job per key: scheduling again replaces the earlier one. */
  uniqueKey?: string | null;
}

export interface TxJobHandler {
  mode: 'tx';
  /** Runs in the transaction that deletes the job. May return work to do after commit (live events). */
  run(tx: Tx, job: JobRow, now: Date): Promise<(() => void) | void>;
}

export type LeaseOutcome =
  | { done: true; record?: (tx: Tx, now: Date) => Promise<void>; afterCommit?: () => void }
  | { done: false; retryAt: Date; record?: (tx: Tx, now: Date) => Promise<void>; afterCommit?: () => void };

export interface LeaseJobHandler {
  mode: 'lease';
  /** Longer than the slowest run (a delivery's timeout), so a live claim never expires under it. */
  leaseMs: number;
  /** Runs outside any transaction. */
  run(job: JobRow, now: Date): Promise<LeaseOutcome>;
}

export type JobHandler = TxJobHandler | LeaseJobHandler;

/** Scheduling and cancelling jobs, inside the caller's transaction. */
export function createJobQueue() {
  return {
    async schedule(tx: Tx | Db, job: NewJob, now: Date): Promise<string> {
      const id = newId(now.getTime());
      if (job.uniqueKey) await tx.deleteFrom('jobs').where('unique_key', '=', job.uniqueKey).where('locked_by', 'is', null).execute();
      await tx.insertInto('jobs').values({
        id,
        kind: job.kind,
        due_at: toIso(job.dueAt),
        incident_id: job.incidentId ?? null,
        ref: job.ref ?? null,
        payload: toJson(job.payload ?? {}),
        unique_key: job.uniqueKey ?? null,
        attempts: 0,
        locked_until: null,
        locked_by: null,
        created_at: toIso(now),
      }).execute();
      return id;
    },

    /** Deletes an incident's pending jobs of the given kinds; returns how many. */
    async cancelForIncident(tx: Tx, incidentId: string, kinds: string[]): Promise<number> {
      if (kinds.length === 0) return 0;
      const result = await tx.deleteFrom('jobs').where('incident_id', '=', incidentId).where('kind', 'in', kinds).where('locked_by', 'is', null).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async cancelByKey(tx: Tx, uniqueKey: string): Promise<void> {
      await tx.deleteFrom('jobs').where('unique_key', '=', uniqueKey).execute();
    },

    pendingForIncident(db: Db | Tx, incidentId: string): Promise<JobRow[]> {
      return db.selectFrom('jobs').selectAll().where('incident_id', '=', incidentId).orderBy('due_at').execute();
    },
  };
}

export type JobQueue = ReturnType<typeof createJobQueue>;

export interface JobRunnerOptions {
  db: Db;
  dialect: DialectName;
  clock: Clock;
  durable: () => Promise<void>;
  handlers: Record<string, JobHandler>;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Longest sleep between looks at the table when nothing wakes the runner. */
  pollMs?: number;
  batchSize?: number;
  /** Lease jobs run concurrently up to this many. */
  concurrency?: number;
  /** Observed for each job: how late it ran (ms after due). */
  onLateness?: (ms: number, kind: string) => void;
}

const FAILED_JOB_RETRY_MS = [5_000, 30_000, 120_000, 600_000];
const MAX_FAILED_RUNS = 8;

export function createJobRunner(options: JobRunnerOptions) {
  const { db, dialect, clock, handlers, log } = options;
  const pollMs = options.pollMs ?? 1000;
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? 32;
  const workerId = randomUUID();
  const txKinds = Object.entries(handlers).filter(([, h]) => h.mode === 'tx').map(([k]) => k);
  const leaseKinds = Object.entries(handlers).filter(([, h]) => h.mode === 'lease').map(([k]) => k);
  const skipLocked = dialect === 'postgres';

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeRequested = false;
  let loop: Promise<void> | undefined;
  let inFlight = 0;
  const leaseTasks = new Set<Promise<void>>();

  function dueQuery(tx: Tx, kinds: string[], nowIso: string, limit: number) {
    let q = tx.selectFrom('jobs').selectAll()
      .where('kind', 'in', kinds)
      .where('due_at', '<=', nowIso)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', nowIso)]))
      .orderBy('due_at')
      .limit(limit);
    if (skipLocked) q = q.forUpdate().skipLocked();
    return q;
  }

  function observeLateness(job: JobRow, now: Date) {
    options.onLateness?.(Math.max(0, now.getTime() - Date.parse(job.due_at)), job.kind);
  }

  async function recordFailure(job: JobRow, error: unknown): Promise<void> {
    const attempts = job.attempts + 1;
    log.error({ err: error, job: { id: job.id, kind: job.kind, attempts } }, 'job failed');
    const now = clock.now();
    if (attempts >= MAX_FAILED_RUNS) {
      // A job that keeps failing is a bug, not a transient problem; it stays visible (far future) rather than spinning.
      await db.updateTable('jobs').set({ attempts, due_at: toIso(new Date(now.getTime() + 86_400_000)), locked_by: null, locked_until: null }).where('id', '=', job.id).execute();
      return;
    }
    const delay = FAILED_JOB_RETRY_MS[Math.min(attempts - 1, FAILED_JOB_RETRY_MS.length - 1)];
    await db.updateTable('jobs').set({ attempts, due_at: toIso(new Date(now.getTime() + delay)), locked_by: null, locked_until: null }).where('id', '=', job.id).execute();
  }

  /** Runs a batch of due tx jobs in one transaction; on error, each alone. Returns how many ran. */
  async function runTxBatch(): Promise<number> {
    if (txKinds.length === 0) return 0;
    const now = clock.now();
    const after: (() => void)[] = [];
    let ran: JobRow[] = [];
    try {
      ran = await db.transaction().execute(async (tx) => {
        const jobs = await dueQuery(tx, txKinds, toIso(now), batchSize).execute();
        for (const job of jobs) {
          const handler = handlers[job.kind] as TxJobHandler;
          const then = await handler.run(tx, job, now);
          if (then) after.push(then);
        }
        if (jobs.length > 0) await tx.deleteFrom('jobs').where('id', 'in', jobs.map((j) => j.id)).execute();
        return jobs;
      });
    } catch (error) {
      after.length = 0;
      // Find the job that fails and run the others: one bad job must not hold back the rest.
      const jobs = await db.selectFrom('jobs').selectAll().where('kind', 'in', txKinds).where('due_at', '<=', toIso(now)).orderBy('due_at').limit(batchSize).execute();
      if (jobs.length <= 1) {
        if (jobs[0]) await recordFailure(jobs[0], error);
        return jobs.length;
      }
      let count = 0;
      for (const job of jobs) {
        try {
          const then = await db.transaction().execute(async (tx) => {
            const current = await tx.selectFrom('jobs').selectAll().where('id', '=', job.id).$if(skipLocked, (q) => q.forUpdate().skipLocked()).executeTakeFirst();
            if (!current) return undefined;
            const result = await (handlers[current.kind] as TxJobHandler).run(tx, current, now);
            await tx.deleteFrom('jobs').where('id', '=', current.id).execute();
            return result ?? undefined;
          });
          await options.durable();
          observeLateness(job, now);
          then?.();
          count += 1;
        } catch (single) {
          await recordFailure(job, single);
        }
      }
      return count;
    }
    if (ran.length === 0) return 0;
    await options.durable();
    for (const job of ran) observeLateness(job, now);
    for (const then of after) {
      try {
        then();
      } catch (error) {
        log.warn({ err: error }, 'after-commit step failed');
      }
    }
    return ran.length;
  }

  async function finishLease(job: JobRow, outcome: LeaseOutcome): Promise<void> {
    const now = clock.now();
    await db.transaction().execute(async (tx) => {
      const current = await tx.selectFrom('jobs').select(['id', 'locked_by']).where('id', '=', job.id).$if(skipLocked, (q) => q.forUpdate()).executeTakeFirst();
      // Our claim expired and another worker took the job: its result will be recorded by that worker.
      if (!current || current.locked_by !== workerId) return;
      await outcome.record?.(tx, now);
      if (outcome.done) await tx.deleteFrom('jobs').where('id', '=', job.id).execute();
      else await tx.updateTable('jobs').set({ due_at: toIso(outcome.retryAt), locked_by: null, locked_until: null }).where('id', '=', job.id).execute();
    });
    await options.durable();
    outcome.afterCommit?.();
  }

  async function runLease(job: JobRow, now: Date): Promise<void> {
    const handler = handlers[job.kind] as LeaseJobHandler;
    try {
      const outcome = await handler.run(job, now);
      await finishLease(job, outcome);
    } catch (error) {
      await recordFailure(job, error).catch((e: unknown) => log.error({ err: e }, 'could not record a job failure'));
    }
  }

  /** Claims due lease jobs (up to the free concurrency) and starts them. Returns how many. */
  async function claimLeases(): Promise<number> {
    const free = concurrency - inFlight;
    if (leaseKinds.length === 0 || free <= 0) return 0;
    const now = clock.now();
    const nowIso = toIso(now);
    const claimed = await db.transaction().execute(async (tx) => {
      const jobs = await dueQuery(tx, leaseKinds, nowIso, free).execute();
      for (const job of jobs) {
        const leaseMs = (handlers[job.kind] as LeaseJobHandler).leaseMs;
        job.locked_by = workerId;
        job.locked_until = toIso(new Date(now.getTime() + leaseMs));
        job.attempts += 1;
        await tx.updateTable('jobs').set({ locked_by: job.locked_by, locked_until: job.locked_until, attempts: job.attempts }).where('id', '=', job.id).execute();
      }
      return jobs;
    });
    if (claimed.length > 0) await options.durable();
    for (const job of claimed) {
      observeLateness(job, now);
      inFlight += 1;
      const task = runLease(job, now).finally(() => {
        inFlight -= 1;
        leaseTasks.delete(task);
        wake();
      });
      leaseTasks.add(task);
    }
    return claimed.length;
  }

  /** When the next job falls due, to sleep until then (bounded by pollMs). */
  async function msUntilNextDue(): Promise<number> {
    const row = await db.selectFrom('jobs').select('due_at').where('locked_by', 'is', null).orderBy('due_at').limit(1).executeTakeFirst();
    if (!row) return pollMs;
    return Math.max(0, Math.min(pollMs, Date.parse(row.due_at) - clock.now().getTime()));
  }

  async function runLoop(): Promise<void> {
    if (dialect === 'sqlite') {
      // SQLite serves one process: any claim still held was made by a process that died (killed mid-send).
      // Release it now rather than after its lease; the send is repeated (at least once, same webhook id).
      await db.updateTable('jobs').set({ locked_by: null, locked_until: null }).where('locked_by', 'is not', null).execute()
        .catch((error: unknown) => log.error({ err: error }, 'could not release stale job claims'));
    }
    for (;;) {
      if (!running) break;
      wakeRequested = false;
      let worked = 0;
      try {
        worked += await runTxBatch();
        worked += await claimLeases();
      } catch (error) {
        log.error({ err: error }, 'job runner pass failed');
      }
      if (!running) break;
      if (worked > 0 || wakeRequested) continue;
      let sleep = pollMs;
      try {
        sleep = await msUntilNextDue();
      } catch {
        // The database is unreachable; try again after the poll interval.
      }
      if (wakeRequested) continue;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, sleep);
        wakeTimer = resolve;
      });
      wakeTimer = undefined;
    }
  }

  let wakeTimer: (() => void) | undefined;
  function wake(): void {
    wakeRequested = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    wakeTimer?.();
  }

  return {
    workerId,
    start(): void {
      if (running) return;
      running = true;
      loop = runLoop();
    },
    /** Look at the table now (a job was scheduled). */
    wake,
    /** Runs everything due now, once, and waits for deliveries to finish; for tests with a manual clock. */
    async runDue(): Promise<number> {
      let total = 0;
      for (;;) {
        const n = (await runTxBatch()) + (await claimLeases());
        if (n === 0 && leaseTasks.size === 0) break;
        total += n;
        if (leaseTasks.size > 0) await Promise.all(leaseTasks);
      }
      return total;
    },
    async stop(): Promise<void> {
      running = false;
      wake();
      await loop;
      await Promise.all(leaseTasks);
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
