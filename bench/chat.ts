import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { cpuSeconds, NODE_BIN, peakRssMb, ProcessGroup, rssMb } from '../test/e2e/processes.ts';
import { quantile } from './load.ts';
import { endProgress, progress, say } from './output.ts';

/**
 * War-room fan-out: BENCH_CHAT_CLIENTS WebSocket clients (default 1,000) subscribed to one channel of a real
 * `firewatch serve` (SQLite), while messages are posted into that channel open-loop at a steady rate
 * (message i is sent at start + i/rate, whatever happened to earlier ones) with
 * `POST /api/v1/channels/{name}/messages`.
 *
 *   fan-out latency = the moment a client has a message's frame − the moment its POST was sent
 *
 * for every (message, client) pair: the POST, the commit, the live bus, the channel's read of new versions
 * and the send to each socket. Every message text carries its send time (`bench p=<phase> t=<ms>`, a wall
 * clock with sub-millisecond resolution, performance.timeOrigin + performance.now(), which the poster
 * and the client threads share). Each client checks what it got: a message never received is lost, one
 * received twice (or out of seq order) is a duplicate; both must be 0.
 *
 * Steps: a short unmeasured warm-up, then the target rate (default 50 messages/s for 20 s), then higher
 * rates (default 100, 200, 400 for 8 s each) until both servers miss one: the posts fall behind (< 95 % of
 * the offered rate), a message is lost or duplicated, or fan-out p99 reaches 100 ms. "messages/s
 * sustained" is the highest offered rate that passed. Both servers stay up with their clients connected
 * and every step alternates between them in slices of at most 5 s (A B, B A, …), so the machine's other
 * load (it is shared) falls on both alike; a row merges its server's slices.
 *
 * The peer, in the same run, with the same client harness, rate and steps: a minimal broadcast server on
 * the same `ws` library @fastify/websocket uses (a bearer-token check at upgrade, an in-memory seq, one
 * JSON.stringify per message sent to every subscribed socket, no persistence, no auth lookup, no ordering
 * across processes). The difference is what Firewatch's persistence, authorisation and gapless ordering cost.
 *
 * The clients run in worker threads of this process (the poster runs on the main thread), on the same
 * machine as the server: on a 2-core machine the harness and the server compete for CPU, so the higher
 * steps measure the harness too. Each row notes the server's CPU use.
 *
 *   BENCH_CHAT_CLIENTS       WebSocket clients (default 1000)
 *   BENCH_CHAT_RATE          target rate, messages/s (default 50)
 *   BENCH_CHAT_SECONDS       measured seconds at the target rate (default 20)
 *   BENCH_CHAT_STEPS         higher rates to try, comma-separated (default 100,200,400; "" for none)
 *   BENCH_CHAT_STEP_SECONDS  measured seconds per higher step (default 8)
 *   BENCH_CHAT_WORKERS       client threads (default 2)
 *   BENCH_CHAT_USERS         distinct viewer tokens the clients use, round-robin (default 50)
 *   BENCH_CHAT_PEER=0        skip the ws baseline
 *   BENCH_CPU_PROF_DIR       write a V8 CPU profile of the Firewatch server to this directory
 */

const TARGET_P99_MS = 100;
const KEEP_PACE = 0.95;
const WARMUP_S = 2;
const DRAIN_MS = 5000;
const CHANNEL = 'bench-war-room';
const MAX_IN_FLIGHT = 512;
const SLICE_S = 5;

const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TEXT = /^bench p=(\d+) t=([\d.]+)$/;

// ---- client threads ----

interface PhaseStats {
  latencies: Float64Array;
  count: number;
  /** Per client: phase messages received (first time). */
  received: Uint32Array;
}

type ToWorker =
  | { cmd: 'connect'; url: string; tokens: string[]; count: number; offset: number }
  | { cmd: 'collect'; phase: number; expected: number }
  | { cmd: 'close' };

type FromWorker =
  | { ev: 'progress'; connected: number; failed: number }
  | { ev: 'connected'; connected: number; failed: number; errors: string[] }
  | { ev: 'collected'; phase: number; latencies: Float64Array; lost: number; duplicates: number; outOfOrder: number; frames: number }
  | { ev: 'closed' };

