import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { toIso } from '../src/db/codec.ts';
import { openDatabase } from '../src/db/database.ts';
import { newId } from '../src/ids.ts';
import { cpuSeconds, findBinary, type FirewatchProcess, peakRssMb, ProcessGroup, type ServiceProcess } from '../test/e2e/processes.ts';
import { quantile } from './load.ts';
import { endProgress, progress, say, tty } from './output.ts';
import { closedLoop, epochMs, openLoop, type PostResult, readEventStream, sleep, startReceiver } from './oncall-load.ts';

/**
 * On-call under load, two figures, each measured on real `firewatch serve` processes:
 *
 * 1. Timer lateness, 10,000 incidents escalating at once. A service with a two-level policy (each level
 *    1 minute; both users have one in-app notification rule, so the figure is the timer engine's and not
 *    an outside server's). The incidents are opened as fast as intake takes them (64 keep-alive clients,
 *    unique dedup keys); a minute later every level-2 escalation falls due. Per incident,
 *      lateness = `at` of its `escalate` timeline entry − `next_at` in the data of its `assign` entry,
 *    read from the database after the run. That `at` is the clock reading the job runner took when it
 *    started the batch holding the escalation, so it leaves out the batch's own run time and commit; the
 *    notes add the "commit-visible" lateness too: when the `escalate` entry reached a client on the live
 *    stream (GET /api/v1/stream, published after commit) − `next_at`. Also reported: the due window (first
 *    to last `next_at`: the burst is only as sharp as level 1 kept up with intake), how long the 10,000
 *    took from the first due time to the last escalation, and the server's CPU seconds in that time.
 *    The bench waits for level 1 and its in-app deliveries to finish before level 2 falls due, and says
 *    so when they could not (then level 2 overlapped level 1's backlog). The `rate /s` column is
 *    escalations committed per second from the first due time to the last commit.
 *    SQLite, then PostgreSQL (a scratch database; the rows are skipped with a note when it is unreachable).
 *
 * 2. Event → webhook, the time from an accepted event to the notification at the receiver. A fresh
 *    process; the policy's one level pages a user whose only rule is a webhook to a receiver in this
 *    process. New-incident triggers (PagerDuty Events v2) go out open-loop at a steady rate (default
 *    500/s for 20 s after a 2 s unmeasured warm-up): event i is sent at start + i/rate whatever happened
 *    to earlier ones. Latency = the webhook's arrival − the arrival of that event's 202. An event not
 *    answered, or accepted but not delivered, within 10 s of the last send counts as an error. `rate /s`
 *    is accepted events per second. The notes add the job runner's own lateness histogram (/metrics)
 *    around the run, to tell waiting for the escalation from waiting for the delivery. SQLite and
 *    PostgreSQL, each on a fresh process.
 *
 *    The peer, the same run: Prometheus Alertmanager (`group_by: ['...']`, so each alert is its own group,
 *    `group_wait: 0s`, `group_interval: 1s`) with a webhook receiver at the same local receiver; the same
 *    open-loop rate of single-alert POSTs to /api/v2/alerts; latency = webhook arrival − the POST's 200.
 *    Its "accepted" is in memory, Firewatch's is committed to disk; both are what a sender is told.
 *
 * Every server is started (and seeded) first and idles until its turn. The event → webhook runs happen
 * while a timer-burst server sits idle waiting for its minute, when one fits there (its wait for late
 * webhooks then ends before the burst is due), or after the bursts; never during a burst. The receiver
 * and the live-stream reader run in this process, whose own load is small (500 requests/s out, 500 in).
 * Figures on a shared machine move with its load: each note ends with the 1-minute load average.
 *
 *   BENCH_INCIDENTS        incidents in the timer burst (default 10000)
 *   BENCH_RATE             events per second for event → webhook (default 500)
 *   BENCH_SECONDS          measured seconds of event → webhook per target (default 20)
 *   BENCH_DATABASE_URL     PostgreSQL server URL for the PostgreSQL rows (or FIREWATCH_TEST_DATABASE_URL;
 *                          default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_CPU_PROF_DIR     write a V8 CPU profile of every Firewatch server to this directory
 *   ALERTMANAGER_BIN       the Alertmanager binary, when not on PATH
 */

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const INCIDENTS = Math.round(positive('BENCH_INCIDENTS', 10_000));
const RATE = positive('BENCH_RATE', 500);
const MEASURE_MS = positive('BENCH_SECONDS', 20) * 1000;
const WARMUP_MS = 2000;
const OPEN_CONCURRENCY = 64;
const LEVEL_DELAY_MIN = 1;
/** Deliveries still missing this long after the last send count as errors. */
const DRAIN_MS = 10_000;
/** How long after the first level-2 due time the burst may take before the missing ones count as errors. */
const BURST_TIMEOUT_MS = 110_000;
const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.FIREWATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR ? path.resolve(process.env.BENCH_CPU_PROF_DIR) : undefined;
const SECRET_KEY = 'escalation-bench-secret-key-0123456789abcdef';

