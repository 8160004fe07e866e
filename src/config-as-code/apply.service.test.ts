import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CONTRACTS_EXAMPLE, createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';
import { parseConfigYaml } from './apply.service.ts';


for (const dialect of DIALECTS) {
  describe(`firewatch apply (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect);
    });
    after(() => t.close());

    test('creates the service, the integration with the given key, the user and the team', async () => {
      const report = await t.features.apply.apply(parseConfigYaml(CONTRACTS_EXAMPLE));
      assert.deepEqual(report.created.toSorted(), [
        'channel/ops', 'service/checkout', 'service/checkout/integration/alertmanager', 'team/sre', 'user/ana@example.com',
      ]);
      // The unquoted all-digit key of CONTRACTS.md is kept as written (YAML alone would read it as the number 0).
      assert.equal((await t.features.chat.hookByKey('00000000000000000000000000000000'))?.channel, 'ops');
      const service = await t.features.services.get('checkout');
      assert.equal(service.integrations[0].key, '0123456789abcdef0123456789abcdef');
      assert.equal(service.integrations[0].url, 'http://firewatch.test/integrations/alertmanager/0123456789abcdef0123456789abcdef');
    });

    test('applying the same file again changes nothing', async () => {
      const report = await t.features.apply.apply(parseConfigYaml(CONTRACTS_EXAMPLE));
      assert.deepEqual(report.created, []);
      assert.deepEqual(report.updated, []);
      assert.equal(report.unchanged.length, 5);
    });

    test('export round-trips: applying the export changes nothing', async () => {
      const doc = await t.features.apply.exportDocument();
      const yaml = t.features.apply.exportYaml(doc);
      const report = await t.features.apply.apply(parseConfigYaml(yaml));
      assert.deepEqual([report.created, report.updated], [[], []]);
    });

    test('changes are reported as updates, and a bad document applies nothing at all', async () => {
      const changed = CONTRACTS_EXAMPLE.replace('Checkout API', 'Checkout API v2').replace('role: responder', 'role: admin');
      const report = await t.features.apply.apply(parseConfigYaml(changed));
      assert.deepEqual(report.updated.toSorted(), ['service/checkout', 'user/ana@example.com']);
      const broken = changed.replace('    members: [ana@example.com]\n', '    members: [ana@example.com]\n  - name: ops\n    members: [ghost@example.com]\n').replace('Checkout API v2', 'Checkout API v3');
      await assert.rejects(t.features.apply.apply(parseConfigYaml(broken)), /ghost@example.com/);
      assert.equal((await t.features.services.get('checkout')).description, 'Checkout API v2', 'the failed apply left no trace');
    });

    test('invalid documents list every problem with its path', () => {
      assert.throws(() => parseConfigYaml('services:\n  - name: ""\n    integrations:\n      - name: x\n        type: smoke-signal\n'), (error: Error & { details?: { path: string }[] }) => {
        const paths = (error.details ?? []).map((d) => d.path);
        return paths.includes('services.0.name') && paths.includes('services.0.integrations.0.type');
      });
      assert.throws(() => parseConfigYaml('services: [\n'), /not valid YAML/);
      assert.throws(() => parseConfigYaml('servics: []\n'), /problems/);
    });
  });
}
