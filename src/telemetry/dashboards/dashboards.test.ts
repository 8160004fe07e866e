import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, seedService, type TestApp } from '../../../test/helpers.ts';
import { parseConfigYaml } from '../../config-as-code/apply.service.ts';

const now = () => Math.floor(Date.now() / 1000);

/** Service dashboards against the built-in `demo` data source (storage-3 degrades over the last three hours). */
for (const dialect of DIALECTS) {
  describe(`service dashboards (${dialect})`, () => {
    let t: TestApp;
    let keys: Awaited<ReturnType<typeof seedService>>;
    const req = async (method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown, role: 'viewer' | 'responder' = 'responder') => {
      const res = await t.app.inject({ method, url, headers: t.auth(role), ...(body === undefined ? {} : { payload: body as object }) });
      return { status: res.statusCode, body: res.json() };
    };
    before(async () => {
      t = await createTestApp(dialect);
      keys = await seedService(t, 'storage');
    });
    after(() => t.close());

    test('the demo preset: six standard panels, aggregated and per instance, the degrading instance named with its score', async () => {
      const config = await req('GET', '/api/v1/services/storage/dashboard', undefined, 'viewer');
      assert.equal(config.status, 200);
      assert.equal(config.body.effective.preset, 'demo');
      assert.deepEqual(config.body.effective.panels.map((p: { id: string }) => p.id), ['cpu', 'memory', 'io', 'requests', 'latency', 'errors']);

      const to = now();
      const data = await req('GET', `/api/v1/services/storage/dashboard/data?from=${to - 3 * 3600}&to=${to}`, undefined, 'viewer');
      // Times beyond what a date holds are refused before any query (float seconds cannot step through them).
      const far = await req('GET', '/api/v1/services/storage/dashboard/data?from=1000000000000000000&to=1000000000000003600', undefined, 'viewer');
      assert.equal(far.status, 400);
      assert.equal(far.body.error.code, 'invalid_time_range');
      const farQuery = await req('GET', '/api/v1/datasources/demo/query_range?query=up&start=100000000000000000&end=100000000000000000', undefined, 'viewer');
      assert.equal(farQuery.status, 400);
      assert.equal(data.status, 200, JSON.stringify(data.body));
      const latency = data.body.panels.find((p: { id: string }) => p.id === 'latency');
      assert.equal(latency.error, null);
      assert.equal(latency.per_instance.length, 6);
      assert.deepEqual(latency.aggregate.map((s: { name: string }) => s.name), ['p50', 'p90', 'p99']);
      assert.equal(latency.outliers.top.instance, 'storage-3');
      assert.ok(latency.outliers.top.score > 3);
      assert.equal(latency.outliers.threshold, 3);
      assert.equal(data.body.top_outlier.instance, 'storage-3');
      // Only storage-3 is flagged, on any panel.
      assert.deepEqual([...new Set(data.body.outliers.map((o: { instance: string }) => o.instance))], ['storage-3']);

      // The other services' instances are not drawn on storage's dashboard.
      assert.ok(latency.per_instance.every((s: { name: string }) => s.name.startsWith('storage-')));
      // A healthy service has no outlier.
      await t.features.services.create({ name: 'search', description: '' });
      const search = await req('GET', `/api/v1/services/search/dashboard/data?from=${to - 3 * 3600}&to=${to}`, undefined, 'viewer');
      assert.equal(search.body.top_outlier, null, JSON.stringify(search.body.outliers));
    });

    test('configured panels; a bad query or a missing data source is an error on the panel, never a blank dashboard', async () => {
      const put = await req('PUT', '/api/v1/services/storage/dashboard', {
        panels: [
          { id: 'cpu', title: 'CPU', unit: 'ratio', per_instance: 'max by (instance) (cpu_usage{$selector})' },
          { id: 'broken', title: 'Broken', per_instance: 'rate(cpu_usage{$selector}[$__rate_interval])' },
        ],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.match(put.body.updated_by, /test-responder/);
      const to = now();
      const data = (await req('GET', `/api/v1/services/storage/dashboard/data?from=${to - 3600}&to=${to}`, undefined, 'viewer')).body;
      assert.deepEqual(data.panels.map((p: { id: string }) => p.id), ['cpu', 'broken']);
      const [cpu, broken] = data.panels;
      assert.equal(cpu.error, null);
      // No aggregate query: the instances are averaged.
      assert.deepEqual(cpu.aggregate.map((s: { name: string }) => s.name), ['average']);
      assert.equal(cpu.queries.per_instance, 'max by (instance) (cpu_usage{service="storage"})');
      assert.equal(broken.error.code, 'bad_query');
      assert.deepEqual(broken.per_instance, []);

      assert.equal((await req('PUT', '/api/v1/services/storage/dashboard', { datasource: 'nope' })).status, 200);
      const missing = (await req('GET', '/api/v1/services/storage/dashboard/data', undefined, 'viewer')).body;
      assert.equal(missing.error.code, 'datasource_not_found');
      assert.equal(missing.panels.length, 6);
      assert.ok(missing.panels.every((p: { error: { code: string } }) => p.error.code === 'datasource_not_found'));

      // Invalid settings and windows are refused; {} restores the defaults.
      const dupe = await req('PUT', '/api/v1/services/storage/dashboard', { panels: [{ id: 'a', title: 'A', per_instance: 'up' }, { id: 'a', title: 'B', per_instance: 'up' }] });
      assert.equal(dupe.status, 400);
      assert.equal((await req('PUT', '/api/v1/services/storage/dashboard', {}, 'viewer')).status, 403);
      assert.equal((await req('PUT', '/api/v1/services/storage/dashboard', {})).body.effective.panels.length, 6);
      const backwards = await req('GET', `/api/v1/services/storage/dashboard/data?from=${to}&to=${to - 60}`, undefined, 'viewer');
      assert.equal(backwards.status, 400);
      assert.equal(backwards.body.error.code, 'invalid_time_range');
      assert.equal((await req('GET', '/api/v1/services/storage/dashboard/data?from=yesterday', undefined, 'viewer')).body.error.code, 'invalid_time_range');
      assert.equal((await req('GET', '/api/v1/services/nope/dashboard/data', undefined, 'viewer')).status, 404);
    });

    test('a chart snapshot is posted into a channel as a PNG linked to its live view', async () => {
      assert.equal((await req('POST', '/api/v1/channels', { name: 'ops' })).status, 201);
      const to = now();
      const snap = await req('POST', '/api/v1/snapshots', { query: 'max by (instance) (cpu_usage{service="storage"})', from: to - 3600, to, channel: 'ops', title: 'storage CPU', highlight: ['instance="storage-3"'] });
      assert.equal(snap.status, 201, JSON.stringify(snap.body));
      assert.equal(snap.body.file.content_type, 'image/png');
      assert.ok(snap.body.file.size > 1000);
      const link = new URL(snap.body.link, 'http://x');
      assert.equal(link.pathname, '/explore');
      assert.equal(link.searchParams.get('query'), 'max by (instance) (cpu_usage{service="storage"})');
      assert.equal(link.searchParams.get('from'), String(to - 3600));
      const messages = (await req('GET', '/api/v1/channels/ops/messages', undefined, 'viewer')).body.messages as { text: string; files: { id: string; link: string }[] }[];
      const posted = messages.find((m) => m.files.some((f) => f.id === snap.body.file.id));
      assert.ok(posted, 'the message with the chart is in the channel');
      assert.match(posted.text, /storage CPU/);
      const png = await t.app.inject({ method: 'GET', url: `/api/v1/files/${snap.body.file.id}`, headers: t.auth('viewer') });
      assert.equal(png.statusCode, 200);
      assert.deepEqual([...png.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);

      const empty = await req('POST', '/api/v1/snapshots', { query: 'cpu_usage{service="none"}', from: to - 3600, to, channel: 'ops' });
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error.code, 'empty_result');
      assert.equal((await req('POST', '/api/v1/snapshots', { query: 'cpu_usage', from: to - 3600, to, channel: 'ops' }, 'viewer')).status, 403);
    });

    test('incident telemetry: the window around the incident, its outlier and the inventory hosts its alerts name', async () => {
      await t.features.apply.apply(parseConfigYaml(`inventory:
  - name: racks
    provider: static
    hosts:
      - { name: storage-3, id: srv-storage-3, addresses: ["10.1.0.3"], labels: { kind: object4, rack: r7 } }
`));
      const res = await t.app.inject({ method: 'POST', url: `/integrations/alertmanager/${keys.alertmanager}`, payload: {
        version: '4', status: 'firing', receiver: 'fw', groupKey: '{}:{alertname="Slow"}', groupLabels: { alertname: 'Slow' }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am',
        alerts: [{ status: 'firing', labels: { alertname: 'Slow', instance: 'storage-3', severity: 'critical' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom', fingerprint: 'abc' }],
      } });
      assert.ok(res.statusCode < 300, res.body);
      const incidents = (await req('GET', '/api/v1/incidents', undefined, 'viewer')).body.incidents as { number: number; service: { name: string } }[];
      const incident = incidents.find((i) => i.service.name === 'storage')!;
      const tel = await req('GET', `/api/v1/incidents/${incident.number}/telemetry`, undefined, 'viewer');
      assert.equal(tel.status, 200, JSON.stringify(tel.body));
      assert.ok(tel.body.window.to - tel.body.window.from >= 3600);
      assert.ok(tel.body.window.to <= now() + 1, 'the window ends now at the latest');
      assert.equal(tel.body.dashboard_url, `/services/storage/dashboard?from=${tel.body.window.from}&to=${tel.body.window.to}`);
      assert.equal(tel.body.dashboard.top_outlier.instance, 'storage-3');
      const host = tel.body.affected_hosts.find((a: { value: string }) => a.value === 'storage-3');
      assert.equal(host.label, 'instance');
      assert.deepEqual(host.hosts.map((h: { external_id: string }) => h.external_id), ['srv-storage-3']);
      assert.equal((await req('GET', '/api/v1/incidents/9999/telemetry', undefined, 'viewer')).status, 404);
    });
  });
}
