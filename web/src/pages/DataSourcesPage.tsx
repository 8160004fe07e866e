import { type FormEvent, useState } from 'react';
import { send } from '../api.ts';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { can, useSession } from '../session.ts';

interface DataSource {
  name: string;
  type: string;
  url: string | null;
  auth: { type: 'basic' | 'bearer'; username?: string } | null;
  timeout_seconds: number | null;
  default: boolean;
  builtin: boolean;
}

interface Draft { name: string; type: string; url: string; auth: 'none' | 'basic' | 'bearer'; username: string; password: string; token: string; timeout: string; isDefault: boolean }
const EMPTY: Draft = { name: '', type: 'prometheus', url: '', auth: 'none', username: '', password: '', token: '', timeout: '', isDefault: false };

function draftBody(d: Draft, editing: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (!editing) {
    body.name = d.name.trim();
    body.type = d.type;
  }
  if (d.type !== 'demo' && d.url.trim()) body.url = d.url.trim();
  if (d.auth === 'basic') body.auth = { type: 'basic', username: d.username, password: d.password };
  else if (d.auth === 'bearer') body.auth = { type: 'bearer', token: d.token };
  else if (editing) body.auth = null;
  if (d.timeout.trim()) body.timeout_seconds = Number(d.timeout);
  body.default = d.isDefault;
  return body;
}

