import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { api } from '../api.ts';
import { useLiveRefresh } from '../live.ts';
import { Link } from '../router.tsx';
import type { EscalationState, Incident, NotificationRecord } from '../types.ts';
import { formatDateTime, formatTimeWithSeconds } from '../format.ts';
import { NotificationStatusBadge } from './Badges.tsx';
import { Countdown, Time, useNow } from './Time.tsx';
import { useAction } from './useAction.ts';
import { useResource } from './useResource.ts';
import { UserChooser } from './UserChooser.tsx';
import { useUsers } from './useUsers.ts';

const SNOOZES = [
  { seconds: 15 * 60, label: '15 min' },
  { seconds: 60 * 60, label: '1 h' },
  { seconds: 4 * 60 * 60, label: '4 h' },
];

/**
 * The incident's escalation: policy, level, who is assigned, the next step with a live countdown, snooze
 * and silence state, every notification and its delivery; and (for responders) the manual actions.
 */
export function IncidentOnCall(props: { incident: Incident; mayRespond: boolean; onChanged: () => Promise<void> }) {
  const { incident } = props;
  const oncall = useResource(`oncall:${incident.number}`, () => api.incidentOnCall(incident.number));
  const { reload } = oncall;
  // Reloads (keeping what it shows meanwhile) whenever the incident changes: acknowledged, resolved, snoozed…
  const version = `${incident.status}:${incident.updated_at}`;
  const loadedFor = useRef(version);
  useEffect(() => {
    if (loadedFor.current === version) return;
    loadedFor.current = version;
    void reload();
  }, [version, reload]);
  // …and when its timeline grows (each notification attempt is an entry).
  useLiveRefresh(
    (event) => (event.type === 'incident.changed' ? event.incident.number === incident.number : event.type === 'timeline.appended' && event.incident_number === incident.number),
    () => void reload(),
  );

  return (
    <section className="panel oncall-panel" aria-labelledby="oncall-heading">
      <h2 id="oncall-heading">On call</h2>
      {oncall.error && <p className="error" role="alert">{oncall.error}</p>}
      {oncall.loading && <p className="muted" aria-busy="true">Loading escalation…</p>}
      {oncall.data && (
        <>
          <EscalationFacts escalation={oncall.data.escalation} incident={incident} />
          {props.mayRespond && incident.status !== 'resolved' && (
            <EscalationActions
              incident={incident}
              onDone={async () => {
                await Promise.all([oncall.reload(), props.onChanged()]);
              }}
            />
          )}
          <h3 className="subheading">Notifications <span className="count">{oncall.data.notifications.length}</span></h3>
          <NotificationsTable notifications={oncall.data.notifications} />
        </>
      )}
    </section>
  );
}

function EscalationFacts(props: { escalation: EscalationState; incident: Incident }) {
  const { escalation, incident } = props;
  const now = useNow(1000);
  const snoozed = escalation.snoozed_until && incident.status === 'acknowledged' && new Date(escalation.snoozed_until).getTime() > now;
  return (
    <dl className="facts oncall-facts">
      <div>
        <dt>Escalation policy</dt>
        <dd>
          {escalation.policy
            ? <Link to={`/escalation-policies/${encodeURIComponent(escalation.policy.name)}`}>{escalation.policy.name}</Link>
            : <span className="warning-text">None: nobody is paged for this service</span>}
        </dd>
      </div>
      <div>
        <dt>Level</dt>
        <dd data-testid="escalation-level">
          {escalation.level === null ? <span className="muted">not yet paged</span> : <>Level {escalation.level} of {escalation.levels}</>}
          {escalation.repeat > 0 && <span className="muted small"> · pass {escalation.loop + 1} of {escalation.repeat + 1}</span>}
        </dd>
      </div>
      <div>
        <dt>Assigned to</dt>
        <dd className="assignees">
          {escalation.assignees.length === 0 ? <span className="muted">nobody</span> : escalation.assignees.map((a) => a.name).join(', ')}
        </dd>
      </div>
      <div>
        <dt>Next escalation</dt>
        <dd className="next-step">
          {escalation.next ? (
            <>
              Level {escalation.next.level} at <time dateTime={escalation.next.due_at} title={formatDateTime(escalation.next.due_at)}>{formatTimeWithSeconds(escalation.next.due_at)}</time>
              {' · '}<strong><Countdown value={escalation.next.due_at} /></strong>
            </>
          ) : (
            <span className="muted">{nextStepAbsence(incident, escalation)}</span>
          )}
        </dd>
      </div>
      {snoozed && (
        <div>
          <dt>Snoozed</dt>
          <dd className="snoozed">until <Time value={escalation.snoozed_until} absolute /> (<Countdown value={escalation.snoozed_until!} />)</dd>
        </div>
      )}
      {escalation.suppressed_by && (
        <div>
          <dt>Silenced</dt>
          <dd className="warning-text">Notifications held by a silence</dd>
        </div>
      )}
    </dl>
  );
}

function nextStepAbsence(incident: Incident, escalation: EscalationState): string {
  if (incident.status === 'resolved') return 'none: resolved';
  if (incident.status === 'acknowledged') return 'none: acknowledged';
  if (!escalation.policy) return 'none';
  if (escalation.level !== null && escalation.level >= escalation.levels) return 'none: last level reached';
  return 'none scheduled';
}

type Form = 'responders' | 'reassign' | null;