// ---- output ----

const fmt = (n: number | null | undefined, digits = 0) =>
  (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const ms = (n: number | null | undefined) => fmt(n, n !== null && n !== undefined && Math.abs(n) < 100 ? 1 : 0);

interface Stats {
  p50: number;
  p99: number;
  max: number;
}
function stats(values: number[]): Stats {
  const sorted = Float64Array.from(values).toSorted();
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1] : Number.NaN };
}

interface Row {
  measure: string;
  target: string;
  events: number;
  ratePerS: number;
  stats: Stats;
  errors: number;
  errorNote: string;
  notes: string[];
}

function printTable(rows: Row[]): void {
  const header = ['measure', 'target', 'events', 'rate /s', 'p50 ms', 'p99 ms', 'max ms', 'errors'];
  const lines = rows.map((r) => [
    r.measure, r.target, fmt(r.events), fmt(r.ratePerS), ms(r.stats.p50), ms(r.stats.p99), ms(r.stats.max),
    r.errors ? `${fmt(r.errors)}${r.errorNote ? ` (${r.errorNote})` : ''}` : r.errorNote || '0',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const left = new Set([0, 1, header.length - 1]);
  const render = (cells: string[]) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(render(l));
}

// ---- Firewatch setup ----

const routingKey = () => randomBytes(16).toString('hex');

const CONFIG = (key: string) => `services:
  - name: bench
    integrations:
      - { name: bench-pagerduty, type: pagerduty, key: ${key} }
users:
  - { email: level1@bench.example, name: Level One }
  - { email: level2@bench.example, name: Level Two }
`;

/**
 * Gives the users their notification rule (in-app, or a webhook to `webhookUrl`/<user>) and the service an
 * escalation policy of `levels` (level i pages user i), written directly in the database as the e2e tests do.
 */
async function seedOnCall(databaseUrl: string, options: { levels: number; delayMinutes: number; webhookUrl?: string }): Promise<void> {
  const handle = openDatabase(databaseUrl);
  try {
    const db = handle.db;
    const now = toIso(new Date());
    const users = await db.selectFrom('users').select(['id', 'email']).execute();
    const ids = ['level1@bench.example', 'level2@bench.example'].map((email) => users.find((u) => u.email === email)!.id);
    for (const [i, userId] of ids.entries()) {
      const method = newId();
      const address = options.webhookUrl ? `${options.webhookUrl}/level${i + 1}` : userId;
      await db.insertInto('contact_methods').values({ id: method, user_id: userId, type: options.webhookUrl ? 'webhook' : 'in_app', label: 'bench', address, secret_encrypted: null, created_at: now }).execute();
      await db.insertInto('notification_rules').values({ id: newId(), user_id: userId, urgency: 'high', contact_method_id: method, delay_minutes: 0, created_at: now }).execute();
    }
    const policy = newId();
    await db.insertInto('escalation_policies').values({
      id: policy, name: 'bench', description: '', repeat: 0, created_at: now, updated_at: now,
      levels: JSON.stringify(ids.slice(0, options.levels).map((id) => ({ delay_minutes: options.delayMinutes, strategy: 'all', targets: [{ type: 'user', id }] }))),
    }).execute();
    await db.updateTable('services').set({ escalation_policy_id: policy }).where('name', '=', 'bench').execute();
  } finally {
    await handle.close();
  }
}

const trigger = (key: string, dedup: string, summary: string) => JSON.stringify({
  routing_key: key, event_action: 'trigger', dedup_key: dedup,
  payload: { summary, source: 'escalation-bench', severity: 'critical', component: 'bench' },
});

interface StartedFirewatch extends FirewatchProcess {
  /** The label in the table: `firewatch (sqlite)`. */
  target: string;
  dialect: 'sqlite' | 'postgres';
  databaseUrl: string;
  /** The PagerDuty integration's routing key. */
  key: string;
}

async function startFirewatch(group: ProcessGroup, label: string, dialect: 'sqlite' | 'postgres', databaseUrl: string | undefined): Promise<StartedFirewatch> {
  const key = routingKey();
  const env: NodeJS.ProcessEnv = { FIREWATCH_SECRET_KEY: SECRET_KEY, FIREWATCH_WEBHOOK_ALLOW_PRIVATE: 'true' };
  if (CPU_PROF_DIR) {
    const dir = path.join(CPU_PROF_DIR, label.replace(/[^a-z0-9]+/gi, '-'));
    mkdirSync(dir, { recursive: true });
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim();
  }
  const fw = await group.firewatch({ databaseUrl, config: CONFIG(key), env });
  return { ...fw, target: `firewatch (${dialect})`, dialect, key, databaseUrl: databaseUrl ?? `sqlite:${fw.dataDir}/firewatch.db` };
}

/** A server for the timer burst: two levels of 1 minute, in-app notifications only. */
async function startBurstServer(group: ProcessGroup, dialect: 'sqlite' | 'postgres', databaseUrl: string | undefined): Promise<StartedFirewatch> {
  const fw = await startFirewatch(group, `burst-${dialect}`, dialect, databaseUrl);
  await seedOnCall(fw.databaseUrl, { levels: 2, delayMinutes: LEVEL_DELAY_MIN });
  return fw;
}

/** A server for event → webhook: one level (its delay far beyond the run, so each incident pages once), a webhook to the receiver. */
async function startWebhookServer(group: ProcessGroup, dialect: 'sqlite' | 'postgres', databaseUrl: string | undefined, receiverUrl: string): Promise<StartedFirewatch> {
  const fw = await startFirewatch(group, `webhook-${dialect}`, dialect, databaseUrl);
  await seedOnCall(fw.databaseUrl, { levels: 1, delayMinutes: 60, webhookUrl: `${receiverUrl}/fw-${dialect}` });
  return fw;
}

type JobLateness = Map<string, { count: number; sum: number; buckets: Map<number, number> }>;

/** The runner's per-kind job lateness histogram (due → run or claimed), from /metrics. */
async function jobLateness(url: string): Promise<JobLateness> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out: JobLateness = new Map();
  const entry = (kind: string) => {
    let e = out.get(kind);
    if (!e) out.set(kind, (e = { count: 0, sum: 0, buckets: new Map() }));
    return e;
  };
  for (const m of text.matchAll(/^firewatch_job_lateness_seconds_(bucket|sum|count)\{(?:le="([^"]+)",)?kind="([a-z_]+)"(?:,le="([^"]+)")?\} (\S+)$/gm)) {
    const [, part, le1, kind, le2, value] = m;
    const e = entry(kind);
    if (part === 'sum') e.sum = Number(value);
    else if (part === 'count') e.count = Number(value);
    else if ((le1 ?? le2) !== '+Inf') e.buckets.set(Number(le1 ?? le2), Number(value));
  }
  return out;
}

/** "escalate: n, mean …, p99 ≤ …" for the jobs run between two scrapes. */
function describeLateness(before: JobLateness, after: JobLateness): string {
  const parts: string[] = [];
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const mean = ((a.sum - b.sum) / count) * 1000;
    let p99 = `> ${Math.max(...a.buckets.keys())} s`;
    for (const [le, cumulative] of [...a.buckets].toSorted(([x], [y]) => x - y)) {
      if (cumulative - (b.buckets.get(le) ?? 0) >= 0.99 * count) {
        p99 = `≤ ${le < 1 ? `${le * 1000} ms` : `${le} s`}`;
        break;
      }
    }
    parts.push(`${kind} ${fmt(count)} jobs, mean ${ms(mean)} ms, p99 ${p99}`);
  }
  return parts.join('; ');
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) {
      say(`  gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s`);
      return false;
    }
    await sleep(intervalMs);
  }
}

