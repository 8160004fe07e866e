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

/** `timeline` entry types as words: `alert_added` → "Alert added". */
export function humanize(type: string): string {
  const words = type.replaceAll('_', ' ').trim();
  if (type === 'annotate') return 'Note';
  return words ? words[0].toUpperCase() + words.slice(1) : type;
}
