import { useState } from 'react';
import { send } from '../api.ts';
import { SnapshotButton } from '../components/SnapshotButton.tsx';
import { formatValue, TimeSeriesChart } from '../components/TimeSeriesChart.tsx';
import { useResource } from '../components/useResource.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { type DashboardData, nowSeconds, type PanelData, RANGES, readTime } from './telemetry.types.ts';

const REASON: Record<string, string> = { high: 'higher than the others', low: 'lower than the others', amplitude: 'swings more than the others' };

/** An outlier line: instance, why, score (inert text). */
export function OutlierLine(props: { instance: string; reason: string; score: number; panel?: string }) {
  return (
    <span className="outlier-line">
      <strong className="outlier-name">{props.instance}</strong>
      {props.panel ? <> · {props.panel}</> : null} {REASON[props.reason] ?? props.reason} <span className="muted">(score {props.score.toFixed(1)})</span>
    </span>
  );
}

function Panel(props: { panel: PanelData; from: number; to: number; view: 'instances' | 'aggregate'; datasource: string | null; service: string }) {
  const { panel, from, to, view } = props;
  const top = panel.outliers?.top ?? null;
  const flagged = (panel.outliers?.instances ?? []).filter((i) => i.outlier).map((i) => i.instance);
  const series = view === 'instances' ? panel.per_instance : panel.aggregate;
  const query = view === 'instances' ? panel.queries.per_instance : panel.queries.aggregate[0]?.query ?? panel.queries.per_instance;
  const explore = `/explore?${new URLSearchParams({ ...(props.datasource ? { datasource: props.datasource } : {}), query, from: String(from), to: String(to) })}`;
  return (
    <article className={`panel dash-panel${top ? ' dash-panel-outlier' : ''}`} aria-label={panel.title}>
      <header className="dash-panel-head">
        <h2>{panel.title}</h2>
        {top && <p className="outlier" role="note">Outlier: <OutlierLine instance={top.instance} reason={top.reason} score={top.score} /></p>}
      </header>
      <TimeSeriesChart label={`${panel.title} (${view === 'instances' ? 'per instance' : 'aggregated'})`} from={from} to={to} unit={panel.unit}
        series={series.map((s) => ({ name: s.name, points: s.points }))} highlight={view === 'instances' ? flagged : []}
        error={panel.error ? `${panel.error.message} (${panel.error.code})` : null}
        empty={panel.outliers?.note && panel.per_instance.length === 0 ? 'No series for this service in this window.' : undefined} />
      {panel.warnings.map((w) => <p key={w} className="notice small">{w}</p>)}
      {view === 'instances' && panel.outliers && panel.outliers.instances.length > 0 && (
        <details className="dash-scores">
          <summary className="small">Scores (MAD, flagged above {panel.outliers.threshold})</summary>
          <table className="table small">
            <thead><tr><th>Instance</th><th className="num">Mean</th><th className="num">Score</th><th className="num">Swing</th><th className="num">Swing score</th></tr></thead>
            <tbody>
              {panel.outliers.instances.toSorted((a, b) => Math.max(b.score, b.amplitude_score) - Math.max(a.score, a.amplitude_score)).map((i) => (
                <tr key={i.instance} className={i.outlier ? 'outlier-row' : undefined}>
                  <td>{i.instance}</td><td className="num">{formatValue(i.mean, panel.unit)}</td><td className="num">{i.score.toFixed(1)}</td>
                  <td className="num">{formatValue(i.amplitude, panel.unit)}</td><td className="num">{i.amplitude_score.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {panel.outliers.note && <p className="muted small">{panel.outliers.note}</p>}
        </details>
      )}
      <div className="dash-panel-actions">
        <Link to={explore} className="button small ghost">Explore</Link>
        {!panel.error && series.length > 0 && (
          <SnapshotButton datasource={props.datasource} query={query} from={from} to={to} title={`${props.service}: ${panel.title}`} highlight={view === 'instances' ? flagged.map((f) => `instance="${f}"`) : []} />
        )}
      </div>
    </article>
  );
}

/** /services/{name}/dashboard?from=&to=: the standard panels, aggregated or per instance, outliers named and red. */
export function ServiceDashboardPage(props: { service: string }) {
  const { search } = useLocation();
  const [now] = useState(() => Math.floor(Date.now() / 1000));
  const to = readTime(search.get('to'), now);
  const from = readTime(search.get('from'), to - 3600);
  const [view, setView] = useState<'instances' | 'aggregate'>('instances');
  const base = `/services/${encodeURIComponent(props.service)}/dashboard`;
  const data = useResource(`dash|${props.service}|${from}|${to}`, () =>
    send<DashboardData>('GET', `/api/v1/services/${encodeURIComponent(props.service)}/dashboard/data?from=${Math.floor(from)}&to=${Math.ceil(to)}`));
  const d = data.data;

  const setRange = (seconds: number) => {
    const end = nowSeconds();
    navigate(`${base}?from=${end - seconds}&to=${end}`);
  };
  const shift = (dir: -1 | 1) => {
    const span = to - from;
    navigate(`${base}?from=${Math.floor(from + dir * span / 2)}&to=${Math.floor(to + dir * span / 2)}`);
  };

  return (
    <section className="dashboard">
      <div className="page-head">
        <h1>{props.service} <span className="muted">dashboard</span></h1>
      </div>
      <div className="dash-toolbar">
        <div className="segmented" role="group" aria-label="Range">
          <button type="button" className="segment" onClick={() => shift(-1)} aria-label="Earlier">‹</button>
          {RANGES.map((r) => <button key={r.label} type="button" className="segment" aria-pressed={Math.round(to - from) === r.seconds} onClick={() => setRange(r.seconds)}>{r.label}</button>)}
          <button type="button" className="segment" onClick={() => shift(1)} aria-label="Later">›</button>
        </div>
        <div className="segmented" role="group" aria-label="View">
          <button type="button" className="segment" aria-pressed={view === 'instances'} onClick={() => setView('instances')}>Per instance</button>
          <button type="button" className="segment" aria-pressed={view === 'aggregate'} onClick={() => setView('aggregate')}>Aggregated</button>
        </div>
        <span className="muted small">{new Date(from * 1000).toLocaleString()} – {new Date(to * 1000).toLocaleString()}{d?.datasource ? ` · ${d.datasource}` : ''}</span>
      </div>
      {data.error && <p className="error" role="alert">{data.error}</p>}
      {data.loading && <p className="muted">Loading…</p>}
      {d?.error && <p className="error" role="alert">Data source: {d.error.message}</p>}
      {d && (
        d.top_outlier ? (
          <div className="panel outlier-summary" role="status">
            <p>
              Outlier instance: <strong className="outlier-name">{d.top_outlier.instance}</strong> — flagged on {d.top_outlier.panels.length} panel{d.top_outlier.panels.length === 1 ? '' : 's'} ({d.top_outlier.panels.join(', ')}), score {d.top_outlier.score.toFixed(1)}.{' '}
              <Link to={`/hosts?q=${encodeURIComponent(d.top_outlier.instance)}`}>Which host is it?</Link>
            </p>
            {d.outliers.length > 1 && (
              <ul className="plain-list small">
                {d.outliers.slice(0, 8).map((o) => <li key={`${o.panel}|${o.instance}`}><OutlierLine instance={o.instance} reason={o.reason} score={o.score} panel={o.panel_title} /></li>)}
              </ul>
            )}
          </div>
        ) : <p className="muted">No outlier instance in this window (MAD score above 3 on no panel).</p>
      )}
      <div className="dash-grid">
        {d?.panels.map((p) => <Panel key={p.id} panel={p} from={d.from} to={d.to} view={view} datasource={d.datasource} service={d.service} />)}
      </div>
    </section>
  );
}
