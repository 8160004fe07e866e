import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfigYaml } from '../../src/config-as-code/apply.service.ts';
import type { createMetricsModule } from '../../src/telemetry/metrics/metrics.module.ts';
import { createTestApp, DIALECTS, type TestApp } from '../helpers.ts';
import { findBinary, ProcessGroup, type ServiceProcess, waitFor } from './processes.ts';

/**
 * The same Prometheus rule file loaded into a real Prometheus (rule_files) and into Firewatch (rules kind, data
 * source = that Prometheus): with the scraped values held steady, the alert states, labels and annotations after
 * templating must be identical to Prometheus' own /api/v1/alerts. Also the data-source API against that Prometheus.
 */

const PROMETHEUS = findBinary(['prometheus'], 'PROMETHEUS_BIN');
const skip = PROMETHEUS ? false : 'skipped: prometheus not installed (apt-get install prometheus, or set PROMETHEUS_BIN)';
if (skip) process.stderr.write(`${skip}\n`);

const RULE_FILE = `
groups:
  - name: fw-compare
    interval: 1s
    rules:
      - alert: ValueHigh
        expr: fw_rule_value > 5
        labels:
          severity: critical
          where: '{{ $labels.instance }}'
        annotations:
          summary: 'Value on {{ $labels.instance }} is {{ $value }}'
          pct: '{{ $value | humanizePercentage }}'
          human: '{{ humanize $value }} ({{ printf "%.2f" $value }})'
      - alert: ValueHighForLong
        expr: fw_rule_value > 5
        for: 1h
        labels: { severity: warning }
        annotations: { summary: '{{ $labels.job }}/{{ .Labels.instance }} above 5 for an hour' }
      - alert: ValueKeptFiring
        expr: fw_rule_value * 2 > 10
        keep_firing_for: 1h
        annotations: { description: 'double is {{ $value }}' }
      - record: fw:value:sum
        expr: sum(fw_rule_value)
`;

class Probe {
  value = 1;
  readonly server: Server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`# TYPE fw_rule_value gauge\nfw_rule_value ${this.value}\n`);
  });
  async listen() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
  get instance() {
    const a = this.server.address();
    return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }
  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface CompAlert { alertname: string; state: string; labels: Record<string, string>; annotations: Record<string, string>; value: number }
const key = (a: CompAlert) => `${a.state} ${JSON.stringify(Object.entries(a.labels).toSorted())}`;
const normalise = (alerts: CompAlert[]) => alerts.map((a) => ({ ...a, labels: Object.fromEntries(Object.entries(a.labels).toSorted()) })).toSorted((x, y) => key(x).localeCompare(key(y)));

