import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEventBus, type LiveEvent } from './event-bus.ts';
import { relayThroughPostgres } from './pg-relay.ts';
import { createTestDatabase, PG_ADMIN_URL } from '../../test/helpers.ts';

describe('live events across processes on PostgreSQL', { skip: PG_ADMIN_URL ? false : 'skipped: no PostgreSQL' }, () => {
  test('an event published by one process reaches the others once, and not itself twice', async () => {
    const database = await createTestDatabase('postgres');
    const log = { warn: () => {} };
    const a = createEventBus();
    const b = createEventBus();
    const stopA = relayThroughPostgres(a, database.url, log);
    const stopB = relayThroughPostgres(b, database.url, log);
    try {
      const seenA: LiveEvent[] = [];
      const seenB: LiveEvent[] = [];
      a.subscribe((e) => seenA.push(e));
      b.subscribe((e) => seenB.push(e));
      const event: LiveEvent = { type: 'timeline.appended', incident_number: 7, entry_id: 'x', entry_type: 'annotate' };
      // The LISTEN connection comes up asynchronously; publish until B hears it.
      const deadline = Date.now() + 10_000;
      while (seenB.length === 0 && Date.now() < deadline) {
        a.publish(event);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(seenB.length >= 1, 'B received the event');
      assert.deepEqual(seenB[0], event);
      // Both listening now: one more event arrives exactly once on each side.
      await new Promise((r) => setTimeout(r, 300));
      seenA.length = 0;
      seenB.length = 0;
      a.publish(event);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(seenA.length, 1, 'A saw its own event once (locally, not echoed back)');
      assert.equal(seenB.length, 1, 'B saw it once');
    } finally {
      await stopA();
      await stopB();
      await database.destroy();
    }
  });
});
