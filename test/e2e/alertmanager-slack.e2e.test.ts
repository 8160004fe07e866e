import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers.ts';
import { type FirewatchProcess, findBinary, ProcessGroup, waitFor } from './processes.ts';

/**
 * A real Alertmanager's `slack_configs` (api_url pointed at POST /hooks/chat/{key}) posts into a war-room
 * channel made by `firewatch apply`: a firing message, then a resolved one, each readable (title with the
 * alert name, link back to Alertmanager, danger/good colour). Alerts are posted to Alertmanager's own API.
 */

const ALERTMANAGER = findBinary(['prometheus-alertmanager', 'alertmanager'], 'ALERTMANAGER_BIN');
const skip = ALERTMANAGER ? false : 'skipped: alertmanager not installed (apt-get install prometheus-alertmanager, or set ALERTMANAGER_BIN)';
if (skip) process.stderr.write(`${skip}\n`);

const ALERT_NAME = 'FwSlackE2eDiskFull';
const TIMEOUT_MS = 30_000;

interface Message {
  kind: string;
  author: { type: string; id: string | null; name: string };
  text: string;
  attachments: { color?: string; title?: string; title_link?: string; text?: string; fallback?: string }[];
}

function alertmanagerConfig(hookUrl: string): string {
  return `
global:
  resolve_timeout: 5s
route:
  receiver: war-room
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: war-room
    slack_configs:
      - api_url: ${hookUrl}
        channel: '#ops'
        send_resolved: true
`;
}

async function postAlerts(amUrl: string, endsAt: Date): Promise<void> {
  const res = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{
      labels: { alertname: ALERT_NAME, instance: 'db1:9100', severity: 'critical' },
      annotations: { summary: 'Disk on db1 is 97% full' },
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: endsAt.toISOString(),
      generatorURL: 'http://prometheus.example/graph?g0.expr=disk',
    }]),
  });
  assert.equal(res.status, 200, await res.text());
}

describe('Alertmanager slack_configs → POST /hooks/chat/{key} (real Alertmanager)', { skip, concurrency: true }, () => {
  for (const dialect of DIALECTS) {
    describe(dialect, { concurrency: 1 }, () => {
      const group = new ProcessGroup();
      let database: TestDatabase | undefined;
      let fw: FirewatchProcess;
      let amUrl = '';

      before(async () => {
        database = await createTestDatabase(dialect);
        const key = randomBytes(16).toString('hex');
        fw = await group.firewatch({
          databaseUrl: database.url,
          config: `
channels:
  - name: ops
    topic: Operations
    hooks:
      - { name: am-hook, key: ${key} }
`,
        });
        const am = await group.alertmanager(ALERTMANAGER!, alertmanagerConfig(`${fw.url}/hooks/chat/${key}`));
        amUrl = am.url;
      });

      after(async () => {
        await group.stop();
        await database?.destroy();
      });

      const fromAlertmanager = async () => (await fw.api<{ messages: Message[] }>('/api/v1/channels/ops/messages?limit=100')).messages
        .filter((m) => m.author.type === 'integration');

      test('a firing and then a resolved notification land in #ops, readable', async () => {
        await postAlerts(amUrl, new Date(Date.now() + 3_600_000));
        const [firing] = await waitFor('the firing message in #ops', async () => {
          const found = (await fromAlertmanager()).filter((m) => m.attachments.some((a) => a.title?.includes('[FIRING:1]')));
          return found.length ? found : undefined;
        }, { timeoutMs: TIMEOUT_MS, intervalMs: 200, detail: () => group.logs() });
        const a = firing.attachments[0];
        assert.equal(firing.author.name, 'Alertmanager', 'the payload\'s username (Alertmanager\'s default) names the author');
        assert.ok(a.title?.startsWith(`[FIRING:1] ${ALERT_NAME}`), a.title);
        assert.equal(a.color, 'danger');
        assert.match(a.title_link ?? '', /^http:\/\/.+\/#\/alerts\?receiver=war-room/, 'the title links back to Alertmanager');
        assert.ok(a.fallback?.includes(ALERT_NAME));

        // Resolving: an alert whose end time has passed.
        await postAlerts(amUrl, new Date(Date.now() - 1_000));
        const [resolved] = await waitFor('the resolved message in #ops', async () => {
          const found = (await fromAlertmanager()).filter((m) => m.attachments.some((x) => x.title?.startsWith('[RESOLVED]')));
          return found.length ? found : undefined;
        }, { timeoutMs: TIMEOUT_MS, intervalMs: 200, detail: () => group.logs() });
        assert.equal(resolved.attachments[0].color, 'good');
        assert.ok(resolved.attachments[0].title?.includes(ALERT_NAME));
        assert.equal((await fromAlertmanager()).filter((m) => m.attachments.some((x) => x.title?.startsWith('[RESOLVED]'))).length, 1, 'sent once: Alertmanager took our `ok`');
      });
    });
  }
});