// ---- work that may run while a burst server waits for its minute ----

interface SideTask {
  name: string;
  /** How long it takes when the server keeps up; it runs in an idle window only if that ends in time. */
  estimateMs: number;
  /** Must be done by `deadline` (epoch ms; waiting for stragglers stops there). */
  run(deadline: number): Promise<void>;
}

/** Runs the queued tasks that end before `deadline` (epoch ms), in order, each only if it fits. */
async function runTasksBefore(queue: SideTask[], deadline: number): Promise<void> {
  for (let i = 0; i < queue.length;) {
    if (epochMs() + queue[i].estimateMs < deadline) {
      const [task] = queue.splice(i, 1);
      if (Number.isFinite(deadline)) say(`  (${Math.round((deadline - epochMs()) / 1000)} s idle before the burst: running ${task.name} meanwhile)`);
      await task.run(deadline);
    } else {
      i++;
    }
  }
}

// ---- 1. timer lateness ----

async function timerBurst(fw: StartedFirewatch, sideTasks: SideTask[]): Promise<Row> {
  const { target, key } = fw;
  say(`timer burst, ${target}:`);

  // Commit-visible times of each incident's assign and escalate entries, from the live stream.
  const assigned = new Map<number, number>();
  const escalated = new Map<number, number>();
  const closeStream = await readEventStream(`${fw.url}/api/v1/stream`, fw.token, (type, data, at) => {
    if (type !== 'timeline.appended') return;
    const { incident_number: n, entry_type: entry } = data as { incident_number: number; entry_type: string };
    if (entry === 'assign') assigned.set(n, at);
    else if (entry === 'escalate' && !escalated.has(n)) escalated.set(n, at);
  });

  const opened = await closedLoop({
    url: fw.url, count: INCIDENTS, concurrency: OPEN_CONCURRENCY,
    render: (i) => ({ path: '/v2/enqueue', body: trigger(key, `burst-${i}`, `timer burst incident ${i}`) }),
    onProgress: (done) => progress(`  opening incidents: ${fmt(done)} / ${fmt(INCIDENTS)}, level 1 assigned ${fmt(assigned.size)}`),
  });
  const openErrors = [...opened.errors].map(([s, c]) => `${c}×${s || 'network'}`).join(', ');
  say(`  opened ${fmt(opened.ok)} incidents in ${(opened.elapsedMs / 1000).toFixed(1)} s (${fmt((opened.ok * 1000) / opened.elapsedMs)}/s)${openErrors ? `; errors ${openErrors}` : ''}`);
  const openedAt = epochMs();
  await until('level 1 of every incident', () => {
    progress(`  level 1 assigned ${fmt(assigned.size)} / ${fmt(opened.ok)}`);
    return assigned.size >= opened.ok;
  }, 120_000);
  // Level 1's in-app deliveries (lease jobs) run too; the burst should start from a quiet server.
  await until('level 1 deliveries', async () => ((await jobLateness(fw.url)).get('deliver')?.count ?? 0) >= assigned.size, 120_000, 250);
  const level1Ms = Math.max(...assigned.values()) - openedAt;
  say(`  level 1 assigned and delivered for all ${fmt(assigned.size)}; the last assignment committed ${(Math.max(0, level1Ms) / 1000).toFixed(1)} s after the last 202`);

  // Incident 1 was assigned first, so its level 2 falls due first.
  const { timeline } = await fw.api<{ timeline: { type: string; data: { next_at?: string } }[] }>('/api/v1/incidents/1/timeline');
  const firstDue = Date.parse(timeline.find((e) => e.type === 'assign')?.data.next_at ?? '');
  if (Number.isNaN(firstDue)) throw new Error('incident 1 has no assign entry with next_at');
  const escalatedBeforeQuiet = escalated.size;
  if (escalatedBeforeQuiet > 0) say(`  level 1 was not done when level 2 began falling due: ${fmt(escalatedBeforeQuiet)} had escalated already`);
  await runTasksBefore(sideTasks, firstDue - 2000);

  const wait = firstDue - epochMs() - 1000;
  if (wait > 0) {
    if (!tty) say(`  waiting ${Math.round(wait / 1000)} s for level 2 to fall due`);
    const waitEnd = epochMs() + wait;
    while (epochMs() < waitEnd) {
      if (tty) progress(`  waiting for level 2 to fall due: ${Math.ceil((firstDue - epochMs()) / 1000)} s`);
      await sleep(Math.min(500, waitEnd - epochMs()));
    }
  }
  // Counted from the first due time, or from now if level 2 began before level 1 was done.
  const cpuBefore = cpuSeconds(fw.pid);
  await until('every level-2 escalation', () => {
    progress(`  level 2 escalated ${fmt(escalated.size)} / ${fmt(assigned.size)}`);
    return escalated.size >= assigned.size;
  }, Math.max(0, firstDue - epochMs()) + BURST_TIMEOUT_MS);
  const cpuAfter = cpuSeconds(fw.pid);
  const peakRss = peakRssMb(fw.pid);
  closeStream();
  await fw.stop();

  // The recorded times, from the database.
  const handle = openDatabase(fw.databaseUrl);
  let entries: { number: number | string; type: string; at: string; data: string }[];
  try {
    entries = await handle.db.selectFrom('timeline_entries')
      .innerJoin('incidents', 'incidents.id', 'timeline_entries.incident_id')
      .select(['incidents.number as number', 'timeline_entries.type as type', 'timeline_entries.at as at', 'timeline_entries.data as data'])
      .where('timeline_entries.type', 'in', ['assign', 'escalate'])
      .execute();
  } finally {
    await handle.close();
  }
  const dueAt = new Map<number, number>();
  const escalatedAt = new Map<number, number>();
  for (const e of entries) {
    const n = Number(e.number);
    if (e.type === 'assign') {
      const next = (JSON.parse(e.data) as { next_at: string | null }).next_at;
      if (next) dueAt.set(n, Date.parse(next));
    } else if (!escalatedAt.has(n)) {
      escalatedAt.set(n, Date.parse(e.at));
    }
  }
  const recorded: number[] = [];
  const visible: number[] = [];
  for (const [n, due] of dueAt) {
    const at = escalatedAt.get(n);
    if (at !== undefined) recorded.push(at - due);
    const seen = escalated.get(n);
    if (seen !== undefined) visible.push(seen - due);
  }
  const dues = [...dueAt.values()];
  const firstDueAt = Math.min(...dues);
  const lastDueAt = Math.max(...dues);
  const lastVisible = escalated.size ? Math.max(...escalated.values()) : Number.NaN;
  const burstMs = lastVisible - firstDueAt;
  const visibleStats = stats(visible);
  // Every accepted trigger opened an incident that should have reached level 2.
  const missing = opened.ok - recorded.length;
  const cpu = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
  return {
    measure: 'timer lateness',
    target,
    events: recorded.length,
    ratePerS: (recorded.length * 1000) / burstMs,
    stats: stats(recorded),
    errors: missing,
    errorNote: missing ? 'not escalated in time' : '',
    notes: [
      `${target}: ${fmt(recorded.length)} level-2 escalations fell due within ${((lastDueAt - firstDueAt) / 1000).toFixed(1)} s ` +
        `(intake opened ${fmt(opened.ok)} in ${(opened.elapsedMs / 1000).toFixed(1)} s); all committed ${(burstMs / 1000).toFixed(1)} s after the first fell due`,
      `${target}: commit-visible lateness (live stream arrival − next_at) p50 ${ms(visibleStats.p50)} ms, p99 ${ms(visibleStats.p99)} ms, max ${ms(visibleStats.max)} ms; ` +
        `server CPU ${fmt(cpu, 1)} s during the burst${escalatedBeforeQuiet ? ` (its last ${fmt(recorded.length - escalatedBeforeQuiet)})` : ''}, peak RSS ${fmt(peakRss)} MB; ` +
        `1-min load average ${os.loadavg()[0].toFixed(1)}`,
      ...(escalatedBeforeQuiet ? [`${target}: ${fmt(escalatedBeforeQuiet)} level-2 escalations fell due while level 1 (and its deliveries) were still being worked off`] : []),
    ],
  };
}

