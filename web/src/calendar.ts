// Calendar arithmetic in the browser's time zone, for the schedule views. Days are calendar days (a DST
// day has 23 or 25 hours); positions on screen are proportional to real time.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** Overrides made by dragging snap to this. */
export const SNAP_MS = 30 * MINUTE_MS;

export type CalendarView = 'week' | 'month';

export function startOfDay(date: Date): Date {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** The same wall-clock time `days` calendar days later (or earlier). */
export function addDays(date: Date, days: number): Date {
  const next = new Date(date);
  next.setDate(next.getDate() + days);
  return next;
}

/** Monday 00:00 of the week holding `date` (ISO weeks, as on-call rotations usually hand off on Mondays). */
export function startOfWeek(date: Date): Date {
  const day = startOfDay(date);
  return addDays(day, -((day.getDay() + 6) % 7));
}

/** The weeks shown for `date` in a view, and the window [from, to) to render. */
export function calendarWindow(view: CalendarView, date: Date): { from: Date; to: Date; weeks: Date[] } {
  if (view === 'week') {
    const from = startOfWeek(date);
    return { from, to: addDays(from, 7), weeks: [from] };
  }
  const first = new Date(date.getFullYear(), date.getMonth(), 1);
  const next = new Date(date.getFullYear(), date.getMonth() + 1, 1);
  const from = startOfWeek(first);
  const weeks: Date[] = [];
  for (let week = from; week < next; week = addDays(week, 7)) weeks.push(week);
  return { from, to: addDays(weeks[weeks.length - 1], 7), weeks };
}

/** The date a step back or forward shows: a week, or a month. */
export function stepDate(view: CalendarView, date: Date, by: -1 | 1): Date {
  if (view === 'week') return addDays(startOfWeek(date), 7 * by);
  return new Date(date.getFullYear(), date.getMonth() + by, 1);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** 'YYYY-MM-DD' of the local calendar day (for the URL). */
export function dateParam(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A local calendar day from 'YYYY-MM-DD'; null when it is not one. */
export function parseDateParam(text: string | null): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? '');
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The value of an <input type="datetime-local"> showing `date` in the browser's zone. */
export function toLocalInput(date: Date): string {
  return `${dateParam(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The instant an <input type="datetime-local"> value means in the browser's zone; null when empty or invalid. */
export function fromLocalInput(value: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The nearest multiple of `step` in local wall-clock time (a half-hour in any zone with a whole or half-hour offset). */
export function snapTime(ms: number, step = SNAP_MS): number {
  const offset = new Date(ms).getTimezoneOffset() * MINUTE_MS;
  return Math.round((ms - offset) / step) * step + offset;
}

/** Where `time` falls between `from` and `to`, as a percentage (clamped to 0–100). */
export function percentAt(time: number, from: number, to: number): number {
  return Math.min(100, Math.max(0, ((time - from) / (to - from)) * 100));
}

const weekLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const monthLabel = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });
const yearLabel = new Intl.DateTimeFormat(undefined, { year: 'numeric' });

/** "Nov 16 – Nov 22, 2026" or "November 2026". */
export function windowLabel(view: CalendarView, date: Date): string {
  if (view === 'month') return monthLabel.format(date);
  const from = startOfWeek(date);
  return `${weekLabel.format(from)} – ${weekLabel.format(addDays(from, 6))}, ${yearLabel.format(addDays(from, 6))}`;
}

/** A stable colour slot (0–7) for a person, so they look the same on every row. */
export function colourSlot(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % 8;
}
