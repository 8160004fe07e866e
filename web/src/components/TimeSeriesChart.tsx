import { type MouseEvent, useId, useMemo, useRef, useState } from 'react';

export interface ChartSeries {
  name: string;
  points: [number, number | null][];
}

const PALETTE = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c', '#0d9488'];
const HIGHLIGHT = '#dc2626';
const W = 640;
const H = 220;
const PAD = { left: 56, right: 12, top: 10, bottom: 24 };

/** 3 significant-ish digits. */
const short = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

/** A value with its unit: ratios as percentages, bytes in binary multiples, seconds in ms below 1 s. */
export function formatValue(v: number | null | undefined, unit?: string | null): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ratio': return `${short(v * 100)}%`;
    case 'bytes':
    case 'bytes/s': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let n = v;
      let i = 0;
      while (Math.abs(n) >= 1024 && i < units.length - 1) {
        n /= 1024;
        i += 1;
      }
      return `${short(n)} ${units[i]}${unit === 'bytes/s' ? '/s' : ''}`;
    }
    case 's': return Math.abs(v) < 1 ? `${short(v * 1000)} ms` : `${short(v)} s`;
    default: {
      const a = Math.abs(v);
      const s = a >= 1e9 ? `${short(v / 1e9)}G` : a >= 1e6 ? `${short(v / 1e6)}M` : a >= 1e4 ? `${short(v / 1e3)}k` : short(v);
      return unit ? `${s} ${unit}` : s;
    }
  }
}

function timeLabel(t: number, span: number): string {
  const d = new Date(t * 1000);
  if (span > 2 * 86_400) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', ...(span < 600 ? { second: '2-digit' } : {}) });
}

/** Round tick values between lo and hi (about `count`). */
function ticks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

/**
 * A line chart in SVG: time axis over [from, to], hover read-out of every series at the nearest time,
 * highlighted series drawn red and on top, a legend, and an error state instead of a blank chart.
 * Series names are rendered as text only.
 */
export function TimeSeriesChart(props: {
  series: ChartSeries[];
  from: number;
  to: number;
  unit?: string | null;
  highlight?: string[];
  error?: string | null;
  /** Shown when there are no series (and no error). */
  empty?: string;
  label: string;
}) {
  const { series, from, to, unit, error } = props;
  const highlight = useMemo(() => new Set(props.highlight ?? []), [props.highlight]);
  const [hoverT, setHoverT] = useState<number | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const titleId = useId();

  const { lo, hi } = useMemo(() => {
    let min = Infinity;
    let max = -Infinity;
    for (const s of series) for (const [, v] of s.points) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!Number.isFinite(min)) return { lo: 0, hi: 1 };
    if (min === max) return { lo: min > 0 ? 0 : min - 1, hi: max > 0 ? max * 1.1 : max + 1 };
    return { lo: min >= 0 && min < (max - min) * 0.5 ? 0 : min, hi: max + (max - min) * 0.05 };
  }, [series]);

  const span = Math.max(1, to - from);
  const x = (t: number) => PAD.left + ((t - from) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo || 1)) * (H - PAD.top - PAD.bottom);
  const colorOf = (name: string, i: number) => (highlight.has(name) ? HIGHLIGHT : PALETTE[i % PALETTE.length]!);

  const paths = series.map((s) => {
    let d = '';
    let pen = false;
    for (const [t, v] of s.points) {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    return d;
  });

  const order = series.map((s, i) => i).toSorted((a, b) => Number(highlight.has(series[a]!.name)) - Number(highlight.has(series[b]!.name)));

  const onMove = (e: MouseEvent<SVGSVGElement>) => {
    const rect = svgRef.current?.getBoundingClientRect();
    if (!rect || rect.width === 0) return;
    const px = ((e.clientX - rect.left) / rect.width) * W;
    const t = from + ((px - PAD.left) / (W - PAD.left - PAD.right)) * span;
    setHoverT(t < from || t > to ? null : t);
  };

  const readout = hoverT === null ? [] : series.map((s, i) => {
    let best: [number, number | null] | null = null;
    for (const p of s.points) if (!best || Math.abs(p[0] - hoverT) < Math.abs(best[0] - hoverT)) best = p;
    return { name: s.name, color: colorOf(s.name, i), t: best?.[0] ?? null, v: best?.[1] ?? null };
  }).filter((r) => r.t !== null).toSorted((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity)).slice(0, 12);

  if (error) {
    return <div className="chart chart-error" role="alert"><strong>Cannot draw this chart.</strong> <span>{error}</span></div>;
  }
  if (series.every((s) => s.points.length === 0)) {
    return <div className="chart chart-empty muted">{props.empty ?? 'No data in this window.'}</div>;
  }
  const yTicks = ticks(lo, hi, 4);
  const xTicks = ticks(from, to, 5).filter((t) => t >= from && t <= to);

  return (
    <div className="chart">
      <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} onMouseMove={onMove} onMouseLeave={() => setHoverT(null)} preserveAspectRatio="none">
        <title id={titleId}>{props.label}</title>
        {yTicks.map((v) => (
          <g key={`y${v}`}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="chart-grid" />
            <text x={PAD.left - 4} y={y(v) + 3} textAnchor="end" className="chart-tick">{formatValue(v, unit)}</text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} x={x(t)} y={H - 6} textAnchor="middle" className="chart-tick">{timeLabel(t, span)}</text>
        ))}
        {order.map((i) => (
          <path key={series[i]!.name + i} d={paths[i]} fill="none" stroke={colorOf(series[i]!.name, i)}
            strokeWidth={highlight.has(series[i]!.name) ? 2.5 : 1.3} strokeOpacity={highlight.size > 0 && !highlight.has(series[i]!.name) ? 0.55 : 1}
            vectorEffect="non-scaling-stroke" />
        ))}
        {hoverT !== null && <line x1={x(hoverT)} x2={x(hoverT)} y1={PAD.top} y2={H - PAD.bottom} className="chart-cursor" />}
      </svg>
      {readout.length > 0 && (
        <div className="chart-readout" aria-live="polite">
          <div className="muted small">{new Date(readout[0]!.t! * 1000).toLocaleString()}</div>
          {readout.map((r) => (
            <div key={r.name} className="chart-readout-row">
              <span className="legend-swatch" style={{ background: r.color }} aria-hidden="true" />
              <span className="chart-series-name">{r.name}</span>
              <span className="num">{formatValue(r.v, unit)}</span>
            </div>
          ))}
        </div>
      )}
      <ul className="chart-legend">
        {series.slice(0, 30).map((s, i) => (
          <li key={s.name + i} className={highlight.has(s.name) ? 'chart-legend-highlight' : undefined}>
            <span className="legend-swatch" style={{ background: colorOf(s.name, i) }} aria-hidden="true" />
            <span className="chart-series-name">{s.name}</span>
          </li>
        ))}
        {series.length > 30 && <li className="muted">… and {series.length - 30} more</li>}
      </ul>
    </div>
  );
}
