import { send } from '../api.ts';
import { useResource } from './useResource.ts';
import { Link } from '../router.tsx';
import { OutlierLine } from '../pages/ServiceDashboardPage.tsx';
import type { IncidentTelemetry as Telemetry } from '../pages/telemetry.types.ts';

/** On the incident page: the service dashboard at the incident's window, its outliers, and the hosts its alerts name. */
export function IncidentTelemetry(props: { number: number }) {
  const t = useResource(`incident-telemetry|${props.number}`, () => send<Telemetry>('GET', `/api/v1/incidents/${props.number}/telemetry`));
  const d = t.data;
  return (
    <section className="panel incident-telemetry" aria-label="Telemetry">
      <h2>Telemetry</h2>
      {t.error && <p className="error" role="alert">{t.error}</p>}
      {t.loading && <p className="muted">Loading…</p>}
      {d && (
        <>
          <p>
            <Link to={d.dashboard_url} className="button small">Open dashboard at this window</Link>{' '}
            <span className="muted small">{new Date(d.window.from * 1000).toLocaleString()} – {new Date(d.window.to * 1000).toLocaleString()}</span>
          </p>
          {d.dashboard.error && <p className="notice small">Metrics: {d.dashboard.error.message}</p>}
          {d.dashboard.top_outlier ? (
            <div className="outlier" role="status">
              <p>Outlier instance: <strong className="outlier-name">{d.dashboard.top_outlier.instance}</strong> <span className="muted">(score {d.dashboard.top_outlier.score.toFixed(1)}, {d.dashboard.top_outlier.panels.join(', ')})</span></p>
              <ul className="plain-list small">
                {d.dashboard.outliers.slice(0, 5).map((o) => <li key={`${o.panel}|${o.instance}`}><OutlierLine instance={o.instance} reason={o.reason} score={o.score} panel={o.panel_title} /></li>)}
              </ul>
            </div>
          ) : !d.dashboard.error && <p className="muted small">No outlier instance in this window.</p>}
          <h3>Affected hosts</h3>
          {d.affected_hosts.length === 0 ? <p className="muted small">The alerts name no instance or host.</p> : (
            <ul className="plain-list">
              {d.affected_hosts.map((a) => (
                <li key={a.value}>
                  <span className="muted small">{a.label}</span> <code>{a.value}</code> →{' '}
                  {a.hosts.length === 0 ? <span className="muted">not in the inventory</span> : a.hosts.map((h, i) => (
                    <span key={h.id}>{i > 0 ? ', ' : ''}<Link to={`/hosts?${new URLSearchParams({ q: `id=${h.id}` })}`}>{h.name}</Link> <span className="muted small">({h.provider})</span>{' '}
                      <Link to={`/logs?${new URLSearchParams({ q: `host:${h.name}`, from: new Date(d.window.from * 1000).toISOString(), to: new Date(d.window.to * 1000).toISOString() })}`} className="small">logs</Link></span>
                  ))}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
