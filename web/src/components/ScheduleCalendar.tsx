import { type PointerEvent, useRef, useState } from 'react';
import { addDays, colourSlot, DAY_MS, percentAt, SNAP_MS, snapTime, startOfDay } from '../calendar.ts';
import { formatSpan } from '../format.ts';
import type { RenderedSchedule, ScheduleEntry } from '../types.ts';

interface Row {
  key: string;
  label: string;
  kind: 'final' | 'layer' | 'overrides';
  entries: ScheduleEntry[];
}

const dayName = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dayNumber = new Intl.DateTimeFormat(undefined, { day: 'numeric' });
const monthDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/**
 * The schedule as horizontal bands, one block per week: the final schedule on top (overrides highlighted,
 * gaps in a warning colour), then each layer on its own row, then the overrides. Dragging across the final
 * row selects a time range (snapped to 30 min) for a new override.
 */
export function ScheduleCalendar(props: {
  weeks: Date[];
  rendered: RenderedSchedule;
  now: number;
  /** Month view: the month shown (other days are dimmed), and a compact layout. */
  month?: number;
  onSelectRange?: (start: Date, end: Date) => void;
  onEntryClick?: (entry: ScheduleEntry) => void;
}) {
  const { rendered } = props;
  const rows: Row[] = [
    { key: 'final', label: 'Final schedule', kind: 'final', entries: rendered.final },
    ...rendered.layers.map((layer, i) => ({ key: `layer-${i}`, label: layer.name, kind: 'layer' as const, entries: layer.entries })),
  ];
  if (props.month === undefined || rendered.overrides.length > 0) rows.push({ key: 'overrides', label: 'Overrides', kind: 'overrides', entries: rendered.overrides });
  return (
    <div className={`calendar${props.month === undefined ? ' calendar-week-view' : ' calendar-month-view'}`}>
      {props.weeks.map((week) => (
        <WeekBands key={week.getTime()} week={week} rows={rows} now={props.now} month={props.month} onSelectRange={props.onSelectRange} onEntryClick={props.onEntryClick} />
      ))}
    </div>
  );
}

function WeekBands(props: {
  week: Date; rows: Row[]; now: number; month?: number;
  onSelectRange?: (start: Date, end: Date) => void; onEntryClick?: (entry: ScheduleEntry) => void;
}) {
  const from = props.week.getTime();
  const to = addDays(props.week, 7).getTime();
  const days = Array.from({ length: 7 }, (_, i) => addDays(props.week, i));
  const today = startOfDay(new Date(props.now)).getTime();
  const nowAt = props.now >= from && props.now < to ? percentAt(props.now, from, to) : null;

  return (
    <div className="cal-week" role="group" aria-label={`Week of ${monthDay.format(props.week)}`} data-from={new Date(from).toISOString()} data-to={new Date(to).toISOString()}>
      <div className="cal-row cal-head">
        <div className="cal-label" aria-hidden="true" />
        <div className="cal-track">
          {days.map((day, i) => {
            const left = percentAt(day.getTime(), from, to);
            const right = percentAt(addDays(day, 1).getTime(), from, to);
            const outside = props.month !== undefined && day.getMonth() !== props.month;
            return (
              <div key={i} className={`cal-day${day.getTime() === today ? ' today' : ''}${outside ? ' outside' : ''}`} style={{ left: `${left}%`, width: `${right - left}%` }}>
                <span className="cal-day-name">{dayName.format(day)}</span> <span className="cal-day-number">{dayNumber.format(day)}</span>
              </div>
            );
          })}
        </div>
      </div>
      {props.rows.map((row) => (
        <BandRow key={row.key} row={row} from={from} to={to} days={days} nowAt={nowAt} onSelectRange={row.kind === 'final' ? props.onSelectRange : undefined} onEntryClick={props.onEntryClick} />
      ))}
    </div>
  );
}