function clientThread(): void {
  const port = parentPort!;
  const sockets: WebSocket[] = [];
  const phases = new Map<number, PhaseStats>();
  let lastSeq = new Int32Array(0);
  let duplicates = 0;
  let outOfOrder = 0;
  let frames = 0;

  const statsOf = (phase: number, clients: number): PhaseStats => {
    let stats = phases.get(phase);
    if (!stats) {
      stats = { latencies: new Float64Array(64 * 1024), count: 0, received: new Uint32Array(clients) };
      phases.set(phase, stats);
    }
    return stats;
  };

  const onFrame = (index: number, data: RawData) => {
    const now = wallMs();
    frames++;
    const frame = JSON.parse(data.toString()) as { type: string; message?: { seq: number; text: string } };
    if (frame.type !== 'message' || !frame.message) return;
    const { seq, text } = frame.message;
    if (seq <= lastSeq[index]) {
      if (seq === lastSeq[index]) duplicates++;
      else outOfOrder++;
      return;
    }
    lastSeq[index] = seq;
    const match = TEXT.exec(text);
    if (!match) return;
    const stats = statsOf(Number(match[1]), sockets.length);
    if (stats.count === stats.latencies.length) {
      const grown = new Float64Array(stats.latencies.length * 2);
      grown.set(stats.latencies);
      stats.latencies = grown;
    }
    stats.latencies[stats.count++] = now - Number(match[2]);
    stats.received[index]++;
  };

  async function connect(url: string, tokens: string[], count: number, offset: number) {
    lastSeq = new Int32Array(count);
    let connected = 0;
    let failed = 0;
    const errors: string[] = [];
    let next = 0;
    let lastReport = 0;
    const openOne = (index: number) => new Promise<void>((resolve) => {
      const token = tokens[(offset + index) % tokens.length];
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      sockets[index] = ws;
      let done = false;
      const finish = (error?: string) => {
        if (done) return;
        done = true;
        if (error) {
          failed++;
          if (errors.length < 5) errors.push(error);
        } else {
          connected++;
        }
        resolve();
      };
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel: CHANNEL })));
      ws.on('message', (data) => {
        if (!done) {
          const frame = JSON.parse(data.toString()) as { type: string; code?: string; message?: string };
          if (frame.type === 'subscribed') finish();
          else if (frame.type === 'error') finish(`${frame.code}: ${frame.message}`);
          return;
        }
        onFrame(index, data);
      });
      ws.on('unexpected-response', (_request, response) => finish(`upgrade answered ${response.statusCode}`));
      ws.on('error', (error) => finish(error.message));
      ws.on('close', (code) => finish(`closed ${code}`));
    });
    // 32 handshakes at a time: a ramp, not a thundering herd.
    const runner = async () => {
      while (next < count) {
        const index = next++;
        await openOne(index);
        if (Date.now() - lastReport > 250) {
          lastReport = Date.now();
          port.postMessage({ ev: 'progress', connected, failed } satisfies FromWorker);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(32, count) }, runner));
    port.postMessage({ ev: 'connected', connected, failed, errors } satisfies FromWorker);
  }

  async function collect(phase: number, expected: number) {
    const deadline = Date.now() + DRAIN_MS;
    const stats = () => statsOf(phase, sockets.length);
    const missing = () => {
      let lost = 0;
      const { received } = stats();
      for (let i = 0; i < sockets.length; i++) lost += Math.max(0, expected - received[i]);
      return lost;
    };
    while (missing() > 0 && Date.now() < deadline) await sleep(20);
    const s = stats();
    const latencies = s.latencies.slice(0, s.count);
    port.postMessage({ ev: 'collected', phase, latencies, lost: missing(), duplicates, outOfOrder, frames } satisfies FromWorker, [latencies.buffer]);
    phases.delete(phase);
    duplicates = 0;
    outOfOrder = 0;
    frames = 0;
  }

  port.on('message', (msg: ToWorker) => {
    if (msg.cmd === 'connect') void connect(msg.url, msg.tokens, msg.count, msg.offset);
    else if (msg.cmd === 'collect') void collect(msg.phase, msg.expected);
    else {
      for (const ws of sockets) ws.terminate();
      port.postMessage({ ev: 'closed' } satisfies FromWorker);
    }
  });
}

