import { RRuleTemporal } from 'rrule-temporal';
import { Temporal } from 'temporal-polyfill';
import { DAY_MS, HOUR_MS, WEEK_MS, type WallMs } from './zone.ts';

/**
 * A layer's hand-off rule (an RRULE body) expanded on the wall clock. The rule is run by rrule-temporal in
 * UTC on wall-clock values (see zone.ts): that keeps 09:00 at 09:00 across DST, and it keeps hand-offs
 * whose local time a spring-forward gap skips, which RFC 5545 would drop. The caller turns wall times
 * into instants ("compatible": forward by the gap's length).
 */
export interface Rotation {
  /** How many occurrences lie in (DTSTART, until]. DTSTART itself is the caller's business. */
  countUpTo(until: WallMs): number;
  /** The occurrences in (after, until], ascending, never DTSTART. */
  occurrencesBetween(after: WallMs, until: WallMs): WallMs[];
  /** Whether there is any occurrence after DTSTART within two years; a rule without one never hands off. */
  readonly handsOff: boolean;
}

const FREQUENCIES = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'];
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const NUMERIC_PARTS: Record<string, { min: number; max: number; signed: boolean }> = {
  BYSECOND: { min: 0, max: 59, signed: false },
  BYMINUTE: { min: 0, max: 59, signed: false },
  BYHOUR: { min: 0, max: 23, signed: false },
  BYMONTHDAY: { min: 1, max: 31, signed: true },
  BYYEARDAY: { min: 1, max: 366, signed: true },
  BYWEEKNO: { min: 1, max: 53, signed: true },
  BYMONTH: { min: 1, max: 12, signed: false },
  BYSETPOS: { min: 1, max: 366, signed: true },
};
// Parts under which the occurrences repeat every lcm(INTERVAL × unit, one week) of wall-clock time.
const PERIODIC_FREQUENCIES: Record<string, number> = { HOURLY: HOUR_MS, DAILY: DAY_MS, WEEKLY: WEEK_MS };
const PERIODIC_PARTS = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'BYHOUR', 'BYMINUTE', 'BYSECOND', 'WKST']);
// A period longer than this is counted by walking the occurrences instead.
const MAX_PERIOD_MS = 20 * 366 * DAY_MS;
// A rule that needs more occurrences than this walked to count one turn is refused rather than stalled on.
const MAX_WALKED_OCCURRENCES = 500_000;
const INTERVAL_LIMIT = 10_000;
const HANDS_OFF_HORIZON_MS = 2 * 366 * DAY_MS;

export interface ParsedRotation {
  /** The rule, normalised: upper case, no "RRULE:" prefix. */
  body: string;
  parts: Map<string, string>;
}

const parsedRules = new Map<string, { rotation?: ParsedRotation; problems: string[] }>();
const CACHE_SIZE = 1000;

/** Parses and checks a rotation's RRULE body; problems are phrased for the person who wrote the rule. */
export function parseRotation(input: string): { rotation?: ParsedRotation; problems: string[] } {
  return cached(parsedRules, input, () => parseUncached(input));
}

/** A small cache that forgets the least recently used entry; schedules are compiled on every call. */
function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  } else {
    cache.delete(key);
  }
  cache.set(key, value);
  return value;
}

function parseUncached(input: string): { rotation?: ParsedRotation; problems: string[] } {
  const problems: string[] = [];
  const body = input.trim().replace(/^RRULE:/i, '').toUpperCase();
  const parts = new Map<string, string>();
  if (body === '') return { problems: ['is empty (expected an RRULE such as FREQ=WEEKLY)'] };
  for (const part of body.split(';')) {
    const match = /^([A-Z]+)=([^=;]+)$/.exec(part);
    if (!match) {
      problems.push(`"${part}" is not a NAME=VALUE rule part`);
      continue;
    }
    if (parts.has(match[1])) problems.push(`${match[1]} is given twice`);
    parts.set(match[1], match[2]);
  }
  const freq = parts.get('FREQ');
  if (freq === undefined) problems.push('has no FREQ');
  else if (freq === 'MINUTELY' || freq === 'SECONDLY') problems.push(`FREQ=${freq}: hand-offs more often than hourly are not supported`);
  else if (!FREQUENCIES.includes(freq)) problems.push(`FREQ=${freq} is not a frequency`);
  for (const [name, value] of parts) {
    if (name === 'FREQ') continue;
    if (name === 'COUNT' || name === 'UNTIL') {
      problems.push(`${name} is not supported: a rotation keeps turning until the layer's end`);
    } else if (name === 'INTERVAL') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > INTERVAL_LIMIT) {
        problems.push(`INTERVAL=${value} is not a whole number from 1 to ${INTERVAL_LIMIT}`);
      }
    } else if (name === 'WKST') {
      if (!WEEKDAYS.includes(value)) problems.push(`WKST=${value} is not a weekday (MO..SU)`);
    } else if (name === 'BYDAY') {
      for (const day of value.split(',')) {
        const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(day);
        if (!match) problems.push(`BYDAY value "${day}" is not a weekday such as MO or 1MO`);
        else if (match[1] !== undefined && freq !== 'MONTHLY' && freq !== 'YEARLY') {
          problems.push(`BYDAY=${day}: a numbered weekday needs FREQ=MONTHLY or YEARLY`);
        } else if (match[1] !== undefined && (Number(match[1]) === 0 || Math.abs(Number(match[1])) > 53)) {
          problems.push(`BYDAY=${day}: the number must be 1..53 or -53..-1`);
        }
      }
    } else if (name in NUMERIC_PARTS) {
      const range = NUMERIC_PARTS[name];
      for (const item of value.split(',')) {
        const number = /^[+-]?\d+$/.test(item) ? Number(item) : NaN;
        const magnitude = range.signed ? Math.abs(number) : number;
        if (!Number.isInteger(number) || (!range.signed && item.startsWith('-')) || magnitude < range.min || magnitude > range.max) {
          problems.push(`${name} value "${item}" is out of range`);
        }
      }
    } else {
      problems.push(`${name} is not a supported rule part`);
    }
  }
  if (problems.length > 0) return { problems };
  try {
    // The library catches what the checks above do not (for example BYWEEKNO outside YEARLY).
    const dtstart = Date.UTC(2025, 0, 1);
    new RRuleTemporal({ rruleString: body, dtstart: utcZoned(dtstart) }).between(new Date(dtstart), new Date(dtstart + 40 * DAY_MS), true);
  } catch (error) {
    return { problems: [(error as Error).message] };
  }
  return { rotation: { body, parts }, problems };
}

