import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { mapWebhookBody, readPath } from './webhook.ts';

describe('generic webhook mapping', () => {
  test('reads dotted and indexed paths, and nothing from the prototype', () => {
    const body = { a: { b: [{ c: 'x' }] } };
    assert.equal(readPath(body, 'a.b[0].c'), 'x');
    assert.equal(readPath(body, 'a.b.0.c'), 'x');
    assert.equal(readPath(body, 'a.missing.c'), undefined);
    assert.equal(readPath(body, 'constructor'), undefined);
    assert.equal(readPath(body, 'a.__proto__'), undefined);
  });

  test('maps a Grafana-like body with a mapping, translating status and severity words', () => {
    const mapping = {
      title: 'alert.name', dedup_key: 'alert.id', status: 'state', severity: 'alert.level',
      resolved_values: ['OK'], severity_values: { critical: ['P1'], warning: ['P3'] },
    };
    const firing = mapWebhookBody({ state: 'alerting', alert: { name: 'CPU hot', id: 'cpu-7', level: 'P1' } }, mapping);
    assert.ok(firing.ok);
    assert.equal(firing.value.action, 'trigger');
    assert.equal(firing.value.summary, 'CPU hot');
    assert.equal(firing.value.dedupKey, 'cpu-7');
    assert.equal(firing.value.severity, 'critical');
    const ok = mapWebhookBody({ state: 'ok', alert: { name: 'CPU hot', id: 'cpu-7', level: 'P3' } }, mapping);
    assert.ok(ok.ok);
    assert.equal(ok.value.action, 'resolve');
  });

  test('without a mapping, common field names work and the title identifies the alert', () => {
    const a = mapWebhookBody({ title: 'Queue backlog', severity: 'warning' }, {});
    const b = mapWebhookBody({ title: 'Queue backlog', severity: 'warning' }, {});
    assert.ok(a.ok && b.ok);
    assert.equal(a.value.dedupKey, b.value.dedupKey);
    assert.equal(a.value.severity, 'warning');
  });

  test('a body with no title is refused with a reason', () => {
    const r = mapWebhookBody({ foo: 1 }, {});
    assert.equal(r.ok, false);
    const arr = mapWebhookBody([1, 2], {});
    assert.equal(arr.ok, false);
  });
});

for (const dialect of DIALECTS) {
  describe(`generic webhook intake (${dialect})`, () => {
    let t: TestApp;
    let key: string;
    before(async () => {
      t = await createTestApp(dialect);
      await t.features.services.create({ name: 'grafana' });
      key = (await t.features.services.addIntegration('grafana', {
        name: 'hook', type: 'webhook',
        config: { mapping: { title: 'alert.name', dedup_key: 'alert.id', status: 'state', resolved_values: ['ok'] } },
      })).key;
    });
    after(() => t.close());

    test('opens and resolves an incident through the mapping', async () => {
      const fire = await t.app.inject({ method: 'POST', url: `/integrations/webhook/${key}`, payload: { state: 'alerting', alert: { name: 'Error rate > 5%', id: 'err-1' } } });
      assert.equal(fire.statusCode, 202);
      const n = fire.json().incident_number;
      assert.equal(fire.json().result, 'created');
      const clear = await t.app.inject({ method: 'POST', url: `/integrations/webhook/${key}`, payload: { state: 'ok', alert: { name: 'Error rate > 5%', id: 'err-1' } } });
      assert.equal(clear.json().result, 'resolved');
      const d = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}`, headers: t.auth('viewer') })).json();
      assert.equal(d.incident.status, 'resolved');
      assert.equal(d.incident.title, 'Error rate > 5%');
    });

    test('an unmappable body is 400 unmappable_payload', async () => {
      const res = await t.app.inject({ method: 'POST', url: `/integrations/webhook/${key}`, payload: { state: 'alerting' } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'unmappable_payload');
    });

    test('an invalid mapping is refused when the integration is created', async () => {
      await assert.rejects(
        t.features.services.addIntegration('grafana', { name: 'bad', type: 'webhook', config: { mapping: { title: 'a..b' } } }),
        /dotted paths/,
      );
    });
  });
}
