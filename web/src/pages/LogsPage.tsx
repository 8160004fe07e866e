import { type FormEvent, useEffect, useRef, useState } from 'react';
import { send } from '../api.ts';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { can, useSession } from '../session.ts';

export interface LogLineView {
  id: string;
  time: string;
  host: string | null;
  app: string | null;
  service: string | null;
  severity: string | null;
  message: string;
  dashboard_url: string | null;
}

const RANGES = [
  { value: 'now-15m', label: 'Last 15 minutes' },
  { value: 'now-1h', label: 'Last hour' },
  { value: 'now-6h', label: 'Last 6 hours' },
  { value: 'now-24h', label: 'Last 24 hours' },
  { value: 'now-7d', label: 'Last 7 days' },
];
const TAIL_KEEP = 500;
/** The server's limit (logs.routes.ts MAX_TAILS_PER_PRINCIPAL), named when it refuses a tail. */
const MAX_TAILS = 5;

/** Only our own relative paths become links (the server builds them; anything else stays text). */
const safeDashboard = (url: string | null) => (url && /^\/services\/[^/]+\/dashboard\?/.test(url) ? url : null);

function severityClass(severity: string | null): string {
  if (severity === 'emerg' || severity === 'alert' || severity === 'crit') return 'badge severity-critical';
  if (severity === 'err') return 'badge severity-error';
  if (severity === 'warning') return 'badge severity-warning';
  return 'badge severity-info';
}

/**
 * /logs?q=&from=&to=: search the central log store (terms, "phrases", -negation, host: app: service: severity:),
 * live tail over Server-Sent Events, and share a result into a war-room channel.
 */
