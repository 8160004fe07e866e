import { type FormEvent, useState } from 'react';
import { send } from '../api.ts';
import { Time } from '../components/Time.tsx';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { navigate, useLocation } from '../router.tsx';
import { can, useSession } from '../session.ts';
import type { Host } from './telemetry.types.ts';

interface Provider { name: string; type: string; hosts: number; last_refresh_at: string | null; last_error: string | null }

/** /hosts?q=: the inventory. `kind=object4` style terms are exact look-ups; plain words search names, addresses and labels. */
export function HostsPage() {
  const { session } = useSession();
  const { search } = useLocation();
  const q = search.get('q') ?? '';
  const [draft, setDraft] = useState(q);
  const [draftFor, setDraftFor] = useState(q);
  if (draftFor !== q) {
    setDraftFor(q);
    setDraft(q);
  }
  const exact = q.includes('=');
  const hosts = useResource(`hosts|${q}`, async () => {
    if (exact) return { hosts: (await send<{ hosts: Host[] }>('GET', `/api/v1/hosts/find?${new URLSearchParams({ q })}`)).hosts, total: null as number | null };
    const r = await send<{ hosts: Host[]; total: number }>('GET', `/api/v1/hosts?${new URLSearchParams({ q, limit: '500' })}`);
    // A word that names a host exactly (an instance like 10.0.0.4:9100) is found by the look-up when the search has nothing.
    if (r.hosts.length === 0 && q.trim()) return { hosts: (await send<{ hosts: Host[] }>('GET', `/api/v1/hosts/find?${new URLSearchParams({ q })}`)).hosts, total: null };
    return r;
  });
  const providers = useResource('inventory', () => send<{ providers: Provider[] }>('GET', '/api/v1/inventory'));
  const refresh = useAction();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/hosts${draft.trim() ? `?${new URLSearchParams({ q: draft.trim() })}` : ''}`, { replace: true });
  };
  const list = hosts.data?.hosts ?? [];

  return (
    <section className="hosts">
      <div className="page-head"><h1>Hosts</h1></div>
      <form className="filters" onSubmit={submit} role="search">
        <label className="field grow">
          <span>Find</span>
          <input type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="kind=object4, name=web-1, 10.0.0.4:9100, or words" maxLength={500} />
        </label>
        <button type="submit" className="button">Search</button>
      </form>
      {hosts.error && <p className="error" role="alert">{hosts.error}</p>}
      {hosts.loading ? <p className="muted">Loading…</p> : list.length === 0 ? (
        <p className="empty-state">{q ? `No host matches ${q}.` : 'No hosts yet: add an inventory provider (static, prometheus or ec2) with firewatch apply.'}</p>
      ) : (
        <div className="table-wrap">
          <table className="table hosts-table">
            <thead><tr><th>Name</th><th>Provider</th><th>Id</th><th>Addresses</th><th>Labels</th></tr></thead>
            <tbody>
              {list.map((h) => (
                <tr key={h.id}>
                  <td data-label="Name"><strong>{h.name}</strong></td>
                  <td data-label="Provider">{h.provider} <span className="muted small">({h.provider_type})</span></td>
                  <td data-label="Id" className="mono small">{h.external_id}</td>
                  <td data-label="Addresses" className="mono small">{h.addresses.join(', ')}</td>
                  <td data-label="Labels">
                    <ul className="chips">
                      {Object.entries(h.labels).map(([k, v]) => (
                        <li key={k}><button type="button" className="chip chip-button" title={`Find ${k}=${v}`} onClick={() => navigate(`/hosts?${new URLSearchParams({ q: `${k}=${v}` })}`)}>{k}={v}</button></li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {hosts.data?.total !== null && hosts.data && hosts.data.total > list.length && <p className="muted small">{list.length} of {hosts.data.total}</p>}
        </div>
      )}
      <h2>Providers</h2>
      {providers.error && <p className="error" role="alert">{providers.error}</p>}
      {refresh.error && <p className="error" role="alert">{refresh.error}</p>}
      <ul className="plain-list">
        {(providers.data?.providers ?? []).map((p) => (
          <li key={p.name} className="provider-row">
            <strong>{p.name}</strong> <span className="muted">{p.type} · {p.hosts} host{p.hosts === 1 ? '' : 's'}</span>
            {p.last_refresh_at && <span className="muted small"> · refreshed <Time value={p.last_refresh_at} /></span>}
            {p.last_error && <span className="error small"> · {p.last_error}</span>}
            {can(session, 'responder') && (
              <button type="button" className="button small ghost" disabled={refresh.busy}
                onClick={() => void refresh.run(async () => {
                  await send('POST', `/api/v1/inventory/${encodeURIComponent(p.name)}/refresh`);
                  await Promise.all([providers.reload(), hosts.reload()]);
                })}>Refresh</button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
