import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './client.ts';

interface Host {
  id: string;
  provider: string;
  external_id: string;
  name: string;
  addresses: string[];
  labels: Record<string, string>;
  seen_at: string;
}

const table = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
};

/** Control characters from provider data (EC2 tags, target labels) are shown escaped, never sent to the terminal. */
const inert = (s: string) => [...s].map((c) => {
  const code = c.charCodeAt(0);
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, '0')}` : c;
}).join('');

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function hostRows(hosts: Host[]): string {
  const rows = [['NAME', 'PROVIDER', 'ID', 'ADDRESSES', 'LABELS'], ...hosts.map((h) => [
    inert(h.name), inert(h.provider), inert(h.external_id), inert(clip(h.addresses.join(', '), 60)),
    inert(clip(Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(' '), 100)),
  ])];
  return table(rows);
}

/** `firewatch hosts find SELECTOR…` / `hosts list [--q TEXT] [--label k=v]…` / `hosts refresh PROVIDER`. */
export async function runHostsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { q: { type: 'string' }, label: { type: 'string', multiple: true }, provider: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  });
  const client = ApiClient.fromEnv();
  const print = (json: unknown, text: string) => console.log(values.json ? JSON.stringify(json, null, 2) : text);

  switch (sub) {
    case 'find': {
      if (positionals.length === 0) throw new CliError('usage: firewatch hosts find SELECTOR… (e.g. kind=object4, name=web-1, instance=10.0.0.4:9100, or a bare name/address)');
      // Each argument is one selector, so values with spaces survive the shell's quoting: name="db 1".
      const text = positionals.map((p) => {
        const i = p.indexOf('=');
        return i > 0 ? `${p.slice(0, i)}="${p.slice(i + 1).replaceAll('"', '')}"` : `"${p.replaceAll('"', '')}"`;
      }).join(' ');
      const res = await client.request<{ hosts: Host[] }>('GET', `/api/v1/hosts/find?${new URLSearchParams({ q: text })}`);
      print(res.hosts, res.hosts.length ? hostRows(res.hosts) : `no host matches ${positionals.join(' ')}`);
      return res.hosts.length ? 0 : 1;
    }
    case 'list': {
      const q = new URLSearchParams();
      if (values.q) q.set('q', values.q);
      for (const l of values.label ?? []) q.append('label', l);
      if (values.provider) q.set('provider', values.provider);
      q.set('limit', values.limit ?? '100');
      const res = await client.request<{ hosts: Host[]; total: number }>('GET', `/api/v1/hosts?${q}`);
      print(res.hosts, res.hosts.length ? `${hostRows(res.hosts)}${res.total > res.hosts.length ? `\n(${res.hosts.length} of ${res.total})` : ''}` : 'no hosts');
      return 0;
    }
    case 'refresh': {
      const name = positionals[0];
      if (!name) throw new CliError('usage: firewatch hosts refresh PROVIDER');
      const res = await client.request<{ provider: { name: string; hosts: number; last_refresh_at: string } }>('POST', `/api/v1/inventory/${encodeURIComponent(name)}/refresh`);
      print(res.provider, `${inert(res.provider.name)}: ${res.provider.hosts} hosts (refreshed ${res.provider.last_refresh_at})`);
      return 0;
    }
    default:
      throw new CliError('usage: firewatch hosts find SELECTOR… | hosts list [--q TEXT] [--label k=v]… [--provider NAME] | hosts refresh PROVIDER');
  }
}