const rotations = new Map<string, Rotation>();

/**
 * The rotation of a parsed rule from DTSTART (a wall time). Rotations are cached by rule and DTSTART:
 * they hold what they have counted, and schedules are rendered again and again.
 */
export function rotationFrom(rule: ParsedRotation, dtstart: WallMs): Rotation {
  return cached(rotations, `${dtstart} ${rule.body}`, () => createRotation(rule, dtstart));
}

function createRotation(rule: ParsedRotation, dtstart: WallMs): Rotation {
  const library = new RRuleTemporal({ rruleString: rule.body, dtstart: utcZoned(dtstart), includeDtstart: false });
  // The library refuses a query spanning more than 10,000 recurrence periods, so long ones go in pieces.
  const chunk = rule.parts.get('FREQ') === 'HOURLY' ? 300 * DAY_MS : 20 * 365 * DAY_MS;
  // Inclusive of both ends.
  const between = (after: WallMs, until: WallMs): WallMs[] => {
    const found: WallMs[] = [];
    for (let from = after; from <= until; from += chunk + 1) {
      const to = Math.min(until, from + chunk);
      for (const zoned of library.between(new Date(from), new Date(to), true)) found.push(zoned.epochMilliseconds);
    }
    return found;
  };
  const occurrencesBetween = (after: WallMs, until: WallMs): WallMs[] => {
    const from = Math.max(after, dtstart);
    return between(from, until).filter((wall) => wall > from && wall <= until);
  };
  const period = periodOf(rule);
  if (period !== null) {
    // The occurrences from DTSTART repeat every `period`: count whole periods, then the rest.
    const first = between(dtstart, dtstart + period - 1);
    const perPeriod = first.length;
    const dtstartMatches = first[0] === dtstart ? 1 : 0;
    return {
      occurrencesBetween,
      // Periodic: one occurrence means infinitely many.
      handsOff: perPeriod > 0,
      countUpTo(until) {
        if (until <= dtstart) return 0;
        const periods = Math.floor((until - dtstart) / period);
        const rest = between(dtstart + periods * period, until).filter((wall) => wall <= until).length;
        return periods * perPeriod + rest - dtstartMatches;
      },
    };
  }
  // Other rules (monthly, numbered weekdays, BYMONTH...) are walked once and remembered.
  const walked: WallMs[] = [];
  let walkedUntil = dtstart;
  return {
    occurrencesBetween,
    get handsOff() {
      return this.countUpTo(dtstart + HANDS_OFF_HORIZON_MS) > 0;
    },
    countUpTo(until) {
      if (until <= dtstart) return 0;
      if (until > walkedUntil) {
        for (const wall of between(walkedUntil, until)) if (wall > walkedUntil) walked.push(wall);
        walkedUntil = until;
        if (walked.length > MAX_WALKED_OCCURRENCES) {
          throw new Error(`rotation "${rule.body}" has more than ${MAX_WALKED_OCCURRENCES} hand-offs since its start; start the layer later`);
        }
      }
      return upperBound(walked, until);
    },
  };
}

/** The wall-clock length after which the rule's occurrences repeat, or null if they do not simply repeat. */
function periodOf(rule: ParsedRotation): number | null {
  const unit = PERIODIC_FREQUENCIES[rule.parts.get('FREQ') ?? ''];
  if (unit === undefined) return null;
  for (const [name, value] of rule.parts) {
    if (!PERIODIC_PARTS.has(name)) return null;
    if (name === 'BYDAY' && /\d/.test(value)) return null;
  }
  const step = Number(rule.parts.get('INTERVAL') ?? '1') * unit;
  const period = (step / gcd(step, WEEK_MS)) * WEEK_MS;
  return period <= MAX_PERIOD_MS ? period : null;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** How many of the ascending `values` are <= `limit`. */
export function upperBound(values: readonly number[], limit: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function utcZoned(wall: WallMs): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(wall).toZonedDateTimeISO('UTC');
}