// ---- 2. event → webhook ----

interface OpenLoopTarget {
  target: string;
  stream: string;
  url: string;
  path: string;
  pid: number;
  render: (seq: number) => string;
  /** Firewatch: scrape its job-runner lateness around the run. */
  metrics?: boolean;
}

/** Warm-up, then the measured open-loop run; pairs each accepted event with its webhook's arrival. */
async function eventToWebhook(t: OpenLoopTarget, arrivals: Map<string, Map<number, number>>, duplicates: Map<string, number>, deadline: number): Promise<Row> {
  const arrived = () => arrivals.get(t.stream) ?? new Map<number, number>();
  await openLoop({ url: t.url, ratePerS: RATE, durationMs: WARMUP_MS, firstIndex: 0, render: (i) => ({ path: t.path, body: t.render(i) }), onAnswer: () => {} });
  const first = 1_000_000;
  const accepted = new Map<number, number>();
  const refused = new Map<number, number>();
  const cpuBefore = cpuSeconds(t.pid);
  const cpuFrom = epochMs();
  let lastAccepted = 0;
  const latenessBefore = t.metrics ? await jobLateness(t.url) : undefined;
  const run = await openLoop({
    url: t.url, ratePerS: RATE, durationMs: MEASURE_MS, firstIndex: first, answerTimeoutMs: DRAIN_MS,
    render: (i) => ({ path: t.path, body: t.render(i) }),
    onAnswer: (i, _scheduledAt, result: PostResult) => {
      if (result.status >= 200 && result.status < 300) {
        accepted.set(i, result.answeredAt);
        lastAccepted = Math.max(lastAccepted, result.answeredAt);
      }
      else refused.set(result.status, (refused.get(result.status) ?? 0) + 1);
    },
    onProgress: (sent, answered) => progress(`  ${t.target}: sent ${fmt(sent)}, answered ${fmt(answered)}, webhooks ${fmt([...arrived().keys()].filter((k) => k >= first).length)}`),
  });
  const lastSend = epochMs();
  const drainMs = Math.max(0, Math.min(DRAIN_MS, deadline - lastSend));
  await until(`${t.target} webhooks`, () => {
    const got = arrived();
    let n = 0;
    for (const i of accepted.keys()) if (got.has(i)) n++;
    return n >= accepted.size;
  }, drainMs);
  const cpuAfter = cpuSeconds(t.pid);
  const cpuTo = epochMs();
  const latenessAfter = latenessBefore ? await jobLateness(t.url) : undefined;
  const got = arrived();
  const latencies: number[] = [];
  for (const [i, at] of accepted) {
    const arrival = got.get(i);
    if (arrival !== undefined) latencies.push(arrival - at);
  }
  const missing = accepted.size - latencies.length;
  const refusedCount = [...refused.values()].reduce((a, b) => a + b, 0) + run.unanswered;
  const errorNote = [
    ...[...refused].map(([s, c]) => `${c}×${s || 'network'}`),
    ...(run.unanswered ? [`${run.unanswered} unanswered ${DRAIN_MS / 1000} s after the last send`] : []),
    ...(missing ? [`${missing} not delivered within ${(drainMs / 1000).toFixed(0)} s of the last send`] : []),
    ...(duplicates.get(t.stream) ? [`${duplicates.get(t.stream)} duplicates`] : []),
  ].join(', ');
  const cpu = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
  return {
    measure: 'event → webhook',
    target: t.target,
    events: latencies.length,
    // Accepted events per second, from the first send to the last acceptance.
    ratePerS: (accepted.size * 1000) / Math.max(run.elapsedMs, lastAccepted - run.startedAt),
    stats: stats(latencies),
    errors: refusedCount + missing,
    errorNote,
    notes: [
      `${t.target}: offered ${fmt(run.sent)} events at ${fmt(RATE)}/s, accepted ${fmt(accepted.size)} by ${((lastAccepted - run.startedAt) / 1000).toFixed(1)} s; ` +
        `server CPU ${fmt(cpu, 1)} s in ${((cpuTo - cpuFrom) / 1000).toFixed(1)} s, ` +
        `peak RSS ${fmt(peakRssMb(t.pid))} MB; 1-min load average ${os.loadavg()[0].toFixed(1)}`,
      ...(latenessBefore && latenessAfter ? [`${t.target}: job runner lateness (due → run; for deliver, due → claimed): ${describeLateness(latenessBefore, latenessAfter)}`] : []),
    ],
  };
}

