import { AppError } from '../../errors.ts';
import type { Clock } from '../../clock.ts';
import type { InstantResult, MetricsSource, RangeResult, ScrapeTarget, Series } from './datasource.types.ts';
import { chooseStep, MAX_POINTS } from './prometheus.client.ts';
import { anchoredMatcher } from './re2.ts';

/**
 * The `demo` data source: a synthetic fleet (checkout, search and storage, 4–6 instances each) with a daily
 * shape, noise, and one instance (`storage-3`) developing a fault over the last three hours. Deterministic:
 * the same series at the same time always has the same value. It is not PromQL; it accepts
 *   metric{label="v", label!="v", label=~"re", label!~"re"}     optionally followed by  > N, < N, >= N, <= N, == N, != N
 *   sum|avg|min|max|count [by (l1, l2)] (selector)
 * Every series carries `demo="true"` so charts built on it are recognisable as synthetic.
 */

export const DEMO_SERVICES: Record<string, number> = { checkout: 4, search: 5, storage: 6 };
export const DEMO_FAULTY_INSTANCE = 'storage-3';
const FAULT_HOURS = 3;

interface MetricDef {
  help: string;
  /** Extra label variants (e.g. quantile) for each instance. */
  variants?: Record<string, string>[];
  value(ctx: { service: string; index: number; t: number; day: number; noise: number; fault: number; variant: Record<string, string> }): number;
}

const SERVICE_LOAD: Record<string, number> = { checkout: 120, search: 340, storage: 60 };

const METRICS: Record<string, MetricDef> = {
  up: { help: 'Whether the instance is up (1) or down (0).', value: ({ fault }) => (fault > 0.97 ? 0 : 1) },
  cpu_usage: { help: 'CPU usage ratio (0–1) per instance.', value: ({ day, noise, fault, index }) => Math.min(1, 0.18 + 0.04 * index + 0.35 * day + 0.05 * noise + 0.6 * fault) },
  memory_usage: { help: 'Resident memory in bytes per instance.', value: ({ service, day, noise, fault }) => (service === 'search' ? 6e9 : 2.5e9) * (0.7 + 0.1 * day + 0.02 * noise) + 4e9 * fault },
  disk_io: { help: 'Disk throughput in bytes per second.', value: ({ service, day, noise, fault }) => (service === 'storage' ? 80e6 : 5e6) * (0.3 + 0.7 * day) * (1 + 0.15 * noise) * (1 + 2 * fault) },
  http_requests_rate: { help: 'HTTP requests per second per instance.', value: ({ service, day, noise, fault }) => SERVICE_LOAD[service] * (0.15 + 0.85 * day) * (1 + 0.08 * noise) * (1 - 0.5 * fault) },
  http_errors_rate: { help: 'HTTP 5xx responses per second per instance.', value: ({ service, day, noise, fault }) => Math.max(0, SERVICE_LOAD[service] * (0.15 + 0.85 * day) * (0.002 + 0.001 * noise + 0.25 * fault * fault)) },
  http_latency_seconds: {
    help: 'HTTP latency quantiles (p50, p90, p99) in seconds.',
    variants: [{ quantile: '0.5' }, { quantile: '0.9' }, { quantile: '0.99' }],
    value: ({ service, day, noise, fault, variant }) => {
      const base = service === 'search' ? 0.045 : service === 'storage' ? 0.012 : 0.08;
      const q = Number(variant.quantile);
      const tail = q >= 0.99 ? 6 : q >= 0.9 ? 2.5 : 1;
      return base * tail * (1 + 0.6 * day + 0.1 * noise) * (1 + 12 * fault * (q >= 0.9 ? 1.5 : 0.5));
    },
  },
};

export const DEMO_METRICS = Object.keys(METRICS);

/** A deterministic value in [-1, 1] for a series at a 15-second slot (a tiny integer hash, smoothed between slots). */
function noiseAt(key: string, t: number): number {
  const slot = Math.floor(t / 15);
  const frac = t / 15 - slot;
  const h = (n: number) => {
    let x = 2166136261;
    const s = `${key}|${n}`;
    for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
    x ^= x >>> 13;
    x = Math.imul(x, 0x5bd1e995);
    x ^= x >>> 15;
    return ((x >>> 0) / 0xffffffff) * 2 - 1;
  };
  return h(slot) * (1 - frac) + h(slot + 1) * frac;
}

interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
  /** Compiled `=~` / `!~` pattern (RE2, anchored). */
  re?: (value: string) => boolean;
}

