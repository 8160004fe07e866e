// Formatting of times and names for display. Times come from the API as ISO-8601 UTC strings.

const dateTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [['second', 60], ['minute', 60], ['hour', 24], ['day', 30], ['month', 12], ['year', Infinity]];

/** "5 minutes ago", "yesterday"; `now` is passed in so a ticking clock can re-render it. */
export function formatRelative(iso: string, now: number): string {
  const time = new Date(iso).getTime();
  if (Number.isNaN(time)) return iso;
  let value = (time - now) / 1000;
  // Within ten seconds, or "in the future" because of clock skew between browser and server.
  if (value > -10) return 'just now';
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return formatDateTime(iso);
}

const ENTRY_NAMES: Record<string, string> = {
  annotate: 'Note',
  assign: 'Assigned',
  escalate: 'Escalated',
  escalation_exhausted: 'Escalation exhausted',
  notify: 'Notification',
  unacknowledge: 'Back to triggered',
  snooze: 'Snoozed',
  suppressed: 'Held by silence',
  responder_added: 'Responder paged',
};

/** `timeline` entry types as words: `alert_added` → "Alert added", `notify` → "Notification". */
export function humanize(type: string): string {
  const named = ENTRY_NAMES[type];
  if (named) return named;
  const words = type.replaceAll('_', ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : type;
}

/** A span of time in words for countdowns: "45 s", "4 min 05 s", "2 h 05 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "14:30" in the browser's zone. */
export function formatTimeOfDay(value: string | Date): string {
  return timeOfDay.format(typeof value === 'string' ? new Date(value) : value);
}

/** "Tue, Mar 4, 14:30" in the browser's zone. */
export function formatDayTime(value: string | Date): string {
  return dayAndTime.format(typeof value === 'string' ? new Date(value) : value);
}

/** "Tue, Mar 4, 14:30 – 18:00", or with both days when the span crosses midnight. */
export function formatSpan(start: string | Date, end: string | Date): string {
  return dayAndTime.formatRange(new Date(start), new Date(end));
}

const timeWithSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** "14:30:05" in the browser's zone (for due times a countdown runs to). */
export function formatTimeWithSeconds(value: string | Date): string {
  return timeWithSeconds.format(typeof value === 'string' ? new Date(value) : value);
}

/** The browser's IANA time zone (what every time on screen is shown in). */
export const browserTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "2 minutes" for a number of minutes; "at once" for 0. */
export function formatMinutes(minutes: number): string {
  if (minutes === 0) return 'at once';
  if (minutes % 1440 === 0) return `${minutes / 1440} d`;
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}