async function firewatchWebhookRow(fw: StartedFirewatch, arrivals: Map<string, Map<number, number>>, duplicates: Map<string, number>, deadline: number): Promise<Row> {
  say(`event → webhook, ${fw.target}:`);
  try {
    return await eventToWebhook({
      target: fw.target, stream: `fw-${fw.dialect}`, url: fw.url, path: '/v2/enqueue', pid: fw.pid, metrics: true,
      render: (seq) => trigger(fw.key, `page-${seq}`, `bench page ${seq}`),
    }, arrivals, duplicates, deadline);
  } finally {
    await fw.stop();
  }
}

const ALERTMANAGER_CONFIG = (receiverUrl: string) => `
route:
  receiver: bench
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: bench
    webhook_configs:
      - url: ${receiverUrl}/alertmanager
        send_resolved: false
`;

async function alertmanagerWebhookRow(am: ServiceProcess, arrivals: Map<string, Map<number, number>>, duplicates: Map<string, number>, deadline: number): Promise<Row> {
  say('event → webhook, alertmanager:');
  const startsAt = new Date().toISOString();
  try {
    return await eventToWebhook({
      target: 'alertmanager', stream: 'alertmanager', url: am.url, path: '/api/v2/alerts', pid: am.pid,
      render: (seq) => JSON.stringify([{ labels: { alertname: 'BenchPage', seq: String(seq), severity: 'critical' }, annotations: { summary: `bench page ${seq}` }, startsAt }]),
    }, arrivals, duplicates, deadline);
  } finally {
    await am.stop();
  }
}

