import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { cpuSeconds, freePort, peakRssMb, ProcessGroup } from '../test/e2e/processes.ts';
import { RSYSLOGD, startRsyslog } from '../test/e2e/rsyslog.ts';
import { printTextTable } from './output.ts';

/**
 * Central log store: ingest rate and search latency on the embedded store (SQLite), beside rsyslog writing the
 * same lines to a file and grep searching that file (the classic central-syslog setup) in the same run.
 *
 *   1. syslog ingest: BENCH_LOG_LINES RFC 5424 lines over 4 TCP connections (octet counting), as fast as the
 *      receiver takes them (TCP backpressure), until all are committed (Firewatch) / written (rsyslog omfile).
 *   2. HTTP ingest: BENCH_LOG_HTTP_LINES more as JSON lines, 5,000 per POST /api/v1/logs, 4 at a time
 *      (a 204 means committed).
 *   3. search over everything stored: term, phrase and field queries through GET /api/v1/logs/search (newest 100),
 *      against `grep -F … | tail -n 100` over rsyslog's file.
 *
 *   BENCH_LOG_LINES       lines sent over syslog (default 10,000,000)
 *   BENCH_LOG_HTTP_LINES  lines sent over HTTP (default a tenth of BENCH_LOG_LINES, at most 1,000,000)
 *   BENCH_LOG_SEARCHES    searches per query kind (default 20; grep runs 3 per kind)
 *   BENCH_LOG_PEER=0      skip rsyslog (e.g. not installed)
 */

const run = promisify(execFile);
const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return Math.round(value);
};
const LINES = num('BENCH_LOG_LINES', 10_000_000);
const HTTP_LINES = num('BENCH_LOG_HTTP_LINES', Math.min(1_000_000, Math.round(LINES / 10)));
const SEARCHES = Math.max(1, num('BENCH_LOG_SEARCHES', 20));
const WITH_PEER = process.env.BENCH_LOG_PEER !== '0' && RSYSLOGD !== null;
const CONNECTIONS = 4;
const CHUNK = 2000;

// ---- the workload: deterministic lines, the same for both ----

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const HOSTS = 200;
const SPAN_MS = 24 * 3_600_000;
const T_END = Date.now();

interface Gen { host: string; app: string; sev: number; message: string; time: string }

function line(i: number, total: number, rand: () => number): Gen {
  const host = `host-${Math.floor(rand() * HOSTS)}`;
  const time = new Date(T_END - SPAN_MS + Math.floor((i / total) * SPAN_MS)).toISOString();
  const r = rand();
  const ms = Math.floor(rand() * 900) + 3;
  if (r < 0.5) {
    const status = rand() < 0.95 ? 200 : 502;
    return { host, app: 'nginx', sev: status === 200 ? 6 : 3, time, message: `GET /api/v1/orders/${Math.floor(rand() * 1e6)} ${status} ${ms}ms user=u${Math.floor(rand() * 5e4)}` };
  }
  if (r < 0.7) return { host, app: 'api', sev: 4, time, message: `connection timeout to db-${Math.floor(rand() * 8)}:5432 after ${ms}ms` };
  if (r < 0.85) return { host, app: 'worker', sev: 6, time, message: `job sync-${Math.floor(rand() * 40)} finished in ${ms}ms` };
  if (r < 0.9995) return { host, app: 'billing', sev: 5, time, message: `payment accepted txn=txn-${i} amount=${ms}.00` };
  return { host, app: 'db', sev: 3, time, message: `deadlock detected on relation orders pid=${Math.floor(rand() * 65536)}` };
}

const syslogText = (g: Gen) => `<${8 + g.sev}>1 ${g.time} ${g.host} ${g.app} - - - ${g.message}`;

/** The lines connection `c` sends: every CONNECTIONS-th line, so the store sees times in (nearly) rising order, as from live senders. */
function* connectionLines(c: number, total: number): Generator<string> {
  const rand = rng(c + 1);
  for (let k = c; k < total; k += CONNECTIONS) yield syslogText(line(k, total, rand));
}

