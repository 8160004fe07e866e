import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers.ts';
import { type FirewatchProcess, findBinary, ProcessGroup, runFirewatchCli, type ServiceProcess, waitFor } from './processes.ts';

/**
 * Telemetry end to end with real processes: four exporters served by this test → a real Prometheus →
 * Firewatch (data source, rule group, inventory from one applied file). One exporter turns slow: the
 * Firewatch rule fires into an incident, the incident's dashboard names that instance as the outlier,
 * and the inventory says which host it is (API and CLI). Runs once per database.
 */

const PROMETHEUS = findBinary(['prometheus'], 'PROMETHEUS_BIN');
const skip = PROMETHEUS ? false : 'skipped: prometheus not installed (apt-get install prometheus, or set PROMETHEUS_BIN)';
if (skip) process.stderr.write(`${skip}\n`);

const SERVICE = 'e2e-fleet';
const TIMEOUT_MS = 30_000;
/**
 * The dashboard's points sit on a 15 s grid (an hour's window, ~300 points): the slow instance shows once the
 * next grid point after it turned slow exists and its rate window holds enough slow requests — ~20 s on a quiet
 * machine, more on a loaded CI run with both databases' suites going.
 */
const DASHBOARD_TIMEOUT_MS = 90_000;
const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

/** An HTTP service's /metrics: a request-duration histogram growing 50 requests/s, fast (≤ 50 ms) unless `slow` (1–2.5 s). */
class Exporter {
  slow = false;
  private readonly started = Date.now();
  private slowSince: number | null = null;
  readonly server: Server;
  readonly index: number;
  constructor(index: number) {
    this.index = index;
    this.server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(this.metrics());
    });
  }
  private metrics(): string {
    const now = Date.now();
    if (this.slow && this.slowSince === null) this.slowSince = now;
    const total = Math.floor(((now - this.started) / 1000) * 50);
    const slow = this.slowSince === null ? 0 : Math.floor(((now - this.slowSince) / 1000) * 50);
    const fast = total - slow;
    // A little per-instance spread, so the healthy instances are not identical.
    const fastLe = (le: string) => (le === '0.05' ? Math.floor(fast * (0.9 - 0.02 * this.index)) : fast);
    const lines = ['# TYPE http_request_duration_seconds histogram'];
    for (const le of BUCKETS) lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${fastLe(le) + (Number(le) >= 2.5 || le === '+Inf' ? slow : 0)}`);
    lines.push(`http_request_duration_seconds_sum ${fast * 0.04 + slow * 2}`, `http_request_duration_seconds_count ${total}`);
    return `${lines.join('\n')}\n`;
  }
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
  get instance(): string {
    const address = this.server.address();
    return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const prometheusConfig = (exporters: Exporter[]) => `
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: fleet
    static_configs:
      - targets: [${exporters.map((e) => `'${e.instance}'`).join(', ')}]
        labels: { service: ${SERVICE} }
`;

const firewatchConfig = (prometheusUrl: string, exporters: Exporter[]) => `
services:
  - name: ${SERVICE}
    description: Four instances behind one service
datasources:
  - name: prom
    type: prometheus
    url: ${prometheusUrl}
    default: true
rules:
  - name: fleet-latency
    interval: 1s
    datasource: prom
    service: ${SERVICE}
    rules:
      - alert: FleetInstanceSlow
        expr: histogram_quantile(0.99, sum by (le, instance) (rate(http_request_duration_seconds_bucket{service="${SERVICE}"}[5s]))) > 0.5
        for: 0s
        labels: { severity: critical }
        annotations: { summary: "{{ $labels.instance }} answers slowly" }
inventory:
  - name: fleet
    provider: static
    hosts:
${exporters.map((e) => `      - { name: object${e.index}, addresses: ["${e.instance}"], labels: { kind: object${e.index}, rack: r1 } }`).join('\n')}
  - name: targets
    provider: prometheus
    datasource: prom
`;

interface Incident { number: number; title: string; service: { name: string } }
interface Telemetry {
  window: { from: number; to: number };
  dashboard_url: string;
  dashboard: {
    panels: { id: string; error: { code: string } | null; per_instance: { name: string }[]; outliers: { top: { instance: string; score: number } | null } | null }[];
    top_outlier: { instance: string; panels: string[]; score: number } | null;
  };
  affected_hosts: { value: string; label: string; hosts: { name: string; provider: string }[] }[];
}

describe('Prometheus fleet → Firewatch rule, incident, dashboard outlier, inventory (real processes)', { skip, concurrency: true }, () => {
  for (const dialect of DIALECTS) {
    describe(dialect, { concurrency: 1 }, () => {
      const group = new ProcessGroup();
      const exporters = [1, 2, 3, 4].map((i) => new Exporter(i));
      const bad = exporters[2]!;
      let database: TestDatabase | undefined;
      let prometheus: ServiceProcess;
      let fw: FirewatchProcess;
      const eventually = <T>(what: string, probe: () => Promise<T | undefined | null | false>) =>
        waitFor(what, probe, { timeoutMs: TIMEOUT_MS, intervalMs: 250, detail: () => group.logs() });

      before(async () => {
        database = await createTestDatabase(dialect);
        await Promise.all(exporters.map((e) => e.listen()));
        prometheus = await group.prometheus(PROMETHEUS!, prometheusConfig(exporters));
        fw = await group.firewatch({ databaseUrl: database.url, config: firewatchConfig(prometheus.url, exporters), env: { FIREWATCH_SYSLOG_PORT: '0' } });
      });

      after(async () => {
        await group.stop();
        await Promise.allSettled(exporters.map((e) => e.close()));
        await database?.destroy();
      });

      test('the slow instance fires the rule, opens an incident, is named by the dashboard and found in the inventory', async () => {
        // Let Prometheus collect a few healthy scrapes of every instance first.
        await eventually('every exporter scraped', async () => {
          const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(`count(http_request_duration_seconds_count{service="${SERVICE}"})`)}`);
          const body = await r.json() as { data: { result: { value: [number, string] }[] } };
          return Number(body.data.result[0]?.value[1] ?? 0) === 4;
        });
        assert.deepEqual((await fw.api<{ incidents: Incident[] }>('/api/v1/incidents')).incidents, [], 'no incident while the fleet is healthy');
        bad.slow = true;

        const incident = await eventually('an incident from the rule', async () =>
          (await fw.api<{ incidents: Incident[] }>('/api/v1/incidents')).incidents.find((i) => i.service.name === SERVICE));
        assert.match(incident.title, new RegExp(bad.instance.replaceAll('.', '\\.')));

        // Right after the rule fires the slow instance has a second or two of slow samples in an hour's window:
        // wait until its latency has moved its window mean (a few scrapes).
        let last: unknown = null;
        const telemetry = await waitFor('the incident dashboard names the slow instance', async () => {
          const t = await fw.api<Telemetry>(`/api/v1/incidents/${incident.number}/telemetry`);
          last = t.dashboard.top_outlier;
          return t.dashboard.top_outlier?.panels.includes('latency') ? t : undefined;
        }, { timeoutMs: DASHBOARD_TIMEOUT_MS, intervalMs: 500, detail: () => `last top outlier: ${JSON.stringify(last)}\n${group.logs()}` });
        assert.equal(telemetry.dashboard.top_outlier!.instance, bad.instance, JSON.stringify(telemetry.dashboard.top_outlier));
        assert.ok(telemetry.dashboard.top_outlier!.panels.includes('latency'));
        const latency = telemetry.dashboard.panels.find((p) => p.id === 'latency')!;
        assert.equal(latency.error, null);
        assert.equal(latency.per_instance.length, 4);
        assert.equal(latency.outliers?.top?.instance, bad.instance);
        assert.ok(latency.outliers!.top!.score > 3);
        // The window starts an hour before the incident and the link opens the dashboard there.
        assert.ok(telemetry.window.to - telemetry.window.from >= 3600);
        assert.equal(telemetry.dashboard_url, `/services/${SERVICE}/dashboard?from=${telemetry.window.from}&to=${telemetry.window.to}`);
        // Panels whose metrics this fleet lacks (node_exporter) are empty, not errors.
        assert.ok(telemetry.dashboard.panels.every((p) => p.error === null), JSON.stringify(telemetry.dashboard.panels.map((p) => p.error)));

        // The incident's affected host, from its alert's instance label.
        const affected = telemetry.affected_hosts.find((a) => a.value === bad.instance);
        assert.ok(affected, JSON.stringify(telemetry.affected_hosts));
        assert.deepEqual(affected.hosts.filter((h) => h.provider === 'fleet').map((h) => h.name), ['object3']);

        // Which host is object3? API and CLI.
        const found = await fw.api<{ hosts: { name: string; addresses: string[] }[] }>('/api/v1/hosts/find?kind=object3');
        assert.deepEqual(found.hosts.map((h) => h.name), ['object3']);
        assert.deepEqual(found.hosts[0]!.addresses, [bad.instance]);
        const env = { ...fw.env, FIREWATCH_URL: fw.url, FIREWATCH_TOKEN: fw.token };
        const table = await runFirewatchCli(['hosts', 'find', 'kind=object3'], env);
        assert.match(table, /^NAME\s+PROVIDER\s+ID\s+ADDRESSES\s+LABELS/);
        assert.match(table, new RegExp(`object3\\s+fleet\\s+object3\\s+${bad.instance.replaceAll('.', '\\.')}`));

        // The Prometheus provider turns the scrape targets into a host (all four share 127.0.0.1).
        const refreshed = await fetch(`${fw.url}/api/v1/inventory/targets/refresh`, { method: 'POST', headers: { authorization: `Bearer ${fw.token}` } });
        assert.equal(refreshed.status, 200, await refreshed.clone().text());
        const byInstance = await fw.api<{ hosts: { provider: string; labels: Record<string, string> }[] }>(`/api/v1/hosts/find?instance=${encodeURIComponent(bad.instance)}&provider=targets`);
        assert.equal(byInstance.hosts.length, 1);
        assert.equal(byInstance.hosts[0]!.labels.service, SERVICE);
      });
    });
  }
});
