import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { ManualClock } from '../../clock.ts';

const PEOPLE = [
  { email: 'ana@example.com', name: 'Ana' },
  { email: 'bo@example.com', name: 'Bo' },
  { email: 'cy@example.com', name: 'Cy' },
  { email: 'di@example.com', name: 'Di' },
];

/** Ana from Monday 23 November 09:00 Berlin (08:00 UTC) for a week, then Bo, then Ana again. */
const WEEKLY = {
  name: 'primary',
  description: 'Checkout primary',
  time_zone: 'Europe/Berlin',
  layers: [{ name: 'weekly', start: '2026-11-23T09:00', rotation: 'FREQ=WEEKLY', members: ['ana@example.com', 'bo@example.com'] }],
};

type Entry = { start: string; end: string; members: { email: string; name: string }[]; source: { type: string } };
const onCallNames = (entries: Entry[]) => entries.map((e) => `${e.start.slice(5, 16)} ${e.members.map((m) => m.name).join('+') || '-'}`);

for (const dialect of DIALECTS) {
  describe(`schedules API (${dialect})`, () => {
    let t: TestApp;
    const clock = new ManualClock('2026-11-24T12:00:00Z');
    const tokens: Record<string, string> = {};
    const as = (who: string) => ({ authorization: `Bearer ${tokens[who] ?? t.tokens[who as 'admin']}` });
    const call = (who: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: as(who), payload });

    before(async () => {
      t = await createTestApp(dialect, { clock });
      for (const p of PEOPLE) {
        await t.features.users.createUser({ ...p, role: 'responder' });
        tokens[p.name.toLowerCase()] = (await t.features.users.createToken({ name: p.name, role: 'responder', userEmail: p.email })).token;
      }
      const res = await call('admin', 'POST', '/api/v1/schedules', WEEKLY);
      assert.equal(res.statusCode, 201, res.body);
    });
    after(() => t.close());

    test('a schedule shows its members by id, email and name; a viewer reads it but cannot change it', async () => {
      const res = await call('viewer', 'GET', '/api/v1/schedules/primary');
      assert.equal(res.statusCode, 200);
      const s = res.json().schedule;
      assert.equal(s.time_zone, 'Europe/Berlin');
      assert.deepEqual(s.layers[0].members.map((m: { email: string; name: string }) => `${m.name} <${m.email}>`), ['Ana <ana@example.com>', 'Bo <bo@example.com>']);
      assert.match(s.layers[0].members[0].id, /^[0-9a-f-]{36}$/);
      assert.equal(s.layers[0].members_per_turn, 1);
      assert.deepEqual((await call('viewer', 'GET', '/api/v1/schedules')).json().schedules.map((x: { name: string }) => x.name), ['primary']);
      assert.equal((await call('viewer', 'POST', '/api/v1/schedules', { ...WEEKLY, name: 'nope' })).statusCode, 403);
      assert.equal((await call('ana', 'PATCH', '/api/v1/schedules/primary', { description: 'x' })).statusCode, 403, 'responders do not change schedules');
    });

    test('create refuses unknown members, bad rotations, unknown zones and duplicate names, saying where', async () => {
      const unknown = await call('admin', 'POST', '/api/v1/schedules', { ...WEEKLY, name: 'other', layers: [{ ...WEEKLY.layers[0], members: ['ana@example.com', 'ghost@example.com'] }] });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().error.code, 'unknown_user');
      assert.deepEqual(unknown.json().error.details.map((d: { path: string }) => d.path), ['body.layers.0.members.1']);

      const invalid = await call('admin', 'POST', '/api/v1/schedules', {
        ...WEEKLY, name: 'other',
        layers: [{ ...WEEKLY.layers[0], rotation: 'FREQ=SOMETIMES', restrictions: [{ from: '25:00', to: '17:00' }] }],
      });
      assert.equal(invalid.statusCode, 400, invalid.body);
      assert.equal(invalid.json().error.code, 'invalid_schedule');
      const problems: string[] = invalid.json().error.details.problems;
      assert.ok(problems.some((p) => p.includes('rotation')) && problems.some((p) => p.includes('from')), JSON.stringify(problems));

      const zone = await call('admin', 'POST', '/api/v1/schedules', { ...WEEKLY, name: 'other', time_zone: 'Mars/Olympus_Mons' });
      assert.equal(zone.statusCode, 400);
      assert.deepEqual(zone.json().error.details.map((d: { path: string }) => d.path), ['body.time_zone']);

      assert.equal((await call('admin', 'POST', '/api/v1/schedules', WEEKLY)).json().error.code, 'schedule_exists');
      assert.equal((await call('viewer', 'GET', '/api/v1/schedules/other')).statusCode, 404, 'nothing was created');
    });

    test('update replaces layers, renames, and refuses what does not validate; delete removes the schedule', async () => {
      const created = await call('admin', 'POST', '/api/v1/schedules', { name: 'temp', time_zone: 'UTC', layers: [] });
      assert.equal(created.statusCode, 201);
      const patched = await call('admin', 'PATCH', '/api/v1/schedules/temp', {
        name: 'temp2', description: 'tmp',
        layers: [{ name: 'days', start: '2026-11-23T00:00', rotation: 'FREQ=DAILY', members: ['cy@example.com', 'di@example.com'], members_per_turn: 2 }],
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().schedule.name, 'temp2');
      assert.equal(patched.json().schedule.layers[0].members_per_turn, 2);
      const bad = await call('admin', 'PATCH', '/api/v1/schedules/temp2', { layers: [{ name: 'x', start: 'yesterday', rotation: 'FREQ=DAILY', members: [] }] });
      assert.equal(bad.json().error.code, 'invalid_schedule');
      assert.equal((await call('viewer', 'GET', '/api/v1/schedules/temp2')).json().schedule.layers[0].name, 'days', 'a refused update changes nothing');
      assert.equal((await call('admin', 'DELETE', '/api/v1/schedules/temp2')).statusCode, 204);
      assert.equal((await call('viewer', 'GET', '/api/v1/schedules/temp2')).statusCode, 404);
    });

    test('render shows who is on call with names, hands over at 09:00 Berlin, and limits the range', async () => {
      const res = await call('viewer', 'GET', '/api/v1/schedules/primary/render?from=2026-11-23T00:00:00Z&to=2026-12-08T00:00:00Z');
      assert.equal(res.statusCode, 200, res.body);
      const r = res.json();
      assert.deepEqual(onCallNames(r.final), ['11-23T00:00 -', '11-23T08:00 Ana', '11-30T08:00 Bo', '12-07T08:00 Ana']);
      assert.deepEqual(r.gaps, [{ start: '2026-11-23T00:00:00.000Z', end: '2026-11-23T08:00:00.000Z' }]);
      assert.deepEqual(r.layers.map((l: { name: string }) => l.name), ['weekly']);
      assert.equal(r.final[1].members[0].email, 'ana@example.com');
      assert.equal(r.final[1].source.type, 'layer');
      const long = await call('viewer', 'GET', '/api/v1/schedules/primary/render?from=2026-01-01&to=2026-06-01');
      assert.equal(long.statusCode, 400);
      assert.equal(long.json().error.code, 'window_too_long');
      assert.equal((await call('viewer', 'GET', '/api/v1/schedules/primary/render?from=2026-12-01&to=2026-11-01')).statusCode, 400);
      assert.equal((await call('viewer', 'GET', '/api/v1/schedules/nope/render')).statusCode, 404);
    });

    test('overrides stack: a later override replaces the person an earlier one put on call', async () => {
      const first = await call('ana', 'POST', '/api/v1/schedules/primary/overrides', { user: 'cy@example.com', start: '2026-11-25T00:00:00Z', end: '2026-11-26T00:00:00Z', reason: 'Ana at the dentist' });
      assert.equal(first.statusCode, 201, first.body);
      assert.equal(first.json().override.user.name, 'Cy');
      assert.equal(first.json().override.replaces, null);
      assert.equal(first.json().override.created_by, 'Ana');
      const second = await call('bo', 'POST', '/api/v1/schedules/primary/overrides', { user: 'di@example.com', replaces: 'cy@example.com', start: '2026-11-25T06:00:00+00:00', end: '2026-11-25T12:00:00Z' });
      assert.equal(second.statusCode, 201, second.body);
      const r = (await call('viewer', 'GET', '/api/v1/schedules/primary/render?from=2026-11-24T00:00:00Z&to=2026-11-27T00:00:00Z')).json();
      assert.deepEqual(onCallNames(r.final), ['11-24T00:00 Ana', '11-25T00:00 Cy', '11-25T06:00 Di', '11-25T12:00 Cy', '11-26T00:00 Ana']);
      assert.equal(r.overrides.length, 2);
      const listed = (await call('viewer', 'GET', '/api/v1/schedules/primary/overrides')).json().overrides;
      assert.deepEqual(listed.map((o: { user: { name: string } }) => o.user.name), ['Cy', 'Di']);

      const tooLong = await call('ana', 'POST', '/api/v1/schedules/primary/overrides', { user: 'cy@example.com', start: '2026-11-25T00:00:00Z', end: '2027-11-26T00:00:00Z' });
      assert.equal(tooLong.json().error.code, 'window_too_long');
      const backwards = await call('ana', 'POST', '/api/v1/schedules/primary/overrides', { user: 'cy@example.com', start: '2026-11-25T00:00:00Z', end: '2026-11-24T00:00:00Z' });
      assert.equal(backwards.json().error.code, 'invalid_window');
      assert.equal((await call('viewer', 'POST', '/api/v1/schedules/primary/overrides', { user: 'cy@example.com', start: '2026-11-25T00:00:00Z', end: '2026-11-26T00:00:00Z' })).statusCode, 403);
      const ghost = await call('ana', 'POST', '/api/v1/schedules/primary/overrides', { user: 'ghost@example.com', start: '2026-11-25T00:00:00Z', end: '2026-11-26T00:00:00Z' });
      assert.deepEqual([ghost.statusCode, ghost.json().error.code], [400, 'unknown_user']);

      assert.equal((await call('bo', 'DELETE', `/api/v1/schedules/primary/overrides/${second.json().override.id}`)).statusCode, 204);
      assert.equal((await call('bo', 'DELETE', `/api/v1/schedules/primary/overrides/${first.json().override.id}`)).statusCode, 204);
      assert.equal((await call('bo', 'DELETE', `/api/v1/schedules/primary/overrides/${first.json().override.id}`)).statusCode, 404);
      const afterDelete = (await call('viewer', 'GET', '/api/v1/schedules/primary/render?from=2026-11-24T00:00:00Z&to=2026-11-27T00:00:00Z')).json();
      assert.deepEqual(onCallNames(afterDelete.final), ['11-24T00:00 Ana']);
    });

    test('on call now, until when, and gaps in the next week flagged as problems', async () => {
      const created = await call('admin', 'POST', '/api/v1/schedules', {
        name: 'office', time_zone: 'Europe/Berlin',
        layers: [{ name: 'day', start: '2026-11-23T09:00', rotation: 'FREQ=DAILY', members: ['cy@example.com'], restrictions: [{ days: ['MO', 'TU', 'WE', 'TH', 'FR'], from: '09:00', to: '17:00' }] }],
      });
      assert.equal(created.statusCode, 201, created.body);
      const res = await call('viewer', 'GET', '/api/v1/oncall');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.at, '2026-11-24T12:00:00.000Z');
      const [office, primary] = body.schedules;
      assert.deepEqual([primary.schedule.name, primary.members.map((m: { name: string }) => m.name), primary.until, primary.problems], ['primary', ['Ana'], '2026-11-30T08:00:00.000Z', []]);
      assert.deepEqual([office.members[0].name, office.until], ['Cy', '2026-11-24T16:00:00.000Z']);
      // Tuesday 13:00 Berlin to next Tuesday: four nights and Friday evening to Monday morning.
      assert.deepEqual(office.gaps.map((g: { start: string }) => g.start.slice(5, 16)), ['11-24T16:00', '11-25T16:00', '11-26T16:00', '11-27T16:00', '11-30T16:00']);
      assert.equal(office.problems[0], 'nobody is on call from 2026-11-24T16:00:00.000Z to 2026-11-25T08:00:00.000Z');
      assert.equal(office.problems.length, 5);

      const night = (await call('viewer', 'GET', '/api/v1/oncall?schedule=office&at=2026-11-24T20:00:00Z')).json();
      assert.deepEqual(night.schedules.map((s: { members: unknown[] }) => s.members), [[]]);
      assert.equal(night.schedules[0].problems[0], 'nobody is on call now');
      assert.equal((await call('viewer', 'GET', '/api/v1/oncall?schedule=nope')).statusCode, 404);
      assert.equal((await call('admin', 'DELETE', '/api/v1/schedules/office')).statusCode, 204);
    });

    test('shift swap: request your own shift, someone else takes it, and they are on call instead', async () => {
      const window = { start: '2026-11-27T08:00:00Z', end: '2026-11-28T08:00:00Z' };
      const notMine = await call('bo', 'POST', '/api/v1/schedules/primary/swaps', window);
      assert.deepEqual([notMine.statusCode, notMine.json().error.code], [409, 'not_on_call']);
      const partly = await call('ana', 'POST', '/api/v1/schedules/primary/swaps', { start: '2026-11-29T08:00:00Z', end: '2026-12-01T08:00:00Z' });
      assert.deepEqual([partly.statusCode, partly.json().error.code], [409, 'not_on_call'], 'Bo takes over on the 30th');
      const noUser = await call('responder', 'POST', '/api/v1/schedules/primary/swaps', window);
      assert.equal(noUser.json().error.code, 'user_required');

      const requested = await call('ana', 'POST', '/api/v1/schedules/primary/swaps', { ...window, note: 'wedding' });
      assert.equal(requested.statusCode, 201, requested.body);
      const swap = requested.json().swap;
      assert.deepEqual([swap.status, swap.requester.name, swap.taker], ['open', 'Ana', null]);
      const own = await call('ana', 'POST', `/api/v1/schedules/primary/swaps/${swap.id}/take`);
      assert.deepEqual([own.statusCode, own.json().error.code], [409, 'own_swap']);

      const taken = await call('cy', 'POST', `/api/v1/schedules/primary/swaps/${swap.id}/take`);
      assert.equal(taken.statusCode, 200, taken.body);
      assert.deepEqual([taken.json().swap.status, taken.json().swap.taker.name], ['taken', 'Cy']);
      const again = await call('di', 'POST', `/api/v1/schedules/primary/swaps/${swap.id}/take`);
      assert.deepEqual([again.statusCode, again.json().error.code], [409, 'swap_not_open']);

      const overrides = (await call('viewer', 'GET', '/api/v1/schedules/primary/overrides')).json().overrides;
      const override = overrides.find((o: { id: string }) => o.id === taken.json().swap.override_id);
      assert.ok(override, 'the swap made an override');
      assert.deepEqual([override.user.name, override.replaces.name, override.start, override.end], ['Cy', 'Ana', '2026-11-27T08:00:00.000Z', '2026-11-28T08:00:00.000Z']);
      assert.match(override.reason, /Cy/);
      assert.match(override.reason, /Ana/);
      const during = (await call('viewer', 'GET', '/api/v1/oncall?schedule=primary&at=2026-11-27T12:00:00Z')).json().schedules[0];
      assert.deepEqual([during.members.map((m: { name: string }) => m.name), during.until], [['Cy'], '2026-11-28T08:00:00.000Z']);
      const beforeSwap = (await call('viewer', 'GET', '/api/v1/oncall?schedule=primary')).json().schedules[0];
      assert.equal(beforeSwap.until, '2026-11-27T08:00:00.000Z', 'the swap ends Ana\'s stretch early');

      const second = (await call('ana', 'POST', '/api/v1/schedules/primary/swaps', { start: '2026-11-28T08:00:00Z', end: '2026-11-29T08:00:00Z' })).json().swap;
      assert.equal((await call('bo', 'POST', `/api/v1/schedules/primary/swaps/${second.id}/cancel`)).statusCode, 403, 'only the requester or an admin');
      const cancelled = await call('ana', 'POST', `/api/v1/schedules/primary/swaps/${second.id}/cancel`);
      assert.equal(cancelled.json().swap.status, 'cancelled');
      assert.equal((await call('bo', 'POST', `/api/v1/schedules/primary/swaps/${second.id}/take`)).json().error.code, 'swap_not_open');
      const listed = (await call('viewer', 'GET', '/api/v1/schedules/primary/swaps')).json().swaps;
      assert.deepEqual(listed.map((s: { status: string }) => s.status), ['taken', 'cancelled']);
      assert.equal((await call('viewer', 'POST', `/api/v1/schedules/primary/swaps/${second.id}/cancel`)).statusCode, 403);
    });

    test('iCal feeds: a secret URL per schedule and per user; rotation retires the old one; unknown keys 404', async () => {
      assert.deepEqual((await call('viewer', 'GET', '/api/v1/schedules/primary/feed')).json(), { url: null, created_at: null });
      assert.equal((await call('viewer', 'POST', '/api/v1/schedules/primary/feed')).statusCode, 403, 'a viewer cannot rotate a schedule feed');
      const created = await call('admin', 'POST', '/api/v1/schedules/primary/feed');
      assert.equal(created.statusCode, 200, created.body);
      const url: string = created.json().url;
      assert.match(url, /^http:\/\/firewatch\.test\/calendar\/[0-9a-f]{40}\.ics$/);
      assert.equal((await call('viewer', 'GET', '/api/v1/schedules/primary/feed')).json().url, url);
      const path = new URL(url).pathname;
      const feed = await t.app.inject({ method: 'GET', url: path });
      assert.equal(feed.statusCode, 200);
      assert.equal(feed.headers['content-type'], 'text/calendar; charset=utf-8');
      assert.match(feed.body, /^BEGIN:VCALENDAR\r\n/);
      assert.match(feed.body, /BEGIN:VEVENT/);
      assert.match(feed.body, /Ana/);

      const rotated = (await call('admin', 'POST', '/api/v1/schedules/primary/feed')).json().url;
      assert.notEqual(rotated, url);
      assert.equal((await t.app.inject({ method: 'GET', url: path })).statusCode, 404, 'the old URL stops working');
      assert.equal((await t.app.inject({ method: 'GET', url: new URL(rotated).pathname })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'GET', url: `/calendar/${'0'.repeat(40)}.ics` })).statusCode, 404);
      assert.equal((await t.app.inject({ method: 'GET', url: '/calendar/whatever' })).statusCode, 404);

      const mine = await call('bo', 'POST', '/api/v1/users/me/feed');
      assert.equal(mine.statusCode, 200, mine.body);
      assert.deepEqual((await call('bo', 'GET', '/api/v1/users/me/feed')).json().url, mine.json().url);
      const personal = await t.app.inject({ method: 'GET', url: new URL(mine.json().url).pathname });
      assert.equal(personal.statusCode, 200);
      assert.match(personal.body, /primary/);
      assert.equal((await call('responder', 'POST', '/api/v1/users/me/feed')).json().error.code, 'user_required');
    });
  });
}