/** Sends `total` lines over `CONNECTIONS` TCP connections with octet counting, honouring backpressure. */
async function sendSyslog(port: number, total: number, onSent: (n: number) => void): Promise<void> {
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, c) => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    let text = '';
    let n = 0;
    for (const s of connectionLines(c, total)) {
      text += `${Buffer.byteLength(s)} ${s}`;
      if (++n === CHUNK) {
        if (!socket.write(text)) await new Promise((resolve) => socket.once('drain', resolve));
        onSent(n);
        text = '';
        n = 0;
      }
    }
    if (n > 0) {
      socket.write(text);
      onSent(n);
    }
    await new Promise<void>((resolve) => socket.end(resolve));
  }));
}

// ---- measurement helpers ----

const quantile = (sorted: number[], q: number) => sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (n: number) => Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : 'n/a';
const progress = (what: string, done: number, total: number, startedAt: number) => {
  const s = (performance.now() - startedAt) / 1000;
  process.stdout.write(`  ${what}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} lines, ${fmt(done / Math.max(s, 0.001))} lines/s\n`);
};

interface Query { kind: string; fw: (r: () => number) => string; grep: (r: () => number) => string[] }
const QUERIES: Query[] = [
  { kind: 'term (common)', fw: () => 'timeout', grep: () => ['-F', '-w', 'timeout'] },
  { kind: 'term (rare)', fw: () => 'deadlock', grep: () => ['-F', '-w', 'deadlock'] },
  { kind: 'phrase', fw: (r) => `"timeout to db-${Math.floor(r() * 8)}"`, grep: (r) => ['-F', `timeout to db-${Math.floor(r() * 8)}:`] },
  { kind: 'term (one line)', fw: (r) => `txn-${Math.floor(r() * LINES)}`, grep: (r) => ['-F', '-w', `txn-${Math.floor(r() * LINES)}`] },
  { kind: 'field host:', fw: (r) => `host:host-${Math.floor(r() * HOSTS)}`, grep: (r) => ['-F', ` host-${Math.floor(r() * HOSTS)} `] },
  { kind: 'field + term', fw: (r) => `host:host-${Math.floor(r() * HOSTS)} 502`, grep: (r) => ['-E', ` host-${Math.floor(r() * HOSTS)} nginx .* 502 `] },
  { kind: 'severity + app', fw: () => 'app:db severity:err', grep: () => ['-E', '^<11>1 .* db - - - '] },
];

