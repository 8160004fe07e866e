import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../api.ts';
import { calendarWindow, type CalendarView, DAY_MS, dateParam, fromLocalInput, parseDateParam, stepDate, toLocalInput, windowLabel } from '../calendar.ts';
import { CalendarFeedBox } from '../components/CalendarFeed.tsx';
import { ScheduleCalendar } from '../components/ScheduleCalendar.tsx';
import { ScheduleEditor } from '../components/ScheduleEditor.tsx';
import { Time, useNow } from '../components/Time.tsx';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { useUsers } from '../components/useUsers.ts';
import { browserTimeZone, formatSpan } from '../format.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { can, useSession } from '../session.ts';
import type { Override, Schedule, ScheduleEntry, Swap } from '../types.ts';

const MAX_GAPS_LISTED = 8;

interface OverrideDraft {
  start: Date;
  end: Date;
  replaces: string;
}

export function SchedulePage(props: { name: string }) {
  const { name } = props;
  const { session } = useSession();
  const mayRespond = can(session, 'responder');
  const isAdmin = can(session, 'admin');
  const { path, search } = useLocation();
  const view: CalendarView = search.get('view') === 'month' ? 'month' : 'week';
  const now = useNow(60_000);
  const date = parseDateParam(search.get('date')) ?? new Date(now);
  const shown = calendarWindow(view, date);

  const schedule = useResource(`schedule:${name}`, async () => (await api.getSchedule(name)).schedule);
  const windowKey = `${name}:${shown.from.toISOString()}:${shown.to.toISOString()}`;
  const rendered = useResource(`render:${windowKey}`, () => api.renderSchedule(name, shown.from, shown.to));
  const overrides = useResource(`overrides:${windowKey}`, async () => (await api.listOverrides(name, shown)).overrides);
  const [draft, setDraft] = useState<OverrideDraft | null>(null);
  const [highlighted, setHighlighted] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);

  const go = (next: { view?: CalendarView; date?: Date }) => {
    const params = new URLSearchParams({ view: next.view ?? view, date: dateParam(next.date ?? date) });
    navigate(`${path}?${params}`, { replace: true });
  };
  const reloadCalendar = async () => {
    await Promise.all([rendered.reload(), overrides.reload()]);
  };

  useEffect(() => {
    document.title = `${name} · Schedules · Firewatch`;
    return () => {
      document.title = 'Firewatch';
    };
  }, [name]);

  if (schedule.error && !schedule.data) {
    return (
      <section>
        <p className="breadcrumb"><Link to="/schedules">← Schedules</Link></p>
        <p className="error" role="alert">{schedule.error}</p>
      </section>
    );
  }
  if (!schedule.data) return <p className="muted" aria-busy="true">Loading schedule…</p>;
  const current = schedule.data;

  const onEntryClick = (entry: ScheduleEntry) => {
    if (entry.source.type === 'override' && entry.source.id) {
      setHighlighted(entry.source.id);
      document.getElementById(`override-${entry.source.id}`)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    } else if (mayRespond) {
      setDraft({ start: new Date(entry.start), end: new Date(entry.end), replaces: entry.members.length === 1 ? entry.members[0].email : '' });
    }
  };

  return (
    <section className="schedule-page">
      <p className="breadcrumb"><Link to="/schedules">← Schedules</Link></p>
      <div className="page-head">
        <div className="min-0">
          <h1>{current.name}</h1>
          {current.description && <p className="muted">{current.description}</p>}
        </div>
        <div className="actions">
          {mayRespond && <button type="button" className="button primary" onClick={() => setDraft({ start: roundedNow(), end: new Date(roundedNow().getTime() + 4 * 3_600_000), replaces: '' })}>Add override</button>}
          {isAdmin && !editing && <button type="button" className="button" onClick={() => setEditing(true)}>Edit layers</button>}
        </div>
      </div>
      <p className="zone-note muted small">
        Times are shown in <strong>{browserTimeZone}</strong> (your browser).{' '}
        {current.time_zone === browserTimeZone ? 'The schedule uses the same zone.' : <>The schedule hands off in <strong>{current.time_zone}</strong>.</>}
      </p>

      {editing && (
        <ScheduleEditor
          schedule={current}
          onCancel={() => setEditing(false)}
          onSaved={async (saved) => {
            setEditing(false);
            if (saved.name !== current.name) navigate(`/schedules/${encodeURIComponent(saved.name)}`, { replace: true });
            else {
              schedule.setData(saved);
              await reloadCalendar();
            }
          }}
        />
      )}

      <div className="calendar-toolbar">
        <div className="segmented" role="group" aria-label="View">
          <button type="button" className="segment" aria-pressed={view === 'week'} onClick={() => go({ view: 'week' })}>Week</button>
          <button type="button" className="segment" aria-pressed={view === 'month'} onClick={() => go({ view: 'month' })}>Month</button>
        </div>
        <div className="calendar-nav">
          <button type="button" className="button small" onClick={() => go({ date: stepDate(view, date, -1) })} aria-label={view === 'week' ? 'Previous week' : 'Previous month'}>←</button>
          <button type="button" className="button small" onClick={() => go({ date: new Date() })}>Today</button>
          <button type="button" className="button small" onClick={() => go({ date: stepDate(view, date, 1) })} aria-label={view === 'week' ? 'Next week' : 'Next month'}>→</button>
        </div>
        <h2 className="calendar-title" aria-live="polite">{windowLabel(view, date)}</h2>
      </div>

      {rendered.error && <p className="error" role="alert">{rendered.error}</p>}
      {rendered.loading && <p className="muted" aria-busy="true">Loading the calendar…</p>}
      {rendered.data && (
        <>
          <ScheduleCalendar
            weeks={shown.weeks}
            rendered={rendered.data}
            now={now}
            month={view === 'month' ? date.getMonth() : undefined}
            onSelectRange={mayRespond ? (start, end) => setDraft({ start, end, replaces: '' }) : undefined}
            onEntryClick={onEntryClick}
          />
          <p className="legend muted small">
            <span className="legend-item"><span className="legend-swatch swatch-override" /> override</span>
            <span className="legend-item"><span className="legend-swatch swatch-gap" /> nobody on call</span>
            <span className="legend-item"><span className="legend-swatch swatch-now" /> now</span>
            {mayRespond && <span>Drag across the final schedule to add an override; click a shift to override it.</span>}
          </p>
          <GapList gaps={rendered.data.gaps} />
        </>
      )}

      {draft && (
        <OverrideForm
          key={`${draft.start.getTime()}-${draft.end.getTime()}`}
          scheduleName={current.name}
          draft={draft}
          onCancel={() => setDraft(null)}
          onSaved={async () => {
            setDraft(null);
            await reloadCalendar();
          }}
        />
      )}

      <OverridesList scheduleName={current.name} overrides={overrides.data} error={overrides.error} highlighted={highlighted} mayDelete={mayRespond} onDeleted={reloadCalendar} />
      <SwapsSection schedule={current} onChanged={reloadCalendar} />
      <section className="card" aria-labelledby="schedule-feed">
        <h2 id="schedule-feed" className="form-title">Calendar feed</h2>
        <p className="muted small">Everyone's shifts on this schedule as an iCalendar feed. {!isAdmin && 'An administrator can create or change the URL.'}</p>
        <CalendarFeedBox name={`schedule-${current.name}`} load={() => api.scheduleFeed(current.name)} rotate={() => api.rotateScheduleFeed(current.name)} mayRotate={isAdmin} />
      </section>
      {isAdmin && <DeleteSchedule name={current.name} />}
    </section>
  );
}

