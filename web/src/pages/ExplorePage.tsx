import { type FormEvent, useState } from 'react';
import { send } from '../api.ts';
import { SnapshotButton } from '../components/SnapshotButton.tsx';
import { TimeSeriesChart } from '../components/TimeSeriesChart.tsx';
import { useResource } from '../components/useResource.ts';
import { navigate, useLocation } from '../router.tsx';
import { nowSeconds, RANGES, readTime } from './telemetry.types.ts';

interface RangeAnswer {
  series: { labels: Record<string, string>; points: [number, number | null][] }[];
  step: number;
  warnings: string[];
}

const nameOf = (labels: Record<string, string>) => {
  const metric = labels['__name__'] ?? '';
  const rest = Object.entries(labels).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`).join(', ');
  return rest ? `${metric}{${rest}}` : metric || 'value';
};

/** /explore?datasource=&query=&from=&to=: the live view of a query (what chart snapshots link to). */
export function ExplorePage() {
  const { search } = useLocation();
  const [now] = useState(() => Math.floor(Date.now() / 1000));
  const to = readTime(search.get('to'), now);
  const from = readTime(search.get('from'), to - 3600);
  const query = search.get('query') ?? '';
  const [draft, setDraft] = useState(query);
  const [draftFor, setDraftFor] = useState(query);
  if (draftFor !== query) {
    setDraftFor(query);
    setDraft(query);
  }

  const sources = useResource('datasources', () => send<{ datasources: { name: string; type: string; default: boolean }[] }>('GET', '/api/v1/datasources'));
  const metricsSources = (sources.data?.datasources ?? []).filter((d) => d.type !== 'loki');
  const datasource = search.get('datasource') || metricsSources.find((d) => d.default)?.name || metricsSources[0]?.name || '';

  const go = (patch: Record<string, string>) => {
    const next = new URLSearchParams({ datasource, query, from: String(from), to: String(to), ...patch });
    navigate(`/explore?${next}`);
  };
  const result = useResource(`explore|${datasource}|${query}|${from}|${to}`, async () => {
    if (!query || !datasource) return null;
    const q = new URLSearchParams({ query, start: String(from), end: String(to) });
    return send<RangeAnswer>('GET', `/api/v1/datasources/${encodeURIComponent(datasource)}/query_range?${q}`);
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    go({ query: draft.trim() });
  };

  return (
    <section className="explore">
      <div className="page-head"><h1>Explore</h1></div>
      <form className="panel explore-form" onSubmit={submit}>
        <div className="form-row">
          <label className="field">
            <span>Data source</span>
            <select value={datasource} onChange={(e) => go({ datasource: e.target.value })}>
              {metricsSources.map((d) => <option key={d.name} value={d.name}>{d.name} ({d.type})</option>)}
            </select>
          </label>
        </div>
        <label className="field">
          <span>Query</span>
          <textarea rows={2} value={draft} onChange={(e) => setDraft(e.target.value)} spellCheck={false} maxLength={4000}
            placeholder='sum by (instance) (rate(http_request_duration_seconds_count[5m]))'
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) submit(e);
            }} />
        </label>
        <div className="form-actions">
          <button type="submit" className="button">Run</button>
          <div className="segmented" role="group" aria-label="Range">
            {RANGES.map((r) => (
              <button key={r.label} type="button" className="segment" aria-pressed={Math.round(to - from) === r.seconds}
                onClick={() => go({ from: String(nowSeconds() - r.seconds), to: String(nowSeconds()) })}>{r.label}</button>
            ))}
          </div>
        </div>
      </form>
      <p className="muted small">{new Date(from * 1000).toLocaleString()} – {new Date(to * 1000).toLocaleString()}</p>
      {sources.error && <p className="error" role="alert">{sources.error}</p>}
      {query && (
        <div className="panel">
          <TimeSeriesChart label={query} from={from} to={to} error={result.error}
            series={(result.data?.series ?? []).map((s) => ({ name: nameOf(s.labels), points: s.points }))}
            empty={result.loading ? 'Loading…' : 'The query returned no series in this window.'} />
          {(result.data?.warnings ?? []).map((w) => <p key={w} className="notice small">{w}</p>)}
          {result.data && result.data.series.length > 0 && <SnapshotButton datasource={datasource} query={query} from={from} to={to} title={query} />}
        </div>
      )}
    </section>
  );
}
