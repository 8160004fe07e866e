import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers.ts';
import { type FirewatchProcess, findBinary, ProcessGroup, waitFor } from './processes.ts';

/**
 * The whole alerting chain with real processes: a probe served by this test → Prometheus (scrape, alerting
 * rule) → Alertmanager → Firewatch, through both of Alertmanager's ways of reaching us at once: the
 * `pagerduty_configs` notifier pointed at /v2/enqueue and `webhook_configs` pointed at
 * /integrations/alertmanager/{key}. Runs once per database.
 */

const PROMETHEUS = findBinary(['prometheus'], 'PROMETHEUS_BIN');
const ALERTMANAGER = findBinary(['prometheus-alertmanager', 'alertmanager'], 'ALERTMANAGER_BIN');
const missing = [PROMETHEUS ? null : 'prometheus', ALERTMANAGER ? null : 'alertmanager'].filter((m) => m !== null);
const skip = missing.length > 0
  ? `skipped: ${missing.join(' and ')} not installed (apt-get install prometheus prometheus-alertmanager, or set PROMETHEUS_BIN / ALERTMANAGER_BIN)`
  : false;
if (skip) process.stderr.write(`${skip}\n`);

const ALERT_NAME = 'FwE2eProbeFailing';
const SERVICE = 'e2e-checkout';
const PD_INTEGRATION = 'am-pagerduty';
const WEBHOOK_INTEGRATION = 'am-webhook';
/** Generous for a loaded CI machine; the chain normally takes 2–4 s (scrape 1 s, evaluation 1 s, group_wait 1 s). */
const CHAIN_TIMEOUT_MS = 30_000;

interface Incident {
  number: number;
  title: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  urgency: 'high' | 'low';
  service: { id: string; name: string };
  resolved_by: string | null;
  alert_count: number;
}
interface Alert {
  dedup_key: string;
  status: string;
  summary: string;
  severity: string;
  source: string;
  class: string | null;
  custom_details: Record<string, unknown>;
  links: { href: string; text?: string }[];
  client: string | null;
  trigger_count: number;
}
interface IncidentDetail {
  incident: Incident;
  alerts: Alert[];
  timeline: { type: string; actor: { type: string; name: string } }[];
}

/** A metrics endpoint whose `fw_test_up` the test flips; each probe is its own Prometheus target (instance). */
class Probe {
  value = 1;
  readonly server: Server;
  constructor() {
    this.server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(`# HELP fw_test_up Whether the e2e probe succeeds.\n# TYPE fw_test_up gauge\nfw_test_up ${this.value}\n`);
    });
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

const integrationKey = () => randomBytes(16).toString('hex');

function prometheusConfig(alertmanagerPort: number, probes: Probe[]): string {
  return `
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:${alertmanagerPort}']
scrape_configs:
  - job_name: fw-e2e-probe
    static_configs:
      - targets: [${probes.map((p) => `'${p.instance}'`).join(', ')}]
`;
}

const RULES = `
groups:
  - name: fw-e2e
    interval: 1s
    rules:
      - alert: ${ALERT_NAME}
        expr: fw_test_up == 0
        for: 0s
        labels:
          severity: critical
        annotations:
          summary: 'Probe {{ $labels.instance }} is failing'
          runbook_url: 'https://runbooks.example/probe-failing'
`;

function alertmanagerConfig(firewatchUrl: string, keys: { pagerduty: string; alertmanager: string }): string {
  return `
global:
  resolve_timeout: 5s
route:
  receiver: firewatch
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: firewatch
    pagerduty_configs:
      - routing_key: ${keys.pagerduty}
        url: ${firewatchUrl}/v2/enqueue
        send_resolved: true
        severity: '{{ .CommonLabels.severity }}'
    webhook_configs:
      - url: ${firewatchUrl}/integrations/alertmanager/${keys.alertmanager}
        send_resolved: true
`;
}

/** Alertmanager's group key for the root route grouped by alertname; its PagerDuty notifier sends sha256(groupKey). */
const PD_DEDUP_KEY = createHash('sha256').update(`{}:{alertname="${ALERT_NAME}"}`).digest('hex');

const openedBy = (d: IncidentDetail) => d.timeline.find((e) => e.type === 'trigger')?.actor.name;
/** Alertmanager's default PagerDuty description: `[FIRING:<n>] <group label values> (<other common labels>)`. */
const isPagerDutyTitle = (title: string, firing: number) => title.startsWith(`[FIRING:${firing}] ${ALERT_NAME}`);

