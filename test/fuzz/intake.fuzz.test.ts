import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sha256Hex } from '../../src/ids.ts';
import { createTestApp, DIALECTS, seedService, type TestApp } from '../helpers.ts';
import { seededRandom } from '../random.ts';

/**
 * "Bad input": thousands of mutated payloads against every intake endpoint. Properties:
 *  - no response is a 5xx (503 included: a retry could never succeed), and the server keeps answering;
 *  - every 4xx is JSON with a stable identifier from a small known set (PagerDuty's `{status, message, errors}`
 *    on /v2/*, `{error: {code, message}}` elsewhere); bodies over the limit get 413;
 *  - nothing is partly written: the database afterwards is exactly what the accepted (2xx) requests imply,
 *    replayed in order per dedup key through a model of the intake rules, and every incident is whole.
 *
 * Inputs are generated from a seeded PRNG, per endpoint and lane, so a failure reproduces:
 *   FIREWATCH_FUZZ_SEED=<seed> node --test test/fuzz/intake.fuzz.test.ts
 * FIREWATCH_FUZZ_COUNT sets the requests per endpoint and dialect (default 2000).
 */

const SEED = Number(process.env.FIREWATCH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
const PER_ENDPOINT = Number(process.env.FIREWATCH_FUZZ_COUNT ?? 2000);
const LANES = Number(process.env.FIREWATCH_FUZZ_LANES ?? 16);
const MAX_EVENT_BYTES = 512 * 1024;
/** Deep enough to be hostile; past the server's nesting limit (200) bodies are refused as invalid_json. */
const MAX_FUZZ_DEPTH = 1000;
process.stdout.write(`intake fuzz: seed=${SEED} (FIREWATCH_FUZZ_SEED=${SEED} reproduces), ${PER_ENDPOINT} requests per endpoint\n`);

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

const laneSeed = (endpoint: number, lane: number) =>
  (SEED ^ Math.imul(endpoint + 1, 0x9e3779b1) ^ Math.imul(lane + 1, 0x85ebca6b)) >>> 0;

// ---------------------------------------------------------------------------------------------------------
// Hostile values

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const UNICODE = [
  '🔥', '👩‍👩‍👧‍👦', 'مرحبا بالعالم', 'שלום עולם', '\u202Eevil\u202C', '\u0000', 'a\u0000b', '\ud800', '\udfff', '\ud83d',
  'e\u0301\u0301', '\u200b\u200d\u2060', '\ufeff', '𝕱𝖎𝖗𝖊𝖜𝖆𝖙𝖈𝖍', 'Ω≈ç√∫', '\u2028\u2029', '\\"\'`', '<script>alert(1)</script>',
  "'; drop table incidents; --", '\u007f\u0001\u001b[31m', 'null', '{}', '%s%n%x', '\uffff\ufffe', '\r\n\t', '日本語テキスト',
] as const;

const CONTENT_TYPES = [
  'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', null, 'application/octet-stream',
  'multipart/form-data; boundary=x', 'APPLICATION/JSON', 'application/json; charset=utf-16', 'application/vnd.api+json', 'application/jsonx',
] as const;

function unicodeText(rng: Rng, tag: string): string {
  const parts = [tag];
  for (let i = rng.range(1, 4); i > 0; i--) parts.push(rng.pick(UNICODE));
  return rng.chance(0.5) ? parts.join('') : parts.toReversed().join(' ');
}

/** A long string whose start is unique, so truncating senders' keys cannot make two of them collide. */
function hugeText(rng: Rng, tag: string): string {
  const length = rng.range(2000, 20_000);
  if (rng.chance(0.3)) {
    // Incompressible, as a database index would see it.
    return `${tag}:${Array.from({ length }, () => String.fromCharCode(0x21 + rng.int(0x5e))).join('')}`;
  }
  const unit = rng.pick(['x', 'é', '🔥', 'ab\u0000', 'z ']);
  return `${tag}:${unit.repeat(Math.ceil(length / unit.length))}`;
}

function deepValue(rng: Rng, tag: string): Json {
  let value: Json = tag;
  for (let depth = rng.range(10, MAX_FUZZ_DEPTH); depth > 0; depth--) value = rng.chance(0.5) ? [value] : { d: value };
  return value;
}

/** A value of some JSON type; strings and objects carry the tag so they never collide across lanes. */
function randomValue(rng: Rng, tag: string): Json {
  switch (rng.int(9)) {
    case 0: return rng.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 2, rng.range(0, 1e6)]);
    case 1: return rng.chance(0.5);
    case 2: return null;
    case 3: return [];
    case 4: return [tag, rng.int(10), null];
    case 5: return {};
    case 6: return { [`k${tag}`]: 'v' };
    case 7: return unicodeText(rng, tag);
    default: return '';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

type PathStep = string | number;

/** Every location inside the body (not the root), as paths from the root. */
function locations(value: Json, prefix: PathStep[] = [], out: PathStep[][] = []): PathStep[][] {
  if (out.length > 400) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([...prefix, i]);
      locations(v, [...prefix, i], out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      locations(v, [...prefix, k], out);
    }
  }
  return out;
}

function containerAt(root: Json, path: PathStep[]): Json {
  let current = root;
  for (const step of path) current = (current as Record<string, Json>)[step as string];
  return current;
}

function objectsIn(root: Json): JsonObject[] {
  const found: JsonObject[] = [];
  if (root !== null && typeof root === 'object' && !Array.isArray(root)) found.push(root);
  for (const path of locations(root)) {
    const v = containerAt(root, path);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) found.push(v);
  }
  return found;
}

