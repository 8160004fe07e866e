import type { Clock } from '../clock.ts';

/**
 * Counts failed logins per client address and per account in a sliding window. After `max` failures
 * the key is blocked until the oldest failure leaves the window. In memory: per process, reset on restart.
 */
export function createLoginLimiter(clock: Clock, max = 10, windowMs = 15 * 60_000) {
  const failures = new Map<string, number[]>();
  const recent = (key: string, now: number) => (failures.get(key) ?? []).filter((t) => now - t < windowMs);
  return {
    /** Milliseconds until another try is allowed, or 0. */
    retryAfterMs(keys: string[]): number {
      const now = clock.now().getTime();
      let wait = 0;
      for (const key of keys) {
        const times = recent(key, now);
        if (times.length >= max) wait = Math.max(wait, windowMs - (now - times[0]));
      }
      return wait;
    },
    fail(keys: string[]): void {
      const now = clock.now().getTime();
      if (failures.size > 50_000) failures.clear();
      for (const key of keys) failures.set(key, [...recent(key, now), now]);
    },
    succeed(keys: string[]): void {
      for (const key of keys) failures.delete(key);
    },
  };
}
