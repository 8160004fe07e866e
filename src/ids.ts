import { createHash, randomBytes, randomFillSync } from 'node:crypto';

let lastMs = 0;
let sequence = 0;
// Random bytes are drawn from a pool refilled 512 ids at a time: one system call per id is measurable at intake rates.
const pool = Buffer.alloc(8 * 512);
let poolOffset = pool.length;

/**
 * UUIDv7: time-ordered, so ids sort by creation and index well on both databases. Within one
 * millisecond the 12-bit sequence field counts up, so ids made by one process sort in creation order.
 */
export function newId(now: number = Date.now()): string {
  if (now <= lastMs) {
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.alloc(16);
  pool.copy(bytes, 8, poolOffset, poolOffset + 8);
  poolOffset += 8;
  const ms = BigInt(now);
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A 32-character lowercase hex key, the length PagerDuty uses for routing keys. */
export function newIntegrationKey(): string {
  return randomBytes(16).toString('hex');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
