import { createHmac } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import type { DeliveryResult } from './retry.ts';
import { checkTarget, type AddressPolicy, type HostResolver } from './ssrf.ts';

/**
 * One attempt at POSTing a webhook. No retries and no redirects here: the runner retries (at-least-once,
 * receivers dedupe on X-Webhook-Id), and a redirect could lead past the address check.
 */

/** PagerDuty expects a 2xx within 5 s; so do we. */
export const WEBHOOK_TIMEOUT_MS = 5_000;
/** How much of a response is kept, for the failure detail; the rest is not read. */
const RESPONSE_CAP_BYTES = 4 * 1024;
/** Longest Retry-After passed on; a receiver cannot park a notification for longer than this. */
const RETRY_AFTER_CAP_MS = 60 * 60 * 1000;

export const WEBHOOK_HEADERS = {
  id: 'x-webhook-id',
  timestamp: 'x-firewatch-timestamp',
  signature: 'x-firewatch-signature',
} as const;

/** Headers an admin's custom headers cannot replace: the protocol and the signature are ours. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'user-agent', ...Object.values(WEBHOOK_HEADERS)]);

export interface WebhookTarget {
  url: string;
  /** Shared secret for X-Firewatch-Signature; null sends the webhook unsigned. */
  secret: string | null;
  headers?: Record<string, string>;
}

export interface WebhookDeliveryOptions {
  /** Same for every attempt at one event, so the receiver can drop duplicates. */
  webhookId: string;
  /** Unix seconds of this attempt; signed with the body, so receivers can refuse old replays. */
  timestampSeconds: number;
  timeoutMs?: number;
  allow: AddressPolicy;
  /** DNS for the address check; the system resolver unless a test replaces it. */
  resolve?: HostResolver;
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. A receiver recomputes it and compares in constant time. */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs `body` (JSON) to the target once, connecting only to the address the SSRF check approved. */
export async function deliverWebhook(target: WebhookTarget, body: string, options: WebhookDeliveryOptions): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const timedOut = (host: string): DeliveryResult => ({ ok: false, retryable: true, error: 'timeout', detail: `no response from ${host} within ${timeoutMs} ms` });

  const checked = await Promise.race([checkTarget(target.url, options.allow, options.resolve), whenAborted(deadline)]);
  const host = safeHost(target.url);
  if (checked === 'aborted') return timedOut(host);
  if (!checked.ok) return { ok: false, retryable: checked.error === 'dns_lookup_failed', error: checked.error, detail: checked.detail };

  const timestamp = String(options.timestampSeconds);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers ?? {})) {
    if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  const payload = Buffer.from(body, 'utf8');
  Object.assign(headers, {
    'content-type': 'application/json',
    'content-length': String(payload.length),
    'user-agent': 'Firewatch-Webhook/1',
    [WEBHOOK_HEADERS.id]: options.webhookId,
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    ...(target.secret ? { [WEBHOOK_HEADERS.signature]: signBody(target.secret, timestamp, body) } : {}),
  });

  // The name stays in the URL (Host header, TLS SNI and certificate check) but resolves only to the checked address.
  const { address, family } = checked;
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const url = new URL(target.url);
  const client = url.protocol === 'https:' ? https : http;

  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    const settle = (result: DeliveryResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    let req: http.ClientRequest;
    try {
      // agent: false — a fresh connection each time; a pooled socket could outlive the address check.
      req = client.request(url, { method: 'POST', headers, agent: false, lookup: pinned, signal: deadline });
    } catch (err) {
      // Node refuses header names or values with forbidden characters before connecting.
      settle({ ok: false, retryable: false, error: 'invalid_header', detail: (err as Error).message });
      return;
    }
    let finishResponse: (() => void) | null = null;
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      const finish = () => settle(classifyResponse(status, res.headers, Buffer.concat(chunks).toString('utf8'), host, options.timestampSeconds));
      res.on('data', (chunk: Buffer) => {
        if (kept < RESPONSE_CAP_BYTES) {
          const part = chunk.subarray(0, RESPONSE_CAP_BYTES - kept);
          chunks.push(part);
          kept += part.length;
        }
        if (kept >= RESPONSE_CAP_BYTES) {
          finish();
          res.destroy();
        }
      });
      res.on('end', finish);
      // The status is what counts; a body cut short by the deadline or the peer does not change it.
      res.on('close', finish);
      res.on('error', finish);
      finishResponse = finish;
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (finishResponse) return finishResponse();
      if (deadline.aborted) return settle(timedOut(host));
      settle({ ok: false, retryable: true, error: 'connection_failed', detail: `${describeNetworkError(err)} (${host}, ${address})` });
    });
    req.end(payload);
  });
}

function classifyResponse(status: number, headers: http.IncomingHttpHeaders, responseBody: string, host: string, nowSeconds: number): DeliveryResult {
  const base = { status, responseBody, detail: `HTTP ${status} from ${host}` };
  if (status >= 200 && status < 300) return { ok: true, retryable: false, ...base };
  if (status >= 300 && status < 400) {
    const location = headers.location ? ` to ${headers.location}` : '';
    return { ok: false, retryable: false, error: 'redirect_not_followed', ...base, detail: `HTTP ${status} redirect${location} from ${host}; redirects are not followed, update the webhook URL` };
  }
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(headers['retry-after'], headers.date, nowSeconds) : undefined;
  return { ok: false, retryable, error: 'http_error', ...base, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** Retry-After as delay-seconds or an HTTP date; a date is measured against the response's own Date header (no clock skew), else against the attempt time. */
export function parseRetryAfter(value: string | undefined, responseDate: string | undefined, nowSeconds: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    const reference = responseDate ? Date.parse(responseDate) : Number.NaN;
    ms = at - (Number.isNaN(reference) ? nowSeconds * 1000 : reference);
  }
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

function whenAborted(signal: AbortSignal): Promise<'aborted'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}
