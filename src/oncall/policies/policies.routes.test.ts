import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { newId } from '../../ids.ts';
import { createPoliciesRepo } from './policies.repo.ts';

const levels = [
  { delay_minutes: 10, targets: [{ type: 'schedule', name: 'primary' }, { type: 'user', email: 'Ana@Example.com' }] },
  { delay_minutes: 15, strategy: 'round_robin', targets: [{ type: 'user', email: 'bo@example.com' }, { type: 'user', email: 'ana@example.com' }] },
];

for (const dialect of DIALECTS) {
  describe(`escalation policies API (${dialect})`, () => {
    let t: TestApp;
    let scheduleId: string;
    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, role: 'admin' | 'responder' | 'viewer' = 'admin') =>
      t.app.inject({ method, url, payload: payload as object, headers: t.auth(role) });

    before(async () => {
      t = await createTestApp(dialect);
      await t.features.users.createUser({ email: 'ana@example.com', name: 'Ana', role: 'responder' });
      await t.features.users.createUser({ email: 'bo@example.com', name: 'Bo', role: 'responder' });
      scheduleId = newId();
      const now = new Date().toISOString();
      await t.handle.db.insertInto('schedules').values({ id: scheduleId, name: 'primary', description: '', time_zone: 'UTC', layers: '[]', created_at: now, updated_at: now }).execute();
    });
    after(() => t.close());

    test('an admin creates a policy; targets are stored by id and shown with their names', async () => {
      const res = await call('POST', '/api/v1/escalation-policies', { name: 'checkout', description: 'Checkout on-call', repeat: 2, levels });
      assert.equal(res.statusCode, 201, res.body);
      const p = res.json().escalation_policy;
      assert.equal(p.repeat, 2);
      assert.equal(p.levels[0].strategy, 'all', 'strategy defaults to all');
      assert.deepEqual(p.levels[0].targets[0], { type: 'schedule', id: scheduleId, name: 'primary' });
      assert.equal(p.levels[0].targets[1].email, 'ana@example.com');
      assert.equal(p.levels[0].targets[1].name, 'Ana');
      assert.equal(p.levels[1].strategy, 'round_robin');

      const stored = await createPoliciesRepo(t.handle.db).findByName('checkout');
      assert.equal(stored?.levels[0].targets[0].id, scheduleId);
      assert.equal(stored?.levels[0].targets[1].type, 'user');
      assert.match(stored!.levels[0].targets[1].id, /^[0-9a-f-]{36}$/);
      assert.deepEqual((await createPoliciesRepo(t.handle.db).findById(stored!.id))?.name, 'checkout');
    });

    test('viewers read policies; responders and viewers cannot write them', async () => {
      const list = await call('GET', '/api/v1/escalation-policies', undefined, 'viewer');
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().escalation_policies.map((p: { name: string }) => p.name), ['checkout']);
      assert.equal((await call('GET', '/api/v1/escalation-policies/checkout', undefined, 'viewer')).statusCode, 200);
      for (const role of ['responder', 'viewer'] as const) {
        assert.equal((await call('POST', '/api/v1/escalation-policies', { name: 'x', levels }, role)).statusCode, 403);
        assert.equal((await call('PATCH', '/api/v1/escalation-policies/checkout', { repeat: 1 }, role)).statusCode, 403);
        assert.equal((await call('DELETE', '/api/v1/escalation-policies/checkout', undefined, role)).statusCode, 403);
      }
    });

    test('unknown users and schedules are a 400 naming each one with its path, and nothing is stored', async () => {
      const res = await call('POST', '/api/v1/escalation-policies', {
        name: 'ghosts',
        levels: [{ delay_minutes: 5, targets: [{ type: 'user', email: 'ghost@example.com' }, { type: 'schedule', name: 'nope' }, { type: 'user', email: 'bo@example.com' }] }],
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'unknown_target');
      assert.deepEqual(res.json().error.details.map((d: { path: string }) => d.path), ['body.levels.0.targets.0', 'body.levels.0.targets.1']);
      assert.match(res.json().error.message, /ghost@example.com.*nope/);
      assert.equal((await call('GET', '/api/v1/escalation-policies/ghosts')).statusCode, 404);
    });

    test('levels, targets, delays and repeat are bounded', async () => {
      const target = [{ type: 'user', email: 'bo@example.com' }];
      const cases: [string, unknown][] = [
        ['no levels', { name: 'b', levels: [] }],
        ['21 levels', { name: 'b', levels: Array.from({ length: 21 }, () => ({ delay_minutes: 5, targets: target })) }],
        ['no targets', { name: 'b', levels: [{ delay_minutes: 5, targets: [] }] }],
        ['51 targets', { name: 'b', levels: [{ delay_minutes: 5, targets: Array.from({ length: 51 }, (_, i) => ({ type: 'user', email: `u${i}@example.com` })) }] }],
        ['delay 0', { name: 'b', levels: [{ delay_minutes: 0, targets: target }] }],
        ['delay 1441', { name: 'b', levels: [{ delay_minutes: 1441, targets: target }] }],
        ['repeat 10', { name: 'b', repeat: 10, levels: [{ delay_minutes: 5, targets: target }] }],
        ['bad strategy', { name: 'b', levels: [{ delay_minutes: 5, strategy: 'random', targets: target }] }],
        ['same target twice', { name: 'b', levels: [{ delay_minutes: 5, targets: [...target, ...target] }] }],
        ['target by id', { name: 'b', levels: [{ delay_minutes: 5, targets: [{ type: 'user', id: 'x' }] }] }],
      ];
      for (const [what, body] of cases) {
        const res = await call('POST', '/api/v1/escalation-policies', body);
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
        assert.equal(res.json().error.code, 'validation_failed', what);
      }
      const ok = await call('POST', '/api/v1/escalation-policies', { name: 'b', repeat: 9, levels: Array.from({ length: 20 }, () => ({ delay_minutes: 1440, targets: target })) });
      assert.equal(ok.statusCode, 201, 'the limits themselves are allowed');
      assert.equal((await call('POST', '/api/v1/escalation-policies', { name: 'b', levels: [{ delay_minutes: 1, targets: target }] })).json().error.code, 'escalation_policy_exists');
    });

    test('PATCH renames and replaces levels; unknown targets there are refused too', async () => {
      const res = await call('PATCH', '/api/v1/escalation-policies/b', { name: 'backup', repeat: 0, levels: [{ delay_minutes: 3, targets: [{ type: 'schedule', name: 'primary' }] }] });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().escalation_policy.name, 'backup');
      assert.equal(res.json().escalation_policy.levels.length, 1);
      const bad = await call('PATCH', '/api/v1/escalation-policies/backup', { levels: [{ delay_minutes: 3, targets: [{ type: 'schedule', name: 'secondary' }] }] });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.details[0].path, 'body.levels.0.targets.0');
      assert.equal((await call('GET', '/api/v1/escalation-policies/backup')).json().escalation_policy.levels[0].delay_minutes, 3);
      assert.equal((await call('PATCH', '/api/v1/escalation-policies/missing', { repeat: 1 })).statusCode, 404);
    });

    test("a service's on-call settings are set with PATCH /services and shown in its views", async () => {
      await t.features.services.create({ name: 'checkout' });
      const fresh = (await call('GET', '/api/v1/services/checkout', undefined, 'viewer')).json().service;
      assert.deepEqual([fresh.escalation_policy, fresh.ack_timeout_seconds, fresh.renotify_on_new_alerts], [null, null, true]);

      const res = await call('PATCH', '/api/v1/services/checkout', { escalation_policy: 'checkout', ack_timeout_seconds: 1800, renotify_on_new_alerts: false });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(
        [res.json().service.escalation_policy, res.json().service.ack_timeout_seconds, res.json().service.renotify_on_new_alerts],
        ['checkout', 1800, false],
      );
      const listed = (await call('GET', '/api/v1/services', undefined, 'viewer')).json().services[0];
      assert.equal(listed.escalation_policy, 'checkout');
      const row = await t.handle.db.selectFrom('services').selectAll().where('name', '=', 'checkout').executeTakeFirstOrThrow();
      assert.equal(row.escalation_policy_id, (await createPoliciesRepo(t.handle.db).findByName('checkout'))?.id);

      for (const body of [{ ack_timeout_seconds: 59 }, { ack_timeout_seconds: 86401 }, { renotify_on_new_alerts: 'yes' }]) {
        assert.equal((await call('PATCH', '/api/v1/services/checkout', body)).statusCode, 400, JSON.stringify(body));
      }
      const unknown = await call('PATCH', '/api/v1/services/checkout', { escalation_policy: 'nope', description: 'changed' });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().error.code, 'unknown_escalation_policy');
      assert.equal((await t.features.services.get('checkout')).description, '', 'a refused PATCH changes nothing');
      assert.equal((await call('PATCH', '/api/v1/services/checkout', { ack_timeout_seconds: null }, 'responder')).statusCode, 403);
    });

    test('deleting a policy a service uses is a 409 naming the services; unused policies delete', async () => {
      assert.deepEqual((await call('GET', '/api/v1/escalation-policies/checkout')).json().escalation_policy.services, ['checkout']);
      const res = await call('DELETE', '/api/v1/escalation-policies/checkout');
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.code, 'policy_in_use');
      assert.deepEqual(res.json().error.details.services, ['checkout']);
      assert.match(res.json().error.message, /checkout/);

      assert.equal((await call('PATCH', '/api/v1/services/checkout', { escalation_policy: null })).json().service.escalation_policy, null);
      assert.equal((await call('DELETE', '/api/v1/escalation-policies/checkout')).statusCode, 204);
      assert.equal((await call('DELETE', '/api/v1/escalation-policies/backup')).statusCode, 204);
      assert.deepEqual((await call('GET', '/api/v1/escalation-policies')).json().escalation_policies, []);
    });
  });
}
