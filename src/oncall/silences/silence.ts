import { Temporal } from 'temporal-polyfill';

/**
 * Silences, pure logic: which alerts a silence matches (Alertmanager matcher semantics) and when it is
 * active (a one-off window, optionally narrowed to recurring wall-clock windows in a time zone).
 */

export const MATCHER_OPS = ['=', '!=', '=~', '!~'] as const;
export type MatcherOp = (typeof MATCHER_OPS)[number];

/** Alert fields a matcher can name; `details.<path>` reaches into the alert's custom details. */
export const MATCHER_FIELDS = ['service', 'source', 'severity', 'integration', 'summary', 'component', 'group', 'class'] as const;

export interface Matcher {
  field: string;
  op: MatcherOp;
  value: string;
}

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A daily window in wall-clock time, `from` inclusive, `to` exclusive; `to` <= `from` runs past midnight. */
export interface RecurringWindow {
  /** Days the window starts on; every day when absent. */
  days?: Weekday[];
  from: string;
  to: string;
}

export interface Recurrence {
  time_zone: string;
  windows: RecurringWindow[];
}

export interface SilenceRecord {
  id: string;
  name: string | null;
  matchers: Matcher[];
  starts_at: string;
  ends_at: string | null;
  recurrence: Recurrence | null;
  comment: string;
}

/** What a silence is matched against: the alert's fields, as the alert and its service carry them. */
export interface AlertFacts {
  service: string;
  integration: string | null;
  source: string;
  severity: string;
  summary: string;
  component: string | null;
  group: string | null;
  class: string | null;
  details: unknown;
}

/** Stands for "no end" where an instant is needed: sorts after every real timestamp, as ISO text too. */
export const OPEN_ENDED = new Date('9999-12-31T23:59:59.999Z');

export const MAX_PATTERN_LENGTH = 256;

// ---------------------------------------------------------------------------------------------------
// Matchers

/** Fields are `service`, `source`, …, or `details.<dotted path>`. */
export function isMatcherField(field: string): boolean {
  if ((MATCHER_FIELDS as readonly string[]).includes(field)) return true;
  return /^details(\.[A-Za-z0-9_$@-]+)+$/.test(field) && field.length <= 200;
}

/** RE2's leading `(?i)` (common in Alertmanager silences) becomes JavaScript's `i` flag. */
function splitFlags(pattern: string): { source: string; flags: string } {
  return pattern.startsWith('(?i)') ? { source: pattern.slice(4), flags: 'iu' } : { source: pattern, flags: 'u' };
}

/**
 * Why a pattern cannot be used, or null when it can. Patterns are compiled here, at write time, and must
 * stay short and free of the shapes that make a backtracking engine take exponential time: a repeated
 * group that itself repeats or alternates (`(a+)+`, `(a|a)*`), and back-references.
 */
