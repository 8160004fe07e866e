/**
 * How many times a notification is tried and how long to wait between tries. The runner that records
 * deliveries calls these; the channels themselves never wait or retry.
 */

/** Attempts per notification, the first included. PagerDuty tries a webhook about five times over ~20 minutes. */
export const MAX_ATTEMPTS = 5;

/** Wait after failed attempt n (index n - 1), before attempt n + 1: 30 s, 1 m, 3 m, 8 m. */
const BASE_DELAYS_MS = [30_000, 60_000, 180_000, 480_000];

/** ±20 %: enough to spread a burst of failures to one receiver without blurring the schedule. */
const JITTER = 0.2;

/** What one attempt at any channel came to. */
export interface DeliveryResult {
  ok: boolean;
  /** Whether the same message may succeed later (timeouts, 4xx SMTP replies, HTTP 408/429/5xx). */
  retryable: boolean;
  /** HTTP status or SMTP reply code, when the other side answered. */
  status?: number;
  /** A stable code: `timeout`, `http_error`, `smtp_rejected`, `email_not_configured`, `address_not_allowed`, ... */
  error?: string;
  /** One line for the incident timeline, e.g. `SMTP 250 accepted by mail.example.com`, `HTTP 503 from hooks.example.com`. */
  detail?: string;
  /** The receiver's Retry-After (HTTP 429/503), in ms, capped at an hour. */
  retryAfterMs?: number;
  /** The start of the receiver's response body (at most 4 KB), for diagnosing a failure. */
  responseBody?: string;
}

/**
 * Exponential back-off with jitter: the delay before attempt `attempt + 1`, after attempt `attempt` (1-based)
 * failed. Roughly 30 s, 1 m, 3 m, 8 m, so five attempts span about 12 minutes plus their own time.
 * Past the table the last delay repeats; stopping at MAX_ATTEMPTS is the caller's rule (see nextAttemptDelayMs).
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const base = BASE_DELAYS_MS[Math.min(attempt, BASE_DELAYS_MS.length) - 1];
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * The one rule for "try again?": null when the result is final (success, permanent failure, attempts used
 * up), otherwise how long to wait — the back-off, or the receiver's Retry-After when that is longer.
 */
export function nextAttemptDelayMs(result: DeliveryResult, attempt: number, random: () => number = Math.random): number | null {
  if (result.ok || !result.retryable || attempt >= MAX_ATTEMPTS) return null;
  return Math.max(retryDelayMs(attempt, random), result.retryAfterMs ?? 0);
}