function setAt(root: Json, path: PathStep[], value: Json | undefined): void {
  const parent = containerAt(root, path.slice(0, -1)) as Record<string, Json> | Json[];
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    if (value === undefined) parent.splice(last as number, 1);
    else parent[last as number] = value;
  } else if (value === undefined) {
    delete parent[last];
  } else {
    parent[last] = value;
  }
}

/** Own enumerable `__proto__` / `constructor` keys, as a JSON parser would produce them. */
function addPoisonKey(rng: Rng, target: JsonObject): void {
  const [key, value]: [string, Json] = rng.chance(0.5) ? ['__proto__', { polluted: true }] : ['constructor', { prototype: { polluted: true } }];
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

const MUTATIONS = ['delete', 'wrongType', 'huge', 'unicode', 'appendUnicode', 'deep', 'unknownKey', 'poison', 'empty', 'routingKey'] as const;
type Mutation = (typeof MUTATIONS)[number];

function mutate(rng: Rng, body: Json, tag: string, foreignKeys: string[]): { body: Json; applied: Mutation[] } {
  const applied: Mutation[] = [];
  for (let n = rng.range(1, 3); n > 0; n--) {
    const op = rng.pick(MUTATIONS);
    const places = locations(body);
    const place = places.length ? rng.pick(places) : null;
    const opTag = `${tag}m${n}`;
    applied.push(op);
    switch (op) {
      case 'delete':
        if (place) setAt(body, place, undefined);
        break;
      case 'wrongType':
        if (place) setAt(body, place, randomValue(rng, opTag));
        else body = randomValue(rng, opTag);
        break;
      case 'huge':
        if (place) setAt(body, place, hugeText(rng, opTag));
        break;
      case 'unicode':
        if (place) setAt(body, place, unicodeText(rng, opTag));
        break;
      case 'appendUnicode': {
        const strings = places.filter((p) => typeof containerAt(body, p) === 'string');
        if (strings.length) {
          const p = rng.pick(strings);
          setAt(body, p, `${containerAt(body, p) as string}${rng.pick(UNICODE)}`);
        }
        break;
      }
      case 'deep':
        if (place) setAt(body, place, deepValue(rng, opTag));
        break;
      case 'unknownKey': {
        const objects = objectsIn(body);
        if (objects.length) rng.pick(objects)[rng.pick([`x_${opTag}`, '', ' ', 'ünïcødé', '\u0000', 'toString', 'hasOwnProperty', '$where'])] = randomValue(rng, opTag);
        break;
      }
      case 'poison': {
        const objects = objectsIn(body);
        if (objects.length) addPoisonKey(rng, rng.pick(objects));
        break;
      }
      case 'empty':
        if (place) setAt(body, place, rng.chance(0.5) ? {} : []);
        break;
      case 'routingKey':
        if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'routing_key' in body) {
          body.routing_key = rng.pick([...foreignKeys, '0'.repeat(32), 'short', 'R'.repeat(33), `${'a'.repeat(31)}!`]);
        }
        break;
    }
  }
  return { body, applied };
}

// ---------------------------------------------------------------------------------------------------------
// Endpoints and their valid bodies

type Keys = Awaited<ReturnType<typeof seedService>>;
type EndpointName = 'enqueue' | 'change' | 'alertmanager' | 'webhook' | 'heartbeat';