describe('rules evaluated by Firewatch match Prometheus (real Prometheus)', { skip }, () => {
  for (const dialect of DIALECTS) {
    // A Prometheus per database: keep_firing_for keeps the first run's alert firing for an hour.
    describe(dialect, { concurrency: 1 }, () => {
      const group = new ProcessGroup();
      const a = new Probe();
      const b = new Probe();
      let prom: ServiceProcess;

      before(async () => {
        await Promise.all([a.listen(), b.listen()]);
        prom = await group.prometheus(PROMETHEUS!, `
    global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }
    rule_files: [rules.yml]
    scrape_configs:
      - job_name: fw-rules
        static_configs: [{ targets: ['${a.instance}', '${b.instance}'] }]
    `, { 'rules.yml': RULE_FILE });
        await waitFor('both targets scraped', async () => {
          const r = await (await fetch(`${prom.url}/api/v1/query?query=fw_rule_value`)).json() as { data: { result: unknown[] } };
          return r.data.result.length === 2;
        }, { timeoutMs: 20_000, intervalMs: 200, detail: () => group.logs() });
      });
      after(async () => {
        await group.stop();
        await Promise.allSettled([a.close(), b.close()]);
      });

      const promAlerts = async (): Promise<CompAlert[]> => {
        const r = await (await fetch(`${prom.url}/api/v1/alerts`)).json() as { data: { alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string; value: string }[] } };
        return normalise(r.data.alerts.map((x) => ({ alertname: x.labels.alertname, state: x.state, labels: x.labels, annotations: x.annotations, value: Number(x.value) })));
      };
      /** Waits until Prometheus' alerts satisfy `ready` and have not changed for two evaluations. */
      const settledPromAlerts = async (what: string, ready: (alerts: CompAlert[]) => boolean) => {
        let last = '';
        let stableSince = 0;
        return waitFor(what, async () => {
          const alerts = await promAlerts();
          const text = JSON.stringify(alerts);
          if (text !== last) {
            last = text;
            stableSince = Date.now();
            return undefined;
          }
          return ready(alerts) && Date.now() - stableSince >= 2000 ? alerts : undefined;
        }, { timeoutMs: 30_000, intervalMs: 250, detail: () => group.logs() });
      };
      let t: TestApp;
      const firewatchAlerts = async (): Promise<CompAlert[]> => {
        const r = await t.app.inject({ method: 'GET', url: '/api/v1/rules/alerts', headers: t.auth('viewer') });
        const body = r.json() as { alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string; value: string }[] };
        return normalise(body.alerts.map((x) => ({ alertname: x.labels.alertname, state: x.state, labels: x.labels, annotations: x.annotations, value: Number(x.value) })));
      };
      const incidents = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=20', headers: t.auth('viewer') })).json() as { incidents: { number: number; title: string; status: string }[] };
      const rules = () => (t.features.modules.find((m) => m.name === 'metrics') as ReturnType<typeof createMetricsModule>).rules;

      before(async () => {
        t = await createTestApp(dialect);
        // The rule file as an operator imports it: its groups unchanged, plus where to query and whom to page.
        const groups = (parseYaml(RULE_FILE) as { groups: Record<string, unknown>[] }).groups.map((g) => ({ ...g, datasource: 'prom', service: 'compare' }));
        await t.features.apply.apply(parseConfigYaml(JSON.stringify({
          services: [{ name: 'compare' }],
          datasources: [{ name: 'prom', type: 'prometheus', url: prom.url }],
          rules: groups,
        })));
      });
      after(() => t.close());

      test('the data-source API answers from Prometheus, with Prometheus\' own error for a bad query', async () => {
        const get = async (url: string) => {
          const r = await t.app.inject({ method: 'GET', url, headers: t.auth('viewer') });
          return { status: r.statusCode, body: r.json() as Record<string, unknown> };
        };
        const now = Date.now() / 1000;
        const range = await get(`/api/v1/datasources/prom/query_range?query=fw_rule_value&start=${now - 86_400 * 20}&end=${now}&step=1`);
        assert.equal(range.status, 200);
        assert.ok((range.body.step as number) >= Math.ceil(86_400 * 20 / 11_000), 'step raised to stay under 11,000 points');
        assert.equal((await get('/api/v1/datasources/prom/series?match[]=fw_rule_value')).body.series && ((await get('/api/v1/datasources/prom/series?match[]=fw_rule_value')).body.series as unknown[]).length, 2);
        assert.ok(((await get('/api/v1/datasources/prom/labels')).body.labels as string[]).includes('instance'));
        assert.deepEqual((await get('/api/v1/datasources/prom/label/job/values')).body.values, ['fw-rules']);
        const targets = (await get('/api/v1/datasources/prom/targets')).body.targets as { health: string }[];
        assert.equal(targets.length, 2);
        const bad = await get(`/api/v1/datasources/prom/query?query=${encodeURIComponent('sum(fw_rule_value')}`);
        assert.equal(bad.status, 400);
        assert.equal((bad.body.error as { code: string }).code, 'bad_query');
        assert.match((bad.body.error as { message: string }).message, /parse error/);
        const probe = await t.app.inject({ method: 'POST', url: '/api/v1/datasources/prom/test', headers: t.auth('admin') });
        assert.equal(probe.statusCode, 200);
      });

      test('same alerts, states, labels and templated annotations as Prometheus; the firing rule opens an incident, resolution closes it', async () => {
        // 1. All quiet.
        await settledPromAlerts('Prometheus without alerts', (x) => x.length === 0);
        await rules().evaluateNow('fw-compare', new Date());
        assert.deepEqual(await firewatchAlerts(), []);

        // 2. One instance above the threshold: firing (for: 0), pending (for: 1h), firing (keep_firing_for).
        a.value = 12.5;
        const firing = await settledPromAlerts('Prometheus alerts for instance a', (x) => x.length === 3);
        await rules().evaluateNow('fw-compare', new Date());
        const ours = await firewatchAlerts();
        assert.deepEqual(ours.map(({ value: _v, ...rest }) => rest), firing.map(({ value: _v, ...rest }) => rest));
        assert.deepEqual(ours.map((x) => x.value), firing.map((x) => x.value));
        assert.deepEqual(firing.map((x) => `${x.alertname}:${x.state}`).toSorted(), ['ValueHigh:firing', 'ValueHighForLong:pending', 'ValueKeptFiring:firing']);
        const opened = (await incidents()).incidents.find((i) => i.title === `Value on ${a.instance} is 12.5`);
        assert.ok(opened, 'an incident opened for the firing rule');
        assert.equal(opened.status, 'triggered');

        // 3. Back below: ValueHigh resolves, ValueHighForLong disappears, ValueKeptFiring keeps firing.
        a.value = 1;
        const kept = await settledPromAlerts('Prometheus after the value dropped', (x) => x.length === 1);
        await rules().evaluateNow('fw-compare', new Date());
        const oursKept = await firewatchAlerts();
        assert.deepEqual(oursKept.map(({ value: _v, ...rest }) => rest), kept.map(({ value: _v, ...rest }) => rest));
        assert.equal(kept[0].alertname, 'ValueKeptFiring');
        const closed = (await incidents()).incidents.find((i) => i.number === opened.number);
        assert.equal(closed?.status, 'resolved');

        // The recording rule kept its last value; every rule is healthy.
        const groups = await rules().listGroups();
        assert.ok(groups[0].rules.every((r) => r.health === 'ok'), JSON.stringify(groups[0].rules.map((r) => r.last_error)));
        assert.equal(groups[0].rules[3].last_result?.samples[0].value, '2');
      });
    });
  }
});
