/** Hosts as providers report them, and the look-up language of `hosts find` (pure functions). */

export interface DiscoveredHost {
  /** The provider's own id: EC2 instance id, target host, static id (or name). */
  externalId: string;
  name: string;
  addresses: string[];
  labels: Record<string, string>;
}

export interface HostView {
  id: string;
  provider: string;
  provider_type: string;
  external_id: string;
  name: string;
  addresses: string[];
  labels: Record<string, string>;
  updated_at: string;
  seen_at: string;
}

/** One term of a look-up: `key=value` (exact, case-insensitive) or a bare word. */
export type Selector = { key: string; value: string } | { word: string };

/** Splits `kind=object4 env=prod web-1` into selectors; quotes allow spaces (`name="db 1"`). */
export function parseSelectors(text: string): Selector[] {
  const out: Selector[] = [];
  const re = /([A-Za-z_][\w.:/-]*)=(?:"([^"]*)"|'([^']*)'|(\S*))|"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) out.push({ key: m[1], value: m[2] ?? m[3] ?? m[4] ?? '' });
    else {
      const word = m[5] ?? m[6] ?? m[7] ?? '';
      if (word) out.push({ word });
    }
  }
  return out;
}

/** `10.0.0.4:9100` → `10.0.0.4`; `[::1]:9100` → `::1`; anything else unchanged. */
export function hostPart(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return v6[1]!;
  const m = /^([^:]+):\d+$/.exec(address);
  return m ? m[1]! : address;
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * `value` names one of the host's addresses: exactly; or the value carries a port and the address is its host
 * (10.0.0.4 matches 10.0.0.4:9100); or the value is a bare host and the address that host with a port.
 * Two targets on one machine (127.0.0.1:9101, 127.0.0.1:9102) stay apart when the host lists them with ports.
 */
function addressMatches(host: HostView, value: string): boolean {
  const bare = hostPart(value);
  const hasPort = bare !== value;
  return host.addresses.some((a) => eq(a, value) || (hasPort && eq(a, bare)) || (!hasPort && eq(hostPart(a), value)));
}

/** Whether a host matches one selector. Keys name, id, instance/address and provider are special; others are labels. */
export function matchesSelector(host: HostView, s: Selector): boolean {
  if ('word' in s) {
    const w = s.word;
    return eq(host.name, w) || eq(host.external_id, w) || eq(host.id, w) || addressMatches(host, w)
      || Object.values(host.labels).some((v) => eq(v, w));
  }
  switch (s.key) {
    case 'name': return eq(host.name, s.value);
    case 'id': return eq(host.id, s.value) || eq(host.external_id, s.value);
    case 'instance':
    case 'address':
    case 'ip': return addressMatches(host, s.value) || (s.key === 'instance' && host.labels.instance !== undefined && eq(host.labels.instance, s.value));
    case 'provider': return eq(host.provider, s.value);
    default: {
      const key = Object.keys(host.labels).find((k) => eq(k, s.key));
      return key !== undefined && eq(host.labels[key]!, s.value);
    }
  }
}

export const matchesAll = (host: HostView, selectors: Selector[]): boolean => selectors.every((s) => matchesSelector(host, s));

/** The lower-cased words a host is found by (a prefilter for SQL LIKE; matching is exact afterwards). */
export function searchText(h: DiscoveredHost): string {
  const words = new Set<string>([h.name, h.externalId, ...h.addresses, ...h.addresses.map(hostPart), ...Object.entries(h.labels).flatMap(([k, v]) => [v, `${k}=${v}`])]);
  return ` ${[...words].map((w) => w.toLowerCase().replaceAll(/\s+/g, '_')).join(' ')} `;
}

/** Prometheus active targets → hosts, grouped by the target's host (a node_exporter and an app on one machine are one host). */
export function hostsFromTargets(targets: { labels: Record<string, string>; scrapeUrl: string }[]): DiscoveredHost[] {
  const byHost = new Map<string, DiscoveredHost>();
  for (const t of targets) {
    let instance = t.labels.instance;
    if (!instance) {
      try {
        instance = new URL(t.scrapeUrl).host;
      } catch {
        continue;
      }
    }
    const host = hostPart(instance);
    const named = t.labels.hostname ?? t.labels.nodename ?? t.labels.host;
    const key = host.toLowerCase();
    let h = byHost.get(key);
    if (!h) {
      h = { externalId: host, name: named ?? host, addresses: [], labels: {} };
      byHost.set(key, h);
    }
    if (named && h.name === host) h.name = named;
    for (const a of [instance, host]) if (!h.addresses.includes(a)) h.addresses.push(a);
    for (const [k, v] of Object.entries(t.labels)) if (!(k in h.labels)) h.labels[k] = v;
  }
  return [...byHost.values()];
}

/** Alert labels that name a machine, in the order they are tried. */
export const HOST_LABELS = ['instance', 'host', 'hostname', 'nodename', 'node', 'server', 'fqdn'] as const;