interface Endpoint {
  name: EndpointName;
  /** PagerDuty-shaped errors on /v2/*, the API's `{error: {code}}` elsewhere. */
  shape: 'pagerduty' | 'api';
  bodyLimit: number;
  path(keys: Keys, rng: Rng): string;
  valid(rng: Rng, lane: number, tag: string, keys: Keys): Json | undefined;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

/**
 * A key in the URL: usually right, sometimes unknown, malformed, or another integration's.
 * (Over-long keys and broken percent-encoding are covered by their own test at the end.)
 */
function pathKey(rng: Rng, own: string, keys: Keys): string {
  if (!rng.chance(0.04)) return own;
  return rng.pick(['0'.repeat(32), 'short', encodeURIComponent('ключключключключключключключключ'), '%00', 'a'.repeat(99), keys.pagerduty, '..%2F..%2Fetc', '%F0%9F%94%A5']);
}

const ENDPOINTS: Endpoint[] = [
  {
    name: 'enqueue',
    shape: 'pagerduty',
    bodyLimit: MAX_EVENT_BYTES,
    path: () => '/v2/enqueue',
    valid(rng, lane, tag, keys) {
      const roll = rng.next();
      const action = roll < 0.55 ? 'trigger' : roll < 0.7 ? 'acknowledge' : 'resolve';
      const body: JsonObject = { routing_key: keys.pagerduty, event_action: action, dedup_key: `L${lane}-k${rng.int(12)}` };
      if (action === 'trigger' && rng.chance(0.1)) delete body.dedup_key;
      if (action === 'trigger' || rng.chance(0.3)) {
        const payload: JsonObject = { summary: `Disk full ${tag}`, source: `db${rng.int(5)}.example.com`, severity: rng.pick(SEVERITIES) };
        if (rng.chance(0.5)) Object.assign(payload, { component: 'mysql', group: 'prod', class: 'disk', timestamp: '2026-11-21T10:00:00Z' });
        if (rng.chance(0.5)) payload.custom_details = { free_bytes: rng.int(100), mount: '/var', tags: ['a', 'b'] };
        body.payload = payload;
      }
      if (rng.chance(0.3)) body.links = [{ href: 'https://grafana.example.com/d/1', text: 'Dashboard' }];
      if (rng.chance(0.2)) body.images = [{ src: 'https://example.com/graph.png', alt: 'graph' }];
      if (rng.chance(0.2)) Object.assign(body, { client: 'Monitoring', client_url: 'https://monitoring.example.com' });
      return body;
    },
  },
  {
    name: 'change',
    shape: 'pagerduty',
    bodyLimit: MAX_EVENT_BYTES,
    path: () => '/v2/change/enqueue',
    valid(rng, _lane, tag, keys) {
      const payload: JsonObject = { summary: `Deployed ${tag}`, source: 'ci' };
      if (rng.chance(0.5)) payload.timestamp = '2026-11-21T10:00:00.000Z';
      if (rng.chance(0.5)) payload.custom_details = { version: `v${rng.int(100)}`, author: 'ana' };
      const body: JsonObject = { routing_key: keys.pagerduty, payload };
      if (rng.chance(0.3)) body.links = [{ href: 'https://ci.example.com/1', text: 'Build' }];
      return body;
    },
  },
  {
    name: 'alertmanager',
    shape: 'api',
    bodyLimit: MAX_EVENT_BYTES * 4,
    path: (keys, rng) => `/integrations/alertmanager/${pathKey(rng, keys.alertmanager, keys)}`,
    valid(rng, lane, tag) {
      const alerts: JsonObject[] = [];
      for (let n = rng.range(1, 3); n > 0; n--) {
        const k = rng.int(10);
        const alert: JsonObject = {
          status: rng.chance(0.7) ? 'firing' : 'resolved',
          labels: { alertname: `HighLatency${k}`, lane: `L${lane}`, instance: `l${lane}-web-${k}:9100`, severity: rng.pick(['critical', 'warning', 'page', 'p3']) },
          annotations: { summary: `Latency high ${tag}`, runbook_url: 'https://runbooks.example.com/latency' },
          startsAt: '2026-11-21T10:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus:9090/graph',
        };
        if (rng.chance(0.85)) alert.fingerprint = `L${lane}-f${k}`;
        alerts.push(alert);
      }
      return {
        version: '4',
        groupKey: `{}:{alertname="L${lane}-g${rng.int(6)}"}`,
        truncatedAlerts: 0,
        status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
        receiver: 'firewatch',
        groupLabels: { alertname: 'HighLatency' },
        commonLabels: { lane: `L${lane}` },
        commonAnnotations: {},
        externalURL: 'http://alertmanager:9093',
        alerts,
      };
    },
  },
  {
    name: 'webhook',
    shape: 'api',
    bodyLimit: MAX_EVENT_BYTES,
    path: (keys, rng) => `/integrations/webhook/${pathKey(rng, keys.webhook, keys)}`,
    valid(rng, lane) {
      const j = rng.int(12);
      const body: JsonObject = {
        title: `Webhook alert L${lane} t${j}`,
        id: `L${lane}-w${j}`,
        status: rng.pick(['firing', 'firing', 'triggered', 'resolved', 'ok', 'ack']),
        severity: rng.pick(['critical', 'warn', 'low', 'bogus']),
        host: `host-${j}`,
        url: 'https://monitor.example.com/alerts/1',
        details: { value: rng.int(1000) },
      };
      if (rng.chance(0.1)) delete body.id;
      return body;
    },
  },
  {
    name: 'heartbeat',
    shape: 'api',
    bodyLimit: 64 * 1024,
    path: (keys, rng) => `/integrations/heartbeat/${pathKey(rng, keys.heartbeat, keys)}`,
    valid(rng, _lane, tag) {
      return rng.pick<Json | undefined>([undefined, {}, { status: 'ok', job: tag }]);
    },
  },
];

// ---------------------------------------------------------------------------------------------------------
// One request

interface FuzzRequest {
  url: string;
  contentType: string | null;
  payload: string | Buffer | undefined;
  oversized: boolean;
  mutations: string[];
}

function buildRequest(endpoint: Endpoint, rng: Rng, lane: number, index: number, keys: Keys): FuzzRequest {
  const tag = `${endpoint.name[0]}${lane}.${index}`;
  const url = endpoint.path(keys, rng);
  let body = endpoint.valid(rng, lane, tag, keys);
  const mutations: string[] = [];
  // A quarter stay valid, so the state machine behind the endpoints is exercised as well.
  if (body !== undefined && rng.chance(0.75)) {
    const result = mutate(rng, body, tag, [keys.alertmanager, keys.webhook, keys.heartbeat]);
    body = result.body;
    mutations.push(...result.applied);
  }
  let payload: string | Buffer | undefined = body === undefined ? undefined : JSON.stringify(body);
  let oversized = false;
  const roll = rng.next();
  if (roll < 0.015) {
    // Valid JSON just over the endpoint's limit: only the size is wrong.
    const pad = endpoint.bodyLimit - (payload?.length ?? 0) + rng.range(1, 64 * 1024);
    payload = JSON.stringify({ ...(body && typeof body === 'object' && !Array.isArray(body) ? body : {}), pad: 'x'.repeat(Math.max(pad, 1)) });
    oversized = true;
    mutations.push('oversized');
  } else if (roll < 0.14) {
    const text = payload ?? '';
    const op = rng.pick(['truncate', 'flip', 'garbage', 'bytes', 'emptyBody', 'form', 'bom'] as const);
    mutations.push(op);
    if (op === 'truncate') payload = text.slice(0, rng.int(text.length + 1));
    else if (op === 'flip' && text.length) {
      const at = rng.int(text.length);
      payload = text.slice(0, at) + String.fromCharCode(rng.int(0x10000)) + text.slice(at + 1);
    } else if (op === 'garbage') {
      const at = rng.int(text.length + 1);
      payload = text.slice(0, at) + rng.pick(['{', '}', ']', ',', '"', '\\', ':', 'NaN', 'undefined', '\u0000', '/*']) + text.slice(at);
    } else if (op === 'bytes') payload = Buffer.from(Array.from({ length: rng.int(2048) }, () => rng.int(256)));
    else if (op === 'emptyBody') payload = rng.chance(0.5) ? '' : undefined;
    else if (op === 'form') payload = 'routing_key=abc&event_action=trigger&payload%5Bsummary%5D=x';
    else payload = `\ufeff${text}`;
  }
  let contentType: string | null = 'application/json';
  if (rng.chance(0.2)) {
    contentType = rng.pick(CONTENT_TYPES);
    mutations.push(`content-type:${contentType ?? 'none'}`);
  }
  return { url, contentType, payload, oversized, mutations };
}

// ---------------------------------------------------------------------------------------------------------
// What the responses may look like

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
const PAGERDUTY_STATUSES = new Set(['invalid event', 'request too large', 'unsupported media type']);
const PAGERDUTY_MESSAGES = new Set([
  'Event object is invalid', 'Invalid routing key', 'the body is not valid JSON', 'the JSON body is empty', 'the JSON is nested deeper than 200 levels',
  'request body is too large', 'send Content-Type: application/json', 'Content-Length does not match the body',
]);
const API_CODES = new Set([
  'invalid_json', 'empty_body', 'payload_too_large', 'unsupported_media_type', 'invalid_content_length',
  'invalid_alertmanager_payload', 'unmappable_payload', 'integration_not_found',
]);
const STATUS_OF_CODE: Record<string, number> = { payload_too_large: 413, unsupported_media_type: 415, integration_not_found: 404 };

/** Returns the stable identifier of a 4xx, or throws with what is wrong. */
function errorIdentifier(endpoint: Endpoint, status: number, contentType: string | undefined, text: string): string {
  assert.match(contentType ?? '', /^application\/json/, 'a 4xx answers JSON');
  const json = JSON.parse(text) as Record<string, unknown>;
  if (endpoint.shape === 'pagerduty') {
    assert.equal(typeof json.status, 'string', 'PagerDuty shape: status');
    assert.equal(typeof json.message, 'string', 'PagerDuty shape: message');
    assert.ok(Array.isArray(json.errors) && json.errors.length > 0 && json.errors.every((e) => typeof e === 'string'), 'PagerDuty shape: errors[]');
    assert.ok(PAGERDUTY_STATUSES.has(json.status as string), `unknown PagerDuty status ${String(json.status)}`);
    assert.ok(PAGERDUTY_MESSAGES.has(json.message as string), `unknown PagerDuty message ${String(json.message)}`);
    if (status === 413) assert.equal(json.status, 'request too large');
    if (status === 415) assert.equal(json.status, 'unsupported media type');
    return `${status} ${json.status as string}: ${json.message as string}`;
  }
  const error = json.error as { code?: unknown; message?: unknown } | undefined;
  assert.ok(error && typeof error.code === 'string' && typeof error.message === 'string', 'API shape: {error: {code, message}}');
  assert.ok(API_CODES.has(error.code as string), `unknown error code ${String(error.code)}`);
  const expected = STATUS_OF_CODE[error.code as string];
  if (expected) assert.equal(status, expected, `${error.code as string} answers ${expected}`);
  else assert.equal(status, 400, `${error.code as string} answers 400`);
  return `${status} ${error.code as string}`;
}

/** The body as Fastify's JSON parser saw it (it drops a leading BOM). */
function parseSent(payload: string | Buffer | undefined): Json {
  const text = Buffer.isBuffer(payload) ? payload.toString('utf8') : (payload ?? '');
  return JSON.parse(text.replace(/^\ufeff/, '')) as Json;
}

/** How the databases store text: lone surrogates become U+FFFD, and so does NUL (PostgreSQL text cannot hold it). */
const stored = (text: string) => text.toWellFormed().replaceAll('\u0000', '\ufffd');

// ---------------------------------------------------------------------------------------------------------
// A model of the intake rules, fed with the accepted requests

type KeyAction = 'trigger' | 'acknowledge' | 'resolve' | 'dropped';
interface KeyHistory {
  lanes: Set<number>;
  events: { action: KeyAction; reported?: string }[];
}

interface AmMessage {
  lane: number;
  groupKey: string;
  alerts: { fingerprint: string; status: 'firing' | 'resolved' }[];
  reportedIncidents: number;
}

class Ledger {
  readonly pagerduty = new Map<string, KeyHistory>();
  readonly webhook = new Map<string, KeyHistory>();
  readonly amMessages: AmMessage[] = [];
  readonly amKeyLanes = new Map<string, Set<number>>();
  readonly changeSummaries: string[] = [];
  heartbeats = 0;

