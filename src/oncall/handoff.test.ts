import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../clock.ts';
import { toIso, toJson } from '../db/codec.ts';
import { newId } from '../ids.ts';
import { parseConfigYaml } from '../config-as-code/apply.service.ts';
import { createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';

/** Hand-off notices: at each change of a schedule the people starting and ending a shift are told, once. */
for (const dialect of DIALECTS) {
  describe(`hand-off notices (${dialect})`, () => {
    let t: TestApp;
    let clock: ManualClock;
    let ids: Record<string, string>;

    before(async () => {
      clock = new ManualClock('2026-10-23T12:00:00Z');
      // An SMTP URL makes the account e-mail a default contact method (nothing listens there; delivery is not under test).
      t = await createTestApp(dialect, { clock, config: { smtpUrl: 'smtp://127.0.0.1:9' } });
      await t.features.apply.apply(parseConfigYaml(`users:
  - { email: ana@example.com, name: Ana }
  - { email: bo@example.com, name: Bo }
`));
      ids = Object.fromEntries((await t.handle.db.selectFrom('users').select(['id', 'email']).execute()).map((u) => [u.email.split('@')[0], u.id]));
      const now = toIso(clock.now());
      // A daily rotation handing off at 09:00 Berlin time, across the end of summer time (25 October 2026).
      await t.handle.db.insertInto('schedules').values({
        id: newId(), name: 'primary', description: '', time_zone: 'Europe/Berlin', created_at: now, updated_at: now,
        layers: toJson([{ name: 'daily', start: '2026-10-20T09:00', rotation: 'FREQ=DAILY', members: [ids.ana, ids.bo] }]),
      }).execute();
    });
    after(() => t.close());

    const handoffNotices = () => t.handle.db.selectFrom('notifications').select(['user_id', 'channel', 'payload']).where('kind', '=', 'handoff').orderBy('created_at').orderBy('id').execute();

    test('each hand-off notifies who starts and who ends, then arms the next, at 09:00 local across DST', async () => {
      await t.features.handoffs.reconcile();
      const job = await t.handle.db.selectFrom('jobs').selectAll().where('kind', '=', 'handoff').executeTakeFirstOrThrow();
      assert.equal(job.due_at, '2026-10-24T07:00:00.000Z', '09:00 CEST is 07:00 UTC');

      clock.set('2026-10-24T07:00:00Z');
      await t.features.jobRunner.runDue();
      const first = await handoffNotices();
      const started = first.filter((n) => JSON.parse(n.payload).handoff.starts);
      const ended = first.filter((n) => !JSON.parse(n.payload).handoff.starts);
      assert.ok(started.length > 0 && ended.length > 0);
      assert.equal(new Set(started.map((n) => n.user_id)).size, 1);
      assert.notEqual(started[0].user_id, ended[0].user_id);
      assert.deepEqual(new Set(first.map((n) => n.channel)), new Set(['email', 'in_app']), 'by email and in-app (the default contact methods)');

      const next = await t.handle.db.selectFrom('jobs').selectAll().where('kind', '=', 'handoff').executeTakeFirstOrThrow();
      assert.equal(next.due_at, '2026-10-25T08:00:00.000Z', 'summer time ends that night: the next hand-off, 09:00 CET, is 08:00 UTC');

      await t.features.jobRunner.runDue();
      assert.equal((await handoffNotices()).length, first.length, 'nothing twice');
      await t.features.handoffs.reconcile();
      assert.equal((await t.handle.db.selectFrom('jobs').selectAll().where('kind', '=', 'handoff').execute()).length, 1, 'reconcile keeps one timer per schedule');
    });
  });
}
