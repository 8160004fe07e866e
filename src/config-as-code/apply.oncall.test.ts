import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';
import { newId } from '../ids.ts';
import { createContactsRepo } from '../oncall/contacts/contacts.repo.ts';
import { createPoliciesRepo } from '../oncall/policies/policies.repo.ts';
import { createSilencesRepo } from '../oncall/silences/silences.repo.ts';
import { createSecretBox } from '../security/secret-box.ts';
import { parseConfigYaml } from './apply.service.ts';

/** The on-call example of the declarative file (the schedule `primary` is made directly in the database). */
const ONCALL_EXAMPLE = `escalation_policies:
  - name: checkout
    description: Checkout on-call
    repeat: 2
    levels:
      - delay_minutes: 10
        strategy: all
        targets: [{ schedule: primary }, { user: ana@example.com }]
      - delay_minutes: 15
        targets: [{ user: bo@example.com }]
services:
  - name: checkout
    escalation_policy: checkout
    ack_timeout_seconds: 1800
    renotify_on_new_alerts: true
    integrations:
      - name: alertmanager
        type: alertmanager
        key: 0123456789abcdef0123456789abcdef
users:
  - email: ana@example.com
    contact_methods:
      - { label: work, type: email, address: ana@example.com }
      - { label: hook, type: webhook, address: "https://hooks.example.com/x" }
    notification_rules:
      - { urgency: high, contact: work, delay_minutes: 0 }
      - { urgency: high, contact: hook, delay_minutes: 5 }
  - email: bo@example.com
    role: responder
silences:
  - name: sunday-maintenance
    matchers: [{ field: service, op: "=", value: checkout }]
    starts_at: 2026-11-01T00:00:00Z
    recurrence: { time_zone: Europe/Berlin, windows: [{ days: [SU], from: "02:00", to: "04:00" }] }
    comment: weekly DB maintenance
`;

const problemPaths = (error: unknown) => ((error as { details?: { path: string }[] }).details ?? []).map((d) => d.path);

