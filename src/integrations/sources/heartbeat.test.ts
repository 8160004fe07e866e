import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../clock.ts';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { checkHeartbeats } from './heartbeat.ts';

for (const dialect of DIALECTS) {
  describe(`heartbeats (${dialect})`, () => {
    let t: TestApp;
    let key: string;
    const clock = new ManualClock('2026-03-29T00:30:00Z');
    before(async () => {
      t = await createTestApp(dialect, { clock });
      await t.features.services.create({ name: 'batch' });
      key = (await t.features.services.addIntegration('batch', { name: 'nightly-backup', type: 'heartbeat', config: { interval_seconds: 60 } })).key;
    });
    after(() => t.close());

    const ping = () => t.app.inject({ method: 'POST', url: `/integrations/heartbeat/${key}` });
    const openIncidents = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?status=open', headers: t.auth('viewer') })).json().incidents;

    test('nothing opens before the first ping arms the heartbeat', async () => {
      clock.advance(3600_000);
      assert.equal(await checkHeartbeats(t.features.intakeContext), 0);
      assert.equal((await openIncidents()).length, 0);
    });

    test('a missed interval opens exactly one incident, however often it is checked', async () => {
      const res = await ping();
      assert.equal(res.statusCode, 200);
      clock.advance(59_000);
      assert.equal(await checkHeartbeats(t.features.intakeContext), 0);
      clock.advance(2_000);
      const results = await Promise.all([checkHeartbeats(t.features.intakeContext), checkHeartbeats(t.features.intakeContext)]);
      assert.equal(results.reduce((a, b) => a + b, 0), 1);
      clock.advance(600_000);
      await checkHeartbeats(t.features.intakeContext);
      const open = await openIncidents();
      assert.equal(open.length, 1);
      assert.match(open[0].title, /nightly-backup missed/);
      assert.equal(open[0].urgency, 'high');
    });

    test('the next ping resolves it and re-arms', async () => {
      const res = await ping();
      assert.ok(res.json().resolved_incident > 0);
      assert.equal((await openIncidents()).length, 0);
      clock.advance(61_000);
      assert.equal(await checkHeartbeats(t.features.intakeContext), 1);
    });

    test('a ping may carry any body or none, as curl -d and cron jobs send', async () => {
      const form = await t.app.inject({ method: 'POST', url: `/integrations/heartbeat/${key}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'status=ok' });
      assert.equal(form.statusCode, 200);
      const text = await t.app.inject({ method: 'POST', url: `/integrations/heartbeat/${key}`, headers: { 'content-type': 'text/plain' }, payload: 'done' });
      assert.equal(text.statusCode, 200);
    });

    test('an unknown key is 404', async () => {
      const res = await t.app.inject({ method: 'POST', url: `/integrations/heartbeat/${'a'.repeat(32)}` });
      assert.equal(res.statusCode, 404);
    });
  });
}