export function LogsPage() {
  const { session } = useSession();
  const { search } = useLocation();
  const q = search.get('q') ?? '';
  const from = search.get('from') ?? 'now-1h';
  const to = search.get('to') ?? '';
  const [draft, setDraft] = useState(q);
  const [draftFrom, setDraftFrom] = useState(from);
  const [tailing, setTailing] = useState(false);
  const [tail, setTail] = useState<LogLineView[]>([]);
  /** Set by "Resume" after the tail stopped: reconnect after the last line shown (`after_seq`), for this search only. */
  const [resume, setResume] = useState<{ q: string; seq: string } | null>(null);
  const [tailError, setTailError] = useState<string | null>(null);
  const [tailStopped, setTailStopped] = useState(false);
  const [tailGap, setTailGap] = useState<string | null>(null);
  const [seen, setSeen] = useState(`${q}|${from}`);
  if (seen !== `${q}|${from}`) {
    setSeen(`${q}|${from}`);
    setDraft(q);
    setDraftFrom(from);
    setTail([]);
    setResume(null);
    setTailGap(null);
  }
  /** The seq of the last `lines` event (its id), for a manual resume. */
  const lastSeq = useRef<string | null>(null);
  const [channel, setChannel] = useState('');
  const [shared, setShared] = useState<string | null>(null);
  const share = useAction();
  const source = useRef<EventSource | null>(null);

  const params = new URLSearchParams({ q, from, limit: '200' });
  if (to) params.set('to', to);
  const result = useResource(`logs|${params.toString()}`, () =>
    send<{ lines: LogLineView[]; truncated: boolean; from: string; to: string }>('GET', `/api/v1/logs/search?${params.toString()}`));

  useEffect(() => {
    if (!tailing) return;
    const tailParams = new URLSearchParams({ q });
    if (resume && resume.q === q && resume.seq) tailParams.set('after_seq', resume.seq);
    else lastSeq.current = null; // a new search's tail starts at the newest line
    // On its own reconnects the browser sends Last-Event-ID (the id of the last event): the server then sends
    // the lines matched meanwhile first (the newest ones, with a `gap` event if there were too many).
    const es = new EventSource(`/api/v1/logs/tail?${tailParams.toString()}`, { withCredentials: true });
    source.current = es;
    es.addEventListener('lines', (event) => {
      const message = event as MessageEvent<string>;
      if (message.lastEventId) lastSeq.current = message.lastEventId;
      const data = JSON.parse(message.data) as { lines: LogLineView[] };
      setTail((previous) => [...data.lines.toReversed(), ...previous].slice(0, TAIL_KEEP));
    });
    es.addEventListener('gap', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { max_lines: number };
      setTailGap(`Lines were left out while the live tail was disconnected (only the newest ${data.max_lines} are replayed); search the time range to see them all.`);
    });
    es.addEventListener('error', (event) => {
      // The server's own `error` event (reading lines failed) carries data; a lost connection does not.
      if (event instanceof MessageEvent && typeof event.data === 'string') {
        setTailError(`The live tail could not read lines: ${(JSON.parse(event.data) as { message: string }).message}`);
      } else if (es.readyState === EventSource.CLOSED) {
        setTailStopped(true);
        setTailError(`The live tail stopped: the server refused it (at most ${MAX_TAILS} live tails at once; close one in another tab) or the session ended.`);
      } else {
        setTailError('The live tail lost its connection; it reconnects by itself and then sends the lines it missed.');
      }
    });
    es.addEventListener('open', () => {
      setTailError(null);
      setTailStopped(false);
    });
    return () => {
      es.close();
      source.current = null;
    };
  }, [tailing, q, resume]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams({ q: draft.trim(), from: draftFrom });
    navigate(`/logs?${next.toString()}`, { replace: true });
  };

  const doShare = async (e: FormEvent) => {
    e.preventDefault();
    setShared(null);
    await share.run(async () => {
      const r = await send<{ channel: string; lines: number }>('POST', '/api/v1/logs/share', { q, from, ...(to ? { to } : {}), channel: channel.trim() });
      setShared(`Posted ${r.lines} line${r.lines === 1 ? '' : 's'} to #${r.channel}.`);
    });
  };

  const lines = tailing ? tail : result.data?.lines ?? [];

  return (
    <section className="logs">
      <div className="page-head"><h1>Logs</h1></div>
      <form className="filters" onSubmit={submit} role="search">
        <label className="field grow">
          <span>Search</span>
          <input type="search" name="q" value={draft} onChange={(e) => setDraft(e.target.value)} maxLength={2000}
            placeholder={'error host:web-1 -"health check" severity:>=warning'} />
        </label>
        <label className="field">
          <span>Time</span>
          <select value={draftFrom} onChange={(e) => setDraftFrom(e.target.value)}>
            {RANGES.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
            {!RANGES.some((r) => r.value === draftFrom) && <option value={draftFrom}>From {draftFrom}</option>}
          </select>
        </label>
        <button type="submit" className="button">Search</button>
        <label className="field">
          <span>Live tail</span>
          <input type="checkbox" checked={tailing} onChange={(e) => {
            setTail([]);
            setTailError(null);
            setTailStopped(false);
            setTailGap(null);
            setResume(null);
            lastSeq.current = null;
            setTailing(e.target.checked);
          }} />
        </label>
      </form>
      {result.error && !tailing && <p className="error" role="alert">{result.error}</p>}
      {tailError && tailing && (
        <p className="muted" role="status">
          {tailError}
          {tailStopped && (
            <> <button type="button" className="button" onClick={() => {
              setTailStopped(false);
              setTailError(null);
              setResume({ q, seq: lastSeq.current ?? '' });
            }}>Resume</button></>
          )}
        </p>
      )}
      {tailGap && tailing && <p className="muted" role="status">{tailGap}</p>}
      {tailing ? (
        <p className="muted small" role="status">Showing new lines matching the search as they arrive (newest first, last {TAIL_KEEP}).</p>
      ) : result.data ? (
        <p className="muted small">
          {result.data.lines.length}{result.data.truncated ? '+' : ''} line{result.data.lines.length === 1 ? '' : 's'}, newest first
          {result.data.truncated ? ' (narrow the search or the time range to see older ones)' : ''}
        </p>
      ) : null}
      {!tailing && result.loading ? <p className="muted">Loading…</p> : lines.length === 0 ? (
        <p className="empty-state">{tailing ? 'Waiting for lines…' : 'No log lines match. Send logs over syslog (port 5514), POST /api/v1/logs or the Loki push API.'}</p>
      ) : (
        <div className="table-wrap">
          <table className="table logs-table">
            <thead><tr><th>Time</th><th>Host</th><th>App</th><th>Severity</th><th>Message</th><th><span className="visually-hidden">Dashboard</span></th></tr></thead>
            <tbody>
              {lines.map((l) => {
                const dashboard = safeDashboard(l.dashboard_url);
                return (
                  <tr key={l.id}>
                    <td data-label="Time" className="mono small" style={{ whiteSpace: 'nowrap' }}><time dateTime={l.time}>{l.time.replace('T', ' ').replace('Z', '')}</time></td>
                    <td data-label="Host" className="mono small">{l.host ?? ''}</td>
                    <td data-label="App" className="mono small">{l.app ?? ''}{l.service && l.service !== l.app ? <span className="muted"> ({l.service})</span> : null}</td>
                    <td data-label="Severity">{l.severity && <span className={severityClass(l.severity)}>{l.severity}</span>}</td>
                    <td data-label="Message" className="mono small" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>{l.message}</td>
                    <td>{dashboard && <Link to={dashboard} className="small">Dashboard</Link>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {can(session, 'responder') && (
        <form className="filters" onSubmit={doShare} aria-label="Share to a channel">
          <label className="field">
            <span>Share this search to channel</span>
            <input value={channel} onChange={(e) => setChannel(e.target.value)} placeholder="inc-42" maxLength={200} required />
          </label>
          <button type="submit" className="button" disabled={share.busy || !channel.trim()}>Share</button>
          {share.error && <p className="error" role="alert">{share.error}</p>}
          {shared && <p className="muted" role="status">{shared}</p>}
        </form>
      )}
    </section>
  );
}
