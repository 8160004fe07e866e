import http from 'node:http';
import { seededRandom } from '../test/random.ts';

/**
 * A closed-loop load generator for intake benchmarks: `concurrency` workers, each on its own keep-alive
 * connection, send one event, wait for the answer, send the next. The events follow one alert workload
 * (new alerts, repeat triggers, acknowledges, resolves over many distinct keys) that each target renders in
 * its own wire format, so every target sees the same load shape.
 */

export type OpKind = 'new' | 'repeat' | 'acknowledge' | 'resolve';

/** One alert in the workload, identified by a dedup key that is unique per run. */
export interface AlertKey {
  key: string;
  n: number;
  startsAt: string;
  severity: 'critical' | 'error' | 'warning';
}

export interface Op {
  kind: OpKind;
  alert: AlertKey;
}

/** Share of each kind among events; new and resolve balance so the set of open alerts grows slowly. */
export const MIX: Record<OpKind, number> = { new: 0.35, repeat: 0.3, acknowledge: 0.1, resolve: 0.25 };

const SEVERITIES = ['critical', 'error', 'warning'] as const;


/**
 * The alert state the load is drawn from. An op on an existing alert takes its key out of the pool until the
 * answer arrives, so no two in-flight events touch one alert: the outcome of every event is then known
 * (a `new` always opens an alert, a resolve never races a repeat), which the durability check relies on.
 */
export class Workload {
  private readonly random: () => number;
  private readonly prefix: string;
  private readonly open: AlertKey[] = [];
  private created = 0;

  constructor(prefix: string, seed = 42) {
    this.prefix = prefix;
    this.random = seededRandom(seed);
  }

  next(now: Date): Op {
    const r = this.random();
    let kind: OpKind = r < MIX.new ? 'new' : r < MIX.new + MIX.repeat ? 'repeat' : r < MIX.new + MIX.repeat + MIX.acknowledge ? 'acknowledge' : 'resolve';
    if (kind !== 'new' && this.open.length === 0) kind = 'new';
    if (kind === 'new') {
      const n = this.created++;
      return { kind, alert: { key: `${this.prefix}-${n}`, n, startsAt: now.toISOString(), severity: SEVERITIES[n % SEVERITIES.length] } };
    }
    // Swap-remove a random open alert: O(1), and it is ours until done().
    const i = Math.floor(this.random() * this.open.length);
    const alert = this.open[i];
    this.open[i] = this.open[this.open.length - 1];
    this.open.pop();
    return { kind, alert };
  }

  /** Returns the alert to the pool unless it is gone (resolved, or a new alert that was refused). */
  done(op: Op, ok: boolean): void {
    const gone = op.kind === 'resolve' ? ok : op.kind === 'new' && !ok;
    if (!gone) this.open.push(op.alert);
  }

  get openCount(): number {
    return this.open.length;
  }
}

export interface LoadResult {
  label: string;
  elapsedMs: number;
  sent: number;
  ok: number;
  errors: number;
  /** HTTP status (0 = network error) → count, for the non-2xx answers. */
  errorStatuses: Map<number, number>;
  /** Successful events per kind. */
  okByKind: Record<OpKind, number>;
  latenciesMs: Float64Array;
}

export interface Target {
  label: string;
  url: string;
  /** The request path and JSON body for one op. */
  render(op: Op, now: Date): { path: string; body: string };
}

interface Progress {
  label: string;
  elapsedMs: number;
  durationMs: number;
  sent: number;
  errors: number;
  ratePerS: number;
}

function post(agent: http.Agent, url: URL, path: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request({
      agent, host: url.hostname, port: url.port, path, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', () => resolve(0));
    });
    request.once('error', () => resolve(0));
    request.end(body);
  });
}

/**
 * Drives `target` with `concurrency` closed-loop workers for `durationMs`. `onProgress` is called about four
 * times a second with the running totals.
 */
export async function runLoad(options: {
  target: Target;
  workload: Workload;
  concurrency: number;
  durationMs: number;
  onProgress?: (p: Progress) => void;
}): Promise<LoadResult> {
  const { target, workload, concurrency, durationMs } = options;
  const url = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let latencies = new Float64Array(1 << 16);
  const result: LoadResult = {
    label: target.label, elapsedMs: 0, sent: 0, ok: 0, errors: 0, errorStatuses: new Map(),
    okByKind: { new: 0, repeat: 0, acknowledge: 0, resolve: 0 }, latenciesMs: latencies,
  };
  const started = performance.now();
  const deadline = started + durationMs;
  let lastTick = { at: started, sent: 0 };
  const ticker = setInterval(() => {
    const now = performance.now();
    const ratePerS = ((result.sent - lastTick.sent) * 1000) / (now - lastTick.at);
    lastTick = { at: now, sent: result.sent };
    options.onProgress?.({ label: target.label, elapsedMs: now - started, durationMs, sent: result.sent, errors: result.errors, ratePerS });
  }, 250);

  async function worker(): Promise<void> {
    while (performance.now() < deadline) {
      const now = new Date();
      const op = workload.next(now);
      const { path, body } = target.render(op, now);
      const t0 = performance.now();
      const status = await post(agent, url, path, body);
      const latency = performance.now() - t0;
      const ok = status >= 200 && status < 300;
      workload.done(op, ok);
      if (result.sent === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[result.sent++] = latency;
      if (ok) {
        result.ok++;
        result.okByKind[op.kind]++;
      } else {
        result.errors++;
        result.errorStatuses.set(status, (result.errorStatuses.get(status) ?? 0) + 1);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  result.elapsedMs = performance.now() - started;
  result.latenciesMs = latencies.subarray(0, result.sent);
  return result;
}

/** The q-quantile (0..1) of the latencies, in ms (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}