  record(map: Map<string, KeyHistory>, key: string, lane: number, action: KeyAction, reported?: string): void {
    let history = map.get(key);
    if (!history) map.set(key, (history = { lanes: new Set(), events: [] }));
    history.lanes.add(lane);
    history.events.push({ action, reported });
  }

  recordAm(message: AmMessage): void {
    this.amMessages.push(message);
    for (const key of [`g:${message.groupKey}`, ...message.alerts.map((a) => `f:${a.fingerprint}`)]) {
      const lanes = this.amKeyLanes.get(key) ?? new Set<number>();
      lanes.add(message.lane);
      this.amKeyLanes.set(key, lanes);
    }
  }
}

/** PagerDuty semantics for one dedup key (the dedup key is also the incident's group): replayed in order. */
function replayKey(events: KeyHistory['events']) {
  let open: null | 'triggered' | 'acknowledged' = null;
  let created = 0;
  let triggers = 0;
  const mismatches: string[] = [];
  events.forEach((e, i) => {
    let expected: string;
    if (e.action === 'trigger') {
      triggers += 1;
      expected = open ? 'repeated' : 'created';
      if (!open) {
        created += 1;
        open = 'triggered';
      }
    } else if (e.action === 'acknowledge') {
      expected = open ? 'acknowledged' : 'dropped';
      if (open) open = 'acknowledged';
    } else if (e.action === 'resolve') {
      expected = open ? 'resolved' : 'dropped';
      open = null;
    } else {
      expected = open ? '(an acknowledge or resolve of the open alert)' : 'dropped';
    }
    if (e.reported !== undefined && e.reported !== expected) mismatches.push(`event ${i}: server said ${e.reported}, model expected ${expected}`);
  });
  return { open: open as null | 'triggered' | 'acknowledged', created, triggers, mismatches };
}

/** Alertmanager's fingerprint fallback, as the source computes it. */
function fingerprintOf(alert: { fingerprint?: string; labels: Record<string, string> }): string {
  if (alert.fingerprint) return alert.fingerprint;
  return sha256Hex(Object.keys(alert.labels).toSorted().map((k) => `${k}=${alert.labels[k]}`).join('\u0000')).slice(0, 16);
}

/** Alertmanager semantics: one alert per fingerprint, one open incident per group key. Replays one lane. */
function replayAlertmanager(messages: AmMessage[]) {
  const alertEpisode = new Map<string, number>();
  const episodes = new Map<number, { groupKey: string; open: Set<string> }>();
  const openByGroup = new Map<string, number>();
  const alertsCreated = new Map<string, number>();
  const triggers = new Map<string, number>();
  let incidentsCreated = 0;
  const mismatches: string[] = [];
  for (const message of messages) {
    const touched = new Set<number>();
    const ordered = message.alerts.toSorted((a, b) => (a.status === b.status ? 0 : a.status === 'firing' ? -1 : 1));
    for (const { fingerprint, status } of ordered) {
      const current = alertEpisode.get(fingerprint);
      if (status === 'firing') {
        triggers.set(fingerprint, (triggers.get(fingerprint) ?? 0) + 1);
        if (current !== undefined) {
          touched.add(current);
          continue;
        }
        let episode = openByGroup.get(message.groupKey);
        if (episode === undefined) {
          episode = episodes.size + 1;
          incidentsCreated += 1;
          episodes.set(episode, { groupKey: message.groupKey, open: new Set() });
          openByGroup.set(message.groupKey, episode);
        }
        episodes.get(episode)!.open.add(fingerprint);
        alertEpisode.set(fingerprint, episode);
        alertsCreated.set(fingerprint, (alertsCreated.get(fingerprint) ?? 0) + 1);
        touched.add(episode);
      } else if (current !== undefined) {
        touched.add(current);
        alertEpisode.delete(fingerprint);
        const ep = episodes.get(current)!;
        ep.open.delete(fingerprint);
        if (ep.open.size === 0) openByGroup.delete(ep.groupKey);
      }
    }
    if (touched.size !== message.reportedIncidents) {
      mismatches.push(`message on ${JSON.stringify(message.groupKey.slice(0, 60))} touched ${touched.size} incidents in the model, server listed ${message.reportedIncidents}`);
    }
  }
  const openEpisodes = [...episodes.values()].filter((e) => e.open.size > 0);
  return { alertEpisode, openEpisodes, alertsCreated, triggers, incidentsCreated, mismatches };
}

// ---------------------------------------------------------------------------------------------------------

const inOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Rows grouped by integration and a key (dedup key, group key). */
function byKey<T extends { integration_id: string | null }>(rows: T[], key: (r: T) => string | null): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const r of rows) {
    const k = `${r.integration_id}\u0001${key(r)}`;
    map.set(k, [...(map.get(k) ?? []), r]);
  }
  return map;
}