/** The client threads as one harness. */
class Harness {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<Worker, (msg: FromWorker) => void>();
  private readonly progressOf = new Map<Worker, { connected: number; failed: number }>();

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'clients' } });
      worker.on('message', (msg: FromWorker) => {
        if (msg.ev === 'progress') {
          this.progressOf.set(worker, msg);
          return;
        }
        const resolve = this.waiting.get(worker);
        this.waiting.delete(worker);
        resolve?.(msg);
      });
      worker.on('error', (error) => {
        say(`client thread failed: ${error.stack ?? error.message}`);
        process.exitCode = 1;
      });
      this.workers.push(worker);
    }
  }

  private ask(worker: Worker, msg: ToWorker): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.waiting.set(worker, resolve);
      // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker thread, not a window
      worker.postMessage(msg);
    });
  }

  progress(): { connected: number; failed: number } {
    let connected = 0;
    let failed = 0;
    for (const p of this.progressOf.values()) {
      connected += p.connected;
      failed += p.failed;
    }
    return { connected, failed };
  }

  async connect(url: string, tokens: string[], clients: number): Promise<{ connected: number; failed: number; errors: string[] }> {
    this.progressOf.clear();
    const per = Math.ceil(clients / this.workers.length);
    const answers = await Promise.all(this.workers.map((w, i) => {
      const count = Math.max(0, Math.min(per, clients - i * per));
      return this.ask(w, { cmd: 'connect', url, tokens, count, offset: i * per });
    }));
    const out = { connected: 0, failed: 0, errors: [] as string[] };
    for (const a of answers) {
      if (a.ev !== 'connected') continue;
      out.connected += a.connected;
      out.failed += a.failed;
      out.errors.push(...a.errors);
    }
    return out;
  }

  async collect(phase: number, expected: number) {
    const answers = await Promise.all(this.workers.map((w) => this.ask(w, { cmd: 'collect', phase, expected })));
    const parts = answers.filter((a) => a.ev === 'collected');
    const total = parts.reduce((n, p) => n + p.latencies.length, 0);
    const latencies = new Float64Array(total);
    let at = 0;
    for (const p of parts) {
      latencies.set(p.latencies, at);
      at += p.latencies.length;
    }
    const sorted = latencies.toSorted();
    return {
      latencies: sorted,
      lost: parts.reduce((n, p) => n + p.lost, 0),
      duplicates: parts.reduce((n, p) => n + p.duplicates + p.outOfOrder, 0),
      frames: parts.reduce((n, p) => n + p.frames, 0),
    };
  }

  async closeSockets(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.ask(w, { cmd: 'close' })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ---- the peer: a minimal ws broadcast server (run as `node bench/chat.ts --baseline-server <port> <token>`) ----

function fail(res: ServerResponse, status: number): void {
  res.writeHead(status).end();
}

function baselineServer(port: number, token: string): void {
  const channels = new Map<string, Set<WebSocket>>();
  const seqs = new Map<string, number>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.on('error', () => res.destroy());
    if (req.method === 'GET' && req.url === '/readyz') {
      res.writeHead(200).end('ok');
      return;
    }
    const match = /^\/api\/v1\/channels\/([a-z0-9][a-z0-9_-]*)\/messages$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return fail(res, 404);
    if (req.headers.authorization !== `Bearer ${token}`) return fail(res, 401);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { text?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown };
      } catch {
        return fail(res, 400);
      }
      if (typeof body.text !== 'string') return fail(res, 400);
      const name = match[1];
      const seq = (seqs.get(name) ?? 0) + 1;
      seqs.set(name, seq);
      const message = {
        id: `${Date.now()}-${seq}`, channel: name, seq, version_seq: seq, kind: 'message',
        author: { type: 'integration', id: 'bench', name: 'bench' }, text: body.text, created_at: new Date().toISOString(),
      };
      const frame = JSON.stringify({ type: 'message', message });
      for (const ws of channels.get(name) ?? []) if (ws.readyState === ws.OPEN) ws.send(frame);
      const out = JSON.stringify({ message });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (req.url !== '/api/v1/ws' || !req.headers.authorization?.startsWith('Bearer ')) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const mine = new Set<string>();
      ws.on('error', () => ws.terminate());
      ws.on('message', (data) => {
        let msg: { type?: unknown; channel?: unknown };
        try {
          msg = JSON.parse(data.toString()) as typeof msg;
        } catch {
          return;
        }
        if (msg.type !== 'subscribe' || typeof msg.channel !== 'string') return;
        let set = channels.get(msg.channel);
        if (!set) channels.set(msg.channel, (set = new Set()));
        set.add(ws);
        mine.add(msg.channel);
        ws.send(JSON.stringify({ type: 'subscribed', channel: msg.channel, last_seq: seqs.get(msg.channel) ?? 0 }));
      });
      ws.on('close', () => {
        for (const c of mine) channels.get(c)?.delete(ws);
      });
    });
  });
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}

