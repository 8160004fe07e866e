import { existsSync } from 'node:fs';
import { renderAsync } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { AppError } from '../errors.ts';
import type { Series } from '../telemetry/metrics/datasource.types.ts';

export interface ChartSpec {
  title: string;
  series: Series[];
  /** Unix seconds. */
  from: number;
  to: number;
  /** Axis unit label, e.g. "req/s", "%", "bytes". */
  unit?: string;
  /** Series (by their label text, see seriesName) drawn emphasised, e.g. the outlier instance. */
  highlight?: string[];
  width?: number;
  height?: number;
}

/** At most this many lines are drawn; the rest are folded into one "others" line (their maximum per step). */
export const MAX_SERIES = 10;
const FONT_FAMILY = 'DejaVu Sans';
/** Debian's fonts-dejavu-core; resvg also loads the system fonts, this only pins the default family. */
const FONT_FILES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'].filter((f) => existsSync(f));
const HIGHLIGHT_COLOR = '#d62728';
/** Tableau 10 without its red, which is kept for highlighted series. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];
const OTHERS_COLOR = '#b0b0b0';
/** Lines with more points are reduced to a min/max per bucket (about two per pixel column of a wide chart). */
const MAX_POINTS_PER_LINE = 2000;

/**
 * The label text of a series, as Prometheus writes it: `name{a="1", b="2"}`, `{a="1"}` without a name,
 * or just the name. Highlights and legends use it.
 */
export function seriesName(labels: Record<string, string>): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.keys(rest).toSorted().map((k) => `${k}="${rest[k]}"`);
  if (pairs.length === 0) return name || '{}';
  return `${name}{${pairs.join(', ')}}`;
}

interface Row { t: number; v: number | null; s: string; w: number }

const finite = (v: number) => Number.isFinite(v);

/** The largest finite value of a series (for picking which lines to keep), or -Infinity. */
function peak(series: Series): number {
  let max = -Infinity;
  for (const [, v] of series.points) if (finite(v) && v > max) max = v;
  return max;
}

/** The usual distance between points, to tell a gap (missing steps) from the normal spacing. */
function typicalStep(points: [number, number][]): number {
  const diffs: number[] = [];
  for (let i = 1; i < points.length && diffs.length < 200; i++) {
    const d = points[i][0] - points[i - 1][0];
    if (d > 0) diffs.push(d);
  }
  if (diffs.length === 0) return Infinity;
  return diffs.toSorted((a, b) => a - b)[Math.floor(diffs.length / 2)];
}

/** Rows for one line: NaN/Inf become nulls (a gap), and so do missing steps (Prometheus leaves them out). */
function rowsOf(name: string, points: [number, number][], width: number, from: number, to: number): Row[] {
  const sorted = points.filter(([t]) => t >= from && t <= to).toSorted((a, b) => a[0] - b[0]);
  const step = typicalStep(sorted);
  const rows: Row[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const [t, v] = sorted[i];
    if (i > 0 && t - sorted[i - 1][0] > step * 1.5) rows.push({ t: (sorted[i - 1][0] + step) * 1000, v: null, s: name, w: width });
    rows.push({ t: t * 1000, v: finite(v) ? v : null, s: name, w: width });
  }
  return rows.length > MAX_POINTS_PER_LINE ? downsample(rows, from * 1000, to * 1000) : rows;
}

/**
 * More points than pixels only slows drawing: keeps, per time bucket, the lowest and highest value (in time
 * order, so spikes survive) and a null when the bucket had a gap.
 */
function downsample(rows: Row[], fromMs: number, toMs: number): Row[] {
  const buckets = MAX_POINTS_PER_LINE / 2;
  const size = (toMs - fromMs) / buckets || 1;
  const out: Row[] = [];
  let i = 0;
  while (i < rows.length) {
    const bucket = Math.floor((rows[i].t - fromMs) / size);
    let lo: Row | null = null;
    let hi: Row | null = null;
    let gap: Row | null = null;
    for (; i < rows.length && Math.floor((rows[i].t - fromMs) / size) === bucket; i++) {
      const r = rows[i];
      if (r.v === null) {
        gap ??= r;
        continue;
      }
      if (!lo || r.v < lo.v!) lo = r;
      if (!hi || r.v > hi.v!) hi = r;
    }
    const kept = [lo, hi, gap].filter((r): r is Row => r !== null);
    for (const r of new Set(kept.toSorted((a, b) => a.t - b.t))) out.push(r);
  }
  return out;
}

/** The "others" line: the maximum of the folded series at each timestamp (keeps the scale honest and shows any spike). */
function othersOf(rest: Series[]): [number, number][] {
  const max = new Map<number, number>();
  for (const s of rest) {
    for (const [t, v] of s.points) {
      if (!finite(v)) continue;
      const cur = max.get(t);
      if (cur === undefined || v > cur) max.set(t, v);
    }
  }
  return [...max.entries()].toSorted((a, b) => a[0] - b[0]);
}

const pad = (n: number) => String(n).padStart(2, '0');
function utcLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** Axis labels in UTC, 24-hour, with as much date as the span needs. */
function timeFormat(spanSeconds: number): string {
  if (spanSeconds <= 86_400) return '%H:%M';
  if (spanSeconds <= 7 * 86_400) return '%a %H:%M';
  return '%b %d';
}