describe('Prometheus → Alertmanager → Firewatch (real processes)', { skip, concurrency: true }, () => {
  for (const dialect of DIALECTS) {
    describe(dialect, { concurrency: 1 }, () => {
      const group = new ProcessGroup();
      const probeA = new Probe();
      const probeB = new Probe();
      let database: TestDatabase | undefined;
      let fw: FirewatchProcess;

      before(async () => {
        database = await createTestDatabase(dialect);
        await Promise.all([probeA.listen(), probeB.listen()]);
        const keys = { pagerduty: integrationKey(), alertmanager: integrationKey() };
        fw = await group.firewatch({
          databaseUrl: database.url,
          config: `
services:
  - name: ${SERVICE}
    description: End-to-end test service
    integrations:
      - { name: ${PD_INTEGRATION}, type: pagerduty, key: ${keys.pagerduty} }
      - { name: ${WEBHOOK_INTEGRATION}, type: alertmanager, key: ${keys.alertmanager} }
`,
        });
        const alertmanager = await group.alertmanager(ALERTMANAGER!, alertmanagerConfig(fw.url, keys));
        await group.prometheus(PROMETHEUS!, prometheusConfig(alertmanager.port, [probeA, probeB]), { 'rules.yml': RULES });
      });

      after(async () => {
        await group.stop();
        await Promise.allSettled([probeA.close(), probeB.close()]);
        await database?.destroy();
      });

      const incidents = async () => (await fw.api<{ incidents: Incident[] }>('/api/v1/incidents?limit=100')).incidents;
      const detail = (n: number) => fw.api<IncidentDetail>(`/api/v1/incidents/${n}`);
      /** Polls until `probe` yields a value; on timeout the error carries every process's recent output. */
      const eventually = <T>(what: string, probe: () => Promise<T | undefined | null | false>) =>
        waitFor(what, probe, { timeoutMs: CHAIN_TIMEOUT_MS, intervalMs: 200, detail: () => group.logs() });

      /** The incidents numbered above `above`, once one from each integration exists. */
      async function waitForPair(above: number, webhookTitle: string): Promise<{ pd: Incident; hook: Incident; all: Incident[] }> {
        return eventually(`an incident from each integration (numbers > ${above})`, async () => {
          const all = (await incidents()).filter((i) => i.number > above);
          const pd = all.find((i) => isPagerDutyTitle(i.title, 1));
          const hook = all.find((i) => i.title === webhookTitle);
          return pd && hook ? { pd, hook, all } : undefined;
        });
      }

      let firstPair: { pd: Incident; hook: Incident } | undefined;

      test('a failing probe opens one triggered incident per integration, on the same service', async () => {
        assert.deepEqual(await incidents(), [], 'no incident before the probe fails');
        probeA.value = 0;
        const { pd, hook, all } = await waitForPair(0, `Probe ${probeA.instance} is failing`);
        firstPair = { pd, hook };
        assert.equal(all.length, 2, `exactly two incidents, got ${all.map((i) => i.title).join(' | ')}`);
        for (const incident of [pd, hook]) {
          assert.equal(incident.status, 'triggered');
          assert.equal(incident.urgency, 'high', 'severity=critical pages');
          assert.equal(incident.service.name, SERVICE);
        }

        const hookDetail = await detail(hook.number);
        assert.equal(openedBy(hookDetail), WEBHOOK_INTEGRATION);
        assert.equal(hookDetail.alerts.length, 1, 'one alert per fingerprint');
        const [alert] = hookDetail.alerts;
        assert.match(alert.dedup_key, /^[0-9a-f]{16}$/, 'the webhook alert is keyed by Alertmanager fingerprint');
        assert.equal(alert.status, 'triggered');
        assert.equal(alert.summary, `Probe ${probeA.instance} is failing`);
        assert.equal(alert.severity, 'critical');
        assert.equal(alert.source, probeA.instance);
        assert.equal(alert.class, ALERT_NAME);
        assert.equal((alert.custom_details.labels as Record<string, string>).instance, probeA.instance);
        assert.ok(alert.links.some((l) => l.text === 'Runbook' && l.href === 'https://runbooks.example/probe-failing'), 'runbook_url becomes a link');
        assert.ok(alert.links.some((l) => l.text === 'Source' && /\/graph\?/.test(l.href)), 'the generatorURL links back to Prometheus');

        const pdDetail = await detail(pd.number);
        assert.equal(openedBy(pdDetail), PD_INTEGRATION);
        assert.equal(pdDetail.alerts.length, 1, 'PagerDuty keeps one alert per Alertmanager group');
        const [pdAlert] = pdDetail.alerts;
        assert.equal(pdAlert.dedup_key, PD_DEDUP_KEY, 'dedup_key is sha256(groupKey)');
        assert.equal(pdAlert.severity, 'critical');
        assert.equal(pdAlert.client, 'Alertmanager');
        assert.equal(pdAlert.custom_details.num_firing, '1');
      });

      test('the probe recovering resolves both incidents', async (t) => {
        if (!firstPair) return t.skip('the incidents were not opened');
        const { pd, hook } = firstPair;
        probeA.value = 1;
        await eventually('both incidents resolved', async () => {
          const byNumber = new Map((await incidents()).map((i) => [i.number, i]));
          return byNumber.get(pd.number)?.status === 'resolved' && byNumber.get(hook.number)?.status === 'resolved';
        });
        const [hookDetail, pdDetail] = await Promise.all([detail(hook.number), detail(pd.number)]);
        assert.equal(hookDetail.incident.resolved_by, WEBHOOK_INTEGRATION);
        assert.equal(pdDetail.incident.resolved_by, PD_INTEGRATION);
        assert.deepEqual(hookDetail.alerts.map((a) => a.status), ['resolved']);
        assert.deepEqual(pdDetail.alerts.map((a) => a.status), ['resolved']);
        assert.equal((await incidents()).length, 2, 'resolving opened nothing new');
      });

      test('with two alerts in one group, the webhook incident stays open until both have resolved', async (t) => {
        if (!firstPair) return t.skip('the first incidents were not opened');
        const floor = Math.max(...(await incidents()).map((i) => i.number));
        const titleA = `Probe ${probeA.instance} is failing`;

        probeA.value = 0;
        const { pd, hook } = await waitForPair(floor, titleA);
        assert.ok(pd.number > firstPair.pd.number, 'a resolved PagerDuty alert is not reopened: its key opens a new incident');

        probeB.value = 0;
        const both = await eventually('the second alert joining the webhook incident', async () => {
          const d = await detail(hook.number);
          return d.alerts.length === 2 ? d : undefined;
        });
        assert.deepEqual(both.alerts.map((a) => a.status), ['triggered', 'triggered']);
        assert.deepEqual(both.alerts.map((a) => a.source).toSorted(), [probeA.instance, probeB.instance].toSorted());
        assert.ok(both.timeline.some((e) => e.type === 'alert_added'));
        const pdBoth = await eventually('the PagerDuty alert seeing two firing', async () => {
          const d = await detail(pd.number);
          return d.alerts[0]?.custom_details.num_firing === '2' ? d : undefined;
        });
        assert.equal(pdBoth.alerts.length, 1, 'still one PagerDuty alert for the group');
        assert.ok(pdBoth.alerts[0].trigger_count >= 2);
        assert.equal((await incidents()).filter((i) => i.number > floor).length, 2, 'the joining alert opened no new incident');

        probeA.value = 1;
        const half = await eventually('probe A\'s alert resolved in the webhook incident', async () => {
          const d = await detail(hook.number);
          return d.alerts.find((a) => a.source === probeA.instance)?.status === 'resolved' ? d : undefined;
        });
        assert.equal(half.incident.status, 'triggered', 'one alert still firing keeps the incident open');
        assert.equal(half.alerts.find((a) => a.source === probeB.instance)?.status, 'triggered');
        assert.ok(half.timeline.some((e) => e.type === 'alert_resolved'));
        const pdHalf = await eventually('the PagerDuty alert seeing one resolved', async () => {
          const d = await detail(pd.number);
          return d.alerts[0]?.custom_details.num_resolved === '1' ? d : undefined;
        });
        assert.equal(pdHalf.incident.status, 'triggered', 'Alertmanager sends no PagerDuty resolve while one alert fires');

        probeB.value = 1;
        await eventually('both incidents resolved after the last alert cleared', async () => {
          const byNumber = new Map((await incidents()).map((i) => [i.number, i]));
          return byNumber.get(pd.number)?.status === 'resolved' && byNumber.get(hook.number)?.status === 'resolved';
        });
        const done = await detail(hook.number);
        assert.deepEqual(done.alerts.map((a) => a.status), ['resolved', 'resolved']);
        assert.equal(done.incident.resolved_by, WEBHOOK_INTEGRATION);
      });
    });
  }
});
