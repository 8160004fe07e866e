import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Load and observation tools for the on-call benchmark (bench/escalation.bench.ts): a keep-alive JSON
 * poster, a closed-loop driver (as fast as the server takes it), an open-loop pacer (a fixed rate whatever
 * the answers do), a webhook receiver that records when each notification arrives, and a Server-Sent
 * Events reader for Firewatch's live stream. Every timestamp is `epochMs()`: wall-clock milliseconds with
 * sub-millisecond resolution, comparable with the ISO times the server writes on the same machine.
 */

/** Wall-clock ms with the monotonic clock's resolution (Date.now() rounds to whole ms). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Outcome of one POST: the status (0 = network error) and when the answer's headers arrived. */
export interface PostResult {
  status: number;
  answeredAt: number;
}

/** POSTs a JSON body on a keep-alive agent; resolves once the answer is read, never rejects. */
export function postJson(agent: http.Agent, url: URL, path: string, body: string, headers: Record<string, string> = {}): Promise<PostResult> {
  return new Promise((resolve) => {
    const request = http.request({
      agent, host: url.hostname, port: url.port, path, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
    }, (response) => {
      const answeredAt = epochMs();
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0, answeredAt }));
      response.once('error', () => resolve({ status: 0, answeredAt }));
    });
    request.once('error', () => resolve({ status: 0, answeredAt: epochMs() }));
    request.end(body);
  });
}

/**
 * Sends `count` requests with `concurrency` workers, each waiting for its answer before the next: the
 * fastest rate the server accepts. Returns the statuses that were not 2xx (status → count) and the time taken.
 */
export async function closedLoop(options: {
  url: string;
  count: number;
  concurrency: number;
  render: (i: number) => { path: string; body: string };
  onProgress?: (done: number) => void;
}): Promise<{ ok: number; errors: Map<number, number>; elapsedMs: number }> {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const errors = new Map<number, number>();
  let next = 0;
  let ok = 0;
  const started = epochMs();
  const ticker = setInterval(() => options.onProgress?.(ok), 500);
  async function worker(): Promise<void> {
    while (next < options.count) {
      const { path, body } = options.render(next++);
      const { status } = await postJson(agent, url, path, body);
      if (status >= 200 && status < 300) ok++;
      else errors.set(status, (errors.get(status) ?? 0) + 1);
    }
  }
  try {
    await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  return { ok, errors, elapsedMs: epochMs() - started };
}

/**
 * Open-loop load: request i is sent at `start + i / rate` whether or not earlier ones were answered, so a
 * slow server shows up as latency instead of as a lower offered rate (no coordinated omission).
 * `onAnswer` gets each request's index, when it was meant to go, and its result.
 */
export async function openLoop(options: {
  url: string;
  ratePerS: number;
  durationMs: number;
  firstIndex?: number;
  maxSockets?: number;
  /** Requests still unanswered this long after the last send are abandoned (not passed to onAnswer). */
  answerTimeoutMs?: number;
  render: (i: number) => { path: string; body: string };
  onAnswer: (i: number, scheduledAt: number, result: PostResult) => void;
  onProgress?: (sent: number, answered: number) => void;
}): Promise<{ sent: number; unanswered: number; startedAt: number; elapsedMs: number; lastIndex: number }> {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const first = options.firstIndex ?? 0;
  const total = Math.round((options.ratePerS * options.durationMs) / 1000);
  const interval = 1000 / options.ratePerS;
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let answered = 0;
  let abandoned = false;
  const started = epochMs();
  const ticker = setInterval(() => options.onProgress?.(sent, answered), 500);
  try {
    while (sent < total) {
      const now = epochMs();
      // Everything whose time has come goes now; the timer below only sets the granularity (about 1 ms).
      while (sent < total && started + sent * interval <= now) {
        const i = first + sent;
        const scheduledAt = started + sent * interval;
        sent++;
        const { path, body } = options.render(i);
        const task = postJson(agent, url, path, body).then((result) => {
          if (abandoned) return;
          answered++;
          options.onAnswer(i, scheduledAt, result);
        });
        pending.add(task);
        void task.finally(() => pending.delete(task));
      }
      if (sent < total) await sleep(Math.max(0, Math.min(5, started + sent * interval - epochMs())));
    }
    const elapsedMs = epochMs() - started;
    const timeout = options.answerTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending),
      ...(timeout === undefined ? [] : [new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]),
    ]);
    clearTimeout(timer);
    abandoned = true;
    return { sent, unanswered: sent - answered, startedAt: started, elapsedMs, lastIndex: first + sent - 1 };
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
}

/** One webhook the receiver accepted: which benchmark stream, which event, when. */
export interface Arrival {
  stream: string;
  seq: number;
  at: number;
}

/**
 * A local HTTP receiver for notifications. The first path segment names the stream (`/fw-sqlite/…`,
 * `/alertmanager`); `identify` turns a parsed body into the event sequence numbers it carries. It answers
 * 200 at once and records the arrival before parsing, so its own work does not count as latency.
 */
export async function startReceiver(identify: (stream: string, body: unknown) => number[]): Promise<{
  url: string;
  arrivals: Map<string, Map<number, number>>;
  duplicates: Map<string, number>;
  close(): Promise<void>;
}> {
  const arrivals = new Map<string, Map<number, number>>();
  const duplicates = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = epochMs();
      res.end('ok');
      const stream = (req.url ?? '/').split('/')[1] ?? '';
      let seqs: number[] = [];
      try {
        seqs = identify(stream, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        return; // Not one of ours.
      }
      let byStream = arrivals.get(stream);
      if (!byStream) arrivals.set(stream, (byStream = new Map()));
      for (const seq of seqs) {
        if (byStream.has(seq)) duplicates.set(stream, (duplicates.get(stream) ?? 0) + 1);
        else byStream.set(seq, at);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    duplicates,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Reads a text/event-stream and calls `onEvent` with each event's type and parsed data as it arrives.
 * Returns a function that closes the stream.
 */
export async function readEventStream(url: string, token: string, onEvent: (type: string, data: unknown, at: number) => void): Promise<() => void> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.get({ host: target.hostname, port: target.port, path: target.pathname, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`GET ${url} answered ${response.statusCode}`));
        response.resume();
        return;
      }
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        const at = epochMs();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) onEvent(type, JSON.parse(data), at);
        }
      });
      response.on('error', () => {});
      resolve(() => request.destroy());
    });
    request.once('error', reject);
  });
}
