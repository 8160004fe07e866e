import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../clock.ts';
import { parseConfigYaml } from '../../config-as-code/apply.service.ts';
import { createServicesRepo } from '../../services/services.repo.ts';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import type { LogLine, LogStore } from '../logs/log.types.ts';
import { createDemoSource, DEMO_FAULTY_INSTANCE } from './demo.source.ts';
import { chooseStep, createPrometheusSource } from './prometheus.client.ts';
import { expandTemplate, goFloat, humanize, humanizeDuration } from './rule-template.ts';
import { createRulesService, type RulesService } from './rules.service.ts';
import type { createMetricsModule } from './metrics.module.ts';

const T0 = '2026-03-02T12:00:00.000Z';
type MetricsModule = ReturnType<typeof createMetricsModule>;
const metricsOf = (t: TestApp) => t.features.modules.find((m) => m.name === 'metrics') as MetricsModule;

describe('demo data source', () => {
  const clock = new ManualClock(T0);
  const demo = createDemoSource({ name: 'demo', clock });

  test('answers selectors with label filters, aggregations and comparisons; the faulty instance stands out', async () => {
    const all = await demo.query('cpu_usage', clock.now());
    assert.equal(all.series.length, 15, 'checkout 4 + search 5 + storage 6 instances');
    assert.ok(all.series.every((s) => s.labels.demo === 'true' && s.labels.service && s.labels.instance && s.labels.job));
    const storage = await demo.query('cpu_usage{service="storage", instance!~"storage-[12]"}', clock.now());
    assert.deepEqual(storage.series.map((s) => s.labels.instance).toSorted(), ['storage-3', 'storage-4', 'storage-5', 'storage-6']);
    const faulty = storage.series.find((s) => s.labels.instance === DEMO_FAULTY_INSTANCE)!.points[0][1];
    const healthy = storage.series.filter((s) => s.labels.instance !== DEMO_FAULTY_INSTANCE).map((s) => s.points[0][1]);
    assert.ok(healthy.every((v) => faulty > v + 0.3), `storage-3 cpu ${faulty} vs ${healthy.join(', ')}`);
    const hot = await demo.query('cpu_usage > 0.9', clock.now());
    assert.deepEqual(hot.series.map((s) => s.labels.instance), [DEMO_FAULTY_INSTANCE]);
    const bySvc = await demo.query('sum by (service) (http_requests_rate)', clock.now());
    assert.deepEqual(bySvc.series.map((s) => Object.keys(s.labels)), [['service'], ['service'], ['service']]);
    const p99 = await demo.query('http_latency_seconds{quantile="0.99", instance="search-1"}', clock.now());
    const p50 = await demo.query('http_latency_seconds{quantile="0.5", instance="search-1"}', clock.now());
    assert.ok(p99.series[0].points[0][1] > p50.series[0].points[0][1]);
    // Deterministic: the same query at the same time gives the same numbers.
    assert.deepEqual((await demo.query('cpu_usage', clock.now())).series, all.series);
  });

  test('range queries stay under 11,000 points; unknown queries are bad_query listing the metrics', async () => {
    const end = clock.now().getTime() / 1000;
    const r = await demo.queryRange('up{service="checkout"}', { start: end - 30 * 86_400, end, step: 1 });
    assert.ok(r.step >= Math.ceil(30 * 86_400 / 11_000));
    assert.ok(r.series.every((s) => s.points.length <= 11_001));
    await assert.rejects(demo.query('rate(foo[5m])', clock.now()), (e: { code: string; status: number; message: string }) => e.code === 'bad_query' && e.status === 400 && e.message.includes('cpu_usage'));
    await assert.rejects(demo.query('cpu_usage{instance=~"("}', clock.now()), { code: 'bad_query' });
    assert.deepEqual((await demo.labelValues('service')), ['checkout', 'search', 'storage']);
    const targets = await demo.targets();
    assert.equal(targets.length, 15);
  });

  test('hostile input cannot stall the process: huge times end, catastrophic regexes run in linear time (RE2)', async () => {
    // At 1e17 s one second is below float resolution: stepping by adding would never end.
    const huge = await demo.queryRange('up{instance="search-1"}', { start: 1e17, end: 1e17 + 60 });
    assert.ok(huge.series.every((s) => s.points.length <= 11_001));
    const started = performance.now();
    const evil = await demo.query('up{instance=~"(.?){27}.{27}"}', clock.now());
    assert.deepEqual(evil.series, [], 'no instance name is 27+ characters');
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms (a backtracking engine takes seconds)`);
    // Go/RE2 syntax, as in Prometheus: anchored, (?i) flags; look-behind is not RE2 and is refused.
    assert.equal((await demo.query('up{instance=~"(?i)SEARCH-[12]"}', clock.now())).series.length, 2);
    await assert.rejects(demo.query('up{instance=~"(?<=x)y"}', clock.now()), { code: 'bad_query' });
    assert.equal(expandTemplate('{{ reReplaceAll "^(.*):[0-9]+$" "${1}" "db-1:9100" }}', { labels: {}, value: 0 }), 'db-1');
    assert.equal(expandTemplate('{{ match "^db-" $labels.instance }}', { labels: { instance: 'db-1' }, value: 0 }), 'true');
  });

  test('step: requested, else ~300 points, never above the 11,000-point cap', () => {
    assert.equal(chooseStep({ start: 0, end: 3600, step: 15 }), 15);
    assert.equal(chooseStep({ start: 0, end: 3000 }), 10);
    assert.equal(chooseStep({ start: 0, end: 110_001, step: 1 }), 11);
  });
});

describe('rule templates (Go text/template subset)', () => {
  test('labels, value, pipelines and humanize render like Prometheus', () => {
    const data = { labels: { instance: 'db-1:9100', job: 'node' }, value: 0.9512 };
    assert.equal(expandTemplate('{{ $labels.instance }} at {{ $value }}', data), 'db-1:9100 at 0.9512');
    assert.equal(expandTemplate('{{ .Labels.job }}/{{ .Value }}', data), 'node/0.9512');
    assert.equal(expandTemplate('{{ $value | humanizePercentage }}', data), '95.12%');
    assert.equal(expandTemplate('{{ printf "%.1f" $value }}', data), '1.0');
    assert.equal(expandTemplate('{{ $labels.instance | stripPort | toUpper }}', data), 'DB-1');
    assert.equal(expandTemplate('x {{- " y " -}} z', data), 'x y z');
    assert.equal(expandTemplate('{{ $labels.nope }}', data), '<no value>');
    assert.match(expandTemplate('{{ range $labels }}x{{ end }}', data), /^<error expanding template: /);
    assert.equal(goFloat(1234567), '1.234567e+06');
    assert.equal(goFloat(100000), '100000');
    assert.equal(goFloat(0.00001), '1e-05');
    assert.equal(humanize(1234567), '1.235M');
    assert.equal(humanize(0.0012), '1.2m');
    assert.equal(humanizeDuration(90061), '1d 1h 1m 1s');
  });
});

/** A log store whose counts the test sets. */
function fakeLogs(): LogStore & { matching: number; last: Date | null; lines: LogLine[] } {
  const store = {
    matching: 0,
    last: null as Date | null,
    lines: [] as LogLine[],
    async search() {
      return { lines: store.lines, truncated: false };
    },
    async count() {
      return store.matching;
    },
    async lastMatch() {
      return store.last;
    },
  };
  return store;
}

interface IncidentList { incidents: { number: number; title: string; status: string }[] }

/** An alert rule on the demo fleet's CPU with the given threshold (YAML, indented for a group's rules). */
const cpuRule = (threshold: string) => `      - alert: CpuHot
        expr: cpu_usage{service="storage"} > ${threshold}
        annotations: { summary: "{{ $labels.instance }} CPU hot (over ${threshold})" }
`;

for (const dialect of DIALECTS) {
  describe(`data sources and rules (${dialect})`, () => {
    let t: TestApp;
    const clock = new ManualClock(T0);
    before(async () => {
      t = await createTestApp(dialect, { clock });
      await t.features.services.create({ name: 'storage', description: 'storage' });
    });
    after(() => t.close());

    const get = async <T>(url: string, role: 'viewer' | 'admin' = 'viewer') => {
      const r = await t.app.inject({ method: 'GET', url, headers: t.auth(role) });
      return { status: r.statusCode, body: r.json() as T };
    };

    test('without declared sources the built-in demo source answers; declared sources replace it', async () => {
      const list = await get<{ datasources: { name: string; builtin: boolean; default: boolean }[] }>('/api/v1/datasources');
      assert.deepEqual(list.body.datasources.map((d) => [d.name, d.builtin, d.default]), [['demo', true, true]]);
      const q = await get<{ series: unknown[]; resultType: string }>(`/api/v1/datasources/demo/query?query=${encodeURIComponent('up{service="search"}')}`);
      assert.equal(q.status, 200);
      assert.equal(q.body.series.length, 5);
      const bad = await get<{ error: { code: string; message: string } }>(`/api/v1/datasources/demo/query?query=${encodeURIComponent('nonsense(')}`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'bad_query');
    });

    test('apply: credentials encrypted at rest, hidden from the API, exported as written; second apply unchanged', async () => {
      const yaml = `
datasources:
  - name: prom
    type: prometheus
    url: http://127.0.0.1:1/
    auth: { type: basic, username: fw, password: s3cret-pw }
    timeout_seconds: 2
    default: true
  - name: fleet
    type: demo
rules:
  - name: storage-health
    interval: 1m
    datasource: fleet
    service: storage
    rules:
      - alert: StorageCpuHigh
        expr: cpu_usage{service="storage"} > 0.9
        for: 2m
        labels: { severity: critical, team: '{{ $labels.service }}' }
        annotations:
          summary: 'CPU on {{ $labels.instance }} at {{ $value | humanizePercentage }}'
      - record: service:requests:sum
        expr: sum by (service) (http_requests_rate)
`;
      const first = await t.features.apply.apply(parseConfigYaml(yaml));
      assert.deepEqual(first.created.filter((c) => /^(datasource|rule_group)\//.test(c)).toSorted(), ['datasource/fleet', 'datasource/prom', 'rule_group/storage-health']);
      const second = await t.features.apply.apply(parseConfigYaml(yaml));
      assert.deepEqual(second.created.concat(second.updated).filter((c) => /^(datasource|rule_group)\//.test(c)), []);
      const raw = await t.handle.db.selectFrom('datasources').selectAll().where('name', '=', 'prom').executeTakeFirstOrThrow();
      assert.ok(raw.auth_encrypted && !raw.auth_encrypted.includes('s3cret-pw'));
      const shown = await get<{ datasource: Record<string, unknown> }>('/api/v1/datasources/prom');
      assert.ok(!JSON.stringify(shown.body).includes('s3cret-pw'));
      assert.deepEqual(shown.body.datasource.auth, { type: 'basic', username: 'fw' });
      const exported = await t.features.apply.exportDocument();
      assert.equal((exported.datasources as { name: string; auth?: { password: string } }[]).find((d) => d.name === 'prom')?.auth?.password, 's3cret-pw');
      assert.equal((exported.rules as { name: string }[])[0].name, 'storage-health');
    });

    test('an unreachable source is a clear 502, and a rule querying it reports the error as its health', async () => {
      const r = await get<{ error: { code: string; message: string } }>('/api/v1/datasources/prom/query?query=up');
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, 'datasource_unreachable');
      assert.match(r.body.error.message, /prom/);
    });

    test('alert rules: pending for `for`, then firing with templated labels and annotations, opening one incident', async () => {
      const rules = metricsOf(t).rules;
      // Groups are spread over their interval: the first evaluation is at the group's slot, within one interval.
      const first = (await rules.listGroups())[0].next_evaluation;
      assert.ok(Date.parse(first) >= Date.parse(T0) && Date.parse(first) < Date.parse(T0) + 60_000, first);
      if (first !== T0) assert.equal(await rules.evaluateDue(clock.now()), 0);
      clock.set(first);
      assert.equal(await rules.evaluateDue(clock.now()), 1);
      let groups = (await rules.listGroups());
      let rule = groups[0].rules[0];
      assert.equal(rule.health, 'ok', rule.last_error ?? '');
      assert.equal(rule.state, 'pending');
      assert.equal(rule.alerts.length, 1);
      assert.deepEqual(rule.alerts[0].labels, { alertname: 'StorageCpuHigh', demo: 'true', env: 'demo', instance: DEMO_FAULTY_INSTANCE, job: 'storage', service: 'storage', severity: 'critical', team: 'storage' });
      assert.match(rule.alerts[0].annotations.summary, /^CPU on storage-3 at (9\d|100)(\.\d+)?%$/);
      const recording = groups[0].rules[1];
      assert.equal(recording.type, 'recording');
      assert.equal(recording.last_result?.total, 3);
      // Not due again before the interval.
      clock.advance(30_000);
      assert.equal(await rules.evaluateDue(clock.now()), 0);
      clock.advance(30_000);
      assert.equal(await rules.evaluateDue(clock.now()), 1);
      assert.equal((await rules.listGroups())[0].rules[0].state, 'pending');
      let incidents = await get<IncidentList>('/api/v1/incidents?limit=10');
      assert.equal(incidents.body.incidents.length, 0, 'no incident while pending');
      clock.advance(60_000);
      assert.equal(await rules.evaluateDue(clock.now()), 1);
      groups = await rules.listGroups();
      rule = groups[0].rules[0];
      assert.equal(rule.state, 'firing');
      assert.equal(rule.alerts[0].fired_at, clock.now().toISOString());
      incidents = await get<IncidentList>('/api/v1/incidents?limit=10');
      assert.equal(incidents.body.incidents.length, 1);
      assert.match(incidents.body.incidents[0].title, /^CPU on storage-3 at/);
      // Still firing: no second incident, no repeat trigger.
      clock.advance(60_000);
      await rules.evaluateDue(clock.now());
      incidents = await get<IncidentList>('/api/v1/incidents?limit=10');
      assert.equal(incidents.body.incidents.length, 1);
      const history = await get<{ evaluations: { firing: number; pending: number; transitions: { from: string; to: string }[] }[] }>('/api/v1/rules/storage-health/StorageCpuHigh/history');
      assert.equal(history.body.evaluations.length, 4);
      assert.deepEqual(history.body.evaluations.map((e) => [e.pending, e.firing]), [[0, 1], [0, 1], [1, 0], [1, 0]]);
      assert.deepEqual(history.body.evaluations[1].transitions.map((x) => `${x.from}>${x.to}`), ['pending>firing']);
      const alerts = await get<{ alerts: { rule: string; state: string }[] }>('/api/v1/rules/alerts');
      assert.deepEqual(alerts.body.alerts.map((a) => [a.rule, a.state]), [['StorageCpuHigh', 'firing']]);
    });

    test('two processes sharing the database evaluate a due group once (lease)', async () => {
      const second = createRulesService({
        db: t.handle.db, clock, publicUrl: 'http://fw.test', datasources: t.features.datasources, logs: fakeLogs(), intake: t.features.intake,
        services: t.features.services, servicesRepo: createServicesRepo(t.handle.db), log: { info() {}, warn() {}, error() {} },
      });
      clock.advance(60_000);
      const ran = await Promise.all([metricsOf(t).rules.evaluateDue(clock.now()), second.evaluateDue(clock.now())]);
      assert.equal(ran[0] + ran[1], 1);
      const history = await get<{ evaluations: { at: string }[] }>('/api/v1/rules/storage-health/StorageCpuHigh/history');
      assert.equal(history.body.evaluations.filter((e) => e.at === clock.now().toISOString()).length, 1);
    });

    test('deleting a group resolves its firing alerts (no incident left open for a rule that is gone)', async () => {
      const listed = await get<IncidentList>('/api/v1/incidents?limit=10');
      const open = listed.body.incidents.find((i) => i.title.startsWith('CPU on storage-3'));
      assert.equal(open?.status, 'triggered');
      const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/rules/storage-health', headers: t.auth('admin') });
      assert.equal(res.statusCode, 204);
      const closed = await get<{ incident: { status: string } }>(`/api/v1/incidents/${open.number}`);
      assert.equal(closed.body.incident.status, 'resolved');
      assert.equal((await metricsOf(t).rules.listGroups()).some((g) => g.name === 'storage-health'), false);
      const again = await t.app.inject({ method: 'DELETE', url: '/api/v1/rules/storage-health', headers: t.auth('admin') });
      assert.equal(again.statusCode, 404);
    });

    test('apply removing or changing a firing rule resolves its alert on the next evaluation; an unchanged rule keeps its state', async () => {
      const apply = (rules: string) => t.features.apply.apply(parseConfigYaml(`rules:
  - name: cpu-watch
    interval: 1m
    datasource: fleet
    service: storage
    rules:
${rules}`));
      const latency = `      - alert: LatencyHigh
        expr: http_latency_seconds{service="storage",quantile="0.99"} > 0.5
        annotations: { summary: "{{ $labels.instance }} slow" }
`;
      const rules = metricsOf(t).rules;
      await apply(cpuRule('0.9') + latency);
      await rules.evaluateNow('cpu-watch', clock.now());
      const open = async () => (await get<IncidentList>('/api/v1/incidents?limit=50')).body.incidents.filter((i) => i.status !== 'resolved' && /CPU hot|slow/.test(i.title));
      const opened = await open();
      assert.deepEqual(opened.map((i) => i.title).toSorted(), [`${DEMO_FAULTY_INSTANCE} CPU hot (over 0.9)`, `${DEMO_FAULTY_INSTANCE} slow`]);
      const latencyRule = (await rules.listGroups()).find((g) => g.name === 'cpu-watch')!.rules.find((r) => r.name === 'LatencyHigh')!;

      // The threshold changes (a new rule to Firewatch, as to Prometheus) and LatencyHigh stays as it was.
      await apply(cpuRule('0.8') + latency);
      const listed = (await rules.listGroups()).find((g) => g.name === 'cpu-watch')!;
      assert.deepEqual(listed.rules.map((r) => r.name), ['CpuHot', 'LatencyHigh'], 'the retired rule is not shown');
      assert.equal(listed.rules[1].id, latencyRule.id, 'the unchanged rule keeps its id');
      assert.equal(listed.rules[1].state, 'firing', '… and its state');
      clock.advance(60_000);
      await rules.evaluateNow('cpu-watch', clock.now());
      const changed = await open();
      assert.deepEqual(changed.map((i) => i.title).toSorted(), [`${DEMO_FAULTY_INSTANCE} CPU hot (over 0.8)`, `${DEMO_FAULTY_INSTANCE} slow`], 'the old rule\'s incident resolved, the new rule\'s opened, latency untouched');
      assert.equal(changed.find((i) => /slow/.test(i.title))!.number, opened.find((i) => /slow/.test(i.title))!.number);

      // Removing CpuHot from the file resolves its incident too, and nothing of it is left.
      await apply(latency);
      clock.advance(60_000);
      await rules.evaluateNow('cpu-watch', clock.now());
      assert.deepEqual((await open()).map((i) => i.title), [`${DEMO_FAULTY_INSTANCE} slow`]);
      const left = await t.handle.db.selectFrom('rules').innerJoin('rule_groups', 'rule_groups.id', 'rules.group_id').select('rules.name').where('rule_groups.name', '=', 'cpu-watch').execute();
      assert.deepEqual(left.map((r) => r.name), ['LatencyHigh']);
      assert.deepEqual((await get<{ alerts: { rule: string }[] }>('/api/v1/rules/alerts')).body.alerts.filter((a) => a.rule === 'CpuHot'), []);
      const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/rules/cpu-watch', headers: t.auth('admin') });
      assert.equal(res.statusCode, 204);
      assert.deepEqual(await open(), []);
    });

    describe('log rules', () => {
      const logs = fakeLogs();
      let rules: RulesService;
      before(async () => {
        rules = createRulesService({
          db: t.handle.db, clock, publicUrl: 'http://fw.test', datasources: t.features.datasources, logs, intake: t.features.intake,
          services: t.features.services, servicesRepo: createServicesRepo(t.handle.db), log: { info() {}, warn() {}, error() {} },
        });
        await t.features.apply.apply(parseConfigYaml(`
rules:
  - name: edge-logs
    interval: 15s
    service: storage
    rules:
      - alert: Many502
        log: { search: '"502"', window: 1m, above: 5 }
        keep_firing_for: 30s
        labels: { severity: warning }
        annotations: { summary: '{{ $value }} lines with 502 in 1 m' }
      - alert: BackupSilent
        log: { search: 'backup completed', absent_for: 10m }
`));
      });

      test('threshold over a window fires with the matching lines and a search link; keep_firing_for holds it, then it resolves', async () => {
        const start = clock.now().getTime();
        const line = (i: number): LogLine => ({ id: `l${i}`, time: new Date(start).toISOString(), host: 'edge-1', app: 'nginx', service: 'storage', severity: 'err', message: `GET /x 502 ${i}` });
        logs.matching = 7;
        logs.lines = [line(1), line(2)];
        await rules.evaluateNow('edge-logs', clock.now());
        let rule = (await rules.listGroups()).find((g) => g.name === 'edge-logs')!.rules[0];
        assert.equal(rule.state, 'firing', 'for: 0 fires at once');
        assert.equal(rule.alerts[0].annotations.summary, '7 lines with 502 in 1 m');
        assert.match(rule.alerts[0].annotations.search_url, /^http:\/\/fw\.test\/logs\?q=%22502%22&from=/);
        assert.equal(rule.alerts[0].lines?.length, 2);
        const incidents = await get<IncidentList>('/api/v1/incidents?limit=10');
        const incident = incidents.body.incidents.find((i) => i.title === '7 lines with 502 in 1 m');
        assert.ok(incident);
        const detail = await get<{ alerts: { custom_details: { lines?: unknown[] }; links: { href: string }[]; status: string }[] }>(`/api/v1/incidents/${incident.number}`);
        assert.equal(detail.body.alerts[0].custom_details.lines?.length, 2);
        assert.ok(detail.body.alerts[0].links.some((l) => l.href.startsWith('http://fw.test/logs?q=')));
        // The BackupSilent rule has not watched for 10 minutes yet.
        assert.equal((await rules.listGroups()).find((g) => g.name === 'edge-logs')!.rules[1].state, 'inactive');

        logs.matching = 0;
        clock.advance(15_000);
        await rules.evaluateNow('edge-logs', clock.now());
        rule = (await rules.listGroups()).find((g) => g.name === 'edge-logs')!.rules[0];
        assert.equal(rule.state, 'firing', 'kept firing for 30 s');
        clock.advance(30_000);
        await rules.evaluateNow('edge-logs', clock.now());
        rule = (await rules.listGroups()).find((g) => g.name === 'edge-logs')!.rules[0];
        assert.equal(rule.state, 'inactive');
        const resolved = await get<{ incident: { status: string } }>(`/api/v1/incidents/${incident.number}`);
        assert.equal(resolved.body.incident.status, 'resolved');
      });

      test('"no matching line for N minutes" fires once the rule has watched that long', async () => {
        logs.last = null;
        clock.advance(11 * 60_000);
        await rules.evaluateNow('edge-logs', clock.now());
        const rule = (await rules.listGroups()).find((g) => g.name === 'edge-logs')!.rules[1];
        assert.equal(rule.state, 'firing');
        assert.equal(rule.alerts[0].value, '600');
        logs.last = new Date(clock.now().getTime() - 1000);
        clock.advance(15_000);
        await rules.evaluateNow('edge-logs', clock.now());
        assert.equal((await rules.listGroups()).find((g) => g.name === 'edge-logs')!.rules[1].state, 'inactive');
      });
    });

    test('invalid rule files are refused whole with the problem named', async () => {
      await assert.rejects(t.features.apply.apply(parseConfigYaml(`
rules:
  - name: broken
    rules:
      - alert: X
        record: y
        expr: up
`)), { code: 'rule_invalid' });
      await assert.rejects(t.features.apply.apply(parseConfigYaml(`
rules:
  - name: broken
    datasource: nowhere
    rules: [{ alert: X, expr: up }]
`)), { code: 'datasource_not_found' });
      for (const log of ['{ search: "502", window: 0s, above: 5 }', '{ search: "heartbeat", absent_for: 0s }']) {
        await assert.rejects(t.features.apply.apply(parseConfigYaml(`
rules:
  - name: broken
    rules: [{ alert: X, log: ${log} }]
`)), (e: { code: string; details: { path: string }[] }) => e.code === 'rule_invalid' && /^rules\.broken\.rules\.0\.log\.(window|absent_for)$/.test(e.details[0].path));
      }
      assert.equal((await metricsOf(t).rules.listGroups()).some((g) => g.name === 'broken'), false);
    });
  });
}

describe('Prometheus client errors', () => {
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/hang')) return; // never answers
      if (req.url?.startsWith('/api/v1/query') && req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { len: String(new URLSearchParams(body).get('query')?.length) }, value: [1.5, '+Inf'] }] }, warnings: ['w1'] }));
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>not prometheus</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('long queries go as a POST form; +Inf and warnings are parsed', async () => {
    const source = createPrometheusSource({ name: 'p', url });
    const long = `up{job=~"${'a|'.repeat(1500)}b"}`;
    const r = await source.query(long, new Date());
    assert.equal(r.series[0].labels.len, String(long.length));
    assert.equal(r.series[0].points[0][1], Infinity);
    assert.deepEqual(r.warnings, ['w1']);
  });
  test('timeouts, non-Prometheus answers and refused connections have their own codes', async () => {
    await assert.rejects(createPrometheusSource({ name: 'p', url: `${url}/hang`, timeoutSeconds: 0.3 }).labels(), { code: 'datasource_timeout', status: 504 });
    await assert.rejects(createPrometheusSource({ name: 'p', url }).labels(), { code: 'datasource_error', status: 502 });
    await assert.rejects(createPrometheusSource({ name: 'p', url: 'http://127.0.0.1:1' }).labels(), { code: 'datasource_unreachable', status: 502 });
  });
});