// ---- main ----

const p99 = (r: Row | undefined) => (r ? Math.round(r.stats.p99) : 'n/a');
const value = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));

async function postgresReachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Which sequence numbers a webhook body carries: Firewatch's incident title, Alertmanager's `seq` label. */
function identify(stream: string, body: unknown): number[] {
  if (stream === 'alertmanager') return (body as { alerts: { labels: { seq: string } }[] }).alerts.map((a) => Number(a.labels.seq));
  const event = (body as { event: { event_type: string; data: { title: string } } }).event;
  if (event.event_type !== 'incident.triggered') return [];
  return [Number(event.data.title.split(' ').pop())];
}

async function main(): Promise<void> {
  const started = Date.now();
  const alertmanagerBin = findBinary(['prometheus-alertmanager', 'alertmanager'], 'ALERTMANAGER_BIN');
  const pgProblem = await postgresReachable(PG_ADMIN_URL);
  const group = new ProcessGroup();
  const receiver = await startReceiver(identify);
  const scratch: { destroy(): Promise<void> }[] = [];
  const rows: Record<string, Row> = {};
  const skipped: string[] = [];
  say(`escalation bench: ${fmt(INCIDENTS)} incidents in the timer burst (policy levels ${LEVEL_DELAY_MIN} min); event → webhook at ${fmt(RATE)}/s ` +
    `for ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}`);

  let createPostgres: (() => Promise<string>) | undefined;
  if (pgProblem) {
    skipped.push(`postgres rows skipped: ${PG_ADMIN_URL.replace(/\/\/[^@]*@/, '//…@')} unreachable (${pgProblem})`);
  } else {
    // test/helpers.ts creates scratch databases under FIREWATCH_TEST_DATABASE_URL, read when it loads.
    process.env.FIREWATCH_TEST_DATABASE_URL = PG_ADMIN_URL;
    process.env.FIREWATCH_QUIET_SKIPS = '1';
    const { createTestDatabase } = await import('../test/helpers.ts');
    createPostgres = async () => {
      const database = await createTestDatabase('postgres');
      scratch.push(database);
      return database.url;
    };
  }

  const sideTasks: SideTask[] = [];
  try {
    // Every server starts first, together; each idles until its turn and is stopped after it.
    say('starting the servers …');
    const pgUrls = createPostgres ? [await createPostgres(), await createPostgres()] : [];
    const [burstSqlite, burstPostgres, webhookSqlite, webhookPostgres, alertmanager] = await Promise.all([
      startBurstServer(group, 'sqlite', undefined),
      createPostgres ? startBurstServer(group, 'postgres', pgUrls[0]) : undefined,
      startWebhookServer(group, 'sqlite', undefined, receiver.url),
      createPostgres ? startWebhookServer(group, 'postgres', pgUrls[1], receiver.url) : undefined,
      alertmanagerBin ? group.alertmanager(alertmanagerBin, ALERTMANAGER_CONFIG(receiver.url)) : undefined,
    ]);

    // Event → webhook runs go in a burst server's idle minute when they fit, else after the bursts.
    const webhookEstimateMs = WARMUP_MS + MEASURE_MS + 8000;
    sideTasks.push({
      name: 'event → webhook on firewatch (sqlite)', estimateMs: webhookEstimateMs,
      run: async (deadline) => {
        rows.webhookSqlite = await firewatchWebhookRow(webhookSqlite, receiver.arrivals, receiver.duplicates, deadline);
      },
    });
    if (alertmanager) {
      const am = alertmanager;
      sideTasks.push({
        // Its webhooks arrive within milliseconds; the wait for stragglers is cut at the deadline anyway.
        name: 'event → webhook on alertmanager', estimateMs: WARMUP_MS + MEASURE_MS + 1000,
        run: async (deadline) => {
          rows.alertmanager = await alertmanagerWebhookRow(am, receiver.arrivals, receiver.duplicates, deadline);
        },
      });
    } else {
      skipped.push('alertmanager skipped: not installed (apt-get install prometheus-alertmanager, or set ALERTMANAGER_BIN)');
    }
    if (webhookPostgres) {
      const server = webhookPostgres;
      sideTasks.push({
        name: 'event → webhook on firewatch (postgres)', estimateMs: webhookEstimateMs,
        run: async (deadline) => {
          rows.webhookPostgres = await firewatchWebhookRow(server, receiver.arrivals, receiver.duplicates, deadline);
        },
      });
    }

    rows.burstSqlite = await timerBurst(burstSqlite, sideTasks);
    if (burstPostgres) rows.burstPostgres = await timerBurst(burstPostgres, sideTasks);
    await runTasksBefore(sideTasks, Number.POSITIVE_INFINITY);
  } finally {
    endProgress();
    await group.stop();
    await receiver.close();
    for (const s of scratch) await s.destroy().catch(() => {});
  }

  const ordered = [rows.burstSqlite, rows.burstPostgres, rows.webhookSqlite, rows.webhookPostgres, rows.alertmanager].filter((r) => r !== undefined);
  console.log('');
  printTable(ordered);
  console.log('');
  for (const r of ordered) for (const note of r.notes) console.log(`${r.measure}, ${note}`);
  for (const s of skipped) console.log(s);
  console.log(`targets: timer lateness p99 < 1,000 ms; event → webhook p99 < 100 ms at ${fmt(RATE)} events/s. Whole run ${Math.round((Date.now() - started) / 1000)} s.`);
  console.log('');
  console.log(`escalation: lateness_p99_ms=${p99(rows.burstSqlite)} event_to_webhook_p99_ms=${p99(rows.webhookSqlite)} ` +
    `lateness_p50_ms=${value(rows.burstSqlite?.stats.p50)} lateness_max_ms=${value(rows.burstSqlite?.stats.max)} ` +
    `escalations_per_s=${value(rows.burstSqlite?.ratePerS)} event_to_webhook_p50_ms=${value(rows.webhookSqlite?.stats.p50, 1)} ` +
    `webhook_events_per_s=${value(rows.webhookSqlite?.ratePerS)} webhook_errors=${rows.webhookSqlite?.errors ?? 'n/a'} ` +
    `pg_lateness_p99_ms=${p99(rows.burstPostgres)} pg_event_to_webhook_p99_ms=${p99(rows.webhookPostgres)} ` +
    `alertmanager_event_to_webhook_p99_ms=${p99(rows.alertmanager)}`);
}

await main();