/** /datasources: Prometheus-compatible, Loki and demo sources; add, edit (credentials are write-only), test. */
export function DataSourcesPage() {
  const { session } = useSession();
  const admin = can(session, 'admin');
  const list = useResource('datasources', () => send<{ datasources: DataSource[] }>('GET', '/api/v1/datasources'));
  const [draft, setDraft] = useState<Draft | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const save = useAction();
  const [tests, setTests] = useState<Record<string, { ok: boolean; text: string }>>({});
  const test = useAction();

  const runTest = async (name: string) => {
    await test.run(async () => {
      try {
        const r = await send<{ latency_ms: number; detail: string }>('POST', `/api/v1/datasources/${encodeURIComponent(name)}/test`);
        setTests((t) => ({ ...t, [name]: { ok: true, text: `OK in ${r.latency_ms} ms — ${r.detail}` } }));
      } catch (failure) {
        setTests((t) => ({ ...t, [name]: { ok: false, text: failure instanceof Error ? failure.message : String(failure) } }));
      }
    });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft) return;
    const ok = await save.run(async () => {
      if (editing) await send('PATCH', `/api/v1/datasources/${encodeURIComponent(editing)}`, draftBody(draft, true));
      else await send('POST', '/api/v1/datasources', draftBody(draft, false));
    });
    if (ok) {
      const name = editing ?? draft.name.trim();
      setDraft(null);
      setEditing(null);
      await list.reload();
      await runTest(name);
    }
  };

  const remove = async (name: string) => {
    if (!window.confirm(`Delete data source ${name}?`)) return;
    if (await save.run(() => send('DELETE', `/api/v1/datasources/${encodeURIComponent(name)}`))) await list.reload();
  };

  const sources = list.data?.datasources ?? [];
  return (
    <section className="datasources">
      <div className="page-head">
        <h1>Data sources</h1>
        {admin && !draft && <button type="button" className="button" onClick={() => { setDraft({ ...EMPTY }); setEditing(null); }}>Add data source</button>}
      </div>
      <p className="muted">Prometheus, VictoriaMetrics, Thanos and Mimir (their Prometheus HTTP API), Loki for logs, and the synthetic <code>demo</code> fleet. Also declared with <code>firewatch apply</code> under <code>datasources:</code>.</p>
      {list.error && <p className="error" role="alert">{list.error}</p>}
      {save.error && <p className="error" role="alert">{save.error}</p>}
      {draft && (
        <form className="card form" onSubmit={submit} aria-label={editing ? `Edit ${editing}` : 'New data source'}>
          {!editing && (
            <>
              <label className="field"><span>Name</span><input required value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} maxLength={100} pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*" /></label>
              <label className="field"><span>Type</span>
                <select value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value })}>
                  <option value="prometheus">Prometheus-compatible</option><option value="loki">Loki</option><option value="demo">Demo (synthetic)</option>
                </select>
              </label>
            </>
          )}
          {draft.type !== 'demo' && (
            <label className="field"><span>URL</span><input type="url" required={!editing} value={draft.url} onChange={(e) => setDraft({ ...draft, url: e.target.value })} placeholder="http://prometheus:9090" /></label>
          )}
          {draft.type !== 'demo' && (
            <label className="field"><span>Authentication</span>
              <select value={draft.auth} onChange={(e) => setDraft({ ...draft, auth: e.target.value as Draft['auth'] })}>
                <option value="none">None</option><option value="basic">Basic</option><option value="bearer">Bearer token</option>
              </select>
            </label>
          )}
          {draft.auth === 'basic' && (
            <>
              <label className="field"><span>Username</span><input required value={draft.username} onChange={(e) => setDraft({ ...draft, username: e.target.value })} /></label>
              <label className="field"><span>Password</span><input type="password" value={draft.password} onChange={(e) => setDraft({ ...draft, password: e.target.value })} autoComplete="new-password" /></label>
            </>
          )}
          {draft.auth === 'bearer' && <label className="field"><span>Token</span><input type="password" required value={draft.token} onChange={(e) => setDraft({ ...draft, token: e.target.value })} autoComplete="off" /></label>}
          {draft.type !== 'demo' && <label className="field"><span>Timeout (s)</span><input type="number" min={1} max={300} value={draft.timeout} onChange={(e) => setDraft({ ...draft, timeout: e.target.value })} placeholder="30" /></label>}
          <label className="checkbox"><input type="checkbox" checked={draft.isDefault} onChange={(e) => setDraft({ ...draft, isDefault: e.target.checked })} /> Default for charts and rules</label>
          {editing && <p className="muted">Credentials are stored encrypted and never shown; enter them again to keep authentication.</p>}
          <div className="actions">
            <button type="submit" className="button" disabled={save.busy}>{save.busy ? 'Saving…' : 'Save and test'}</button>
            <button type="button" className="button secondary" onClick={() => { setDraft(null); setEditing(null); }}>Cancel</button>
          </div>
        </form>
      )}
      {list.loading && !list.data ? <p className="muted">Loading…</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th>Name</th><th>Type</th><th>URL</th><th>Auth</th><th>Status</th>{admin && <th />}</tr></thead>
            <tbody>
              {sources.map((d) => (
                <tr key={d.name}>
                  <td data-label="Name"><strong>{d.name}</strong>{d.default && <span className="badge"> default</span>}{d.builtin && <span className="badge"> built-in, synthetic</span>}</td>
                  <td data-label="Type">{d.type === 'demo' ? 'demo (synthetic data)' : d.type}</td>
                  <td data-label="URL">{d.url ?? <span className="muted">—</span>}</td>
                  <td data-label="Auth">{d.auth ? `${d.auth.type}${d.auth.username ? ` (${d.auth.username})` : ''}` : 'none'}</td>
                  <td data-label="Status">
                    {tests[d.name] ? <span className={tests[d.name].ok ? 'ok' : 'error'} role={tests[d.name].ok ? undefined : 'alert'}>{tests[d.name].text}</span> : <span className="muted">not tested</span>}
                  </td>
                  {admin && (
                    <td className="actions">
                      <button type="button" className="button small secondary" disabled={test.busy} onClick={() => void runTest(d.name)}>Test</button>
                      {!d.builtin && (
                        <>
                          <button type="button" className="button small secondary" onClick={() => {
                            setEditing(d.name);
                            setDraft({ ...EMPTY, name: d.name, type: d.type, url: d.url ?? '', auth: d.auth?.type ?? 'none', username: d.auth?.username ?? '', timeout: d.timeout_seconds?.toString() ?? '', isDefault: d.default });
                          }}>Edit</button>
                          <button type="button" className="button small danger" onClick={() => void remove(d.name)}>Delete</button>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
