import { useState } from 'react';
import { send } from '../api.ts';
import { Time } from '../components/Time.tsx';
import { useResource } from '../components/useResource.ts';
import { Link, useLocation } from '../router.tsx';

interface RuleAlert { labels: Record<string, string>; annotations: Record<string, string>; state: 'pending' | 'firing'; value: string; active_at: string; fired_at: string | null; lines?: { time: string; host: string | null; message: string }[] }
interface Rule {
  id: string; name: string; type: 'alerting' | 'recording' | 'log'; query: string; for: string | null; keep_firing_for: string | null;
  labels: Record<string, string>; annotations: Record<string, string>; state: 'inactive' | 'pending' | 'firing' | null;
  health: string; last_error: string | null; last_evaluation: string | null; evaluation_ms: number | null;
  last_result: { samples: { labels: Record<string, string>; value: string }[]; total: number } | null; alerts: RuleAlert[];
}
interface Group { name: string; interval_seconds: number; datasource: string | null; service: string | null; last_evaluation: string | null; evaluation_ms: number | null; rules: Rule[] }
interface Evaluation { at: string; health: string; error: string | null; pending: number; firing: number; samples: number; duration_ms: number; transitions: { labels: Record<string, string>; from: string; to: string }[] }

const labelText = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ');
const safeHref = (href: string) => (/^(https?:\/\/|\/)/i.test(href) && !href.startsWith('//') ? href : undefined);

/** A strip of the last evaluations, oldest left: firing red, pending amber, error grey, ok green. */
function HistoryStrip(props: { group: string; rule: string }) {
  const history = useResource(`history|${props.group}|${props.rule}`, () => send<{ evaluations: Evaluation[] }>('GET', `/api/v1/rules/${encodeURIComponent(props.group)}/${encodeURIComponent(props.rule)}/history?limit=60`));
  if (history.error) return <p className="error" role="alert">{history.error}</p>;
  const list = (history.data?.evaluations ?? []).toReversed();
  const changes = list.filter((e) => e.transitions.length || e.error);
  return (
    <div className="rule-history">
      <div className="history-strip" aria-label="Last evaluations, oldest first">
        {list.map((e) => (
          <span key={e.at} className={`tick ${e.health === 'err' ? 'tick-error' : e.firing ? 'tick-firing' : e.pending ? 'tick-pending' : 'tick-ok'}`}
            title={`${e.at}: ${e.health === 'err' ? `error: ${e.error}` : `${e.firing} firing, ${e.pending} pending`} (${e.duration_ms.toFixed(1)} ms)`} />
        ))}
      </div>
      {changes.length > 0 && (
        <ul className="plain small">
          {changes.slice(-10).toReversed().map((e) => (
            <li key={e.at}><Time value={e.at} /> {e.error ? <span className="error">{e.error}</span> : e.transitions.map((x) => `${x.from} → ${x.to} {${labelText(x.labels)}}`).join('; ')}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** /rules: rule groups → rules with their state, health, active alerts and evaluation history. */
export function RulesPage() {
  const { search } = useLocation();
  const focusGroup = search.get('group');
  const focusRule = search.get('rule');
  const groups = useResource('rules', () => send<{ groups: Group[] }>('GET', '/api/v1/rules'));
  const [open, setOpen] = useState<string | null>(focusGroup && focusRule ? `${focusGroup}/${focusRule}` : null);
  const list = groups.data?.groups ?? [];
  return (
    <section className="rules">
      <div className="page-head">
        <h1>Alert rules</h1>
        <Link to="/datasources" className="button secondary">Data sources</Link>
        <button type="button" className="button secondary" onClick={() => void groups.reload()}>Refresh</button>
      </div>
      <p className="muted">Prometheus rule files evaluated by Firewatch (<code>firewatch rules import FILE --datasource D --service S</code>). Firing alerts open incidents on the group's service.</p>
      {groups.error && <p className="error" role="alert">{groups.error}</p>}
      {groups.loading && !groups.data ? <p className="muted">Loading…</p> : list.length === 0 ? (
        <p className="empty-state">No rule groups yet: import a Prometheus rule file or declare <code>rules:</code> in firewatch apply.</p>
      ) : list.map((g) => (
        <article key={g.name} className="card rule-group" id={`group-${g.name}`}>
          <header className="rule-group-head">
            <h2>{g.name}</h2>
            <span className="muted">every {g.interval_seconds} s · {g.datasource ?? 'default data source'} · {g.service ? `pages ${g.service}` : 'no service (no incidents)'} · last evaluation <Time value={g.last_evaluation} />{g.evaluation_ms !== null && ` in ${g.evaluation_ms.toFixed(0)} ms`}</span>
          </header>
          <table className="table">
            <thead><tr><th>Rule</th><th>State</th><th>Query</th><th>Last evaluation</th></tr></thead>
            <tbody>
              {g.rules.map((r) => {
                const key = `${g.name}/${r.name}`;
                return [
                  <tr key={r.id} className={focusRule === r.name && focusGroup === g.name ? 'highlight' : undefined}>
                    <td data-label="Rule">
                      <button type="button" className="link" aria-expanded={open === key} onClick={() => setOpen(open === key ? null : key)}>{r.name}</button>
                      <span className="muted"> {r.type}{r.for ? ` · for ${r.for}` : ''}{r.keep_firing_for ? ` · keep firing ${r.keep_firing_for}` : ''}</span>
                    </td>
                    <td data-label="State">
                      {r.state && <span className={`badge rule-${r.state}`}>{r.state}{r.alerts.length > 1 ? ` (${r.alerts.length})` : ''}</span>}
                      {r.health === 'err' && <span className="badge rule-error"> error</span>}
                    </td>
                    <td data-label="Query"><code>{r.query}</code></td>
                    <td data-label="Last evaluation"><Time value={r.last_evaluation} />{r.last_error && <p className="error" role="alert">{r.last_error}</p>}</td>
                  </tr>,
                  open === key && (
                    <tr key={`${r.id}-detail`}>
                      <td colSpan={4}>
                        {r.alerts.length > 0 && (
                          <table className="table small">
                            <thead><tr><th>State</th><th>Labels</th><th>Annotations</th><th>Value</th><th>Active since</th></tr></thead>
                            <tbody>
                              {r.alerts.map((a) => (
                                <tr key={labelText(a.labels)}>
                                  <td><span className={`badge rule-${a.state}`}>{a.state}</span></td>
                                  <td><code>{labelText(a.labels)}</code></td>
                                  <td>
                                    {Object.entries(a.annotations).map(([k, v]) => (
                                      <div key={k}><strong>{k}:</strong> {k.endsWith('_url') && safeHref(v) ? <a href={safeHref(v)} rel="noopener noreferrer">{v}</a> : v}</div>
                                    ))}
                                    {a.lines && a.lines.length > 0 && <pre className="log-lines">{a.lines.map((l) => `${l.time} ${l.host ?? ''} ${l.message}`).join('\n')}</pre>}
                                  </td>
                                  <td>{a.value}</td>
                                  <td><Time value={a.active_at} /></td>
                                </tr>
                              ))}
                            </tbody>
                          </table>
                        )}
                        {r.last_result && <p className="muted">Recorded {r.last_result.total} series (not written back to the data source){r.last_result.samples[0] ? `, e.g. ${labelText(r.last_result.samples[0].labels)} = ${r.last_result.samples[0].value}` : ''}.</p>}
                        <HistoryStrip group={g.name} rule={r.id} />
                      </td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        </article>
      ))}
    </section>
  );
}