function EscalationActions(props: { incident: Incident; onDone: () => Promise<void> }) {
  const { incident } = props;
  const { busy, error, run } = useAction();
  const [form, setForm] = useState<Form>(null);
  const [done, setDone] = useState<string | null>(null);

  const act = async (what: () => Promise<unknown>, message: string) => {
    setDone(null);
    if (await run(async () => {
      await what();
      await props.onDone();
    })) setDone(message);
  };

  return (
    <div className="oncall-actions">
      <div className="actions">
        {incident.status === 'triggered' && (
          <button type="button" className="button" disabled={busy} onClick={() => act(() => api.escalateNow(incident.number), 'Escalated to the next level.')}>
            Escalate now
          </button>
        )}
        <div className="button-group" role="group" aria-label="Snooze">
          <span className="button-group-label">Snooze</span>
          {SNOOZES.map((s) => (
            <button key={s.seconds} type="button" className="button small" disabled={busy} onClick={() => act(() => api.snooze(incident.number, s.seconds), `Snoozed for ${s.label}.`)}>
              {s.label}
            </button>
          ))}
        </div>
        <button type="button" className="button" aria-expanded={form === 'responders'} onClick={() => setForm(form === 'responders' ? null : 'responders')}>Page a responder</button>
        <button type="button" className="button" aria-expanded={form === 'reassign'} onClick={() => setForm(form === 'reassign' ? null : 'reassign')}>Reassign</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {done && <p className="confirmation" role="status">{done}</p>}
      {form && (
        <PeopleForm
          key={form}
          kind={form}
          onCancel={() => setForm(null)}
          onSubmit={async (users, message) => {
            await act(
              () => (form === 'reassign' ? api.reassign(incident.number, users) : api.pageResponders(incident.number, users, message)),
              form === 'reassign' ? 'Reassigned; the new assignees are being paged.' : 'Paged.',
            );
            setForm(null);
          }}
        />
      )}
    </div>
  );
}

function PeopleForm(props: { kind: 'responders' | 'reassign'; onCancel: () => void; onSubmit: (users: string[], message: string) => Promise<void> }) {
  const { users, error: usersError } = useUsers();
  const [chosen, setChosen] = useState<string[]>([]);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (chosen.length === 0) return;
    setBusy(true);
    await props.onSubmit(chosen, message.trim());
    setBusy(false);
  };
  const title = props.kind === 'reassign' ? 'Reassign to' : 'Page';
  return (
    <form className="people-form" onSubmit={submit} aria-label={props.kind === 'reassign' ? 'Reassign' : 'Page a responder'}>
      {usersError && <p className="error" role="alert">{usersError}</p>}
      <div className="field">
        <span>{title}</span>
        <UserChooser users={users} value={chosen} onChange={setChosen} label={title} name={`${props.kind}-user`} />
      </div>
      {props.kind === 'responders' && (
        <label className="field">
          <span>Message <span className="muted small">(optional)</span></span>
          <input name="responder-message" value={message} maxLength={1000} onChange={(e) => setMessage(e.target.value)} placeholder="Need a DBA on the primary" />
        </label>
      )}
      <div className="actions">
        <button type="submit" className="button primary" disabled={busy || chosen.length === 0}>
          {props.kind === 'reassign' ? 'Reassign' : 'Page now'}
        </button>
        <button type="button" className="button ghost" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}

const CHANNEL_NAMES: Record<string, string> = { email: 'Email', webhook: 'Webhook', in_app: 'In-app' };

export function channelName(channel: string): string {
  return CHANNEL_NAMES[channel] ?? channel;
}

/** Each notification with its delivery: who, how, where, how it went. */
export function NotificationsTable(props: { notifications: NotificationRecord[]; showIncident?: boolean; renderActions?: (n: NotificationRecord) => ReactNode }) {
  if (props.notifications.length === 0) return <p className="muted">No notifications.</p>;
  return (
    <div className="table-scroll">
      <table className="notifications stacked">
        <thead>
          <tr>
            {props.showIncident && <th scope="col">Incident</th>}
            <th scope="col">Who</th>
            <th scope="col">Channel</th>
            <th scope="col">Address</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">Attempts</th>
            <th scope="col">Last error</th>
            <th scope="col">When</th>
            {props.renderActions && <th scope="col"><span className="visually-hidden">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {props.notifications.map((n) => (
            <tr key={n.id} data-status={n.status} data-channel={n.channel}>
              {props.showIncident && (
                <td data-label="Incident">{n.incident_number ? <Link to={`/incidents/${n.incident_number}`}>#{n.incident_number}</Link> : <span className="muted">—</span>}</td>
              )}
              <td data-label="Who" className="c-who">{n.user?.name ?? <span className="muted">deleted user</span>}</td>
              <td data-label="Channel">{channelName(n.channel)}</td>
              <td data-label="Address" className="c-address">{n.channel === 'in_app' ? <span className="muted">Firewatch inbox</span> : n.address}</td>
              <td data-label="Status"><NotificationStatusBadge status={n.status} /></td>
              <td data-label="Attempts" className="num">{n.attempts}</td>
              <td data-label="Last error" className="c-error">{n.last_error ?? <span className="muted">—</span>}</td>
              <td data-label="When">
                {n.sent_at ? <>sent <Time value={n.sent_at} /></> : n.status === 'pending' || n.status === 'failed'
                  ? <>due <Time value={n.due_at} absolute /></>
                  : <Time value={n.created_at} />}
              </td>
              {props.renderActions && <td data-label="">{props.renderActions(n)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
