import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, seedService, type TestApp } from '../../../test/helpers.ts';
import { severityFromLabel } from './alertmanager.ts';

const ZERO = '0001-01-01T00:00:00Z';

function alert(name: string, instance: string, status: 'firing' | 'resolved', fingerprint: string) {
  return {
    status,
    labels: { alertname: name, instance, severity: 'critical', job: 'api' },
    annotations: { summary: `${name} on ${instance}`, runbook_url: 'https://runbooks.example.com/high-latency' },
    startsAt: '2026-11-21T03:00:00Z',
    endsAt: status === 'firing' ? ZERO : '2026-11-21T03:10:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
    fingerprint,
  };
}

function message(groupKey: string, alerts: ReturnType<typeof alert>[], extra: Record<string, unknown> = {}) {
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'firewatch',
    groupLabels: { alertname: alerts[0].labels.alertname },
    commonLabels: { alertname: alerts[0].labels.alertname, severity: 'critical', job: 'api' },
    commonAnnotations: alerts.length === 1 ? { summary: alerts[0].annotations.summary } : {},
    externalURL: 'http://alertmanager:9093',
    alerts,
    ...extra,
  };
}

for (const dialect of DIALECTS) {
  describe(`Alertmanager webhook v4 intake (${dialect})`, () => {
    let t: TestApp;
    let key: string;
    before(async () => {
      t = await createTestApp(dialect);
      key = (await seedService(t)).alertmanager;
    });
    after(() => t.close());

    const post = (body: unknown) => t.app.inject({ method: 'POST', url: `/integrations/alertmanager/${key}`, payload: body as object });
    const get = async (n: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}`, headers: t.auth('viewer') })).json();

    test('one incident per groupKey, one alert per fingerprint; repeats are idempotent', async () => {
      const gk = '{}/{severity="critical"}:{alertname="HighLatency"}';
      const first = await post(message(gk, [alert('HighLatency', 'object1', 'firing', 'aaaa000000000001')]));
      assert.equal(first.statusCode, 200);
      const [n] = first.json().incidents;
      assert.ok(n > 0);
      // Alertmanager re-sends the whole group: same state again, plus a second alert joining.
      await post(message(gk, [alert('HighLatency', 'object1', 'firing', 'aaaa000000000001')]));
      const third = await post(message(gk, [alert('HighLatency', 'object1', 'firing', 'aaaa000000000001'), alert('HighLatency', 'object4', 'firing', 'aaaa000000000004')]));
      assert.deepEqual(third.json().incidents, [n]);
      const d = await get(n);
      assert.equal(d.incident.title, 'HighLatency on object1');
      assert.equal(d.alerts.length, 2);
      assert.equal(d.timeline.filter((e: { type: string }) => e.type === 'trigger').length, 1);
      assert.equal(d.timeline.filter((e: { type: string }) => e.type === 'alert_added').length, 1);
      assert.deepEqual(d.alerts.map((a: { links: { text: string }[] }) => a.links.map((l) => l.text)), [['Source', 'Runbook'], ['Source', 'Runbook']]);

      // One alert resolves: the incident stays open until all have.
      await post(message(gk, [alert('HighLatency', 'object1', 'resolved', 'aaaa000000000001'), alert('HighLatency', 'object4', 'firing', 'aaaa000000000004')]));
      assert.equal((await get(n)).incident.status, 'triggered');
      await post(message(gk, [alert('HighLatency', 'object1', 'resolved', 'aaaa000000000001'), alert('HighLatency', 'object4', 'resolved', 'aaaa000000000004')]));
      const done = await get(n);
      assert.equal(done.incident.status, 'resolved');
      assert.ok(done.alerts.every((a: { status: string }) => a.status === 'resolved'));
      // A repeated "resolved" message changes nothing.
      assert.equal((await post(message(gk, [alert('HighLatency', 'object4', 'resolved', 'aaaa000000000004')]))).statusCode, 200);

      // Firing again after resolution opens a new incident.
      const again = await post(message(gk, [alert('HighLatency', 'object1', 'firing', 'aaaa000000000001')]));
      assert.ok(again.json().incidents[0] > n);
    });

    test('an alert replaced by another in the same message does not resolve the incident in between', async () => {
      const gk = '{}:{alertname="Swap"}';
      const n = (await post(message(gk, [alert('Swap', 'a', 'firing', 'bbbb000000000001')]))).json().incidents[0];
      await post(message(gk, [alert('Swap', 'a', 'resolved', 'bbbb000000000001'), alert('Swap', 'b', 'firing', 'bbbb000000000002')]));
      const d = await get(n);
      assert.equal(d.incident.status, 'triggered');
      assert.equal(d.alerts.length, 2);
    });

    test('fields of newer Alertmanager versions are accepted; fingerprints may be missing', async () => {
      const legacy = alert('Old', 'x', 'firing', '');
      delete (legacy as Partial<typeof legacy>).fingerprint;
      const res = await post(message('{}:{alertname="Old"}', [legacy], { notification_reason: 'first notification', routeLabels: { team: 'sre' } }));
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().incidents.length, 1);
    });

    test('an unknown key is 404 and a malformed body is 400 with a stable code', async () => {
      const unknown = await t.app.inject({ method: 'POST', url: `/integrations/alertmanager/${'f'.repeat(32)}`, payload: message('k', [alert('A', 'b', 'firing', 'c')]) });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error.code, 'integration_not_found');
      const bad = await post({ version: '4', alerts: 'nope' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'invalid_alertmanager_payload');
    });

    test('the database being unavailable answers 503 so Alertmanager retries', async () => {
      const brokenSubmit = t.features.intake.submit;
      t.features.intake.submit = async () => {
        throw new Error('database is down');
      };
      try {
        const res = await post(message('{}:{alertname="Down"}', [alert('Down', 'x', 'firing', 'dddd000000000001')]));
        assert.equal(res.statusCode, 503);
        assert.ok(res.headers['retry-after']);
      } finally {
        t.features.intake.submit = brokenSubmit;
      }
    });
  });
}

describe('severity label mapping', () => {
  test('maps common words onto PagerDuty severities, unknown pages as error', () => {
    assert.equal(severityFromLabel('critical'), 'critical');
    assert.equal(severityFromLabel('page'), 'critical');
    assert.equal(severityFromLabel('Warning'), 'warning');
    assert.equal(severityFromLabel('info'), 'info');
    assert.equal(severityFromLabel(undefined), 'error');
    assert.equal(severityFromLabel('whatever'), 'error');
  });
});