async function main() {
  const group = new ProcessGroup();
  const rows: string[][] = [];
  let summary = { ingest: Number.NaN, p99: Number.NaN };
  try {
    console.log(`logs bench: ${LINES.toLocaleString('en-US')} syslog lines + ${HTTP_LINES.toLocaleString('en-US')} HTTP lines, ${SEARCHES} searches per kind${WITH_PEER ? ', peer rsyslog + grep' : ', no peer'}`);
    const syslogPort = await freePort();
    const fw = await group.firewatch({ env: { FIREWATCH_SYSLOG_PORT: String(syslogPort), FIREWATCH_SYSLOG_HOST: '127.0.0.1', FIREWATCH_LOG_RETENTION_DAYS: '30', FIREWATCH_LOG_MAX_MB: '100000', FIREWATCH_LOG_LEVEL: 'warn' } });
    const stats = () => fw.api<{ lines: number; bytes: number }>('/api/v1/logs/stats');

    // 1. syslog ingest into Firewatch.
    console.log('firewatch: syslog ingest');
    let t0 = performance.now();
    let sent = 0;
    let lastPrint = t0;
    const sending = sendSyslog(syslogPort, LINES, (n) => {
      sent += n;
      if (performance.now() - lastPrint > 5000) {
        lastPrint = performance.now();
        progress('sent', sent, LINES, t0);
      }
    });
    let stored = 0;
    let lastStoredPrint = t0;
    while (stored < LINES) {
      await new Promise((r) => setTimeout(r, 200));
      stored = (await stats()).lines;
      if (performance.now() - lastStoredPrint > 5000) {
        lastStoredPrint = performance.now();
        progress('stored', stored, LINES, t0);
      }
      if (fw.process.exitStatus !== null) throw new Error(`firewatch exited\n${fw.process.describe()}`);
    }
    await sending;
    const fwSyslogRate = LINES / ((performance.now() - t0) / 1000);
    const fwCpu = cpuSeconds(fw.pid);
    const dbFile = path.join(fw.dataDir, 'firewatch.db');
    console.log(`  ${fmt(fwSyslogRate)} lines/s; database ${fmt(statSync(dbFile).size / 1e6)} MB (+ WAL)`);

    // 2. HTTP JSON lines.
    let fwHttpRate = Number.NaN;
    if (HTTP_LINES > 0) {
      console.log('firewatch: HTTP JSON lines ingest');
      t0 = performance.now();
      let next = 0;
      let done = 0;
      lastPrint = t0;
      const rand = rng(99);
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < HTTP_LINES) {
          const from = next;
          const to = Math.min(HTTP_LINES, next + 5000);
          next = to;
          let body = '';
          for (let i = from; i < to; i++) {
            const g = line(LINES + i, LINES + HTTP_LINES, rand);
            body += `${JSON.stringify({ time: g.time, host: g.host, app: g.app, severity: g.sev, message: g.message })}\n`;
          }
          const res = await fetch(`${fw.url}/api/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${fw.token}`, 'content-type': 'application/x-ndjson' }, body });
          if (res.status !== 204) throw new Error(`POST /api/v1/logs answered ${res.status}: ${await res.text()}`);
          done += to - from;
          if (performance.now() - lastPrint > 5000) {
            lastPrint = performance.now();
            progress('stored', done, HTTP_LINES, t0);
          }
        }
      }));
      fwHttpRate = HTTP_LINES / ((performance.now() - t0) / 1000);
      console.log(`  ${fmt(fwHttpRate)} lines/s`);
    }
    const total = (await stats()).lines;

    // 3. search latency.
    console.log(`firewatch: searching ${total.toLocaleString('en-US')} lines`);
    const fwLatencies: number[] = [];
    const perKind: Record<string, { fw: number[]; grep: number[]; hits: number }> = {};
    for (const q of QUERIES) {
      const rand = rng(7);
      const lat: number[] = [];
      let hits = 0;
      for (let i = 0; i < SEARCHES; i++) {
        const query = q.fw(rand);
        const started = performance.now();
        const res = await fetch(`${fw.url}/api/v1/logs/search?q=${encodeURIComponent(query)}&from=now-2d&limit=100`, { headers: { authorization: `Bearer ${fw.token}` } });
        const body = await res.json() as { lines: unknown[] };
        lat.push(performance.now() - started);
        if (res.status !== 200) throw new Error(`search ${query} answered ${res.status}: ${JSON.stringify(body)}`);
        hits += body.lines.length;
      }
      fwLatencies.push(...lat);
      perKind[q.kind] = { fw: lat.toSorted((a, b) => a - b), grep: [], hits: hits / SEARCHES };
    }
    const fwSorted = fwLatencies.toSorted((a, b) => a - b);
    const fwRss = peakRssMb(fw.pid);
    summary = { ingest: fwSyslogRate, p99: quantile(fwSorted, 0.99) };
    await fw.stop();

    // Peer: rsyslog imtcp → omfile (the raw message per line), then grep over the file.
    let peerRate = Number.NaN;
    let peerSorted: number[] = [];
    if (WITH_PEER) {
      console.log('rsyslog: syslog ingest into a file');
      const rs = await startRsyslog(group, (dir) => [
        'template(name="raw" type="string" string="%rawmsg%\\n")',
        `action(type="omfile" file="${path.join(dir, 'all.log')}" template="raw" asyncWriting="on" ioBufferSize="256k" flushOnTXEnd="off" flushInterval="1")`,
      ].join('\n'));
      const file = path.join(rs.dir, 'all.log');
      let expected = 0;
      // Bytes rsyslog will write: every message plus its newline (the same lines, generated again).
      for (let c = 0; c < CONNECTIONS; c++) for (const text of connectionLines(c, LINES)) expected += Buffer.byteLength(text) + 1;
      t0 = performance.now();
      sent = 0;
      lastPrint = t0;
      const peerSending = sendSyslog(rs.port, LINES, (n) => {
        sent += n;
        if (performance.now() - lastPrint > 5000) {
          lastPrint = performance.now();
          progress('sent', sent, LINES, t0);
        }
      });
      let size = 0;
      while (size < expected) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          size = statSync(file).size;
        } catch {
          size = 0;
        }
        if (!rs.process.running) throw new Error(`rsyslogd exited\n${rs.process.describe()}`);
      }
      await peerSending;
      peerRate = LINES / ((performance.now() - t0) / 1000);
      console.log(`  ${fmt(peerRate)} lines/s; file ${fmt(size / 1e6)} MB`);
      console.log('grep: searching the file');
      const peerLat: number[] = [];
      for (const q of QUERIES) {
        const r = rng(7);
        for (let i = 0; i < Math.min(3, SEARCHES); i++) {
          const args = q.grep(r);
          const started = performance.now();
          // Newest 100 matches: a full scan, then the tail.
          await run('sh', ['-c', `LC_ALL=C grep ${args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')} '${file}' | tail -n 100 > /dev/null`], { maxBuffer: 1 << 20 });
          const ms = performance.now() - started;
          peerLat.push(ms);
          perKind[q.kind].grep.push(ms);
        }
      }
      peerSorted = peerLat.toSorted((a, b) => a - b);
      await rs.stop();
    }

    // ---- report ----
    rows.push(['store', 'syslog lines/s', 'http lines/s', 'search p50 ms', 'search p99 ms', 'peak RSS MB', 'CPU s (ingest)']);
    rows.push(['firewatch (sqlite)', fmt(fwSyslogRate), fmt(fwHttpRate), fmt(quantile(fwSorted, 0.5)), fmt(quantile(fwSorted, 0.99)), fwRss === null ? 'n/a' : fmt(fwRss), fwCpu === null ? 'n/a' : fmt(fwCpu)]);
    if (WITH_PEER) rows.push(['rsyslog → file + grep', fmt(peerRate), 'n/a', fmt(quantile(peerSorted, 0.5)), fmt(quantile(peerSorted, 0.99)), 'n/a', 'n/a']);
    console.log('');
    printTextTable(rows);
    console.log('');
    const kindRows = [['query kind', 'example', 'hits', 'firewatch p50', 'firewatch p99', 'grep p50']];
    for (const q of QUERIES) {
      const k = perKind[q.kind];
      kindRows.push([q.kind, q.fw(rng(7)), fmt(k.hits), fmt(quantile(k.fw, 0.5)), fmt(quantile(k.fw, 0.99)), fmt(quantile(k.grep.toSorted((a, b) => a - b), 0.5))]);
    }
    printTextTable(kindRows);
    console.log('');
    console.log(`targets: ingest ≥ 50000 lines/s (${summary.ingest >= 50_000 ? 'met' : 'NOT met'}), search p99 < 300 ms (${summary.p99 < 300 ? 'met' : 'NOT met'}) over ${total.toLocaleString('en-US')} lines`);
  } finally {
    await group.stop();
  }
  console.log(`logs: ingest_lines_per_s=${Math.round(summary.ingest)} search_p99_ms=${Math.round(summary.p99)}`);
}

await main();
