import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ATTEMPTS, nextAttemptDelayMs, retryDelayMs, type DeliveryResult } from './retry.ts';

const MINUTE = 60_000;

test('back-off is about 30 s, 1 m, 3 m, 8 m, each within ±20 % jitter', () => {
  const expected = [0.5 * MINUTE, MINUTE, 3 * MINUTE, 8 * MINUTE];
  expected.forEach((base, i) => {
    assert.equal(retryDelayMs(i + 1, () => 0.5), base);
    assert.equal(retryDelayMs(i + 1, () => 0), base * 0.8);
    assert.ok(retryDelayMs(i + 1, () => 0.999_999) <= base * 1.2);
  });
  assert.equal(retryDelayMs(9, () => 0.5), 8 * MINUTE, 'past the table the last delay repeats');
});

test('the delays grow even at the worst jitter, and all retries fit in PagerDuty-like 20 minutes', () => {
  for (let attempt = 1; attempt < MAX_ATTEMPTS - 1; attempt++) {
    assert.ok(retryDelayMs(attempt, () => 0.999_999) < retryDelayMs(attempt + 1, () => 0));
  }
  let total = 0;
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) total += retryDelayMs(attempt, () => 0.999_999);
  assert.ok(total <= 20 * MINUTE, `${total / MINUTE} minutes`);
});

test('attempt numbers start at 1', () => {
  assert.throws(() => retryDelayMs(0), RangeError);
  assert.throws(() => retryDelayMs(1.5), RangeError);
});

test('nextAttemptDelayMs stops on success, permanent failure and the last attempt, and honours Retry-After', () => {
  const retryable: DeliveryResult = { ok: false, retryable: true, status: 503 };
  assert.equal(nextAttemptDelayMs({ ok: true, retryable: false }, 1), null);
  assert.equal(nextAttemptDelayMs({ ok: false, retryable: false, status: 410 }, 1), null);
  assert.equal(nextAttemptDelayMs(retryable, MAX_ATTEMPTS), null);
  assert.equal(nextAttemptDelayMs(retryable, MAX_ATTEMPTS - 1, () => 0.5), 8 * MINUTE);
  assert.equal(nextAttemptDelayMs({ ...retryable, retryAfterMs: 10 * MINUTE }, 1, () => 0.5), 10 * MINUTE);
  assert.equal(nextAttemptDelayMs({ ...retryable, retryAfterMs: 1000 }, 1, () => 0.5), 30_000);
});