function roundedNow(): Date {
  const step = 30 * 60_000;
  return new Date(Math.ceil(Date.now() / step) * step);
}

function GapList(props: { gaps: { start: string; end: string }[] }) {
  if (props.gaps.length === 0) return <p className="confirmation small" role="status">Someone is on call the whole time shown.</p>;
  return (
    <div className="gaps warning-box" role="status">
      <strong>Nobody is on call {props.gaps.length === 1 ? 'once' : `${props.gaps.length} times`} in this view:</strong>
      <ul>
        {props.gaps.slice(0, MAX_GAPS_LISTED).map((gap) => (
          <li key={gap.start}>{formatSpan(gap.start, gap.end)}</li>
        ))}
        {props.gaps.length > MAX_GAPS_LISTED && <li>and {props.gaps.length - MAX_GAPS_LISTED} more</li>}
      </ul>
    </div>
  );
}

function OverrideForm(props: { scheduleName: string; draft: OverrideDraft; onCancel: () => void; onSaved: () => Promise<void> }) {
  const { session } = useSession();
  const { users, error: usersError } = useUsers();
  const [user, setUser] = useState(session.user?.email.toLowerCase() ?? '');
  const [replaces, setReplaces] = useState(props.draft.replaces.toLowerCase());
  const [start, setStart] = useState(toLocalInput(props.draft.start));
  const [end, setEnd] = useState(toLocalInput(props.draft.end));
  const [reason, setReason] = useState('');
  const { busy, error, setError, run } = useAction();
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    form.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    form.current?.querySelector('select')?.focus({ preventScroll: true });
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const from = fromLocalInput(start);
    const to = fromLocalInput(end);
    if (!user) return setError('Choose who is on call instead.');
    if (!from || !to) return setError('Enter a start and an end.');
    if (to <= from) return setError('The end must be after the start.');
    if (to.getTime() - from.getTime() > 90 * DAY_MS) return setError('An override can last at most 90 days.');
    await run(async () => {
      await api.createOverride(props.scheduleName, { user, replaces: replaces || null, start: from.toISOString(), end: to.toISOString(), reason: reason.trim() || undefined });
      await props.onSaved();
    });
  };

  return (
    <form ref={form} className="card override-form" onSubmit={submit} aria-label="New override" noValidate>
      <h2 className="form-title">New override</h2>
      {usersError && <p className="error" role="alert">{usersError}</p>}
      <div className="form-row">
        <label className="field">
          <span>Who is on call</span>
          <select name="override-user" value={user} onChange={(e) => setUser(e.target.value)}>
            <option value="">Choose a person…</option>
            {users.map((u) => <option key={u.id} value={u.email.toLowerCase()}>{u.name} ({u.email})</option>)}
          </select>
        </label>
        <label className="field">
          <span>Instead of</span>
          <select name="override-replaces" value={replaces} onChange={(e) => setReplaces(e.target.value)}>
            <option value="">whoever is on call</option>
            {users.map((u) => <option key={u.id} value={u.email.toLowerCase()}>{u.name} only</option>)}
          </select>
        </label>
      </div>
      <div className="form-row">
        <label className="field">
          <span>From</span>
          <input name="override-start" type="datetime-local" step={1800} value={start} onChange={(e) => setStart(e.target.value)} />
        </label>
        <label className="field">
          <span>Until</span>
          <input name="override-end" type="datetime-local" step={1800} value={end} onChange={(e) => setEnd(e.target.value)} />
        </label>
        <label className="field grow">
          <span>Reason <span className="muted small">(optional)</span></span>
          <input name="override-reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} placeholder="Covering for a dentist appointment" />
        </label>
      </div>
      <p className="muted small">Times in {browserTimeZone}.</p>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions">
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Saving…' : 'Create override'}</button>
        <button type="button" className="button ghost" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function OverridesList(props: { scheduleName: string; overrides: Override[] | undefined; error: string | null; highlighted: string | null; mayDelete: boolean; onDeleted: () => Promise<void> }) {
  const { busy, error, run } = useAction();
  return (
    <section className="card" aria-labelledby="overrides-heading">
      <h2 id="overrides-heading" className="form-title">Overrides in this view <span className="count">{props.overrides?.length ?? 0}</span></h2>
      {props.error && <p className="error" role="alert">{props.error}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      {props.overrides?.length === 0 && <p className="muted">No overrides in this period.</p>}
      {props.overrides && props.overrides.length > 0 && (
        <ul className="plain-list override-list">
          {props.overrides.map((o) => (
            <li key={o.id} id={`override-${o.id}`} className={`override-item${props.highlighted === o.id ? ' highlighted' : ''}`} data-override-id={o.id}>
              <div className="min-0">
                <strong>{o.user.name}</strong> {o.replaces ? <>instead of <strong>{o.replaces.name}</strong></> : 'instead of whoever is on call'}
                <div className="small">{formatSpan(o.start, o.end)}</div>
                {o.reason && <div className="muted small override-reason">{o.reason}</div>}
                <div className="muted small">by {o.created_by}{o.name && <> · declared as code ({o.name})</>}</div>
              </div>
              {props.mayDelete && (
                <button type="button" className="button small danger" disabled={busy} onClick={() => {
                  if (window.confirm(`Delete the override for ${o.user.name}?`)) void run(async () => {
                    await api.deleteOverride(props.scheduleName, o.id);
                    await props.onDeleted();
                  });
                }}>Delete</button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const SWAP_HORIZON_DAYS = 28;

interface Shift {
  start: string;
  end: string;
}

/** Adjacent entries with me on call joined into shifts. */
function myShifts(entries: ScheduleEntry[], userId: string): Shift[] {
  const shifts: Shift[] = [];
  for (const entry of entries) {
    if (!entry.members.some((m) => m.id === userId)) continue;
    const last = shifts[shifts.length - 1];
    if (last && last.end === entry.start) last.end = entry.end;
    else shifts.push({ start: entry.start, end: entry.end });
  }
  return shifts;
}

/** Offer one of my coming shifts to others, and take or withdraw open offers. */
function SwapsSection(props: { schedule: Schedule; onChanged: () => Promise<void> }) {
  const { session } = useSession();
  const mayRespond = can(session, 'responder');
  const me = session.user;
  const name = props.schedule.name;
  const swaps = useResource(`swaps:${name}`, async () => (await api.listSwaps(name)).swaps);
  const upcoming = useResource(`mine:${name}:${me?.id ?? ''}`, async () => {
    if (!me) return [];
    const from = new Date();
    const rendered = await api.renderSchedule(name, from, new Date(from.getTime() + SWAP_HORIZON_DAYS * DAY_MS));
    return myShifts(rendered.final, me.id);
  });
  const [shift, setShift] = useState('');
  const [note, setNote] = useState('');
  const { busy, error, setError, run } = useAction();
  const [done, setDone] = useState<string | null>(null);
  const now = useNow(60_000);
  const current = swaps.data?.filter((s) => s.status === 'open' && new Date(s.end).getTime() > now) ?? [];
  const settled = swaps.data?.filter((s) => s.status !== 'open').slice(-5).toReversed() ?? [];

  const offer = async (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    const chosen = upcoming.data?.[Number(shift)];
    if (!chosen) return setError('Choose one of your shifts.');
    const start = new Date(Math.max(new Date(chosen.start).getTime(), Date.now() + 60_000)).toISOString();
    if (await run(async () => {
      await api.requestSwap(name, { start, end: chosen.end, note: note.trim() || undefined });
      setNote('');
      setShift('');
      await swaps.reload();
    })) setDone('Swap offered: anyone on the team can take it.');
  };
  const act = (swap: Swap, action: 'take' | 'cancel') => {
    setDone(null);
    void run(async () => {
      await (action === 'take' ? api.takeSwap(name, swap.id) : api.cancelSwap(name, swap.id));
      await Promise.all([swaps.reload(), upcoming.reload(), props.onChanged()]);
      setDone(action === 'take' ? 'You took the shift; an override puts you on call for it.' : 'Swap withdrawn.');
    });
  };

  return (
    <section className="card" aria-labelledby="swaps-heading">
      <h2 id="swaps-heading" className="form-title">Shift swaps</h2>
      {swaps.error && <p className="error" role="alert">{swaps.error}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      {done && <p className="confirmation" role="status">{done}</p>}
      {swaps.data && current.length === 0 && <p className="muted">No open swaps.</p>}
      {current.length > 0 && (
        <ul className="plain-list swap-list">
          {current.map((swap) => {
            const mine = me?.id === swap.requester.id;
            return (
              <li key={swap.id} className="swap-item" data-swap-id={swap.id}>
                <div className="min-0">
                  <strong>{swap.requester.name}</strong> offers {formatSpan(swap.start, swap.end)}
                  {swap.note && <div className="muted small">{swap.note}</div>}
                  <div className="muted small">offered <Time value={swap.created_at} /></div>
                </div>
                {mayRespond && (mine || can(session, 'admin')
                  ? <button type="button" className="button small" disabled={busy} onClick={() => act(swap, 'cancel')}>Withdraw</button>
                  : <button type="button" className="button small primary" disabled={busy} onClick={() => act(swap, 'take')}>Take this shift</button>)}
              </li>
            );
          })}
        </ul>
      )}
      {settled.length > 0 && (
        <details className="settled-swaps">
          <summary>Recently settled</summary>
          <ul className="plain-list">
            {settled.map((swap) => (
              <li key={swap.id} className="muted small">
                {swap.requester.name}, {formatSpan(swap.start, swap.end)}: {swap.status === 'taken' ? `taken by ${swap.taker?.name ?? 'someone'}` : 'withdrawn'}
              </li>
            ))}
          </ul>
        </details>
      )}
      {mayRespond && me && (
        <form className="inline-form swap-form" onSubmit={offer} aria-label="Offer a shift swap">
          <h3 className="subheading">Offer one of my shifts</h3>
          {upcoming.data?.length === 0 && <p className="muted small">You have no shifts on this schedule in the next {SWAP_HORIZON_DAYS} days.</p>}
          {upcoming.data && upcoming.data.length > 0 && (
            <div className="form-row">
              <label className="field">
                <span>Shift</span>
                <select name="swap-shift" value={shift} onChange={(e) => setShift(e.target.value)}>
                  <option value="">Choose a shift…</option>
                  {upcoming.data.map((s, i) => <option key={s.start} value={i}>{formatSpan(s.start, s.end)}</option>)}
                </select>
              </label>
              <label className="field grow">
                <span>Note <span className="muted small">(optional)</span></span>
                <input name="swap-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} placeholder="Away that weekend" />
              </label>
              <button type="submit" className="button" disabled={busy || shift === ''}>Offer swap</button>
            </div>
          )}
        </form>
      )}
    </section>
  );
}

function DeleteSchedule(props: { name: string }) {
  const { busy, error, run } = useAction();
  return (
    <div className="danger-zone">
      {error && <p className="error" role="alert">{error}</p>}
      <button type="button" className="button small danger" disabled={busy} onClick={() => {
        if (window.confirm(`Delete the schedule ${props.name} with its overrides, swaps and calendar feed? Escalation levels that page it will have nobody from it.`)) {
          void run(async () => {
            await api.deleteSchedule(props.name);
            navigate('/schedules');
          });
        }
      }}>Delete schedule</button>
    </div>
  );
}
