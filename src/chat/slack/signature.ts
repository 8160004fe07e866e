import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack request signing (reference §5.9): `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{raw body}")>`
 * with `X-Slack-Request-Timestamp: {unix seconds}`. Verified over the bytes exactly as received, before any parser.
 */

/** Slack's window: a request more than five minutes from our clock, either way, is refused as a replay. */
export const MAX_SKEW_SECONDS = 5 * 60;

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing_signature' | 'stale_timestamp' | 'bad_signature' | 'unknown_version' };

export function slackSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

export function verifySlackSignature(
  secret: string,
  headers: { signature: string | string[] | undefined; timestamp: string | string[] | undefined },
  body: Buffer,
  nowSeconds: number,
): SignatureCheck {
  const signature = headers.signature;
  const timestamp = headers.timestamp;
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || signature === '' || timestamp === '') return { ok: false, reason: 'missing_signature' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'stale_timestamp' };
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_SKEW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  if (!signature.startsWith('v0=')) return { ok: false, reason: 'unknown_version' };
  const expected = Buffer.from(slackSignature(secret, timestamp, body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // Lengths differ only for a malformed header; the comparison itself is constant-time.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  return { ok: true };
}
