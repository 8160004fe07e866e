import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { cpuSeconds, findBinary, type FirewatchProcess, peakRssMb, ProcessGroup, rssMb } from '../test/e2e/processes.ts';
import { type LoadResult, MIX, type Op, quantile, runLoad, type Target, Workload } from './load.ts';
import { endProgress, progress, say } from './output.ts';

/**
 * Intake throughput: Firewatch's POST /v2/enqueue (durable: a 2xx means committed) against Alertmanager's
 * POST /api/v2/alerts (in memory) on the same machine, under the same closed-loop load. Both run as real
 * processes; the figures are events per second, latency quantiles, peak RSS and server CPU.
 *
 *   BENCH_SECONDS         measured seconds per target (default 10)
 *   BENCH_WARMUP_SECONDS  unmeasured seconds first, for the JIT and caches (default 2)
 *   BENCH_CONCURRENCY     concurrent keep-alive connections (default 64)
 *   BENCH_DATABASE_URL    a PostgreSQL server URL (or FIREWATCH_TEST_DATABASE_URL): adds a Firewatch-on-PostgreSQL
 *                         row, in a scratch database created and dropped on that server
 */

const seconds = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const MEASURE_MS = seconds('BENCH_SECONDS', 10) * 1000;
const WARMUP_MS = seconds('BENCH_WARMUP_SECONDS', 2) * 1000;
const CONCURRENCY = Math.round(seconds('BENCH_CONCURRENCY', 64));
const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.FIREWATCH_TEST_DATABASE_URL;

interface Row {
  result: LoadResult;
  p50: number;
  p99: number;
  peakRssMb: number | null;
  cpuS: number | null;
  note: string;
}

// ---- targets: one workload, two wire formats ----

function pagerDutyTarget(label: string, url: string, routingKey: string): Target {
  return {
    label,
    url,
    render(op: Op) {
      const a = op.alert;
      const host = `host-${a.n % 500}`;
      const event = op.kind === 'new' || op.kind === 'repeat'
        ? {
          routing_key: routingKey,
          event_action: 'trigger',
          dedup_key: a.key,
          payload: {
            summary: `Disk usage above 90% on ${host}:/var`,
            source: `${host}.bench.example`,
            severity: a.severity,
            component: 'disk',
            group: 'bench',
            class: 'disk_usage',
            custom_details: { mountpoint: '/var', usage_pct: 90 + (a.n % 10) },
          },
          client: 'intake bench',
        }
        : { routing_key: routingKey, event_action: op.kind, dedup_key: a.key };
      return { path: '/v2/enqueue', body: JSON.stringify(event) };
    },
  };
}

/** Alertmanager has no acknowledge: a sender re-posts the alert, which is what `acknowledge` becomes here. */
function alertmanagerTarget(label: string, url: string): Target {
  return {
    label,
    url,
    render(op: Op, now: Date) {
      const a = op.alert;
      const host = `host-${a.n % 500}`;
      const alert = {
        labels: { alertname: 'DiskUsageHigh', dedup_key: a.key, instance: `${host}:9100`, job: 'node', mountpoint: '/var', severity: a.severity },
        annotations: { summary: `Disk usage above 90% on ${host}:/var`, usage_pct: String(90 + (a.n % 10)) },
        startsAt: a.startsAt,
        ...(op.kind === 'resolve' ? { endsAt: now.toISOString() } : {}),
        generatorURL: 'http://prometheus.bench.example/graph?g0.expr=disk_usage_pct%20%3E%2090',
      };
      return { path: '/api/v2/alerts', body: JSON.stringify([alert]) };
    },
  };
}

const ALERTMANAGER_CONFIG = `
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: blackhole
`;

// ---- progress and output ----


const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const rate = (r: LoadResult) => (r.ok * 1000) / r.elapsedMs;

/** Warms the target up, then measures it; samples the server's RSS for the progress line. */
async function measure(target: Target, pid: number, runId: string): Promise<{ row: Row; warmup: LoadResult }> {
  const show = (phase: string) => (p: { elapsedMs: number; durationMs: number; sent: number; errors: number; ratePerS: number }) => {
    const rss = rssMb(pid);
    progress(`${target.label.padEnd(22)} ${phase} ${(p.elapsedMs / 1000).toFixed(1).padStart(5)}/${(p.durationMs / 1000).toFixed(0)} s  sent ${fmt(p.sent).padStart(8)}  errors ${fmt(p.errors)}  ${fmt(p.ratePerS).padStart(6)} ev/s  rss ${fmt(rss)} MB`);
  };
  const warmup = await runLoad({ target, workload: new Workload(`${runId}-warm`, 7), concurrency: CONCURRENCY, durationMs: WARMUP_MS, onProgress: show('warm-up') });
  const cpuBefore = cpuSeconds(pid);
  const result = await runLoad({ target, workload: new Workload(`${runId}-run`), concurrency: CONCURRENCY, durationMs: MEASURE_MS, onProgress: show('measure') });
  const cpuAfter = cpuSeconds(pid);
  const sorted = result.latenciesMs.toSorted();
  const errorText = [...result.errorStatuses].map(([status, count]) => `${count}×${status || 'network'}`).join(', ');
  endProgress();
  return {
    warmup,
    row: {
      result,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      peakRssMb: peakRssMb(pid),
      cpuS: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
      note: errorText,
    },
  };
}

