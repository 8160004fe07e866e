import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * The guard on user-supplied URLs (webhooks): only http(s), only public addresses unless an admin allows
 * more, and the caller connects to the address checked here, so a second DNS answer (rebinding) cannot
 * point the request somewhere else.
 */
export interface AddressPolicy {
  /** Permit private, loopback and other non-public addresses — except cloud metadata, which needs the allow list. */
  allowPrivate: boolean;
  /** CIDRs (`10.0.0.0/8`, `::1/128`) or host names (`hooks.corp.example`, `*.corp.example`) an admin permits. */
  allowList: string[];
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** DNS resolution as checkTarget uses it; replaceable in tests. */
export type HostResolver = (host: string) => Promise<ResolvedAddress[]>;

export type TargetCheck =
  | { ok: true; address: string; family: 4 | 6 }
  | { ok: false; error: 'invalid_url' | 'unsupported_scheme' | 'credentials_in_url' | 'dns_lookup_failed' | 'address_not_allowed'; detail: string };

interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`bad built-in CIDR ${text}`);
  return parsed;
};

/** IPv4 blocks that are not globally reachable (IANA special-purpose registry), plus multicast and reserved. */
const IPV4_NON_PUBLIC = [
  '0.0.0.0/8', // "this network"; 0.0.0.0 reaches the local host on Linux
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, where cloud metadata lives
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and broadcast
].map(cidr);

/** Only 2000::/3 is allocated global unicast today; these parts of it are not reachable targets either. */
const IPV6_GLOBAL_UNICAST = cidr('2000::/3');
const IPV6_NON_PUBLIC = [
  '2001::/23', // IETF protocol assignments, Teredo included
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
].map(cidr);

/** Addresses that embed an IPv4 address, which is what they reach: mapped, NAT64 well-known prefix, 6to4. */
const IPV4_MAPPED = cidr('::ffff:0:0/96');
const NAT64_WELL_KNOWN = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');

/** Cloud instance metadata: still refused under allowPrivate, because leaking credentials is the classic SSRF. */
const METADATA = [
  '169.254.0.0/16', // AWS, GCP, Azure, OCI (169.254.169.254), ECS (169.254.170.2)
  'fe80::/10',
  'fd00:ec2::254/128', // AWS IMDS over IPv6
  '100.100.100.200/32', // Alibaba Cloud
].map(cidr);

/** True when `ip` is a literal address that is reachable on the public internet. Host names and garbage are not. */
export function isPublicAddress(ip: string): boolean {
  const bytes = parseIp(ip);
  if (!bytes) return false;
  const effective = embeddedIpv4(bytes) ?? bytes;
  if (effective.length === 4) return !IPV4_NON_PUBLIC.some((c) => inCidr(effective, c));
  return inCidr(effective, IPV6_GLOBAL_UNICAST) && !IPV6_NON_PUBLIC.some((c) => inCidr(effective, c));
}

/** Whether an allow-list entry is usable (a CIDR, a bare address, a host name or `*.suffix`); for validating config. */
export function isValidAllowListEntry(entry: string): boolean {
  if (parseCidr(entry)) return true;
  return /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(entry);
}

/**
 * Checks a URL before anything connects to it: scheme http(s), no credentials in it, and every address its
 * host resolves to (one lookup) public or allowed by the policy. On success returns the address to connect
 * to; the caller must connect there and not resolve the name again.
 */