// ---- output ----

const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

// ---- the run ----

interface Target {
  label: string;
  url: string;
  pid: number;
  postToken: string;
  /** The server's VmRSS with every client subscribed, before the first message. */
  idleRssMb: number | null;
  /** The server's peak RSS (VmHWM) over the whole run, read before it stops. */
  peakRssMb: number | null;
  /** The client threads holding this server's sockets. */
  harness: Harness;
}

interface Row {
  label: string;
  rate: number;
  seconds: number;
  posted: number;
  postErrors: number;
  postedPerS: number;
  deliveredPerS: number;
  p50: number;
  p99: number;
  max: number;
  postP99: number;
  lost: number;
  duplicates: number;
  cpuPct: number | null;
  rssMb: number | null;
  passed: boolean;
}

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

let phaseCounter = 0;

/** Posts open-loop at `rate` for `seconds`; returns the POST outcomes once every answer is in. */
async function post(target: Target, rate: number, seconds: number, phase: number, onTick: (sent: number, ok: number) => void) {
  const url = `${target.url}/api/v1/channels/${CHANNEL}/messages`;
  const headers = { authorization: `Bearer ${target.postToken}`, 'content-type': 'application/json' };
  const total = Math.round(rate * seconds);
  const postLatencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const start = wallMs();
  let lastTick = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - wallMs();
    if (wait > 0) await sleep(wait);
    if (inFlight >= MAX_IN_FLIGHT) {
      errors++;
      continue;
    }
    inFlight++;
    const sentAt = wallMs();
    const p = fetch(url, { method: 'POST', headers, body: JSON.stringify({ text: `bench p=${phase} t=${sentAt.toFixed(3)}` }), signal: AbortSignal.timeout(10_000) })
      .then(async (response) => {
        await response.arrayBuffer();
        if (response.status === 201) {
          ok++;
          postLatencies.push(wallMs() - sentAt);
        } else {
          errors++;
        }
      }, () => {
        errors++;
      })
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
    if (Date.now() - lastTick > 250) {
      lastTick = Date.now();
      onTick(i + 1, ok);
    }
  }
  const sendEnd = wallMs();
  await Promise.all(pending);
  return { ok, errors, elapsedMs: Math.max(sendEnd, start + seconds * 1000) - start, answeredMs: wallMs() - start, postLatencies: Float64Array.from(postLatencies).toSorted() };
}

interface Slice {
  ok: number;
  errors: number;
  elapsedMs: number;
  answeredMs: number;
  postLatencies: Float64Array;
  latencies: Float64Array;
  lost: number;
  duplicates: number;
  cpuS: number | null;
  wallS: number;
}

/** One stretch of posting at `rate` into one server, and what its clients received. */
async function slice(target: Target, rate: number, seconds: number, what: string): Promise<Slice> {
  const phase = ++phaseCounter;
  const cpuBefore = cpuSeconds(target.pid);
  const started = Date.now();
  const result = await post(target, rate, seconds, phase, (sent, ok) => {
    progress(`${target.label.padEnd(18)} ${what.padEnd(16)} ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}/${seconds} s  posted ${fmt(sent)} (${fmt(ok)} answered)  server rss ${fmt(rssMb(target.pid))} MB`);
  });
  const cpuAfter = cpuSeconds(target.pid);
  const wallS = (Date.now() - started) / 1000;
  const collected = await target.harness.collect(phase, result.ok);
  endProgress();
  return {
    ...result, latencies: collected.latencies, lost: collected.lost, duplicates: collected.duplicates, wallS,
    cpuS: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
  };
}

