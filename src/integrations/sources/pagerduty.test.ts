import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, pdTrigger, seedService, type TestApp } from '../../../test/helpers.ts';

for (const dialect of DIALECTS) {
  describe(`PagerDuty Events v2 intake (${dialect})`, () => {
    let t: TestApp;
    let keys: Awaited<ReturnType<typeof seedService>>;
    before(async () => {
      t = await createTestApp(dialect);
      keys = await seedService(t);
    });
    after(() => t.close());

    const enqueue = (body: unknown) => t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: body as object });
    const incident = async (n: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}`, headers: t.auth('viewer') })).json();

    test('a trigger answers 202 with the dedup key and opens one high-urgency incident', async () => {
      const res = await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'disk-db1' }));
      assert.equal(res.statusCode, 202);
      assert.deepEqual(res.json(), { status: 'success', message: 'Event processed', dedup_key: 'disk-db1' });
      const list = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: t.auth('viewer') })).json();
      const opened = list.incidents.filter((i: { title: string }) => i.title === 'Disk full on db1');
      assert.equal(opened.length, 1);
      assert.equal(opened[0].status, 'triggered');
      assert.equal(opened[0].urgency, 'high');
      const service = (await t.app.inject({ method: 'GET', url: '/api/v1/services/checkout', headers: t.auth('viewer') })).json().service;
      assert.ok(service.integrations.find((i: { name: string }) => i.name === 'pd').last_event_at, 'the integration shows when it last received an event');
    });

    test('a repeat trigger with the same key appends to the open alert instead of opening a new incident', async () => {
      const first = await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'repeat-1' }));
      const n = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      assert.equal(first.statusCode, 202);
      await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'repeat-1' }));
      await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'repeat-1' }));
      const latestAfter = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0];
      assert.equal(latestAfter.number, n, 'no new incident');
      const detail = await incident(n);
      assert.equal(detail.alerts.length, 1);
      assert.equal(detail.alerts[0].trigger_count, 3);
      assert.equal(detail.timeline.filter((e: { type: string }) => e.type === 'trigger_repeat').length, 2);
    });

    test('acknowledge and resolve by key change the incident; a trigger after resolution opens a new incident', async () => {
      await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'life' }));
      const n = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      assert.equal((await enqueue({ routing_key: keys.pagerduty, event_action: 'acknowledge', dedup_key: 'life' })).statusCode, 202);
      assert.equal((await incident(n)).incident.status, 'acknowledged');
      assert.equal((await enqueue({ routing_key: keys.pagerduty, event_action: 'resolve', dedup_key: 'life' })).statusCode, 202);
      assert.equal((await incident(n)).incident.status, 'resolved');
      // Dropped as PagerDuty drops them: still 202, nothing changes.
      assert.equal((await enqueue({ routing_key: keys.pagerduty, event_action: 'resolve', dedup_key: 'life' })).statusCode, 202);
      assert.equal((await enqueue({ routing_key: keys.pagerduty, event_action: 'acknowledge', dedup_key: 'never-seen' })).statusCode, 202);
      await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'life' }));
      const latest = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0];
      assert.equal(latest.number, n + 1);
      assert.equal(latest.status, 'triggered');
      assert.equal((await incident(n)).incident.status, 'resolved', 'resolved incidents are never reopened');
    });

    test('acknowledge or resolve through another routing key is dropped', async () => {
      await t.features.services.create({ name: 'other' });
      const other = await t.features.services.addIntegration('other', { name: 'pd2', type: 'pagerduty' });
      await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'cross' }));
      const n = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      assert.equal((await enqueue({ routing_key: other.key, event_action: 'resolve', dedup_key: 'cross' })).statusCode, 202);
      assert.equal((await incident(n)).incident.status, 'triggered');
    });

    test('a trigger without a dedup key gets a generated one', async () => {
      const res = await enqueue(pdTrigger(keys.pagerduty));
      assert.equal(res.statusCode, 202);
      assert.match(res.json().dedup_key, /^[0-9a-f]{32}$/);
    });

    test('warning and info severities open low-urgency incidents', async () => {
      await enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'low-1' }, { severity: 'warning' }));
      const latest = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0];
      assert.equal(latest.urgency, 'low');
    });

    test('invalid events get PagerDuty-shaped 400s and write nothing', async () => {
      const countBefore = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=100', headers: t.auth('viewer') })).json().incidents.length;
      const cases: [unknown, RegExp][] = [
        [{ ...pdTrigger(keys.pagerduty), routing_key: 'short' }, /Length of 'routing_key' is incorrect/],
        [{ ...pdTrigger(keys.pagerduty), event_action: 'explode' }, /event_action/],
        [pdTrigger(keys.pagerduty, {}, { severity: 'CRITICAL' }), /severity/],
        [pdTrigger(keys.pagerduty, {}, { summary: 'x'.repeat(1025) }), /summary/],
        [pdTrigger(keys.pagerduty, {}, { source: undefined }), /source/],
        [{ routing_key: keys.pagerduty, event_action: 'resolve' }, /dedup_key/],
        [{ routing_key: keys.pagerduty, event_action: 'trigger' }, /payload/],
        [pdTrigger(keys.pagerduty, { dedup_key: 'k'.repeat(256) }), /dedup_key/],
        [pdTrigger('0'.repeat(32)), /Invalid routing key/],
      ];
      for (const [body, pattern] of cases) {
        const res = await enqueue(body);
        assert.equal(res.statusCode, 400, JSON.stringify(body).slice(0, 200));
        const json = res.json();
        assert.equal(json.status, 'invalid event');
        assert.ok(Array.isArray(json.errors));
        assert.match(JSON.stringify(json), pattern);
      }
      const malformed = await t.app.inject({ method: 'POST', url: '/v2/enqueue', headers: { 'content-type': 'application/json' }, payload: '{"routing_key":' });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().status, 'invalid event');
      const big = await t.app.inject({ method: 'POST', url: '/v2/enqueue', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(pdTrigger(keys.pagerduty, {}, { custom_details: { blob: 'x'.repeat(600_000) } })) });
      assert.equal(big.statusCode, 413);
      const countAfter = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=100', headers: t.auth('viewer') })).json().incidents.length;
      assert.equal(countAfter, countBefore);
    });

    test('change events are stored and listed, and never open incidents', async () => {
      const countBefore = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=100', headers: t.auth('viewer') })).json().incidents.length;
      const res = await t.app.inject({ method: 'POST', url: '/v2/change/enqueue', payload: { routing_key: keys.pagerduty, payload: { summary: 'Deployed v1.2.3', source: 'ci' } } });
      assert.equal(res.statusCode, 202);
      const list = (await t.app.inject({ method: 'GET', url: '/api/v1/change-events', headers: t.auth('viewer') })).json();
      assert.equal(list.change_events[0].summary, 'Deployed v1.2.3');
      const countAfter = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=100', headers: t.auth('viewer') })).json().incidents.length;
      assert.equal(countAfter, countBefore);
    });

    test('concurrent triggers for one key open exactly one incident', async () => {
      const results = await Promise.all(Array.from({ length: 40 }, () => enqueue(pdTrigger(keys.pagerduty, { dedup_key: 'storm' }))));
      assert.ok(results.every((r) => r.statusCode === 202));
      const list = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=100&status=triggered', headers: t.auth('viewer') })).json();
      const storm = [];
      for (const i of list.incidents) {
        const d = await incident(i.number);
        if (d.alerts.some((a: { dedup_key: string }) => a.dedup_key === 'storm')) storm.push(d);
      }
      assert.equal(storm.length, 1);
      assert.equal(storm[0].alerts[0].trigger_count, 40);
    });
  });
}
