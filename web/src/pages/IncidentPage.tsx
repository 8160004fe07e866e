import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, errorText } from '../api.ts';
import { IncidentStream } from '../chat/IncidentStream.tsx';
import { NotificationStatusBadge, SeverityBadge, StatusBadge, UrgencyBadge } from '../components/Badges.tsx';
import { ExternalLink } from '../components/ExternalLink.tsx';
import { channelName, IncidentOnCall } from '../components/IncidentOnCall.tsx';
import { IncidentTelemetry } from '../components/IncidentTelemetry.tsx';
import { Time } from '../components/Time.tsx';
import { useAction } from '../components/useAction.ts';
import { humanize } from '../format.ts';
import { useLiveRefresh } from '../live.ts';
import { Link } from '../router.tsx';
import { can, useSession } from '../session.ts';
import type { Alert, Incident, IncidentDetail, TimelineEntry } from '../types.ts';

type Load = { kind: 'loading' } | { kind: 'missing' } | { kind: 'failed'; message: string } | { kind: 'ready'; detail: IncidentDetail };

async function fetchIncident(number: number): Promise<Load> {
  try {
    return { kind: 'ready', detail: await api.getIncident(number) };
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 404) return { kind: 'missing' };
    return { kind: 'failed', message: errorText(failure) };
  }
}

/** A failed live refetch keeps the page as it was (the next event or reconnect tries again). */
function keepShownOnFailure(previous: Load, next: Load): Load {
  return next.kind === 'failed' && previous.kind === 'ready' ? previous : next;
}

export function IncidentPage(props: { number: number }) {
  const { number } = props;
  const { session } = useSession();
  const [load, setLoad] = useState<Load>({ kind: 'loading' });
  const [pending, setPending] = useState<'acknowledge' | 'resolve' | null>(null);
  const { busy, error: actionError, run } = useAction();

  const refresh = useCallback(async () => {
    const next = await fetchIncident(number);
    setLoad((previous) => keepShownOnFailure(previous, next));
  }, [number]);

  useEffect(() => {
    let active = true;
    fetchIncident(number).then((next) => active && setLoad(next));
    return () => {
      active = false;
    };
  }, [number]);

  useLiveRefresh(
    (event) => (event.type === 'incident.changed' ? event.incident.number === number : event.type === 'timeline.appended' && event.incident_number === number),
    () => void refresh(),
  );

  useEffect(() => {
    if (load.kind === 'ready') document.title = `#${number} ${load.detail.incident.title} · Firewatch`;
    return () => {
      document.title = 'Firewatch';
    };
  }, [load, number]);

  const act = async (action: 'acknowledge' | 'resolve') => {
    setPending(action);
    await run(async () => {
      const { incident } = await api[action](number);
      setLoad((previous) => (previous.kind === 'ready' ? { kind: 'ready', detail: { ...previous.detail, incident } } : previous));
      await refresh();
    });
    setPending(null);
  };

  if (load.kind === 'loading') return <p className="muted" aria-busy="true">Loading incident #{number}…</p>;
  if (load.kind === 'missing') {
    return (
      <section className="empty-state">
        <h1>Incident #{number} not found</h1>
        <p><Link to="/incidents">Back to incidents</Link></p>
      </section>
    );
  }
  if (load.kind === 'failed') return <p className="error" role="alert">{load.message}</p>;

  const { incident, alerts, timeline } = load.detail;
  const mayRespond = can(session, 'responder');

  return (
    <article className="incident">
      <p className="breadcrumb"><Link to="/incidents">← Incidents</Link></p>
      <header className="incident-head">
        <div className="incident-title">
          <h1>
            <span className="incident-number">#{incident.number}</span> {incident.title}
          </h1>
          <div className="badges">
            <StatusBadge status={incident.status} />
            <UrgencyBadge urgency={incident.urgency} />
          </div>
        </div>
        {mayRespond && incident.status !== 'resolved' && (
          <div className="actions">
            {incident.status === 'triggered' && (
              <button type="button" className="button warn" disabled={busy} onClick={() => act('acknowledge')}>
                {pending === 'acknowledge' ? 'Acknowledging…' : 'Acknowledge'}
              </button>
            )}
            <button type="button" className="button success" disabled={busy} onClick={() => act('resolve')}>
              {pending === 'resolve' ? 'Resolving…' : 'Resolve'}
            </button>
          </div>
        )}
      </header>
      {actionError && <p className="error" role="alert">{actionError}</p>}

      <IncidentFacts incident={incident} />

      <IncidentOnCall incident={incident} mayRespond={mayRespond} onChanged={refresh} />
      <IncidentTelemetry number={number} />

      <section className="panel">
        <h2>Alerts <span className="count">{alerts.length}</span></h2>
        <AlertsTable alerts={alerts} />
      </section>

      <IncidentStream
        number={number}
        timeline={timeline}
        mayRespond={mayRespond}
        renderEntry={(entry) => <TimelineItem key={entry.id} entry={entry} />}
        addNote={async (text) => {
          await api.addNote(number, text);
          await refresh();
        }}
      />
    </article>
  );
}