/**
 * Every 2xx for a new key opened exactly one incident, and incidents are numbered 1, 2, 3 …, so the newest
 * number must equal the count of acknowledged `new` events: a check that 2xx meant committed.
 */
async function checkDurability(fw: FirewatchProcess, runs: LoadResult[]): Promise<string> {
  const expected = runs.reduce((sum, r) => sum + r.okByKind.new, 0);
  const { incidents } = await fw.api<{ incidents: { number: number }[] }>('/api/v1/incidents?limit=1');
  const newest = incidents[0]?.number ?? 0;
  return newest === expected ? `durability ok: ${fmt(newest)} incidents for ${fmt(expected)} accepted new keys` : `DURABILITY MISMATCH: ${fmt(newest)} incidents for ${fmt(expected)} accepted new keys`;
}

async function benchFirewatch(group: ProcessGroup, label: string, databaseUrl: string | undefined, runId: string): Promise<Row> {
  const key = randomBytes(16).toString('hex');
  say(`starting ${label} …`);
  const fw = await group.firewatch({
    databaseUrl,
    config: `services:\n  - name: bench\n    integrations:\n      - { name: bench-pagerduty, type: pagerduty, key: ${key} }\n`,
  });
  const { row, warmup } = await measure(pagerDutyTarget(label, fw.url, key), fw.pid, runId);
  const durability = await checkDurability(fw, [warmup, row.result]);
  say(`${label}: ${durability}`);
  if (durability.startsWith('DURABILITY')) row.note = [row.note, 'durability mismatch'].filter(Boolean).join('; ');
  await fw.stop();
  return row;
}

function printTable(rows: Row[]): void {
  const header = ['target', 'events', 'events/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'server CPU s', 'errors'];
  const lines = rows.map((r) => [
    r.result.label,
    fmt(r.result.ok),
    fmt(rate(r.result)),
    fmt(r.p50, 1),
    fmt(r.p99, 1),
    fmt(r.peakRssMb),
    fmt(r.cpuS, 1),
    r.result.errors ? `${fmt(r.result.errors)} (${r.note})` : r.note || '0',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(render(l));
}

async function main(): Promise<void> {
  const alertmanagerBin = findBinary(['prometheus-alertmanager', 'alertmanager'], 'ALERTMANAGER_BIN');
  const runId = `b${Date.now().toString(36)}`;
  const group = new ProcessGroup();
  const rows: { firewatch?: Row; alertmanager?: Row; postgres?: Row } = {};
  let scratch: { destroy(): Promise<void> } | undefined;
  try {
    say(`intake bench: ${MEASURE_MS / 1000} s per target after ${WARMUP_MS / 1000} s warm-up, ${CONCURRENCY} keep-alive connections, ` +
      `mix ${Object.entries(MIX).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(' / ')}; ${os.cpus().length} CPUs, Node ${process.version}`);

    rows.firewatch = await benchFirewatch(group, 'firewatch (sqlite)', undefined, runId);

    if (alertmanagerBin) {
      say('starting alertmanager …');
      const am = await group.alertmanager(alertmanagerBin, ALERTMANAGER_CONFIG);
      rows.alertmanager = (await measure(alertmanagerTarget('alertmanager', am.url), am.pid, runId)).row;
      await am.stop();
    } else {
      say('skipped alertmanager: not installed (apt-get install prometheus-alertmanager, or set ALERTMANAGER_BIN)');
    }

    if (PG_ADMIN_URL) {
      // test/helpers.ts creates scratch databases under FIREWATCH_TEST_DATABASE_URL, read when it loads.
      process.env.FIREWATCH_TEST_DATABASE_URL = PG_ADMIN_URL;
      process.env.FIREWATCH_QUIET_SKIPS = '1';
      const { createTestDatabase } = await import('../test/helpers.ts');
      const database = await createTestDatabase('postgres');
      scratch = database;
      rows.postgres = await benchFirewatch(group, 'firewatch (postgres)', database.url, runId);
    }
  } finally {
    endProgress();
    await group.stop();
    await scratch?.destroy();
  }

  const all = [rows.firewatch, rows.alertmanager, rows.postgres].filter((r) => r !== undefined);
  console.log('');
  printTable(all);
  const fwRate = rate(rows.firewatch.result);
  const amRate = rows.alertmanager ? rate(rows.alertmanager.result) : null;
  const ratio = amRate ? fwRate / amRate : null;
  console.log('');
  console.log(`ratio firewatch (sqlite) / alertmanager: ${ratio === null ? 'n/a' : ratio.toFixed(2)} (target ≥ 1.00)`);
  if (rows.postgres && amRate) console.log(`ratio firewatch (postgres) / alertmanager: ${(rate(rows.postgres.result) / amRate).toFixed(2)}`);
  console.log(`intake: firewatch_events_per_s=${Math.round(fwRate)} alertmanager_events_per_s=${amRate === null ? 'n/a' : Math.round(amRate)} ` +
    `ratio=${ratio === null ? 'n/a' : ratio.toFixed(2)} p99_ms=${rows.firewatch.p99.toFixed(1)}`);
}

await main();
