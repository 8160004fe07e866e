import { AppError } from '../../errors.ts';
import type { InstantResult, MetricsSource, RangeQuery, RangeResult, ScrapeTarget, Series } from './datasource.types.ts';

/** Prometheus refuses ranges above this many points per series (`exceeded maximum resolution of 11,000 points`). */
export const MAX_POINTS = 11_000;
/** Queries whose encoded parameters are longer than this go as a POST form (URLs over ~8 KB are refused by proxies). */
const POST_ABOVE_BYTES = 2000;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export type DatasourceAuth = { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

export interface HttpSourceOptions {
  name: string;
  url: string;
  auth?: DatasourceAuth | null;
  timeoutSeconds?: number | null;
}

/** The step a range query uses: the requested one (or ~300 points), never so small that a series exceeds 11,000 points. */
export function chooseStep(range: RangeQuery): number {
  const span = Math.max(0, range.end - range.start);
  const floor = Math.ceil(span / MAX_POINTS) || 1;
  const wanted = range.step && range.step > 0 ? range.step : Math.max(1, Math.round(span / 300));
  return Math.max(wanted, floor);
}

/** Prometheus sends sample values as strings; "+Inf", "-Inf" and "NaN" included. */
export function parseSampleValue(text: unknown): number {
  if (typeof text === 'number') return text;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number.parseFloat(String(text));
}

export function authHeader(auth: DatasourceAuth | null | undefined): string | undefined {
  if (!auth) return undefined;
  if (auth.type === 'basic') return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return `Bearer ${auth.token}`;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** Maps a fetch failure to the data-source error codes. */
export function transportError(name: string, error: unknown, timeoutSeconds: number): AppError {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.cause?.name === 'TimeoutError') {
    return new AppError('datasource_timeout', 504, `data source ${name} did not answer within ${timeoutSeconds} s`);
  }
  const code = e.cause?.code;
  const why = code && UNREACHABLE_CODES.has(code) ? code : (e.cause?.message ?? e.message ?? 'fetch failed');
  return new AppError('datasource_unreachable', 502, `data source ${name} is unreachable: ${why}`);
}

interface PromEnvelope {
  status?: string;
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

/** Sends one request to a Prometheus-style HTTP API and returns its `data` and warnings, or throws a data-source AppError. */
export async function promRequest(options: HttpSourceOptions, path: string, params: [string, string][]): Promise<{ data: unknown; warnings: string[] }> {
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  const base = options.url.replace(/\/+$/, '');
  const body = new URLSearchParams(params).toString();
  const headers: Record<string, string> = { accept: 'application/json' };
  const auth = authHeader(options.auth);
  if (auth) headers.authorization = auth;
  const post = body.length > POST_ABOVE_BYTES;
  if (post) headers['content-type'] = 'application/x-www-form-urlencoded';
  let response: Response;
  let text: string;
  try {
    response = await fetch(post || !body ? `${base}${path}` : `${base}${path}?${body}`, {
      method: post ? 'POST' : 'GET',
      headers,
      body: post ? body : undefined,
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
      redirect: 'follow',
    });
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_RESPONSE_BYTES) {
      await response.body?.cancel();
      throw new AppError('datasource_error', 502, `data source ${options.name} answered with ${length} bytes; narrow the query`);
    }
    text = await response.text();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw transportError(options.name, error, timeoutSeconds);
  }
  let envelope: PromEnvelope | null = null;
  try {
    envelope = JSON.parse(text) as PromEnvelope;
  } catch {
    envelope = null;
  }
  if (response.status === 401 || response.status === 403) {
    throw new AppError('datasource_error', 502, `data source ${options.name} refused the credentials (HTTP ${response.status})`);
  }
  if (!envelope || typeof envelope !== 'object' || typeof envelope.status !== 'string') {
    const snippet = text.slice(0, 200).replace(/\s+/g, ' ').trim();
    throw new AppError('datasource_error', 502, `data source ${options.name} did not answer like a Prometheus API (HTTP ${response.status}${snippet ? `: ${snippet}` : ''})`);
  }
  if (envelope.status !== 'success') {
    const message = envelope.error ?? `HTTP ${response.status}`;
    if (envelope.errorType === 'timeout' || response.status === 503 && /timeout|timed out/i.test(message)) {
      throw new AppError('datasource_timeout', 504, `data source ${options.name}: ${message}`);
    }
    if (response.status === 400 || response.status === 422 || envelope.errorType === 'bad_data') {
      throw new AppError('bad_query', 400, message, { datasource: options.name, errorType: envelope.errorType ?? null });
    }
    throw new AppError('datasource_error', 502, `data source ${options.name}: ${envelope.errorType ? `${envelope.errorType}: ` : ''}${message}`);
  }
  return { data: envelope.data, warnings: [...(envelope.warnings ?? []), ...(envelope.infos ?? [])].map(String) };
}

interface PromSample {
  metric?: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

const point = (p: [number, string]): [number, number] => [Number(p[0]), parseSampleValue(p[1])];

/** Parses `data` of an instant query: vector, scalar, matrix or string. */
export function parseInstant(data: unknown, warnings: string[]): InstantResult {
  const d = (data ?? {}) as { resultType?: string; result?: unknown };
  switch (d.resultType) {
    case 'vector':
      return { resultType: 'vector', warnings, series: ((d.result ?? []) as PromSample[]).map((s) => ({ labels: s.metric ?? {}, points: s.value ? [point(s.value)] : [] })) };
    case 'matrix':
      return { resultType: 'matrix', warnings, series: ((d.result ?? []) as PromSample[]).map((s) => ({ labels: s.metric ?? {}, points: (s.values ?? []).map(point) })) };
    case 'scalar': {
      const r = d.result as [number, string];
      return { resultType: 'scalar', warnings, series: [{ labels: {}, points: [point(r)] }] };
    }
    case 'string': {
      const r = d.result as [number, string];
      return { resultType: 'string', warnings, series: [{ labels: { value: String(r[1]) }, points: [[Number(r[0]), Number.NaN]] }] };
    }
    default:
      throw new AppError('datasource_error', 502, `unexpected resultType ${String(d.resultType)}`);
  }
}

const seconds = (at: Date) => (at.getTime() / 1000).toFixed(3);

/** A Prometheus-compatible HTTP API source: Prometheus, VictoriaMetrics, Thanos, Mimir (with its /prometheus prefix in url). */
export function createPrometheusSource(options: HttpSourceOptions): MetricsSource {
  const req = (path: string, params: [string, string][] = []) => promRequest(options, path, params);
  return {
    name: options.name,
    type: 'prometheus',
    async query(expr, at) {
      const { data, warnings } = await req('/api/v1/query', [['query', expr], ['time', seconds(at)]]);
      return parseInstant(data, warnings);
    },
    async queryRange(expr, range): Promise<RangeResult> {
      const step = chooseStep(range);
      const { data, warnings } = await req('/api/v1/query_range', [['query', expr], ['start', String(range.start)], ['end', String(range.end)], ['step', String(step)]]);
      const parsed = parseInstant(data, warnings);
      return { series: parsed.series as Series[], step, warnings };
    },
    async series(matchers, start, end) {
      if (matchers.length === 0) throw new AppError('bad_query', 400, 'at least one match[] selector is required');
      const params: [string, string][] = matchers.map((m) => ['match[]', m]);
      if (start !== undefined) params.push(['start', String(start)]);
      if (end !== undefined) params.push(['end', String(end)]);
      return ((await req('/api/v1/series', params)).data ?? []) as Record<string, string>[];
    },
    async labels() {
      return ((await req('/api/v1/labels')).data ?? []) as string[];
    },
    async labelValues(name) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AppError('bad_query', 400, `invalid label name ${JSON.stringify(name)}`);
      return ((await req(`/api/v1/label/${encodeURIComponent(name)}/values`)).data ?? []) as string[];
    },
    async targets(): Promise<ScrapeTarget[]> {
      const data = (await req('/api/v1/targets', [['state', 'active']])).data as { activeTargets?: Record<string, unknown>[] } | undefined;
      return (data?.activeTargets ?? []).map((t) => ({
        labels: (t.labels ?? {}) as Record<string, string>,
        discoveredLabels: (t.discoveredLabels ?? {}) as Record<string, string>,
        scrapeUrl: String(t.scrapeUrl ?? ''),
        health: t.health === 'up' || t.health === 'down' ? t.health : 'unknown',
        lastError: String(t.lastError ?? ''),
      }));
    },
  };
}

export interface LogStreamLine {
  /** Unix nanoseconds as Loki sends them (string). */
  ns: string;
  time: string;
  labels: Record<string, string>;
  line: string;
}

export interface LokiSource {
  name: string;
  type: 'loki';
  queryRange(logql: string, range: { start: number; end: number; limit?: number; direction?: 'backward' | 'forward' }): Promise<{ lines: LogStreamLine[]; warnings: string[] }>;
  labels(): Promise<string[]>;
}

/** Loki's `query_range` for log queries: streams `{stream, values: [[ns, line]]}` flattened into lines, newest first. */
export function createLokiSource(options: HttpSourceOptions): LokiSource {
  return {
    name: options.name,
    type: 'loki',
    async queryRange(logql, range) {
      const limit = Math.min(Math.max(range.limit ?? 100, 1), 5000);
      const { data, warnings } = await promRequest(options, '/loki/api/v1/query_range', [
        ['query', logql], ['start', `${Math.floor(range.start * 1e3)}000000`], ['end', `${Math.ceil(range.end * 1e3)}000000`],
        ['limit', String(limit)], ['direction', range.direction ?? 'backward'],
      ]);
      const d = (data ?? {}) as { resultType?: string; result?: { stream?: Record<string, string>; values?: [string, string][] }[] };
      if (d.resultType !== 'streams') throw new AppError('bad_query', 400, `not a log query: Loki answered with ${String(d.resultType)} (use a LogQL log selector like {app="x"} |= "error")`);
      const lines: LogStreamLine[] = [];
      for (const s of d.result ?? []) {
        for (const [ns, line] of s.values ?? []) {
          lines.push({ ns, time: new Date(Number(BigInt(ns) / 1_000_000n)).toISOString(), labels: s.stream ?? {}, line });
        }
      }
      lines.sort((a, b) => (BigInt(a.ns) < BigInt(b.ns) ? 1 : -1));
      return { lines: lines.slice(0, limit), warnings };
    },
    async labels() {
      return ((await promRequest(options, '/loki/api/v1/labels', [])).data ?? []) as string[];
    },
  };
}