const deeplyNested = (depth: number) => `${'{"d":'.repeat(depth)}1${'}'.repeat(depth)}`;

for (const dialect of DIALECTS) {
  describe(`intake fuzz (${dialect})`, () => {
    let t: TestApp;
    let keys: Keys;
    before(async () => {
      t = await createTestApp(dialect);
      keys = await seedService(t);
    });
    after(() => t?.close());

    const ledger = new Ledger();
    const failures: string[] = [];
    const statuses = new Map<string, Map<number, number>>();
    const codes = new Map<string, number>();
    let sent = 0;

    test(`${PER_ENDPOINT} mutated payloads per endpoint: never a 5xx, every 4xx a known code, 413 when too large`, async (ctx) => {
      const started = Date.now();
      const lanes = ENDPOINTS.flatMap((endpoint, e) => Array.from({ length: LANES }, (_, lane) => runLane(endpoint, e, lane)));
      await Promise.all(lanes);
      ctx.diagnostic(`seed=${SEED} sent=${sent} in ${Date.now() - started} ms`);
      for (const [name, byStatus] of statuses) ctx.diagnostic(`${name}: ${[...byStatus].toSorted((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
      ctx.diagnostic(`codes seen: ${[...codes].toSorted((a, b) => inOrder(a[0], b[0])).map(([c, n]) => `${c} ×${n}`).join('; ')}`);
      assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} bad responses (first ones listed)`);
      for (const endpoint of ENDPOINTS) {
        const byStatus = statuses.get(endpoint.name)!;
        const accepted = [...byStatus].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
        assert.ok(accepted > PER_ENDPOINT / 20, `${endpoint.name}: enough valid requests got through (${accepted})`);
        if (endpoint.name !== 'heartbeat') assert.ok((byStatus.get(413) ?? 0) > 0, `${endpoint.name}: some 413s`);
      }
    });

    async function runLane(endpoint: Endpoint, e: number, lane: number): Promise<void> {
      const rng = new Rng(laneSeed(e, lane));
      const count = Math.ceil(PER_ENDPOINT / LANES);
      for (let i = 0; i < count; i++) {
        const request = buildRequest(endpoint, rng, lane, i, keys);
        const headers: Record<string, string> = {};
        if (request.contentType) headers['content-type'] = request.contentType;
        const where = `${endpoint.name} lane ${lane} #${i} [${request.mutations.join(', ')}]`;
        sent += 1;
        let res: LightMyRequestResponse;
        try {
          res = await t.app.inject({ method: 'POST', url: request.url, headers, payload: request.payload });
        } catch (error) {
          failures.push(`${where}: inject threw ${String(error)}`);
          continue;
        }
        const byStatus = statuses.get(endpoint.name) ?? new Map<number, number>();
        byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1);
        statuses.set(endpoint.name, byStatus);
        const excerpt = () => `${where}: ${res.statusCode} ${res.body.slice(0, 200)} ← ${String(request.payload ?? '').slice(0, 200)}`;
        if (res.statusCode >= 500 || res.statusCode < 200 || (res.statusCode >= 300 && res.statusCode < 400)) {
          if (failures.length < 25) failures.push(excerpt());
          continue;
        }
        if (request.oversized && JSON_TYPES.has(request.contentType ?? '') && res.statusCode !== 413) {
          failures.push(`expected 413 for an oversized body: ${excerpt()}`);
        }
        if (res.statusCode >= 400) {
          try {
            const id = errorIdentifier(endpoint, res.statusCode, res.headers['content-type'] as string | undefined, res.body);
            codes.set(id, (codes.get(id) ?? 0) + 1);
          } catch (error) {
            if (failures.length < 25) failures.push(`${(error as Error).message}: ${excerpt()}`);
          }
          continue;
        }
        try {
          recordAccepted(endpoint, lane, request, res.json());
        } catch (error) {
          failures.push(`could not account for an accepted request (${(error as Error).message}): ${excerpt()}`);
        }
      }
    }

    function recordAccepted(endpoint: Endpoint, lane: number, request: FuzzRequest, response: Record<string, unknown>): void {
      if (endpoint.name === 'heartbeat') {
        ledger.heartbeats += 1;
        return;
      }
      const body = parseSent(request.payload) as JsonObject;
      if (endpoint.name === 'enqueue') {
        ledger.record(ledger.pagerduty, stored(response.dedup_key as string), lane, body.event_action as KeyAction);
      } else if (endpoint.name === 'change') {
        ledger.changeSummaries.push(stored((body.payload as JsonObject).summary as string));
      } else if (endpoint.name === 'webhook') {
        const result = response.result as string;
        const action: KeyAction = ['created', 'repeated', 'appended'].includes(result) ? 'trigger'
          : result === 'acknowledged' ? 'acknowledge' : result === 'resolved' ? 'resolve' : 'dropped';
        ledger.record(ledger.webhook, stored(response.dedup_key as string), lane, action, result);
      } else {
        const alerts = (body.alerts as { status: 'firing' | 'resolved'; fingerprint?: string; labels: Record<string, string> }[])
          .map((a) => ({ fingerprint: stored(fingerprintOf(a)), status: a.status }));
        ledger.recordAm({ lane, groupKey: body.groupKey as string, alerts, reportedIncidents: (response.incidents as number[]).length });
      }
    }

    test('nothing is partly written: the database is exactly what the accepted requests imply', async (ctx) => {
      const db = t.handle.db;
      const integrations = new Map((await db.selectFrom('integrations').select(['id', 'name']).execute()).map((r) => [r.name, r.id]));
      const incidents = await db.selectFrom('incidents').select(['id', 'number', 'integration_id', 'group_key', 'status', 'open', 'acknowledged_at', 'resolved_at']).orderBy('number').execute();
      const alerts = await db.selectFrom('alerts').select(['id', 'incident_id', 'integration_id', 'service_id', 'dedup_key', 'status', 'open', 'resolved_at', 'trigger_count']).execute();
      const timeline = await db.selectFrom('timeline_entries').select(['incident_id', 'type']).execute();
      const counter = await db.selectFrom('counters').select('value').where('name', '=', 'incident_number').executeTakeFirstOrThrow();
      const incidentById = new Map(incidents.map((i) => [i.id, i]));

      // Every incident is whole.
      assert.deepEqual(incidents.map((i) => i.number), incidents.map((_, n) => n + 1), 'incident numbers are 1..N without gaps or repeats');
      assert.equal(Number(counter.value), incidents.length, 'the number counter matches the incidents');
      const entries = new Map<string, string[]>();
      for (const e of timeline) entries.set(e.incident_id, [...(entries.get(e.incident_id) ?? []), e.type]);
      const alertsOf = new Map<string, typeof alerts>();
      for (const a of alerts) {
        const incident = incidentById.get(a.incident_id);
        assert.ok(incident, `alert ${a.id} references an existing incident`);
        assert.equal(a.integration_id, incident.integration_id, 'an alert belongs to its incident\'s integration');
        assert.equal(a.open === 1, a.status !== 'resolved', `alert ${a.id}: open flag matches status ${a.status}`);
        assert.equal(a.resolved_at !== null, a.status === 'resolved', `alert ${a.id}: resolved_at matches status`);
        alertsOf.set(a.incident_id, [...(alertsOf.get(a.incident_id) ?? []), a]);
      }
      for (const i of incidents) {
        const types = entries.get(i.id) ?? [];
        assert.equal(types.filter((x) => x === 'trigger').length, 1, `incident ${i.number} has one trigger entry`);
        assert.equal(types.filter((x) => x === 'resolve').length, i.status === 'resolved' ? 1 : 0, `incident ${i.number}: resolve entry iff resolved`);
        const own = alertsOf.get(i.id) ?? [];
        assert.ok(own.length > 0, `incident ${i.number} has alerts`);
        assert.equal(i.open === 1, i.status !== 'resolved', `incident ${i.number}: open flag matches status`);
        if (i.status === 'resolved') {
          assert.ok(i.resolved_at, `incident ${i.number}: resolved_at`);
          assert.equal(own.filter((a) => a.open === 1).length, 0, `resolved incident ${i.number} has no open alert`);
        } else {
          assert.ok(own.some((a) => a.open === 1), `open incident ${i.number} has an open alert`);
        }
        if (i.status === 'acknowledged') assert.ok(i.acknowledged_at, `incident ${i.number}: acknowledged_at`);
      }

      // Every accepted request had its whole effect, and nothing else did.
      const alertsByKey = byKey(alerts, (a) => a.dedup_key);
      const incidentsByGroup = byKey(incidents, (i) => i.group_key);
      let expectedIncidents = 0;
      let shared = 0;
      const problems: string[] = [];
      for (const [integrationName, histories] of [['pd', ledger.pagerduty], ['hook', ledger.webhook]] as const) {
        const integrationId = integrations.get(integrationName)!;
        for (const [key, history] of histories) {
          const model = replayKey(history.events);
          const rows = alertsByKey.get(`${integrationId}\u0001${key}`) ?? [];
          const groups = incidentsByGroup.get(`${integrationId}\u0001${key}`) ?? [];
          const what = `${integrationName} key ${JSON.stringify(key.slice(0, 80))}`;
          if (history.lanes.size > 1) {
            // Senders in several lanes raced on this key: only order-free facts hold.
            shared += 1;
            if (model.triggers > 0 && rows.length === 0) problems.push(`${what}: accepted triggers but no alert`);
            if (rows.length > model.triggers || rows.filter((r) => r.open === 1).length > 1) problems.push(`${what}: ${rows.length} alerts for ${model.triggers} triggers`);
            expectedIncidents += groups.length;
            continue;
          }
          expectedIncidents += model.created;
          problems.push(...model.mismatches.map((m) => `${what}: ${m}`));
          const openRows = rows.filter((r) => r.open === 1);
          const openIncidents = groups.filter((i) => i.status !== 'resolved');
          if (rows.length !== model.created) problems.push(`${what}: ${rows.length} alerts, expected ${model.created}`);
          if (groups.length !== model.created) problems.push(`${what}: ${groups.length} incidents, expected ${model.created}`);
          if (openRows.length !== (model.open ? 1 : 0) || (model.open && openRows[0].status !== model.open)) {
            problems.push(`${what}: open alert ${openRows.map((r) => r.status).join(',') || 'none'}, expected ${model.open ?? 'none'}`);
          }
          if (openIncidents.length !== (model.open ? 1 : 0) || (model.open && openIncidents[0].status !== model.open)) {
            problems.push(`${what}: open incident ${openIncidents.map((r) => r.status).join(',') || 'none'}, expected ${model.open ?? 'none'}`);
          }
          const triggerCount = rows.reduce((n, r) => n + r.trigger_count, 0);
          if (triggerCount !== model.triggers) problems.push(`${what}: trigger_count sums to ${triggerCount}, expected ${model.triggers}`);
        }
      }

      // Alertmanager: replayed per lane; lanes never share group keys or fingerprints unless a mutation made them.
      const amId = integrations.get('am')!;
      const racedFingerprints = new Set<string>();
      for (let lane = 0; lane < LANES; lane++) {
        const messages = ledger.amMessages.filter((m) => m.lane === lane);
        const raced = messages.some((m) => [`g:${m.groupKey}`, ...m.alerts.map((a) => `f:${a.fingerprint}`)].some((k) => ledger.amKeyLanes.get(k)!.size > 1));
        if (raced) {
          // A mutation made this lane's labels collide with another lane's: count its incidents as found.
          shared += 1;
          for (const m of messages) for (const a of m.alerts) racedFingerprints.add(a.fingerprint);
          continue;
        }
        const model = replayAlertmanager(messages);
        expectedIncidents += model.incidentsCreated;
        problems.push(...model.mismatches.map((m) => `alertmanager lane ${lane}: ${m}`));
        for (const [fingerprint, created] of model.alertsCreated) {
          const rows = alertsByKey.get(`${amId}\u0001${fingerprint}`) ?? [];
          const open = rows.filter((r) => r.open === 1);
          const what = `alertmanager fingerprint ${JSON.stringify(fingerprint.slice(0, 60))}`;
          if (rows.length !== created) problems.push(`${what}: ${rows.length} alerts, expected ${created}`);
          if (open.length !== (model.alertEpisode.has(fingerprint) ? 1 : 0)) problems.push(`${what}: ${open.length} open alerts`);
          const triggerCount = rows.reduce((n, r) => n + r.trigger_count, 0);
          if (triggerCount !== model.triggers.get(fingerprint)) problems.push(`${what}: trigger_count sums to ${triggerCount}, expected ${model.triggers.get(fingerprint)}`);
        }
        for (const episode of model.openEpisodes) {
          const rows = [...episode.open].map((f) => (alertsByKey.get(`${amId}\u0001${f}`) ?? []).find((r) => r.open === 1));
          const incidentIds = new Set(rows.map((r) => r?.incident_id));
          const incident = incidentById.get([...incidentIds][0] ?? '');
          const inIncident = (alertsOf.get(incident?.id ?? '') ?? []).filter((a) => a.open === 1).map((a) => a.dedup_key).toSorted(inOrder);
          if (incidentIds.size !== 1 || !incident || incident.status === 'resolved' || JSON.stringify(inIncident) !== JSON.stringify([...episode.open].toSorted(inOrder))) {
            problems.push(`alertmanager lane ${lane}: the open group ${JSON.stringify(episode.groupKey.slice(0, 60))} is not one open incident with exactly its open alerts`);
          }
        }
      }
      expectedIncidents += new Set(alerts.filter((a) => a.integration_id === amId && racedFingerprints.has(a.dedup_key)).map((a) => a.incident_id)).size;
      assert.deepEqual(problems.slice(0, 20), [], `seed ${SEED}: ${problems.length} differences between the accepted requests and the database`);
      assert.equal(incidents.length, expectedIncidents, 'every incident was opened by an accepted trigger, and every accepted first trigger opened one');

      const changes = await db.selectFrom('change_events').select('summary').execute();
      assert.deepEqual(changes.map((c) => c.summary).toSorted(inOrder), ledger.changeSummaries.toSorted(inOrder), 'one change event per accepted change request, and no other');
      const heartbeat = await db.selectFrom('heartbeats').selectAll().where('integration_id', '=', integrations.get('cron')!).executeTakeFirst();
      assert.equal(!!heartbeat?.last_ping_at, ledger.heartbeats > 0, 'an accepted ping armed the heartbeat');
      ctx.diagnostic(`incidents=${incidents.length} alerts=${alerts.length} change_events=${changes.length} pings=${ledger.heartbeats} keys raced across lanes=${shared}`);
    });

    test('the server still answers after the storm', async () => {
      assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      const res = await t.app.inject({
        method: 'POST', url: '/v2/enqueue',
        payload: { routing_key: keys.pagerduty, event_action: 'trigger', dedup_key: 'after-the-storm', payload: { summary: 'Still here', source: 'fuzz', severity: 'critical' } },
      });
      assert.equal(res.statusCode, 202);
      const list = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json();
      assert.equal(list.incidents[0].title, 'Still here');
    });
  });
}