function BandRow(props: {
  row: Row; from: number; to: number; days: Date[]; nowAt: number | null;
  onSelectRange?: (start: Date, end: Date) => void; onEntryClick?: (entry: ScheduleEntry) => void;
}) {
  const { row, from, to } = props;
  const track = useRef<HTMLDivElement>(null);
  const [selection, setSelection] = useState<{ anchor: number; current: number } | null>(null);
  const visible = row.entries.filter((e) => new Date(e.end).getTime() > from && new Date(e.start).getTime() < to);

  const timeAt = (clientX: number): number => {
    const rect = track.current!.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return snapTime(from + fraction * (to - from));
  };
  const selecting = props.onSelectRange !== undefined;
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (!selecting || event.button !== 0) return;
    event.preventDefault();
    event.currentTarget.setPointerCapture(event.pointerId);
    const at = timeAt(event.clientX);
    setSelection({ anchor: at, current: at });
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    if (selection) setSelection({ ...selection, current: timeAt(event.clientX) });
  };
  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    if (!selection) return;
    const end = timeAt(event.clientX);
    setSelection(null);
    const [start, finish] = selection.anchor <= end ? [selection.anchor, end] : [end, selection.anchor];
    if (finish - start >= SNAP_MS) props.onSelectRange?.(new Date(start), new Date(finish));
    else {
      // A click, not a drag: open what was clicked.
      const entry = entryAt(visible, from + ((event.clientX - track.current!.getBoundingClientRect().left) / track.current!.getBoundingClientRect().width) * (to - from));
      if (entry) props.onEntryClick?.(entry);
    }
  };

  const selStart = selection ? Math.min(selection.anchor, selection.current) : 0;
  const selEnd = selection ? Math.max(selection.anchor, selection.current) : 0;

  return (
    <div className={`cal-row cal-${row.kind}`} data-row={row.kind === 'layer' ? row.label : row.kind}>
      <div className="cal-label" title={row.label}>{row.label}</div>
      <div
        ref={track}
        className={`cal-track${selecting ? ' selectable' : ''}`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => setSelection(null)}
        title={selecting ? 'Drag across a time range to add an override' : undefined}
      >
        {props.days.slice(1).map((day) => (
          <span key={day.getTime()} className="cal-gridline" style={{ left: `${percentAt(day.getTime(), from, to)}%` }} aria-hidden="true" />
        ))}
        {visible.map((entry, i) => <Bar key={`${entry.start}-${i}`} entry={entry} from={from} to={to} />)}
        {props.nowAt !== null && <span className="cal-now" style={{ left: `${props.nowAt}%` }} aria-hidden="true" />}
        {selection && selEnd > selStart && (
          <span className="cal-selection" style={{ left: `${percentAt(selStart, from, to)}%`, width: `${percentAt(selEnd, from, to) - percentAt(selStart, from, to)}%` }}>
            <span className="cal-selection-text">{formatSpan(new Date(selStart), new Date(selEnd))}</span>
          </span>
        )}
      </div>
    </div>
  );
}

function entryAt(entries: ScheduleEntry[], time: number): ScheduleEntry | undefined {
  return entries.find((e) => new Date(e.start).getTime() <= time && time < new Date(e.end).getTime());
}

function Bar(props: { entry: ScheduleEntry; from: number; to: number }) {
  const { entry, from, to } = props;
  const start = new Date(entry.start).getTime();
  const end = new Date(entry.end).getTime();
  const left = percentAt(start, from, to);
  const width = percentAt(end, from, to) - left;
  const gap = entry.source.type === 'gap' || entry.members.length === 0;
  const override = entry.source.type === 'override';
  const names = gap ? 'Nobody on call' : entry.members.map((m) => m.name).join(', ');
  const classes = ['cal-bar'];
  if (gap) classes.push('is-gap');
  else classes.push(`member-c${colourSlot(entry.members[0].id)}`);
  if (override) classes.push('is-override');
  // Bars that continue from the previous week or into the next have no rounded end there.
  if (start < from) classes.push('cut-start');
  if (end > to) classes.push('cut-end');
  const long = end - start >= DAY_MS;
  return (
    <span
      className={classes.join(' ')}
      style={{ left: `${left}%`, width: `${width}%` }}
      title={`${names}${override ? ' (override)' : ''}\n${formatSpan(entry.start, entry.end)}`}
      data-source={entry.source.type}
      data-override-id={override ? entry.source.id : undefined}
      data-start={entry.start}
      data-end={entry.end}
      data-members={entry.members.map((m) => m.email).join(' ')}
    >
      <span className={`cal-bar-text${long ? '' : ' short'}`}>{gap ? '⚠ Nobody' : names}</span>
    </span>
  );
}