const clampSize = (v: number | undefined, dflt: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(v ?? dflt)));
const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The vega-lite spec of a chart (exported for tests and for anyone who wants the SVG). */
export function chartVegaLite(spec: ChartSpec): TopLevelSpec {
  if (!Number.isFinite(spec.from) || !Number.isFinite(spec.to) || spec.to <= spec.from) {
    throw new AppError('invalid_range', 400, 'the chart range must end after it starts');
  }
  const width = clampSize(spec.width, 800, 200, 2400);
  const height = clampSize(spec.height, 320, 120, 1600);
  const highlight = new Set(spec.highlight ?? []);
  const named = spec.series.map((s) => ({ series: s, name: truncate(seriesName(s.labels), 120), peak: peak(s) }));
  // Deduplicate names (two series can print the same after truncation).
  const seen = new Map<string, number>();
  for (const n of named) {
    const count = seen.get(n.name) ?? 0;
    seen.set(n.name, count + 1);
    if (count > 0) n.name = `${n.name} #${count + 1}`;
  }
  const withData = named.filter((n) => n.peak > -Infinity);
  const subtitle = `${utcLabel(spec.from)} – ${utcLabel(spec.to)} UTC`;
  const title = { text: truncate(spec.title || 'Graph', 140), subtitle, anchor: 'start' as const, fontSize: 15, subtitleFontSize: 11, subtitleColor: '#555' };
  const config = { font: FONT_FAMILY, background: 'white', view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#eee' } };

  if (withData.length === 0) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width, height, title, config,
      data: { values: [{ x: 0.5, y: 0.5, text: spec.series.length === 0 ? 'No data: the query returned no series' : 'No data: every value is missing (NaN)' }] },
      mark: { type: 'text', fontSize: 18, color: '#777' },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, axis: null },
        y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] }, axis: null },
        text: { field: 'text', type: 'nominal' },
      },
    };
  }

  // Highlighted series are always drawn; then the highest peaks; the rest fold into "others".
  const ordered = withData.toSorted((a, b) => Number(highlight.has(b.name)) - Number(highlight.has(a.name)) || b.peak - a.peak);
  const kept = ordered.length > MAX_SERIES ? ordered.slice(0, MAX_SERIES - 1) : ordered;
  const folded = ordered.length > MAX_SERIES ? ordered.slice(MAX_SERIES - 1) : [];
  const rows: Row[] = [];
  const domain: string[] = [];
  const range: string[] = [];
  let colorIndex = 0;
  for (const k of kept) {
    const hot = highlight.has(k.name);
    domain.push(k.name);
    range.push(hot ? HIGHLIGHT_COLOR : PALETTE[colorIndex++ % PALETTE.length]);
    rows.push(...rowsOf(k.name, k.series.points, hot ? 3.5 : 1.5, spec.from, spec.to));
  }
  if (folded.length > 0) {
    const name = `others (max of ${folded.length})`;
    domain.push(name);
    range.push(OTHERS_COLOR);
    rows.push(...rowsOf(name, othersOf(folded.map((f) => f.series)), 1.5, spec.from, spec.to));
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width, height, title, config,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'linear', invalid: 'break-paths-show-domains', point: false },
    encoding: {
      x: { field: 't', type: 'temporal', title: 'UTC', scale: { type: 'utc', domain: [spec.from * 1000, spec.to * 1000] }, axis: { labelOverlap: true, tickCount: 8, format: timeFormat(spec.to - spec.from) } },
      y: { field: 'v', type: 'quantitative', title: spec.unit ? truncate(spec.unit, 40) : null, axis: { format: '~s' } },
      color: { field: 's', type: 'nominal', scale: { domain, range }, legend: { title: null, orient: 'bottom', direction: 'vertical', labelLimit: width - 40, symbolType: 'stroke' } },
      strokeWidth: { field: 'w', type: 'quantitative', scale: null, legend: null },
      order: { field: 'w', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

/** The chart as SVG text (vega in headless mode: no browser, no canvas). */
export async function renderChartSvg(spec: ChartSpec): Promise<string> {
  const compiled = compile(chartVegaLite(spec)).spec;
  // No loader access: the spec carries its data inline, and nothing may fetch URLs or read files.
  const loader = vega.loader();
  loader.load = () => Promise.reject(new Error('charts carry their data inline'));
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders run two at a time (each takes a core for a moment); the rest wait their turn. */
const MAX_CONCURRENT_RENDERS = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withRenderSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_RENDERS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Server-side chart → PNG (vega-lite → SVG → resvg); no browser. */
export function renderChartPng(spec: ChartSpec): Promise<Buffer> {
  return withRenderSlot(() => renderPng(spec));
}

async function renderPng(spec: ChartSpec): Promise<Buffer> {
  const svg = await renderChartSvg(spec);
  // resvg renders on its own thread (renderAsync), so a large chart does not block the event loop.
  const image = await renderAsync(svg, {
    background: 'white',
    fitTo: { mode: 'original' },
    font: { fontFiles: FONT_FILES, loadSystemFonts: true, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  return Buffer.from(image.asPng());
}