function rowOf(target: Target, rate: number, seconds: number, slices: Slice[]): Row {
  const sum = (f: (s: Slice) => number) => slices.reduce((n, s) => n + f(s), 0);
  const merge = (f: (s: Slice) => Float64Array) => {
    const out = new Float64Array(sum((s) => f(s).length));
    let at = 0;
    for (const s of slices) {
      out.set(f(s), at);
      at += f(s).length;
    }
    return out.toSorted();
  };
  const latencies = merge((s) => s.latencies);
  const ok = sum((s) => s.ok);
  const errors = sum((s) => s.errors);
  const cpu = slices.every((s) => s.cpuS !== null) ? sum((s) => s.cpuS!) : null;
  const row: Row = {
    label: target.label,
    rate,
    seconds,
    posted: ok,
    postErrors: errors,
    postedPerS: ok / (sum((s) => s.elapsedMs) / 1000),
    deliveredPerS: latencies.length / (sum((s) => s.answeredMs) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.length ? latencies[latencies.length - 1] : Number.NaN,
    postP99: quantile(merge((s) => s.postLatencies), 0.99),
    lost: sum((s) => s.lost),
    duplicates: sum((s) => s.duplicates),
    cpuPct: cpu === null ? null : (cpu / sum((s) => s.wallS)) * 100,
    rssMb: rssMb(target.pid),
    passed: false,
  };
  row.passed = errors === 0 && row.postedPerS >= rate * KEEP_PACE && row.lost === 0 && row.duplicates === 0 && row.p99 < TARGET_P99_MS;
  return row;
}

async function connectClients(target: Target, tokens: string[], clients: number): Promise<void> {
  const t0 = Date.now();
  const timer = setInterval(() => {
    const p = target.harness.progress();
    progress(`${target.label.padEnd(18)} connecting ${fmt(p.connected).padStart(5)}/${fmt(clients)} (${fmt(p.failed)} failed)  server rss ${fmt(rssMb(target.pid))} MB`);
  }, 250);
  const connected = await target.harness.connect(target.url, tokens, clients);
  clearInterval(timer);
  say(`${target.label}: ${fmt(connected.connected)} clients subscribed in ${((Date.now() - t0) / 1000).toFixed(1)} s${connected.failed ? `, ${fmt(connected.failed)} failed (${connected.errors.join('; ')})` : ''}`);
  if (connected.connected < clients) throw new Error(`${target.label}: only ${connected.connected} of ${clients} clients subscribed`);
}

/**
 * Every step runs on all targets in alternating slices of at most SLICE_S seconds (A B B A …), so the
 * machine's other load (it is shared) falls on each target alike; a target's row merges its slices.
 */
async function runSteps(targets: Target[], plan: { rate: number; seconds: number; steps: number[]; stepSeconds: number }): Promise<Row[]> {
  for (const t of targets) await slice(t, plan.rate, WARMUP_S, 'warm-up');
  const rows: Row[] = [];
  for (const [i, rate] of [plan.rate, ...plan.steps].entries()) {
    const seconds = i === 0 ? plan.seconds : plan.stepSeconds;
    const count = Math.max(1, Math.ceil(seconds / SLICE_S));
    const slices = new Map<Target, Slice[]>(targets.map((t) => [t, []]));
    for (let n = 0; n < count; n++) {
      const order = n % 2 === 0 ? targets : targets.toReversed();
      for (const t of order) slices.get(t)!.push(await slice(t, rate, seconds / count, `${fmt(rate)} msg/s ${n + 1}/${count}`));
    }
    const stepRows = targets.map((t) => rowOf(t, rate, seconds, slices.get(t)!));
    for (const r of stepRows) say(describe(r));
    rows.push(...stepRows);
    if (!stepRows.some((r) => r.passed)) break;
  }
  for (const t of targets) t.peakRssMb = peakRssMb(t.pid);
  return rows;
}

const describe = (r: Row) => `${r.label} at ${fmt(r.rate)} msg/s: fan-out p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, max ${fmt(r.max, 1)} ms; ` +
  `${fmt(r.postedPerS, 1)} posted/s, ${fmt(r.deliveredPerS)} deliveries/s, lost ${fmt(r.lost)}, duplicates ${fmt(r.duplicates)}, post errors ${fmt(r.postErrors)}, ` +
  `server CPU ${fmt(r.cpuPct)} % — ${r.passed ? 'kept up' : 'missed'}`;

function printTable(rows: Row[], targets: Target[]): void {
  const header = ['server', 'offered msg/s', 'posted msg/s', 'deliveries/s', 'fan-out p50 ms', 'p99 ms', 'max ms', 'POST p99 ms', 'lost', 'dup', 'server CPU %', 'RSS MB', 'result'];
  const ordered = rows.toSorted((a, b) => a.rate - b.rate || targets.findIndex((t) => t.label === a.label) - targets.findIndex((t) => t.label === b.label));
  const lines = ordered.map((r) => [
    r.label, fmt(r.rate), fmt(r.postedPerS, 1), fmt(r.deliveredPerS), fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.max, 1), fmt(r.postP99, 1),
    fmt(r.lost), fmt(r.duplicates), fmt(r.cpuPct), fmt(r.rssMb), r.passed ? 'kept up' : (r.postErrors ? `missed (${fmt(r.postErrors)} post errors)` : 'missed'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(render(l));
}

async function createTokens(fwUrl: string, adminToken: string, users: number): Promise<{ viewers: string[]; responder: string }> {
  const create = async (name: string, role: string) => {
    const response = await fetch(`${fwUrl}/api/v1/tokens`, {
      method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, role }),
    });
    const body = await response.text();
    if (response.status !== 201) throw new Error(`POST /api/v1/tokens answered ${response.status}: ${body}`);
    return (JSON.parse(body) as { token: string }).token;
  };
  const viewers: string[] = [];
  for (let i = 0; i < users; i++) viewers.push(await create(`bench-viewer-${i + 1}`, 'viewer'));
  return { viewers, responder: await create('bench-poster', 'responder') };
}

async function main(): Promise<void> {
  const clients = Math.round(positive('BENCH_CHAT_CLIENTS', 1000));
  const rate = positive('BENCH_CHAT_RATE', 50);
  const seconds = positive('BENCH_CHAT_SECONDS', 20);
  const stepSeconds = positive('BENCH_CHAT_STEP_SECONDS', 8);
  const steps = (process.env.BENCH_CHAT_STEPS ?? '100,200,400').split(',').map((s) => s.trim()).filter(Boolean).map(Number)
    .filter((n) => Number.isFinite(n) && n > rate);
  const threads = Math.round(positive('BENCH_CHAT_WORKERS', 2));
  const users = Math.round(positive('BENCH_CHAT_USERS', 50));
  const withPeer = process.env.BENCH_CHAT_PEER !== '0';
  const profDir = process.env.BENCH_CPU_PROF_DIR ? path.resolve(process.env.BENCH_CPU_PROF_DIR) : undefined;
  const plan = { rate, seconds, steps, stepSeconds };
  const began = Date.now();

  say(`chat bench: ${fmt(clients)} WebSocket clients in one channel (${threads} client threads), ${fmt(rate)} msg/s for ${seconds} s after ${WARMUP_S} s warm-up, ` +
    `then ${steps.length ? steps.map((s) => fmt(s)).join(', ') : 'no higher'} msg/s for ${stepSeconds} s each while one keeps up; targets alternate in slices of ≤ ${SLICE_S} s; ${os.cpus().length} CPUs shared by server and clients, Node ${process.version}`);

  const group = new ProcessGroup();
  const rows: Row[] = [];
  const targets: Target[] = [];
  try {
    say('starting firewatch (sqlite) …');
    const env: NodeJS.ProcessEnv = { FIREWATCH_SECRET_KEY: 'chat-bench-secret-key-0123456789abcdef' };
    if (profDir) {
      mkdirSync(profDir, { recursive: true });
      env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
    }
    const fw = await group.firewatch({ env });
    if (!fw.token.startsWith('fw_')) throw new Error(`firewatch token create printed no token (got ${JSON.stringify(fw.token)})\n${group.logs()}`);
    const { viewers, responder } = await createTokens(fw.url, fw.token, users);
    const created = await fetch(`${fw.url}/api/v1/channels`, {
      method: 'POST', headers: { authorization: `Bearer ${fw.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: CHANNEL, topic: 'chat bench' }),
    });
    if (created.status !== 201) throw new Error(`creating #${CHANNEL} answered ${created.status}: ${await created.text()}`);
    const firewatch: Target = { label: 'firewatch (sqlite)', url: fw.url, pid: fw.pid, postToken: responder, idleRssMb: null, peakRssMb: null, harness: new Harness(threads) };
    targets.push(firewatch);
    await connectClients(firewatch, viewers, clients);

    if (withPeer) {
      say('starting ws baseline …');
      const token = 'bench-baseline-token';
      const server = await group.startServer('ws baseline', (port) => ({
        command: NODE_BIN, args: [fileURLToPath(import.meta.url), '--baseline-server', String(port), token],
      }), '/readyz');
      const baseline: Target = { label: 'ws baseline', url: server.url, pid: server.process.pid, postToken: token, idleRssMb: null, peakRssMb: null, harness: new Harness(threads) };
      targets.push(baseline);
      await connectClients(baseline, [token], clients);
    } else {
      say('skipped the ws baseline (BENCH_CHAT_PEER=0)');
    }
    await sleep(500);
    for (const t of targets) t.idleRssMb = rssMb(t.pid);
    rows.push(...await runSteps(targets, plan));
    for (const t of targets) await t.harness.closeSockets();
  } finally {
    endProgress();
    for (const t of targets) await t.harness.stop();
    await group.stop();
  }

  console.log('');
  printTable(rows, targets);
  console.log('');
  for (const t of targets) {
    console.log(`${t.label}: RSS ${fmt(t.idleRssMb)} MB with ${fmt(clients)} clients subscribed and idle, peak ${fmt(t.peakRssMb)} MB over the run`);
  }
  const fwRows = rows.filter((r) => r.label === targets[0].label);
  const target = fwRows[0];
  const sustained = fwRows.filter((r) => r.passed).reduce((m, r) => Math.max(m, r.rate), 0);
  const peerRows = rows.filter((r) => r.label !== targets[0].label);
  const peerSustained = peerRows.filter((r) => r.passed).reduce((m, r) => Math.max(m, r.rate), 0);
  const fwPeak = targets[0].peakRssMb ?? Math.max(...fwRows.map((r) => r.rssMb ?? 0));
  console.log(`target: fan-out p99 < ${TARGET_P99_MS} ms at ${fmt(rate)} msg/s into one channel of ${fmt(clients)} clients — ${target.passed ? 'met' : 'MISSED'} ` +
    `(p99 ${fmt(target.p99, 1)} ms). Sustained = highest offered rate with posts ≥ ${KEEP_PACE * 100} % of it, nothing lost or duplicated and p99 < ${TARGET_P99_MS} ms: ` +
    `firewatch ${fmt(sustained)} msg/s${peerRows.length ? `, ws baseline ${fmt(peerSustained)} msg/s` : ''} (steps tried: ${[rate, ...steps].map((s) => fmt(s)).join(', ')}). ` +
    `Whole run ${Math.round((Date.now() - began) / 1000)} s; load average ${os.loadavg()[0].toFixed(2)}.`);
  console.log('');
  console.log(`chat: clients=${clients} fanout_p99_ms=${target.p99.toFixed(1)} messages_per_s=${sustained} rss_mb=${Math.round(fwPeak)}`);
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === 'clients') {
  clientThread();
} else if (process.argv[2] === '--baseline-server') {
  baselineServer(Number(process.argv[3]), process.argv[4]);
} else {
  await main();
}
