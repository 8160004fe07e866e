import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';
import { ManualClock } from '../clock.ts';
import { parseConfigYaml } from './apply.service.ts';

const USERS = `users:
  - { email: ana@example.com, name: Ana }
  - { email: bo@example.com, name: Bo }
  - { email: cy@example.com, name: Cy }
  - { email: di@example.com, name: Di }
`;

const SCHEDULES = `schedules:
  - name: primary
    description: Checkout primary
    time_zone: Europe/Berlin
    layers:
      - name: weekdays
        start: "2026-11-23T09:00"
        rotation: FREQ=WEEKLY
        members: [ana@example.com, bo@example.com, cy@example.com, di@example.com]
        restrictions: [{ days: [MO, TU, WE, TH, FR], from: "09:00", to: "17:00" }]
      - name: pairs
        start: 2026-11-23T00:00:00Z
        end: "2027-01-01T00:00"
        rotation: FREQ=DAILY;INTERVAL=2
        members: [cy@example.com, di@example.com, ana@example.com]
        members_per_turn: 2
    overrides:
      - name: ana-dentist
        user: bo@example.com
        replaces: ana@example.com
        start: 2026-12-01T10:00:00Z
        end: 2026-12-01T14:00:00Z
      - name: cover
        user: di@example.com
        start: 2026-12-02T10:00:00+01:00
        end: 2026-12-02T12:00:00+01:00
        reason: offsite
`;

const labels = (report: { created: string[]; updated: string[]; unchanged: string[] }) => ({
  created: report.created.filter((l) => l.startsWith('schedule/')).toSorted(),
  updated: report.updated.filter((l) => l.startsWith('schedule/')).toSorted(),
  unchanged: report.unchanged.filter((l) => l.startsWith('schedule/')).toSorted(),
});

for (const dialect of DIALECTS) {
  describe(`firewatch apply: schedules (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect, { clock: new ManualClock('2026-11-24T12:00:00Z') });
    });
    after(() => t.close());
    const get = (url: string) => t.app.inject({ method: 'GET', url, headers: t.auth('viewer') });

    test('creates schedules with members by email and named overrides; users from the same file count', async () => {
      const report = await t.features.apply.apply(parseConfigYaml(USERS + SCHEDULES));
      assert.deepEqual(labels(report), {
        created: ['schedule/primary', 'schedule/primary/override/ana-dentist', 'schedule/primary/override/cover'], updated: [], unchanged: [],
      });
      const s = (await get('/api/v1/schedules/primary')).json().schedule;
      assert.deepEqual(s.layers[0].members.map((m: { name: string }) => m.name), ['Ana', 'Bo', 'Cy', 'Di']);
      assert.equal(s.layers[1].members_per_turn, 2);
      const overrides = (await get('/api/v1/schedules/primary/overrides')).json().overrides;
      assert.deepEqual(overrides.map((o: { name: string; user: { name: string }; replaces: { name: string } | null; start: string }) => [o.name, o.user.name, o.replaces?.name ?? null, o.start]), [
        ['ana-dentist', 'Bo', 'Ana', '2026-12-01T10:00:00.000Z'],
        ['cover', 'Di', null, '2026-12-02T09:00:00.000Z'],
      ]);
      const at = (await get('/api/v1/oncall?schedule=primary&at=2026-12-01T11:00:00Z')).json().schedules[0];
      assert.ok(at.members.some((m: { name: string }) => m.name === 'Bo') && !at.members.some((m: { name: string }) => m.name === 'Ana'), JSON.stringify(at.members));
    });

    test('applying the same file twice changes nothing', async () => {
      const report = await t.features.apply.apply(parseConfigYaml(USERS + SCHEDULES));
      assert.deepEqual([report.created, report.updated], [[], []]);
      assert.equal(labels(report).unchanged.length, 3);
    });

    test('export writes emails, leaves out overrides made in the UI, and applying it changes nothing', async () => {
      const ui = await t.app.inject({
        method: 'POST', url: '/api/v1/schedules/primary/overrides', headers: t.auth('responder'),
        payload: { user: 'cy@example.com', start: '2026-12-03T00:00:00Z', end: '2026-12-04T00:00:00Z' },
      });
      assert.equal(ui.statusCode, 201);
      const doc = await t.features.apply.exportDocument();
      const yaml = t.features.apply.exportYaml(doc);
      assert.match(yaml, /members:\n\s+- ana@example.com/);
      assert.doesNotMatch(yaml, /[0-9a-f]{8}-[0-9a-f]{4}-7/, 'no user ids in the export');
      const exported = doc.schedules?.[0];
      assert.deepEqual(exported?.overrides?.map((o) => o.name), ['ana-dentist', 'cover']);
      const report = await t.features.apply.apply(parseConfigYaml(yaml));
      assert.deepEqual([report.created, report.updated], [[], []]);
      assert.equal((await get('/api/v1/schedules/primary/overrides')).json().overrides.length, 3, 'the UI override is left alone');
    });

    test('changes are updates; unknown members fail the whole apply with their paths', async () => {
      const changed = SCHEDULES.replace('Checkout primary', 'Checkout primary v2').replace('reason: offsite', 'reason: offsite (moved)');
      const report = await t.features.apply.apply(parseConfigYaml(USERS + changed));
      assert.deepEqual(labels(report).updated, ['schedule/primary', 'schedule/primary/override/cover']);

      const broken = (USERS + changed)
        .replace('Checkout primary v2', 'Checkout primary v3')
        .replace('members: [cy@example.com, di@example.com, ana@example.com]', 'members: [cy@example.com, ghost@example.com]')
        .replace('user: di@example.com', 'user: nobody@example.com');
      await assert.rejects(t.features.apply.apply(parseConfigYaml(broken)), (error: Error & { status?: number; code?: string; details?: { path: string }[] }) => {
        assert.equal(error.status, 400);
        assert.equal(error.code, 'unknown_user');
        assert.deepEqual(error.details?.map((d) => d.path), ['schedules.0.layers.1.members.1', 'schedules.0.overrides.1.user']);
        return true;
      });
      assert.equal((await get('/api/v1/schedules/primary')).json().schedule.description, 'Checkout primary v2', 'nothing was applied');
    });

    test('layers that do not validate and malformed overrides are refused with their paths', async () => {
      const badRotation = USERS + SCHEDULES.replace('FREQ=WEEKLY', 'FREQ=FORTNIGHTLY');
      await assert.rejects(t.features.apply.apply(parseConfigYaml(badRotation)), (error: Error & { code?: string; details?: { problems: string[] } }) => {
        assert.equal(error.code, 'invalid_schedule');
        assert.match(error.details?.problems[0] ?? '', /^schedule primary: layers\[0\] \("weekdays"\)\.rotation/);
        return true;
      });
      assert.throws(() => parseConfigYaml(USERS + SCHEDULES.replace('end: 2026-12-01T14:00:00Z', 'end: 2026-12-01T09:00:00Z').replace('time_zone: Europe/Berlin', 'time_zone: Europe/Atlantis')), (error: Error & { details?: { path: string }[] }) => {
        const paths = (error.details ?? []).map((d) => d.path);
        assert.ok(paths.includes('schedules.0.overrides.0.end') && paths.includes('schedules.0.time_zone'), JSON.stringify(paths));
        return true;
      });
    });
  });
}