function IncidentFacts(props: { incident: Incident }) {
  const { incident } = props;
  return (
    <dl className="facts">
      <div>
        <dt>Service</dt>
        <dd><Link to={`/incidents?status=all&service=${encodeURIComponent(incident.service.name)}`}>{incident.service.name}</Link></dd>
      </div>
      <div>
        <dt>Opened</dt>
        <dd><Time value={incident.created_at} absolute /></dd>
      </div>
      <div>
        <dt>Acknowledged</dt>
        <dd><WhoWhen at={incident.acknowledged_at} by={incident.acknowledged_by} /></dd>
      </div>
      <div>
        <dt>Resolved</dt>
        <dd><WhoWhen at={incident.resolved_at} by={incident.resolved_by} /></dd>
      </div>
      <div>
        <dt>Last change</dt>
        <dd><Time value={incident.updated_at} /></dd>
      </div>
    </dl>
  );
}

/** "3 minutes ago by Ana", or "not yet". */
function WhoWhen(props: { at: string | null; by: string | null }) {
  if (!props.at) return <span className="muted">not yet</span>;
  return (
    <>
      <Time value={props.at} /> {props.by && <>by <strong>{props.by}</strong></>}
    </>
  );
}

interface AlertLink {
  href: unknown;
  text: string;
}

/**
 * Links as the source sent them. Only http(s) URLs become clickable (ExternalLink); others show as text,
 * so a responder still sees that the sender meant to link something.
 */
function linksOf(alert: Alert): AlertLink[] {
  const links: AlertLink[] = [];
  for (const raw of alert.links) {
    const link = raw as { href?: unknown; text?: unknown } | null;
    if (!link || typeof link !== 'object') continue;
    const text = typeof link.text === 'string' && link.text.trim() ? link.text : typeof link.href === 'string' ? link.href : '';
    if (text) links.push({ href: link.href, text });
  }
  if (alert.client_url || alert.client) links.push({ href: alert.client_url, text: alert.client || 'Source' });
  return links;
}

function AlertsTable(props: { alerts: Alert[] }) {
  if (props.alerts.length === 0) return <p className="muted">No alerts; this incident was opened by hand.</p>;
  return (
    <div className="table-scroll">
    <table className="alerts">
      <thead>
        <tr>
          <th scope="col">Summary</th>
          <th scope="col">Severity</th>
          <th scope="col">Source</th>
          <th scope="col">Status</th>
          <th scope="col" className="num">Triggers</th>
          <th scope="col">First seen</th>
          <th scope="col">Last seen</th>
          <th scope="col">Links</th>
        </tr>
      </thead>
      <tbody>
        {props.alerts.map((alert) => {
          const links = linksOf(alert);
          return (
            <tr key={alert.id}>
              <td className="c-summary" data-label="Summary">
                <span className="alert-summary">{alert.summary}</span>
                {alert.component && <span className="muted small"> · {alert.component}</span>}
              </td>
              <td data-label="Severity"><SeverityBadge severity={alert.severity} /></td>
              <td data-label="Source" className="c-source">{alert.source}</td>
              <td data-label="Status"><span className={`alert-status alert-${alert.status === 'resolved' ? 'resolved' : 'open'}`}>{alert.status}</span></td>
              <td data-label="Triggers" className="num">{alert.trigger_count}</td>
              <td data-label="First seen"><Time value={alert.first_seen_at} /></td>
              <td data-label="Last seen"><Time value={alert.last_seen_at} /></td>
              <td data-label="Links">
                {links.length === 0 ? <span className="muted">—</span> : (
                  <ul className="link-list">
                    {links.map((link, index) => (
                      <li key={index}><ExternalLink href={link.href}>{link.text}</ExternalLink></li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
    </div>
  );
}

function TimelineItem(props: { entry: TimelineEntry }) {
  const { entry } = props;
  return (
    <li className={`entry entry-${entry.type === 'annotate' ? 'note' : 'event'}`} data-type={entry.type}>
      <div className="entry-meta">
        <span className="entry-type">{humanize(entry.type)}</span>
        <span className="entry-actor">{entry.actor.name}</span>
        <Time value={entry.at} />
      </div>
      <p className="entry-message">{entry.message}</p>
      <EntryDetail entry={entry} />
    </li>
  );
}

const scalarText = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : null);

/** What the new on-call entries carry beyond their message: a delivery's channel and result, the next step. */
function EntryDetail(props: { entry: TimelineEntry }) {
  const { entry } = props;
  const data = (entry.data && typeof entry.data === 'object' ? entry.data : {}) as Record<string, unknown>;
  if (entry.type === 'notify' && scalarText(data.channel)) {
    return (
      <p className="entry-detail">
        {channelName(String(data.channel))}
        {scalarText(data.address) && data.channel !== 'in_app' && <> · <span className="entry-address">{scalarText(data.address)}</span></>}
        {scalarText(data.attempt) && <> · attempt {scalarText(data.attempt)}</>}
        {scalarText(data.result) && <> · <NotificationStatusBadge status={String(data.result)} /></>}
      </p>
    );
  }
  if ((entry.type === 'assign' || entry.type === 'escalate') && scalarText(data.next_at)) {
    return <p className="entry-detail">Next level due <Time value={String(data.next_at)} absolute /></p>;
  }
  return null;
}
