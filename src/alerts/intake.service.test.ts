import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildApp } from '../app.ts';
import { migrateToLatest, openDatabase } from '../db/database.ts';
import { createTestDatabase, DIALECTS, pdTrigger, testConfig } from '../../test/helpers.ts';

for (const dialect of DIALECTS) {
  describe(`intake commits (${dialect})`, () => {
    test('no 2xx before the commit is durable, and concurrent requests share transactions', async () => {
      const database = await createTestDatabase(dialect);
      const handle = openDatabase(database.url);
      await migrateToLatest(handle.db);
      // Hold every durability flush until the test lets it go.
      let release!: () => void;
      let gate = new Promise<void>((r) => (release = r));
      const realDurable = handle.durable;
      handle.durable = async () => {
        await gate;
        await realDurable();
      };
      const { app, features } = await buildApp({ config: testConfig({ databaseUrl: database.url }), handle, logger: false });
      try {
        await features.services.create({ name: 'svc' });
        const key = (await features.services.addIntegration('svc', { name: 'pd', type: 'pagerduty' })).key;
        let answered = false;
        const pending = app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(key, { dedup_key: 'held' }) }).then((r) => {
          answered = true;
          return r;
        });
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(answered, false, 'answered before the commit reached the disk');
        release();
        assert.equal((await pending).statusCode, 202);

        gate = Promise.resolve();
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(key, { dedup_key: `c${i}` }) })));
        assert.ok(results.every((r) => r.statusCode === 202));
        const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
        const batches = Number(/firewatch_intake_batch_size_count (\d+)/.exec(metrics)?.[1]);
        const events = Number(/firewatch_intake_batch_size_sum (\d+)/.exec(metrics)?.[1]);
        assert.equal(events, 61);
        assert.ok(batches < 30, `61 requests took ${batches} transactions`);
      } finally {
        await app.close();
        await handle.close();
        await database.destroy();
      }
    });
  });
}