export async function checkTarget(url: string, policy: AddressPolicy, resolve: HostResolver = resolveAll): Promise<TargetCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: 'invalid_url', detail: 'not a valid URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, error: 'unsupported_scheme', detail: `${parsed.protocol.replace(/:$/, '')} URLs are not allowed; use http or https` };
  }
  // Credentials in the URL would be sent to a host we may not trust, and are often a parser-confusion trick.
  if (parsed.username || parsed.password) return { ok: false, error: 'credentials_in_url', detail: 'URLs with user:password@ are not allowed; use a header' };
  const host = unbracket(parsed.hostname);
  if (!host) return { ok: false, error: 'invalid_url', detail: 'the URL has no host' };

  let candidates: ResolvedAddress[];
  const literal = isIP(host);
  if (literal) {
    candidates = [{ address: host, family: literal }];
  } else {
    try {
      candidates = await resolve(host);
    } catch (err) {
      return { ok: false, error: 'dns_lookup_failed', detail: `${host} could not be resolved (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
    if (candidates.length === 0) return { ok: false, error: 'dns_lookup_failed', detail: `${host} has no addresses` };
  }

  const hostPermitted = !literal && policy.allowList.some((entry) => hostMatches(host, entry));
  // Every answer must pass, not just the first: the client could otherwise fall back to a refused one.
  for (const candidate of candidates) {
    if (!hostPermitted && !isAddressAllowed(candidate.address, policy)) {
      const via = literal ? '' : `${host} resolves to `;
      return { ok: false, error: 'address_not_allowed', detail: `${via}${candidate.address}, which is not a public address; an admin can add it to the allow list` };
    }
  }
  const chosen = candidates[0];
  return { ok: true, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
}

/** One DNS lookup through the system resolver, every address, in the order it gave them. */
const resolveAll: HostResolver = (host) => lookup(host, { all: true, order: 'verbatim' });

function isAddressAllowed(ip: string, policy: AddressPolicy): boolean {
  const bytes = parseIp(ip);
  if (!bytes) return false;
  const effective = embeddedIpv4(bytes) ?? bytes;
  if (policy.allowList.some((entry) => cidrMatches(effective, entry))) return true;
  if (isPublicAddress(ip)) return true;
  return policy.allowPrivate && !METADATA.some((c) => inCidr(effective, c));
}

function cidrMatches(bytes: Uint8Array, entry: string): boolean {
  const range = parseCidr(entry);
  if (!range) return false;
  const effective = range.bytes.length === 16 ? embeddedCidr(range) : range;
  return inCidr(bytes, effective);
}

/** `::ffff:127.0.0.1/128` in an allow list means the same as `127.0.0.1/32`, since addresses are compared unwrapped. */
function embeddedCidr(range: Cidr): Cidr {
  if (range.prefix >= 96 && inCidr(range.bytes, IPV4_MAPPED)) return { bytes: range.bytes.slice(12), prefix: range.prefix - 96 };
  return range;
}

function hostMatches(host: string, entry: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const e = entry.toLowerCase().replace(/\.$/, '');
  if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
  return h === e;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** 4 bytes for IPv4, 16 for IPv6 (zone id dropped), null for anything else. */
function parseIp(ip: string): Uint8Array | null {
  const text = unbracket(ip).split('%')[0];
  const family = isIP(text);
  if (family === 4) return Uint8Array.from(text.split('.').map(Number));
  if (family !== 6) return null;
  let hex = text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(hex);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    hex = `${hex.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = hex.split('::');
  const headWords = head ? head.split(':') : [];
  const tailWords = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headWords.length - tailWords.length).fill('0');
  const words = [...headWords, ...zeros, ...tailWords].map((w) => Number.parseInt(w, 16));
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function parseCidr(text: string): Cidr | null {
  const [address, prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const bytes = parseIp(address);
  if (!bytes || address.includes('%')) return null;
  const max = bytes.length * 8;
  if (prefixText === undefined) return { bytes, prefix: max };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { bytes, prefix } : null;
}

function inCidr(bytes: Uint8Array, range: Cidr): boolean {
  if (bytes.length !== range.bytes.length) return false;
  const whole = range.prefix >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== range.bytes[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole] & mask) === (range.bytes[whole] & mask);
}

/** The IPv4 address an IPv6 address stands for, if it is IPv4-mapped, NAT64 (well-known prefix) or 6to4. */
function embeddedIpv4(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length !== 16) return null;
  if (inCidr(bytes, IPV4_MAPPED) || inCidr(bytes, NAT64_WELL_KNOWN)) return bytes.slice(12);
  if (inCidr(bytes, SIX_TO_FOUR)) return bytes.slice(2, 6);
  return null;
}
