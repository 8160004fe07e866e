import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { ManualClock } from '../../clock.ts';
import { createSilencesRepo } from './silences.repo.ts';

const checkout = [{ field: 'service', op: '=', value: 'checkout' }];

for (const dialect of DIALECTS) {
  describe(`silences API (${dialect})`, () => {
    let t: TestApp;
    const clock = new ManualClock('2026-11-20T10:00:00Z');
    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, role: 'admin' | 'responder' | 'viewer' = 'responder') =>
      t.app.inject({ method, url, payload: payload as object, headers: t.auth(role) });

    before(async () => {
      t = await createTestApp(dialect, { clock });
    });
    after(() => t.close());

    test('a responder silences a service for two hours from now', async () => {
      const res = await call('POST', '/api/v1/silences', { matchers: checkout, ends_at: '2026-11-20T12:00:00Z', comment: 'deploy' });
      assert.equal(res.statusCode, 201, res.body);
      const s = res.json().silence;
      assert.equal(s.starts_at, '2026-11-20T10:00:00.000Z', 'starts now by default');
      assert.equal(s.ends_at, '2026-11-20T12:00:00.000Z');
      assert.equal(s.status, 'active');
      assert.equal(s.next_change_at, '2026-11-20T12:00:00.000Z');
      assert.equal(s.created_by, 'token:test-responder');
      assert.equal(s.name, null);
    });

    test('viewers read silences but cannot create, change or delete them', async () => {
      assert.equal((await call('GET', '/api/v1/silences', undefined, 'viewer')).json().silences.length, 1);
      assert.equal((await call('POST', '/api/v1/silences', { matchers: checkout, ends_at: '2026-11-20T12:00:00Z' }, 'viewer')).statusCode, 403);
      const id = (await call('GET', '/api/v1/silences', undefined, 'viewer')).json().silences[0].id;
      assert.equal((await call('PATCH', `/api/v1/silences/${id}`, { comment: 'x' }, 'viewer')).statusCode, 403);
      assert.equal((await call('DELETE', `/api/v1/silences/${id}`, undefined, 'viewer')).statusCode, 403);
    });

    test('invalid and exponential-time regexes, unknown fields and catch-all silences are refused with paths', async () => {
      const cases: [string, unknown, string][] = [
        ['invalid regex', { matchers: [{ field: 'service', op: '=~', value: '(' }], ends_at: '2026-11-21T00:00:00Z' }, 'body.matchers.0.value'],
        ['nested quantifier', { matchers: [{ field: 'summary', op: '=~', value: '(a+)+$' }], ends_at: '2026-11-21T00:00:00Z' }, 'body.matchers.0.value'],
        ['257-character pattern', { matchers: [{ field: 'summary', op: '=~', value: 'a'.repeat(257) }], ends_at: '2026-11-21T00:00:00Z' }, 'body.matchers.0.value'],
        ['unknown field', { matchers: [{ field: 'labels.env', op: '=', value: 'x' }], ends_at: '2026-11-21T00:00:00Z' }, 'body.matchers.0.field'],
        ['matches everything', { matchers: [{ field: 'service', op: '=~', value: '.*' }], ends_at: '2026-11-21T00:00:00Z' }, 'body.matchers'],
        ['no matchers', { matchers: [], ends_at: '2026-11-21T00:00:00Z' }, 'body.matchers'],
        ['no end and no recurrence', { matchers: checkout }, 'body.ends_at'],
        ['end before start', { matchers: checkout, starts_at: '2026-11-21T00:00:00Z', ends_at: '2026-11-20T00:00:00Z' }, 'body.ends_at'],
        ['not a timestamp', { matchers: checkout, ends_at: 'tomorrow' }, 'body.ends_at'],
        ['bad time zone', { matchers: checkout, recurrence: { time_zone: 'Nowhere/City', windows: [{ from: '01:00', to: '02:00' }] } }, 'body.recurrence.time_zone'],
      ];
      for (const [what, body, path] of cases) {
        const res = await call('POST', '/api/v1/silences', body);
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
        assert.ok(res.json().error.details.some((d: { path: string }) => d.path === path), `${what}: ${JSON.stringify(res.json().error.details)}`);
      }
      assert.equal((await call('GET', '/api/v1/silences')).json().silences.length, 1, 'nothing was stored');
    });

    test('a named recurring silence without an end; states filter the list', async () => {
      const res = await call('POST', '/api/v1/silences', {
        name: 'sunday-maintenance',
        matchers: [{ field: 'service', op: '=', value: 'checkout' }, { field: 'details.env', op: '=~', value: 'prod|staging' }],
        starts_at: '2026-11-01T00:00:00Z',
        recurrence: { time_zone: 'Europe/Berlin', windows: [{ days: ['SU'], from: '02:00', to: '04:00' }] },
        comment: 'weekly DB maintenance',
      });
      assert.equal(res.statusCode, 201, res.body);
      // Friday 2026-11-20 10:00Z: next window is Sunday 2026-11-22 02:00 CET = 01:00Z.
      assert.equal(res.json().silence.status, 'pending');
      assert.equal(res.json().silence.next_change_at, '2026-11-22T01:00:00.000Z');
      assert.equal((await call('GET', '/api/v1/silences/sunday-maintenance')).json().silence.comment, 'weekly DB maintenance');
      assert.equal((await call('POST', '/api/v1/silences', { name: 'sunday-maintenance', matchers: checkout, ends_at: '2026-11-21T00:00:00Z' })).statusCode, 409);

      const names = async (state: string) => (await call('GET', `/api/v1/silences?state=${state}`)).json().silences.map((s: { name: string | null }) => s.name);
      assert.deepEqual(await names('active'), [null]);
      assert.deepEqual(await names('pending'), ['sunday-maintenance']);
      assert.deepEqual(await names('expired'), []);
      clock.set('2026-11-22T01:30:00Z');
      assert.deepEqual(await names('active'), ['sunday-maintenance']);
      assert.deepEqual(await names('expired'), [null], 'the two-hour silence is over');
      assert.equal((await call('GET', '/api/v1/silences?state=gone')).statusCode, 400);
    });

    test('the repository offers the silences whose range holds an instant; windows are for silenceMatches', async () => {
      const repo = createSilencesRepo(t.handle.db);
      const at = (iso: string) => repo.activeAt(new Date(iso)).then((list) => list.map((s) => s.name));
      assert.deepEqual(await at('2026-11-20T11:00:00Z'), ['sunday-maintenance', null], 'by start');
      assert.deepEqual(await at('2026-11-20T12:00:00Z'), ['sunday-maintenance'], 'ends_at is exclusive');
      assert.deepEqual(await at('2026-10-31T23:59:59Z'), []);
      const stored = (await repo.activeAt(new Date('2026-11-23T00:00:00Z')))[0];
      assert.deepEqual(stored.recurrence, { time_zone: 'Europe/Berlin', windows: [{ days: ['SU'], from: '02:00', to: '04:00' }] });
      assert.equal(stored.matchers[1].field, 'details.env');
    });

    test('PATCH changes a silence by id or name; setting ends_at to now expires it; DELETE removes it', async () => {
      const res = await call('PATCH', '/api/v1/silences/sunday-maintenance', { ends_at: '2026-11-22T01:30:00Z' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().silence.status, 'expired');
      const bad = await call('PATCH', '/api/v1/silences/sunday-maintenance', { recurrence: null, ends_at: null });
      assert.equal(bad.statusCode, 400, 'a one-off silence must end');
      const renamed = await call('PATCH', `/api/v1/silences/${res.json().silence.id}`, { name: 'maintenance', matchers: [{ field: 'severity', op: '=~', value: 'warning|info' }] });
      assert.equal(renamed.json().silence.name, 'maintenance');
      assert.equal(renamed.json().silence.matchers[0].op, '=~');
      const catchAll = await call('PATCH', '/api/v1/silences/maintenance', { matchers: [{ field: 'severity', op: '!~', value: 'critical|error' }] });
      assert.equal(catchAll.statusCode, 400, 'as in Alertmanager: some matcher must not match an empty value');
      assert.equal((await call('PATCH', '/api/v1/silences/maintenance', { matchers: [{ field: 'summary', op: '=~', value: '(x*)*' }] })).statusCode, 400);
      assert.equal((await call('DELETE', '/api/v1/silences/maintenance')).statusCode, 204);
      assert.equal((await call('GET', '/api/v1/silences/maintenance')).statusCode, 404);
      assert.equal((await call('DELETE', '/api/v1/silences/maintenance')).statusCode, 404);
    });
  });
}
