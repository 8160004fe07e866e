import { useEffect } from 'react';
import { api } from '../api.ts';
import { Countdown } from '../components/Time.tsx';
import { useResource } from '../components/useResource.ts';
import { formatDateTime, formatDayTime, formatSpan } from '../format.ts';
import { useLiveRefresh } from '../live.ts';
import { Link } from '../router.tsx';
import { can, useSession } from '../session.ts';
import type { Member, OnCallOverview } from '../types.ts';

type ScheduleNow = OnCallOverview['schedules'][number];
const REFRESH_MS = 60_000;

/** Who is on call now on every schedule, until when, who comes next, and the gaps of the coming week. */
export function OnCallPage() {
  const { session } = useSession();
  const overview = useResource('oncall', () => api.onCallNow());
  const { reload } = overview;

  // Hand-offs happen on their own; refetch every minute and after reconnecting.
  useEffect(() => {
    const timer = setInterval(() => void reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  useLiveRefresh(() => false, () => void reload());

  const withProblems = overview.data?.schedules.filter((s) => s.problems.length > 0).length ?? 0;
  return (
    <section>
      <div className="page-head">
        <h1>On call now</h1>
        <div className="actions">
          <Link to="/schedules" className="button small ghost">All schedules</Link>
          {can(session, 'responder') && <Link to="/notifications/dead-letters" className="button small ghost">Dead letters</Link>}
        </div>
      </div>
      {overview.error && <p className="error" role="alert">{overview.error}</p>}
      {overview.loading && <p className="muted" aria-busy="true">Loading who is on call…</p>}
      {overview.data && overview.data.schedules.length === 0 && (
        <div className="empty-state"><p>No schedules yet. <Link to="/schedules">Create one</Link>, or apply a YAML file with a <code>schedules:</code> section.</p></div>
      )}
      {withProblems > 0 && (
        <p className="warning-box" role="status">{withProblems === 1 ? 'One schedule needs' : `${withProblems} schedules need`} attention: nobody is on call at some point this week.</p>
      )}
      <ul className="card-list oncall-list">
        {overview.data?.schedules.map((entry) => (
          <OnCallCard key={entry.schedule.id} entry={entry} />
        ))}
      </ul>
    </section>
  );
}

function Members(props: { members: Member[] }) {
  if (props.members.length === 0) return <span className="nobody">Nobody</span>;
  return (
    <span className="members">
      {props.members.map((m, i) => (
        <span key={m.id}>{i > 0 && ', '}<strong className="member-name">{m.name}</strong></span>
      ))}
    </span>
  );
}

function OnCallCard(props: { entry: ScheduleNow }) {
  const { entry } = props;
  const { schedule } = entry;
  const handOff = useResource(`handoff:${schedule.name}:${entry.until ?? ''}`, async () => {
    if (!entry.until) return null;
    // Who takes over is not in /oncall's answer: it is the final entry that starts at `until`.
    const from = new Date(entry.until);
    const rendered = await api.renderSchedule(schedule.name, from, new Date(from.getTime() + 60_000));
    return rendered.final[0] ?? null;
  });
  const problem = entry.problems.length > 0;
  return (
    <li className={`card oncall-card${problem ? ' has-problem' : ''}`} data-schedule={schedule.name}>
      <div className="service-head">
        <h2><Link to={`/schedules/${encodeURIComponent(schedule.name)}`}>{schedule.name}</Link></h2>
        <span className="muted small">{schedule.time_zone}</span>
      </div>
      <div className="oncall-now">
        <span className="muted">On call now</span>
        <span className="oncall-who" data-testid="oncall-now"><Members members={entry.members} /></span>
        {entry.source.type === 'override' && <span className="badge override-badge">override</span>}
      </div>
      <div className="oncall-until small">
        {entry.until ? (
          <>
            until <time dateTime={entry.until} title={formatDateTime(entry.until)}>{formatDayTime(entry.until)}</time> (<Countdown value={entry.until} overdue="changing now" />)
            {handOff.data && (
              <> · then <span className="oncall-next"><Members members={handOff.data.members} /></span></>
            )}
          </>
        ) : (
          <span className="muted">no change in the next 90 days</span>
        )}
      </div>
      {entry.gaps.length > 0 && (
        <div className="warning-box gaps">
          <strong>Nobody on call in the next 7 days:</strong>
          <ul>
            {entry.gaps.map((gap) => <li key={gap.start}>{formatSpan(gap.start, gap.end)}</li>)}
          </ul>
        </div>
      )}
      {entry.problems.filter((p) => !p.startsWith('nobody is on call from')).map((p) => (
        <p key={p} className="warning-text small">{p[0].toUpperCase() + p.slice(1)}.</p>
      ))}
    </li>
  );
}
