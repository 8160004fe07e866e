import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './client.ts';

interface Incident {
  number: number;
  title: string;
  status: string;
  urgency: string;
  service: { name: string };
  created_at: string;
  acknowledged_by: string | null;
  resolved_by: string | null;
  alert_count: number;
  html_url: string;
}
interface TimelineEntry {
  at: string;
  type: string;
  actor: { name: string };
  message: string;
}

const table = (rows: string[][]): string => {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
};

const parseNumber = (value: string | undefined): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`expected an incident number, got ${value ?? 'nothing'}`);
  return n;
};

/** `firewatch incidents list|show|ack|resolve|note` over the REST API. */
export async function runIncidentsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { status: { type: 'string' }, service: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  });
  const client = ApiClient.fromEnv();
  const print = (json: unknown, text: string) => console.log(values.json ? JSON.stringify(json, null, 2) : text);

  switch (sub) {
    case 'list': {
      const q = new URLSearchParams();
      if (values.status) q.set('status', values.status);
      if (values.service) q.set('service', values.service);
      q.set('limit', values.limit ?? '25');
      const res = await client.request<{ incidents: Incident[] }>('GET', `/api/v1/incidents?${q}`);
      const rows = [['#', 'STATUS', 'URGENCY', 'SERVICE', 'CREATED', 'TITLE'], ...res.incidents.map((i) => [String(i.number), i.status, i.urgency, i.service.name, i.created_at.slice(0, 19).replace('T', ' '), i.title.slice(0, 80)])];
      print(res.incidents, res.incidents.length ? table(rows) : 'no incidents');
      return 0;
    }
    case 'show': {
      const n = parseNumber(positionals[0]);
      const res = await client.request<{ incident: Incident; alerts: unknown[]; timeline: TimelineEntry[] }>('GET', `/api/v1/incidents/${n}`);
      const i = res.incident;
      const text = [
        `#${i.number} ${i.title}`,
        `status: ${i.status}   urgency: ${i.urgency}   service: ${i.service.name}   alerts: ${i.alert_count}`,
        `created: ${i.created_at}${i.acknowledged_by ? `   acknowledged by ${i.acknowledged_by}` : ''}${i.resolved_by ? `   resolved by ${i.resolved_by}` : ''}`,
        i.html_url,
        '',
        'Timeline:',
        ...res.timeline.map((t) => `  ${t.at.slice(0, 19).replace('T', ' ')}  ${t.type.padEnd(14)} ${t.actor.name}: ${t.message}`),
      ].join('\n');
      print(res, text);
      return 0;
    }
    case 'ack':
    case 'acknowledge':
    case 'resolve': {
      const n = parseNumber(positionals[0]);
      const action = sub === 'resolve' ? 'resolve' : 'acknowledge';
      const res = await client.request<{ incident: Incident }>('POST', `/api/v1/incidents/${n}/${action}`);
      print(res.incident, `#${n} is ${res.incident.status}`);
      return 0;
    }
    case 'note': {
      const n = parseNumber(positionals[0]);
      const text = positionals.slice(1).join(' ').trim();
      if (!text) throw new CliError('usage: firewatch incidents note N TEXT');
      const res = await client.request<{ incident: Incident }>('POST', `/api/v1/incidents/${n}/notes`, { text });
      print(res.incident, `note added to #${n}`);
      return 0;
    }
    default:
      throw new CliError('usage: firewatch incidents list|show N|ack N|resolve N|note N TEXT [--json]');
  }
}
