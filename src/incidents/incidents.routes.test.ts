import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, pdTrigger, seedService, type TestApp } from '../../test/helpers.ts';
import type { LiveEvent } from '../events/event-bus.ts';

for (const dialect of DIALECTS) {
  describe(`incidents API (${dialect})`, () => {
    let t: TestApp;
    let keys: Awaited<ReturnType<typeof seedService>>;
    before(async () => {
      t = await createTestApp(dialect);
      keys = await seedService(t);
      await t.features.services.create({ name: 'search' });
      const searchKey = (await t.features.services.addIntegration('search', { name: 'pd', type: 'pagerduty' })).key;
      for (let i = 1; i <= 30; i++) {
        const key = i % 3 === 0 ? searchKey : keys.pagerduty;
        const res = await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(key, { dedup_key: `k${i}` }, { summary: `alert ${i}`, severity: i % 2 ? 'critical' : 'info' }) });
        assert.equal(res.statusCode, 202);
      }
    });
    after(() => t.close());

    const get = (url: string, role: 'viewer' | 'responder' = 'viewer') => t.app.inject({ method: 'GET', url, headers: t.auth(role) });
    const post = (url: string, payload?: object) => t.app.inject({ method: 'POST', url, headers: t.auth('responder'), payload });

    test('lists newest first and pages through everything exactly once', async () => {
      const seen: number[] = [];
      let cursor: number | null = null;
      do {
        const res = await get(`/api/v1/incidents?limit=7${cursor ? `&before=${cursor}` : ''}`);
        assert.equal(res.statusCode, 200);
        const body = res.json();
        seen.push(...body.incidents.map((i: { number: number }) => i.number));
        cursor = body.next_cursor;
      } while (cursor);
      assert.equal(seen.length, 30);
      const exact = (await get('/api/v1/incidents?limit=30')).json();
      assert.equal(exact.incidents.length, 30);
      assert.equal(exact.next_cursor, null, 'a page that reaches the end has no cursor');
      assert.deepEqual(seen, seen.toSorted((a, b) => b - a));
      assert.equal(new Set(seen).size, 30);
    });

    test('filters by service, urgency, status and time', async () => {
      const search = (await get('/api/v1/incidents?service=search&limit=100')).json().incidents;
      assert.equal(search.length, 10);
      assert.ok(search.every((i: { service: { name: string } }) => i.service.name === 'search'));
      const low = (await get('/api/v1/incidents?urgency=low&limit=100')).json().incidents;
      assert.equal(low.length, 15);
      const future = (await get(`/api/v1/incidents?since=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`)).json().incidents;
      assert.equal(future.length, 0);
      const resolved = (await get('/api/v1/incidents?status=resolved')).json().incidents;
      assert.equal(resolved.length, 0);
      assert.equal((await get('/api/v1/incidents?service=nope')).statusCode, 404);
      const bad = await get('/api/v1/incidents?status=exploded&limit=1000');
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'validation_failed');
      const paths = bad.json().error.details.map((d: { path: string }) => d.path);
      assert.ok(paths.includes('query.status') && paths.includes('query.limit'), JSON.stringify(paths));
    });

    test('acknowledge, note and resolve are recorded on the timeline with who did them', async () => {
      const bus: LiveEvent[] = [];
      const unsubscribe = t.features.bus.subscribe((e) => bus.push(e));
      const ack = await post('/api/v1/incidents/1/acknowledge');
      assert.equal(ack.statusCode, 200);
      assert.equal(ack.json().incident.status, 'acknowledged');
      assert.equal(ack.json().incident.acknowledged_by, 'token:test-responder');
      assert.equal((await post('/api/v1/incidents/1/acknowledge')).json().incident.status, 'acknowledged', 'acknowledging twice is harmless');
      assert.equal((await post('/api/v1/incidents/1/notes', { text: 'ls shows a core file; rm ~/core' })).statusCode, 201);
      const res = await post('/api/v1/incidents/1/resolve');
      assert.equal(res.json().incident.status, 'resolved');
      unsubscribe();
      const d = (await get('/api/v1/incidents/1')).json();
      // The service has no escalation policy: the timeline says nobody was paged.
      assert.deepEqual(d.timeline.map((e: { type: string }) => e.type), ['trigger', 'escalate', 'acknowledge', 'annotate', 'resolve']);
      assert.match(d.timeline[1].message, /no escalation policy/);
      assert.equal(d.timeline[3].message, 'ls shows a core file; rm ~/core');
      assert.ok(d.alerts.every((a: { status: string }) => a.status === 'resolved'), 'resolving an incident resolves its alerts');
      assert.deepEqual(bus.filter((e) => e.type === 'incident.changed').map((e) => e.type === 'incident.changed' && e.incident.status), ['acknowledged', 'acknowledged', 'resolved']);
      const conflict = await post('/api/v1/incidents/1/acknowledge');
      assert.equal(conflict.statusCode, 409);
      assert.equal(conflict.json().error.code, 'incident_resolved');
    });

    test('unknown incidents are 404 incident_not_found; bad numbers 400', async () => {
      const res = await get('/api/v1/incidents/99999');
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'incident_not_found');
      assert.equal((await get('/api/v1/incidents/abc')).statusCode, 400);
      assert.equal((await post('/api/v1/incidents/2/notes', { text: '' })).statusCode, 400);
      assert.equal((await post('/api/v1/incidents/2/notes', { text: 'x', extra: 1 })).statusCode, 400);
    });

    test('an incident can be opened by hand', async () => {
      const res = await post('/api/v1/incidents', { title: 'Customers report slow checkout', service: 'checkout' });
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().incident.urgency, 'high');
      assert.equal(res.json().incident.number, 31);
    });

    test('the OpenAPI document describes every API route', async () => {
      const doc = (await get('/api/v1/openapi.json')).json();
      assert.equal(doc.openapi, '3.0.3');
      for (const r of t.routes) {
        const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
        assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path} in OpenAPI`);
      }
      assert.ok(doc.paths['/api/v1/incidents'].get.parameters.some((p: { name: string }) => p.name === 'status'));
    });

    test('/metrics reports requests, accepted events, opened incidents and DB latency', async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(text, /firewatch_events_accepted_total\{source="pagerduty",outcome="created"\} 30/);
      assert.match(text, /firewatch_incidents_opened_total 31/);
      assert.match(text, /firewatch_http_requests_total\{method="POST",route="\/v2\/enqueue",status="202"\} 30/);
      assert.match(text, /firewatch_db_query_duration_seconds_count \d+/);
    });

    test('unknown API paths answer JSON 404', async () => {
      const res = await get('/api/v1/nothing-here');
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'route_not_found');
    });
  });
}