describe('intake bad input: hostile nesting and hostile URLs', () => {
  let t: TestApp;
  let keys: Keys;
  before(async () => {
    t = await createTestApp('sqlite');
    keys = await seedService(t);
  });
  after(() => t?.close());

  test('a body nested 5,000 levels deep (well under 512 KB) is refused with a 4xx, not a 503 that senders retry forever', async () => {
    const cases = [
      { url: '/v2/enqueue', payload: `{"routing_key":"${keys.pagerduty}","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info","custom_details":${deeplyNested(5000)}}}` },
      { url: '/v2/change/enqueue', payload: `{"routing_key":"${keys.pagerduty}","payload":{"summary":"s","custom_details":${deeplyNested(5000)}}}` },
      { url: `/integrations/webhook/${keys.webhook}`, payload: `{"title":"t","details":${deeplyNested(5000)}}` },
    ];
    for (const c of cases) {
      const res = await t.app.inject({ method: 'POST', url: c.url, headers: { 'content-type': 'application/json' }, payload: c.payload });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${c.url}: ${res.statusCode} ${res.body}`);
    }
  });

  test('a key in the path that is over-long or badly percent-encoded answers {error: {code, message}}', async () => {
    for (const key of ['a'.repeat(101), 'a'.repeat(201), '%E0%A4%A']) {
      for (const source of ['alertmanager', 'webhook', 'heartbeat']) {
        const res = await t.app.inject({ method: 'POST', url: `/integrations/${source}/${key}`, headers: { 'content-type': 'application/json' }, payload: '{}' });
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${source}: ${res.statusCode}`);
        assert.equal(typeof res.json().error?.code, 'string', `${source} ${key.slice(0, 10)}…: ${res.body.slice(0, 120)}`);
      }
    }
  });
});
