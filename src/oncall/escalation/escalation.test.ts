import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../clock.ts';
import { toIso } from '../../db/codec.ts';
import { newId } from '../../ids.ts';
import { parseConfigYaml } from '../../config-as-code/apply.service.ts';
import { createTestApp, DIALECTS, pdTrigger, type TestApp } from '../../../test/helpers.ts';
import { createPoliciesRepo, type PolicyLevel } from '../policies/policies.repo.ts';

const MIN = 60_000;

/** An Alertmanager webhook v4 body of firing alerts in one group. */
const amAlert = (fp: string, at: Date) => ({ status: 'firing', labels: { alertname: 'Down', instance: fp }, annotations: {}, startsAt: toIso(at), endsAt: '0001-01-01T00:00:00Z', fingerprint: fp, generatorURL: '' });
const amBody = (alerts: unknown[]) => ({ version: '4', groupKey: '{}:{alertname="Down"}', status: 'firing', receiver: 'fw', groupLabels: { alertname: 'Down' }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', alerts, truncatedAlerts: 0 });

/**
 * Escalation on a fake clock: each transition (assign, escalate, loop, exhaust), acknowledgement stopping it,
 * acknowledgement timeout, snooze, round robin, low urgency, re-notification on new alerts, silences, and
 * resolution cancelling everything. Notifications go in-app here (delivery channels have their own tests).
 */
for (const dialect of DIALECTS) {
  describe(`escalation (${dialect})`, () => {
    let t: TestApp;
    let clock: ManualClock;
    const users: Record<string, string> = {};
    let serviceSeq = 0;

    before(async () => {
      clock = new ManualClock('2026-03-02T10:00:00Z');
      t = await createTestApp(dialect, { clock });
      await t.features.apply.apply(parseConfigYaml(`users:
  - { email: ana@example.com, name: Ana }
  - { email: bo@example.com, name: Bo }
  - { email: cy@example.com, name: Cy }
`));
      for (const u of await t.handle.db.selectFrom('users').select(['id', 'email']).execute()) users[u.email.split('@')[0]] = u.id;
      // Everyone is notified in-app only, at once, for both urgencies: the timing under test is escalation's.
      for (const id of Object.values(users)) {
        const method = newId();
        await t.handle.db.insertInto('contact_methods').values({ id: method, user_id: id, type: 'in_app', label: 'app', address: id, secret_encrypted: null, created_at: toIso(clock.now()) }).execute();
        for (const urgency of ['high', 'low']) {
          await t.handle.db.insertInto('notification_rules').values({ id: newId(), user_id: id, urgency, contact_method_id: method, delay_minutes: 0, created_at: toIso(clock.now()) }).execute();
        }
      }
    });
    after(() => t.close());

    /** A service with its own PagerDuty integration and a policy of the given levels; returns its routing key. */
    async function serviceWithPolicy(levels: PolicyLevel[], options: { repeat?: number; ackTimeoutSeconds?: number; renotify?: boolean } = {}) {
      const name = `svc${++serviceSeq}`;
      await t.features.services.create({ name });
      const integration = await t.features.services.addIntegration(name, { name: 'pd', type: 'pagerduty' });
      const policyId = newId();
      const now = toIso(clock.now());
      await createPoliciesRepo(t.handle.db).insert({ id: policyId, name: `${name}-policy`, description: '', repeat: options.repeat ?? 0, levels, created_at: now, updated_at: now });
      await t.handle.db.updateTable('services').set({
        escalation_policy_id: policyId, ack_timeout_seconds: options.ackTimeoutSeconds ?? null, renotify_on_new_alerts: options.renotify === false ? 0 : 1,
      }).where('name', '=', name).execute();
      return integration.key;
    }

    const level = (delay: number, who: string[], strategy: 'all' | 'round_robin' = 'all'): PolicyLevel => ({
      delay_minutes: delay, strategy, targets: who.map((w) => ({ type: 'user' as const, id: users[w] })),
    });

    async function trigger(key: string, dedup: string, payload: Record<string, unknown> = {}): Promise<number> {
      const res = await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(key, { dedup_key: dedup }, payload) });
      assert.equal(res.statusCode, 202);
      const list = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json();
      return list.incidents[0].number;
    }

    async function notified(number: number): Promise<string[]> {
      const body = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}/oncall`, headers: t.auth('viewer') })).json();
      return body.notifications.map((n: { user: { email: string } }) => n.user.email.split('@')[0]);
    }

    async function oncall(number: number) {
      return (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}/oncall`, headers: t.auth('viewer') })).json();
    }

    async function timelineTypes(number: number): Promise<string[]> {
      const body = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}/timeline`, headers: t.auth('viewer') })).json();
      return body.timeline.map((e: { type: string }) => e.type);
    }

    const run = () => t.features.jobRunner.runDue();
    const advance = async (ms: number) => {
      clock.advance(ms);
      await run();
    };

    test('level 1 is paged at once, level 2 after the delay, the policy repeats, then is exhausted', async () => {
      const key = await serviceWithPolicy([level(10, ['ana']), level(5, ['bo'])], { repeat: 1 });
      const n = await trigger(key, 'esc-1');
      await run();
      assert.deepEqual(await notified(n), ['ana']);
      let state = (await oncall(n)).escalation;
      assert.equal(state.level, 1);
      assert.deepEqual(state.assignees.map((a: { name: string }) => a.name), ['Ana']);
      assert.deepEqual(state.next, { level: 2, due_at: toIso(new Date(clock.now().getTime() + 10 * MIN)) });

      await advance(10 * MIN - 1000);
      assert.deepEqual(await notified(n), ['ana'], 'not before the delay');
      await advance(1000);
      assert.deepEqual(await notified(n), ['ana', 'bo'], 'level 2 exactly at the delay');
      await advance(5 * MIN);
      assert.deepEqual(await notified(n), ['ana', 'bo', 'ana'], 'the second pass starts at level 1');
      await advance(10 * MIN);
      assert.deepEqual(await notified(n), ['ana', 'bo', 'ana', 'bo']);
      await advance(5 * MIN);
      await advance(60 * MIN);
      assert.deepEqual(await notified(n), ['ana', 'bo', 'ana', 'bo'], 'nothing after the last pass');
      const types = await timelineTypes(n);
      assert.deepEqual(types.filter((x) => ['assign', 'escalate', 'escalation_exhausted'].includes(x)), ['assign', 'escalate', 'escalate', 'escalate', 'escalation_exhausted']);
      state = (await oncall(n)).escalation;
      assert.equal(state.next, null);
    });

    test('acknowledging stops escalation; nothing is paged afterwards', async () => {
      const key = await serviceWithPolicy([level(5, ['ana']), level(5, ['bo'])]);
      const n = await trigger(key, 'esc-ack');
      await run();
      await advance(2 * MIN);
      const ack = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/acknowledge`, headers: t.auth('responder') });
      assert.equal(ack.statusCode, 200);
      await advance(60 * MIN);
      assert.deepEqual(await notified(n), ['ana']);
      assert.deepEqual((await oncall(n)).escalation.pending, [], 'no timers left');
    });

    test('an acknowledgement that times out returns the incident to triggered and pages the current level again', async () => {
      const key = await serviceWithPolicy([level(5, ['ana']), level(5, ['bo'])], { ackTimeoutSeconds: 600 });
      const n = await trigger(key, 'esc-ack-timeout');
      await run();
      await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/acknowledge`, headers: t.auth('responder') });
      await advance(9 * MIN);
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}`, headers: t.auth('viewer') })).json().incident.status, 'acknowledged');
      await advance(MIN);
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}`, headers: t.auth('viewer') })).json().incident.status, 'triggered');
      assert.deepEqual(await notified(n), ['ana', 'ana'], 'the current level is paged again');
      await advance(5 * MIN);
      assert.deepEqual(await notified(n), ['ana', 'ana', 'bo'], 'and escalation carries on');
      assert.ok((await timelineTypes(n)).includes('unacknowledge'));
    });

    test('snooze acknowledges, then pages again when it ends', async () => {
      const key = await serviceWithPolicy([level(5, ['ana'])]);
      const n = await trigger(key, 'esc-snooze');
      await run();
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/snooze`, headers: t.auth('responder'), payload: { duration_seconds: 1800 } });
      assert.equal(res.statusCode, 200);
      assert.ok(res.json().escalation.snoozed_until);
      await advance(29 * MIN);
      assert.deepEqual(await notified(n), ['ana']);
      await advance(MIN);
      assert.deepEqual(await notified(n), ['ana', 'ana']);
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}`, headers: t.auth('viewer') })).json().incident.status, 'triggered');
    });

    test('round robin assigns one target per incident, taking turns', async () => {
      const key = await serviceWithPolicy([level(5, ['ana', 'bo', 'cy'], 'round_robin')]);
      const picked: string[] = [];
      for (let i = 0; i < 4; i++) {
        const n = await trigger(key, `rr-${i}`);
        await run();
        picked.push(...(await notified(n)));
      }
      assert.deepEqual(picked, ['ana', 'bo', 'cy', 'ana']);
    });

    test('low urgency notifies level 1 and never escalates', async () => {
      const key = await serviceWithPolicy([level(5, ['ana']), level(5, ['bo'])]);
      const n = await trigger(key, 'esc-low', { severity: 'warning' });
      await run();
      await advance(60 * MIN);
      assert.deepEqual(await notified(n), ['ana']);
      assert.equal((await oncall(n)).escalation.next, null);
    });

    test('a new alert joining an open incident notifies the assignees again (configurable)', async () => {
      const key = await serviceWithPolicy([level(30, ['ana'])]);
      const amKey = (await t.features.services.addIntegration(`svc${serviceSeq}`, { name: 'am', type: 'alertmanager' })).key;
      assert.equal((await t.app.inject({ method: 'POST', url: `/integrations/alertmanager/${amKey}`, payload: amBody([amAlert('a', clock.now())]) })).statusCode, 200);
      await run();
      const n = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      assert.deepEqual(await notified(n), ['ana']);
      await t.app.inject({ method: 'POST', url: `/integrations/alertmanager/${amKey}`, payload: amBody([amAlert('a', clock.now()), amAlert('b', clock.now())]) });
      await run();
      assert.deepEqual(await notified(n), ['ana', 'ana'], 'the second alert pages again');
      await t.app.inject({ method: 'POST', url: `/integrations/alertmanager/${amKey}`, payload: amBody([amAlert('a', clock.now()), amAlert('b', clock.now())]) });
      await run();
      assert.deepEqual(await notified(n), ['ana', 'ana'], 'a re-send of the same alerts does not');
      assert.ok(key);
    });

    test('a matching silence holds notifications back; when it ends, a still-open incident pages', async () => {
      const key = await serviceWithPolicy([level(30, ['ana'])]);
      const now = toIso(clock.now());
      await t.handle.db.insertInto('silences').values({
        id: newId(), name: `quiet-${serviceSeq}`, matchers: JSON.stringify([{ field: 'service', op: '=', value: `svc${serviceSeq}` }]),
        starts_at: now, ends_at: toIso(new Date(clock.now().getTime() + 20 * MIN)), recurrence: null, comment: 'maintenance', created_by: 'test', created_at: now, updated_at: now,
      }).execute();
      const n = await trigger(key, 'silenced');
      await run();
      assert.deepEqual(await notified(n), [], 'suppressed');
      assert.ok((await timelineTypes(n)).includes('suppressed'));
      await advance(20 * MIN);
      assert.deepEqual(await notified(n), ['ana'], 'paged when the silence ends');
    });

    test('resolving cancels every pending timer and notification', async () => {
      const key = await serviceWithPolicy([level(5, ['ana']), level(5, ['bo'])]);
      const n = await trigger(key, 'esc-resolve');
      await run();
      await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/resolve`, headers: t.auth('responder') });
      await advance(60 * MIN);
      assert.deepEqual(await notified(n), ['ana']);
      assert.deepEqual((await oncall(n)).escalation.pending, []);
    });

    test('manual: escalate now, reassign, page an extra responder', async () => {
      const key = await serviceWithPolicy([level(30, ['ana']), level(30, ['bo'])]);
      const n = await trigger(key, 'esc-manual');
      await run();
      const esc = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/escalate`, headers: t.auth('responder') });
      assert.equal(esc.statusCode, 200);
      await run();
      assert.deepEqual(await notified(n), ['ana', 'bo']);
      assert.equal(esc.json().escalation.level, 2);
      const extra = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/responders`, headers: t.auth('responder'), payload: { users: ['cy@example.com'], message: 'DB expert needed' } });
      assert.equal(extra.statusCode, 200);
      await run();
      assert.deepEqual(await notified(n), ['ana', 'bo', 'cy']);
      const re = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/reassign`, headers: t.auth('responder'), payload: { users: ['ana@example.com'] } });
      assert.equal(re.statusCode, 200);
      assert.deepEqual(re.json().escalation.assignees.map((a: { name: string }) => a.name), ['Ana']);
      const unknown = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/reassign`, headers: t.auth('responder'), payload: { users: ['nobody@example.com'] } });
      assert.equal(unknown.statusCode, 400);
      const viewer = await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${n}/escalate`, headers: t.auth('viewer') });
      assert.equal(viewer.statusCode, 403);
    });

    test('a service without a policy records that nobody was paged', async () => {
      await t.features.services.create({ name: 'nopolicy' });
      const key = (await t.features.services.addIntegration('nopolicy', { name: 'pd', type: 'pagerduty' })).key;
      const n = await trigger(key, 'no-policy');
      await run();
      assert.deepEqual(await notified(n), []);
      const timeline = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${n}/timeline`, headers: t.auth('viewer') })).json().timeline;
      assert.match(timeline.at(-1).message, /no escalation policy/);
    });
  });
}