export function patternProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `the pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  const { source } = splitFlags(pattern);
  try {
    anchored(pattern);
  } catch (error) {
    return `not a valid regular expression: ${(error as Error).message}`;
  }
  if (/\\[1-9]|\\k</.test(source)) return 'back-references are not allowed';
  if (hasNestedRepetition(source)) return 'a repeated group may not contain repetition or alternation (it could take exponential time)';
  return null;
}

/** True when a quantified group contains a quantifier or an alternation. */
function hasNestedRepetition(source: string): boolean {
  // Per open group: whether it contains a quantifier or `|`.
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      stack.push(false);
    } else if (c === ')') {
      const risky = stack.pop() ?? false;
      const next = source[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      // `?` alone cannot repeat; `{0,1}`/`{1}` neither, but anything reaching above one can.
      const repeats = quantified && next !== '?' && !/^\{[01]?(,[01])?\}/.test(source.slice(i + 1));
      if (risky && repeats) return true;
      if (stack.length && (risky || quantified)) stack[stack.length - 1] = true;
    } else if ((c === '*' || c === '+' || c === '{' || c === '|') && stack.length) {
      stack[stack.length - 1] = true;
    } else if (c === '?' && stack.length && source[i - 1] !== '(') {
      stack[stack.length - 1] = true;
    }
  }
  return false;
}

const compiled = new Map<string, RegExp>();

/** Alertmanager anchors regex matchers at both ends: `db.*` matches `db1`, not `mydb1`. */
function anchored(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const { source, flags } = splitFlags(pattern);
    re = new RegExp(`^(?:${source})$`, flags);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** The text of a value as matchers see it; missing values are the empty string, as in Alertmanager. */
function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function detailAt(details: unknown, path: string[]): unknown {
  let current = details;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The value a matcher's field names in an alert. */
export function factValue(facts: AlertFacts, field: string): string {
  if (field.startsWith('details.')) return textOf(detailAt(facts.details, field.slice('details.'.length).split('.')));
  switch (field) {
    case 'service': return facts.service;
    case 'source': return facts.source;
    case 'severity': return facts.severity;
    case 'integration': return textOf(facts.integration);
    case 'summary': return facts.summary;
    case 'component': return textOf(facts.component);
    case 'group': return textOf(facts.group);
    case 'class': return textOf(facts.class);
    default: return '';
  }
}

/** Whether `actual` satisfies a matcher's operator and value. */
export function valueMatches(op: MatcherOp, expected: string, actual: string): boolean {
  switch (op) {
    case '=': return actual === expected;
    case '!=': return actual !== expected;
    case '=~': return anchored(expected).test(actual);
    case '!~': return !anchored(expected).test(actual);
    default: return false;
  }
}

export function matcherMatches(m: Matcher, facts: AlertFacts): boolean {
  return valueMatches(m.op, m.value, factValue(facts, m.field));
}

/** True when the silence is active at `at` and every one of its matchers matches the alert. */
export function silenceMatches(s: SilenceRecord, facts: AlertFacts, at: Date): boolean {
  if (!isActiveAt(s, at)) return false;
  return s.matchers.every((m) => matcherMatches(m, facts));
}

// ---------------------------------------------------------------------------------------------------
// Time

/** `HH:MM`, 00:00–23:59, or 24:00 as an end meaning midnight. */
export function isWallClock(text: string, allowMidnightEnd = false): boolean {
  if (allowMidnightEnd && text === '24:00') return true;
  return /^([01]\d|2[0-3]):[0-5]\d$/.test(text);
}

export function isTimeZone(name: string): boolean {
  try {
    Temporal.PlainDate.from('2026-01-01').toZonedDateTime({ timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The instant a wall-clock time on a date happens in a zone. In a DST gap (02:30 on the spring-forward day)
 * it is the transition instant; in an overlap it is the earlier occurrence for a start and the later one
 * for an end, so a window covers both repetitions of the hour.
 */
function instantOf(date: Temporal.PlainDate, time: string, timeZone: string, edge: 'start' | 'end'): number {
  const day = time === '24:00' ? date.add({ days: 1 }) : date;
  const plain = day.toPlainDateTime(Temporal.PlainTime.from(time === '24:00' ? '00:00' : time));
  const zoned = plain.toZonedDateTime(timeZone, { disambiguation: edge === 'start' ? 'earlier' : 'later' });
  if (Temporal.PlainDateTime.compare(zoned.toPlainDateTime(), plain) !== 0) {
    // The wall-clock time does not exist that day: use the moment the clocks jump over it.
    const earlier = plain.toZonedDateTime(timeZone, { disambiguation: 'earlier' });
    const jump = earlier.getTimeZoneTransition('next');
    if (jump) return jump.epochMilliseconds;
  }
  return zoned.epochMilliseconds;
}

interface Interval {
  start: number;
  end: number;
}

/** The recurring windows that start on local dates from `firstDate` for `days` days, in start order. */
function windowsStarting(rec: Recurrence, firstDate: Temporal.PlainDate, days: number): Interval[] {
  const out: Interval[] = [];
  for (let d = 0; d < days; d++) {
    const date = firstDate.add({ days: d });
    const weekday = WEEKDAYS[date.dayOfWeek - 1];
    for (const w of rec.windows) {
      if (w.days && w.days.length > 0 && !w.days.includes(weekday)) continue;
      const crossesMidnight = w.to !== '24:00' && w.to <= w.from;
      const start = instantOf(date, w.from, rec.time_zone, 'start');
      const end = instantOf(crossesMidnight ? date.add({ days: 1 }) : date, w.to, rec.time_zone, 'end');
      if (end > start) out.push({ start, end });
    }
  }
  return out.toSorted((a, b) => a.start - b.start);
}

const localDate = (ms: number, timeZone: string) => Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(timeZone).toPlainDate();

/** The recurring window containing `ms` that ends last, if any. */
function windowAt(rec: Recurrence, ms: number): Interval | undefined {
  // Windows start at most a day before the local date of `ms` (those running past midnight).
  const candidates = windowsStarting(rec, localDate(ms, rec.time_zone).subtract({ days: 1 }), 2);
  let best: Interval | undefined;
  for (const w of candidates) if (w.start <= ms && ms < w.end && (!best || w.end > best.end)) best = w;
  return best;
}

const startsMs = (s: SilenceRecord) => Date.parse(s.starts_at);
const endsMs = (s: SilenceRecord) => (s.ends_at === null ? OPEN_ENDED.getTime() : Date.parse(s.ends_at));

/** Whether the silence is in force at `at`: inside [starts_at, ends_at) and, if recurring, inside a window. */
export function isActiveAt(s: SilenceRecord, at: Date): boolean {
  const ms = at.getTime();
  if (ms < startsMs(s) || ms >= endsMs(s)) return false;
  return !s.recurrence || windowAt(s.recurrence, ms) !== undefined;
}

// Following back-to-back windows (e.g. 22:00–24:00 then 00:00–06:00) stops after a year.
const MAX_CHAINED_WINDOWS = 800;

/**
 * If the silence is active at `at`, the instant it stops being active: the end of the current recurring
 * window (followed through windows that continue it without a gap), or ends_at; `OPEN_ENDED` when it
 * has no end. Null when it is not active at `at`.
 */
export function activeWindowEnd(s: SilenceRecord, at: Date): Date | null {
  if (!isActiveAt(s, at)) return null;
  const hardEnd = endsMs(s);
  if (!s.recurrence) return new Date(hardEnd);
  let end = at.getTime();
  for (let i = 0; i < MAX_CHAINED_WINDOWS; i++) {
    const w = windowAt(s.recurrence, end);
    if (!w) return new Date(Math.min(end, hardEnd));
    end = w.end;
    if (end >= hardEnd) return new Date(hardEnd);
  }
  return new Date(hardEnd);
}

/**
 * The next instant after `at` at which the silence becomes active, or null if it never will (again).
 * When it is active at `at`, the start of its next activity after the current one ends.
 */
export function nextActiveStart(s: SilenceRecord, at: Date): Date | null {
  const hardEnd = endsMs(s);
  const starts = startsMs(s);
  const from = activeWindowEnd(s, at)?.getTime() ?? at.getTime();
  if (from >= hardEnd) return null;
  if (!s.recurrence) return from < starts ? new Date(starts) : null;
  const probe = Math.max(from, starts);
  // Every window recurs within a week; a few days more cover DST shifts and windows from the day before.
  for (const w of windowsStarting(s.recurrence, localDate(probe, s.recurrence.time_zone).subtract({ days: 1 }), 10)) {
    const start = Math.max(w.start, starts);
    if (start > from && start < w.end) return start < hardEnd ? new Date(start) : null;
  }
  return null;
}

/** When the silence's state (active or not) next changes after `at`; null when it never does. */
export function nextActiveChange(s: SilenceRecord, at: Date): Date | null {
  const end = activeWindowEnd(s, at);
  if (end) return end.getTime() >= OPEN_ENDED.getTime() ? null : end;
  return nextActiveStart(s, at);
}