for (const dialect of DIALECTS) {
  describe(`firewatch apply: on-call kinds (${dialect})`, () => {
    let t: TestApp;
    let scheduleId: string;
    const secrets = createSecretBox('test-secret-key-test-secret-key-0123456789');
    const apply = (yaml: string) => t.features.apply.apply(parseConfigYaml(yaml));
    const hookSecret = async () => {
      const row = await t.handle.db.selectFrom('contact_methods').select('secret_encrypted').where('label', '=', 'hook').executeTakeFirstOrThrow();
      return secrets.decrypt(row.secret_encrypted!);
    };

    before(async () => {
      t = await createTestApp(dialect);
      scheduleId = newId();
      const now = new Date().toISOString();
      await t.handle.db.insertInto('schedules').values({ id: scheduleId, name: 'primary', description: '', time_zone: 'UTC', layers: '[]', created_at: now, updated_at: now }).execute();
    });
    after(() => t.close());

    test('creates policies, service settings, contact methods, rules and silences, resolving references in the same file', async () => {
      const report = await apply(ONCALL_EXAMPLE);
      assert.deepEqual(report.created.toSorted(), [
        'escalation_policy/checkout',
        'service/checkout',
        'service/checkout/integration/alertmanager',
        'silence/sunday-maintenance',
        'user/ana@example.com',
        'user/ana@example.com/contact_method/hook',
        'user/ana@example.com/contact_method/work',
        'user/ana@example.com/notification_rules',
        'user/bo@example.com',
      ]);
      const policy = (await createPoliciesRepo(t.handle.db).findByName('checkout'))!;
      const [anaRow, boRow] = await Promise.all(['ana@example.com', 'bo@example.com'].map((e) => t.handle.db.selectFrom('users').selectAll().where('email', '=', e).executeTakeFirstOrThrow()));
      assert.deepEqual(policy.levels, [
        { delay_minutes: 10, strategy: 'all', targets: [{ type: 'schedule', id: scheduleId }, { type: 'user', id: anaRow.id }] },
        { delay_minutes: 15, strategy: 'all', targets: [{ type: 'user', id: boRow.id }] },
      ]);
      assert.equal(policy.repeat, 2);
      const service = await t.features.services.get('checkout');
      assert.deepEqual([service.escalation_policy, service.ack_timeout_seconds, service.renotify_on_new_alerts], ['checkout', 1800, true]);

      const rules = await createContactsRepo(t.handle.db).rulesFor([anaRow.id, boRow.id], 'high');
      assert.deepEqual(rules.map((r) => [r.user.email, r.delayMinutes, r.method.label]), [
        ['ana@example.com', 0, 'work'], ['ana@example.com', 5, 'hook'], ['bo@example.com', 0, 'account email'], ['bo@example.com', 0, 'in-app'],
      ]);
      assert.match(await hookSecret(), /^whsec_/, 'a webhook declared without a secret gets one');

      const silence = (await createSilencesRepo(t.handle.db).findByName('sunday-maintenance'))!;
      assert.equal(silence.starts_at, '2026-11-01T00:00:00.000Z');
      assert.equal(silence.ends_at, null);
      assert.deepEqual(silence.recurrence, { time_zone: 'Europe/Berlin', windows: [{ days: ['SU'], from: '02:00', to: '04:00' }] });
      assert.equal(silence.created_by, 'firewatch apply');
    });

    test('applying the same file again changes nothing', async () => {
      const report = await apply(ONCALL_EXAMPLE);
      assert.deepEqual([report.created, report.updated], [[], []]);
      assert.equal(report.unchanged.length, 9);
    });

    test('export round-trips, leaves webhook secrets out, and re-applying keeps them', async () => {
      const secret = await hookSecret();
      const yaml = t.features.apply.exportYaml(await t.features.apply.exportDocument());
      assert.ok(!yaml.includes(secret) && !yaml.includes('whsec_'), 'no secret in the export');
      assert.match(yaml, /escalation_policy: checkout/);
      assert.match(yaml, /- schedule: primary/);
      assert.match(yaml, /- user: bo@example.com/);
      assert.match(yaml, /contact: hook/);
      const report = await apply(yaml);
      assert.deepEqual([report.created, report.updated], [[], []]);
      assert.equal(await hookSecret(), secret);
    });

    test('changes are reported as updates of exactly what changed', async () => {
      const changed = ONCALL_EXAMPLE
        .replace('delay_minutes: 15', 'delay_minutes: 20')
        .replace('ack_timeout_seconds: 1800', 'ack_timeout_seconds: null')
        .replace('{ urgency: high, contact: hook, delay_minutes: 5 }', '{ urgency: low, contact: hook, delay_minutes: 5 }')
        .replace('"https://hooks.example.com/x" }', '"https://hooks.example.com/y", secret: "a-secret-from-the-file" }')
        .replace('comment: weekly DB maintenance', 'comment: weekly DB maintenance (moved)');
      const report = await apply(changed);
      assert.deepEqual(report.created, []);
      assert.deepEqual(report.updated.toSorted(), [
        'escalation_policy/checkout', 'service/checkout', 'silence/sunday-maintenance',
        'user/ana@example.com/contact_method/hook', 'user/ana@example.com/notification_rules',
      ]);
      assert.equal((await t.features.services.get('checkout')).ack_timeout_seconds, null);
      assert.equal(await hookSecret(), 'a-secret-from-the-file');
      const again = await apply(changed);
      assert.deepEqual([again.created, again.updated], [[], []]);
      // Leaving out the on-call settings and the rules leaves them as they are.
      const sparse = await apply('services:\n  - name: checkout\nusers:\n  - email: ana@example.com\n');
      assert.deepEqual(sparse.updated, []);
      assert.equal((await t.features.services.get('checkout')).escalation_policy, 'checkout');
    });

    test('unknown references are a 400 with their path, and a failed apply leaves no trace', async () => {
      const cases: [string, string, string][] = [
        ['unknown user target', ONCALL_EXAMPLE.replace('{ user: bo@example.com }', '{ user: ghost@example.com }'), 'escalation_policies.0.levels.1.targets.0'],
        ['unknown schedule target', ONCALL_EXAMPLE.replace('{ schedule: primary }', '{ schedule: secondary }'), 'escalation_policies.0.levels.0.targets.0'],
        ['unknown policy', ONCALL_EXAMPLE.replace('escalation_policy: checkout', 'escalation_policy: payments'), 'services.0.escalation_policy'],
        ['unknown contact label', ONCALL_EXAMPLE.replace('contact: work', 'contact: home'), 'users.0.notification_rules.0.contact'],
      ];
      for (const [what, yaml, path] of cases) {
        const withChange = yaml.replace('Checkout on-call', 'Checkout on-call v2').replace('comment: weekly DB maintenance', 'comment: changed');
        const error = await apply(withChange).then(() => undefined, (e: unknown) => e);
        assert.ok(error, `${what}: should fail`);
        assert.equal((error as { status?: number }).status, 400, what);
        assert.deepEqual(problemPaths(error), [path], what);
      }
      assert.equal((await createPoliciesRepo(t.handle.db).findByName('checkout'))?.description, 'Checkout on-call');
      assert.equal((await createSilencesRepo(t.handle.db).findByName('sunday-maintenance'))?.comment, 'weekly DB maintenance (moved)');
    });

    test('invalid on-call documents list every problem with its path', () => {
      const broken = `escalation_policies:
  - name: a
    repeat: 10
    levels: []
  - name: a
    levels: [{ delay_minutes: 0, targets: [{ team: sre }] }]
users:
  - email: ana@example.com
    contact_methods:
      - { label: work, type: email, address: nope }
      - { label: work, type: in_app }
silences:
  - name: bad
    matchers: [{ field: summary, op: "=~", value: "(a+)+" }]
    starts_at: 2026-11-01T00:00:00Z
  - name: everything
    matchers: [{ field: service, op: "=~", value: ".*" }]
    starts_at: 2026-11-01T00:00:00Z
    ends_at: 2026-10-01T00:00:00Z
`;
      assert.throws(() => parseConfigYaml(broken), (error: unknown) => {
        const paths = problemPaths(error);
        for (const expected of [
          'escalation_policies.0.repeat', 'escalation_policies.0.levels', 'escalation_policies.1.levels.0.delay_minutes', 'escalation_policies.1.levels.0.targets.0',
          'users.0.contact_methods.0.address',
          'silences.0.matchers.0.value', 'silences.0.ends_at', 'silences.1.matchers', 'silences.1.ends_at',
        ]) {
          assert.ok(paths.includes(expected), `${expected} missing from ${JSON.stringify(paths)}`);
        }
        return true;
      });
      // Duplicates are checked once the entries themselves are valid.
      const dupes = `escalation_policies:
  - { name: a, levels: [{ delay_minutes: 1, targets: [{ user: ana@example.com }] }] }
  - { name: a, levels: [{ delay_minutes: 1, targets: [{ user: ana@example.com }] }] }
users:
  - email: ana@example.com
    contact_methods: [{ label: work, type: in_app }, { label: work, type: email, address: ana@example.com }]
    notification_rules: [{ urgency: high, contact: work, delay_minutes: 0 }, { urgency: high, contact: work, delay_minutes: 0 }]
`;
      assert.throws(() => parseConfigYaml(dupes), (error: unknown) => {
        assert.deepEqual(problemPaths(error).toSorted(), ['escalation_policies.1', 'users.0.contact_methods.1.label', 'users.0.notification_rules.1']);
        return true;
      });
    });
  });
}
