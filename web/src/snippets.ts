import type { Integration } from './types.ts';

/** A copy-paste example of how a sender delivers alerts to one integration. */
export interface SetupSnippet {
  title: string;
  text: string;
}

/** Quotes a value for a POSIX shell: single quotes, with embedded ones closed and escaped. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Receiver names in Alertmanager are free text, but a slug keeps the YAML plain. */
function receiverName(serviceName: string): string {
  const slug = serviceName.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return `firewatch-${slug || 'service'}`;
}

const curlJson = (url: string, body: unknown) =>
  [`curl -sS -X POST ${shellQuote(url)} \\`, `  -H 'Content-Type: application/json' \\`, `  -d ${shellQuote(JSON.stringify(body, null, 2))}`].join('\n');

/** Every minute is the finest cron can do; otherwise ping at half the allowed interval. */
function cronSchedule(intervalSeconds: number): string {
  const minutes = Math.floor(intervalSeconds / 120);
  if (minutes <= 1) return '* * * * *';
  if (minutes < 60) return `*/${minutes} * * * *`;
  return '0 * * * *';
}

/** The snippets the services page shows for an integration, by type. */
export function setupSnippets(serviceName: string, integration: Integration): SetupSnippet[] {
  const { url, key } = integration;
  switch (integration.type) {
    case 'pagerduty':
      return [
        {
          title: 'Alertmanager receiver (pagerduty_configs)',
          text: [
            'receivers:',
            `  - name: ${receiverName(serviceName)}`,
            '    pagerduty_configs:',
            `      - routing_key: ${key}`,
            `        url: ${url}`,
            '        send_resolved: true',
          ].join('\n'),
        },
        {
          title: 'Test with curl (PagerDuty Events API v2)',
          text: curlJson(url, {
            routing_key: key,
            event_action: 'trigger',
            dedup_key: 'firewatch-test',
            payload: { summary: 'Test alert from curl', source: 'my-host', severity: 'critical' },
          }),
        },
      ];
    case 'alertmanager':
      return [
        {
          title: 'Alertmanager receiver (webhook_configs)',
          text: [
            'receivers:',
            `  - name: ${receiverName(serviceName)}`,
            '    webhook_configs:',
            `      - url: ${url}`,
            '        send_resolved: true',
          ].join('\n'),
        },
        {
          title: 'Test with curl (Alertmanager webhook v4)',
          text: curlJson(url, {
            version: '4',
            groupKey: '{}:{alertname="FirewatchTest"}',
            status: 'firing',
            receiver: receiverName(serviceName),
            groupLabels: { alertname: 'FirewatchTest' },
            commonLabels: { alertname: 'FirewatchTest', severity: 'critical' },
            commonAnnotations: { summary: 'Test alert from curl' },
            alerts: [
              { status: 'firing', labels: { alertname: 'FirewatchTest', severity: 'critical' }, annotations: { summary: 'Test alert from curl' } },
            ],
          }),
        },
      ];
    case 'webhook':
      return [
        {
          title: 'Send an alert with curl',
          text: curlJson(url, { title: 'Test alert from curl', dedup_key: 'firewatch-test', severity: 'critical', status: 'firing', source: 'my-host' }),
        },
        {
          title: 'Resolve it',
          text: curlJson(url, { title: 'Test alert from curl', dedup_key: 'firewatch-test', status: 'resolved' }),
        },
      ];
    case 'heartbeat': {
      const interval = Number(integration.config.interval_seconds) || 300;
      return [
        { title: 'Ping with curl', text: `curl -fsS -X POST ${shellQuote(url)}` },
        {
          title: `Cron line (an incident opens after ${interval} s without a ping)`,
          text: `${cronSchedule(interval)} curl -fsS -m 10 --retry 3 -X POST ${shellQuote(url)} > /dev/null`,
        },
      ];
    }
    default:
      return [];
  }
}