interface ParsedQuery {
  metric: string;
  matchers: Matcher[];
  agg: { op: 'sum' | 'avg' | 'min' | 'max' | 'count'; by: string[] | null } | null;
  filter: { op: string; value: number } | null;
}

function badQuery(message: string): AppError {
  return new AppError('bad_query', 400, `${message}. The demo data source answers metric{label="value"} selectors, optionally inside sum/avg/min/max/count [by (labels)] (…) and followed by a comparison like > 0.9; metrics: ${DEMO_METRICS.join(', ')}`);
}

function parseMatchers(text: string): Matcher[] {
  const matchers: Matcher[] = [];
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw badQuery(`cannot parse label matchers {${text}}`);
    const value = m[3].replace(/\\(.)/g, '$1');
    const op = m[2] as Matcher['op'];
    let compiled: ((v: string) => boolean) | undefined;
    if (op === '=~' || op === '!~') {
      try {
        compiled = anchoredMatcher(value);
      } catch (error) {
        throw badQuery(`invalid regular expression ${JSON.stringify(value)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    matchers.push({ name: m[1], op, value, re: compiled });
    pos = re.lastIndex;
    if (text.slice(pos).trim() === '') break;
  }
  return matchers;
}

export function parseDemoQuery(expr: string): ParsedQuery {
  let text = expr.trim();
  let filter: ParsedQuery['filter'] = null;
  const cmp = /\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i.exec(text);
  if (cmp && !text.slice(0, cmp.index).trimEnd().endsWith('=')) {
    filter = { op: cmp[1], value: Number(cmp[2]) };
    text = text.slice(0, cmp.index).trim();
  }
  let agg: ParsedQuery['agg'] = null;
  const aggMatch = /^(sum|avg|min|max|count)\s*(?:by\s*\(([^)]*)\)\s*)?\((.*)\)\s*(?:by\s*\(([^)]*)\))?$/s.exec(text);
  if (aggMatch) {
    const byText = aggMatch[2] ?? aggMatch[4];
    const by = byText === undefined ? null : byText.split(',').map((s) => s.trim()).filter(Boolean);
    if (by?.some((l) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(l))) throw badQuery(`invalid by (${byText})`);
    agg = { op: aggMatch[1] as 'sum', by };
    text = aggMatch[3].trim();
  }
  const sel = /^([A-Za-z_:][A-Za-z0-9_:]*)?\s*(?:\{(.*)\})?$/s.exec(text);
  if (!sel || (!sel[1] && sel[2] === undefined)) throw badQuery(`unsupported query ${JSON.stringify(expr.slice(0, 200))}`);
  const matchers = sel[2] ? parseMatchers(sel[2]) : [];
  let metric = sel[1] ?? '';
  const nameMatcher = matchers.find((m) => m.name === '__name__' && m.op === '=');
  if (!metric && nameMatcher) metric = nameMatcher.value;
  if (!METRICS[metric]) throw badQuery(`unknown metric ${JSON.stringify(metric)}`);
  return { metric, matchers: matchers.filter((m) => m !== nameMatcher), agg, filter };
}

function matches(labels: Record<string, string>, matchers: Matcher[]): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? '';
    switch (m.op) {
      case '=': return v === m.value;
      case '!=': return v !== m.value;
      case '=~': return m.re!(v);
      default: return !m.re!(v);
    }
  });
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '>': return a > b;
    case '<': return a < b;
    case '>=': return a >= b;
    case '<=': return a <= b;
    case '==': return a === b;
    default: return a !== b;
  }
}

interface DemoSeries {
  metric: string;
  labels: Record<string, string>;
  service: string;
  index: number;
  variant: Record<string, string>;
}

function allSeries(): DemoSeries[] {
  const out: DemoSeries[] = [];
  for (const [metric, def] of Object.entries(METRICS)) {
    for (const [service, count] of Object.entries(DEMO_SERVICES)) {
      for (let index = 1; index <= count; index++) {
        for (const variant of def.variants ?? [{}]) {
          out.push({
            metric, service, index, variant,
            labels: { __name__: metric, service, job: service, instance: `${service}-${index}`, env: 'demo', demo: 'true', ...variant },
          });
        }
      }
    }
  }
  return out;
}

const SERIES = allSeries();

/** A source of synthetic metrics; `faultStart` (unix seconds) is when storage-3 starts to degrade. */
export function createDemoSource(options: { name: string; clock: Clock; faultStart?: number }): MetricsSource {
  const nowS = () => options.clock.now().getTime() / 1000;
  const faultStart = options.faultStart ?? Math.floor(nowS() / 3600) * 3600 - FAULT_HOURS * 3600;
  const valueAt = (s: DemoSeries, t: number): number => {
    // Daily shape: quiet at 04:00 UTC, busiest at 16:00 UTC.
    const day = 0.5 - 0.5 * Math.cos(((t / 3600 - 4) / 24) * 2 * Math.PI);
    const fault = s.labels.instance === DEMO_FAULTY_INSTANCE && t > faultStart ? Math.min(1, ((t - faultStart) / (FAULT_HOURS * 3600)) ** 2) : 0;
    const noise = noiseAt(`${s.metric}${s.labels.instance}${s.variant.quantile ?? ''}`, t);
    return METRICS[s.metric].value({ service: s.service, index: s.index, t, day, noise, fault, variant: s.variant });
  };

  function evaluate(expr: string, times: number[]): Series[] {
    const q = parseDemoQuery(expr);
    const selected = SERIES.filter((s) => s.metric === q.metric && matches(s.labels, q.matchers));
    let series: Series[] = selected.map((s) => ({ labels: { ...s.labels }, points: times.map((t) => [t, valueAt(s, t)] as [number, number]) }));
    if (q.agg) {
      const { op, by } = q.agg;
      const groups = new Map<string, { labels: Record<string, string>; members: Series[] }>();
      for (const s of series) {
        const labels = Object.fromEntries((by ?? []).filter((l) => s.labels[l] !== undefined).map((l) => [l, s.labels[l]]));
        const key = JSON.stringify(labels);
        const g = groups.get(key) ?? { labels, members: [] };
        g.members.push(s);
        groups.set(key, g);
      }
      series = [...groups.values()].map((g) => ({
        labels: g.labels,
        points: times.map((t, i) => {
          const vs = g.members.map((m) => m.points[i][1]);
          const sum = vs.reduce((a, b) => a + b, 0);
          const v = op === 'sum' ? sum : op === 'avg' ? sum / vs.length : op === 'min' ? Math.min(...vs) : op === 'max' ? Math.max(...vs) : vs.length;
          return [t, v] as [number, number];
        }),
      }));
    }
    if (q.filter) {
      const f = q.filter;
      series = series.map((s) => ({ labels: s.labels, points: s.points.filter((p) => compare(f.op, p[1], f.value)) })).filter((s) => s.points.length > 0);
    }
    return series;
  }

  return {
    name: options.name,
    type: 'demo',
    async query(expr, at): Promise<InstantResult> {
      const t = Math.round(at.getTime()) / 1000;
      return { resultType: 'vector', series: evaluate(expr, [t]), warnings: ['demo data source: synthetic data'] };
    },
    async queryRange(expr, range): Promise<RangeResult> {
      if (!(range.end >= range.start)) throw new AppError('bad_query', 400, 'end must not be before start');
      const step = chooseStep(range);
      // By index, not by adding floats: at huge times `t += step` may not move t at all (an endless loop).
      const count = Math.min(MAX_POINTS, Math.floor((range.end - range.start) / step) + 1);
      const times = Array.from({ length: count }, (_, i) => range.start + i * step);
      return { series: evaluate(expr, times), step, warnings: ['demo data source: synthetic data'] };
    },
    async series(matchers) {
      const out = new Map<string, Record<string, string>>();
      for (const m of matchers) {
        const q = parseDemoQuery(m);
        for (const s of SERIES) if (s.metric === q.metric && matches(s.labels, q.matchers)) out.set(JSON.stringify(s.labels), s.labels);
      }
      return [...out.values()];
    },
    async labels() {
      return [...new Set(SERIES.flatMap((s) => Object.keys(s.labels)))].toSorted();
    },
    async labelValues(name) {
      return [...new Set(SERIES.map((s) => s.labels[name]).filter((v) => v !== undefined))].toSorted();
    },
    async targets(): Promise<ScrapeTarget[]> {
      const t = nowS();
      return SERIES.filter((s) => s.metric === 'up').map((s) => {
        const up = valueAt(s, t) === 1;
        return {
          labels: { instance: s.labels.instance, job: s.labels.job, service: s.service, demo: 'true' },
          discoveredLabels: { __address__: `${s.labels.instance}.demo.invalid:9100` },
          scrapeUrl: `http://${s.labels.instance}.demo.invalid:9100/metrics`,
          health: up ? 'up' : 'down',
          lastError: up ? '' : 'demo: connection refused (synthetic fault)',
        };
      });
    },
  };
}
