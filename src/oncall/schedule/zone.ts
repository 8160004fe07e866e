import { Temporal } from 'temporal-polyfill';

/**
 * Wall-clock time in a zone, written as the epoch milliseconds that the same date and time fields have
 * in UTC ("2025-03-30T02:30 in Berlin" is Date.UTC(2025, 2, 30, 2, 30)). Arithmetic on it is calendar
 * arithmetic that knows nothing of DST, which is what recurrence rules are defined on.
 */
export type WallMs = number;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Converts between instants and wall-clock time in one time zone. */
export interface ZoneClock {
  readonly timeZone: string;
  /** The local date and time of an instant. */
  wallOf(instantMs: number): WallMs;
  /**
   * The instant a local date and time denotes, RFC 5545 / Temporal "compatible": a time skipped by a
   * spring-forward gap moves forward by the gap's length; a time that happens twice takes the earlier.
   */
  instantOf(wall: WallMs): number;
}

interface OffsetSpan {
  start: number;
  end: number;
  offsetMs: number;
}

// No zone's offset is further than 14 h from UTC, so a wall time's instant lies within 14 h of it.
const MAX_OFFSET_MS = 15 * HOUR_MS;
const clocks = new Map<string, ZoneClock>();

/** The clock of a time zone; throws a RangeError for a zone the runtime does not know. */
export function zoneClock(timeZone: string): ZoneClock {
  const cached = clocks.get(timeZone);
  if (cached) return cached;
  // Throws on an unknown zone before anything is cached.
  Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(timeZone);
  const clock = createZoneClock(timeZone);
  clocks.set(timeZone, clock);
  return clock;
}

export function isKnownTimeZone(timeZone: string): boolean {
  try {
    zoneClock(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Offsets are looked up in spans between two transitions, cached per zone: the Temporal polyfill takes
 * tens of microseconds a conversion, and a month of an hourly rotation needs about two thousand.
 */
function createZoneClock(timeZone: string): ZoneClock {
  const spans: OffsetSpan[] = [];

  function spanAt(instantMs: number): OffsetSpan {
    let lo = 0;
    let hi = spans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const span = spans[mid];
      if (instantMs < span.start) hi = mid - 1;
      else if (instantMs >= span.end) lo = mid + 1;
      else return span;
    }
    const zoned = Temporal.Instant.fromEpochMilliseconds(instantMs).toZonedDateTimeISO(timeZone);
    // 'previous' is strictly before its receiver, so ask from 1 ms later to find a transition at instantMs itself.
    const previous = zoned.add({ milliseconds: 1 }).getTimeZoneTransition('previous');
    const next = zoned.getTimeZoneTransition('next');
    const span = {
      start: previous ? previous.epochMilliseconds : -Infinity,
      end: next ? next.epochMilliseconds : Infinity,
      offsetMs: zoned.offsetNanoseconds / 1e6,
    };
    spans.splice(lo, 0, span);
    return span;
  }

  return {
    timeZone,
    wallOf(instantMs) {
      return instantMs + spanAt(instantMs).offsetMs;
    },
    instantOf(wall) {
      const span = spanAt(wall);
      // No transition within 15 h either side: the one offset there is the answer.
      if (span.start <= wall - MAX_OFFSET_MS && wall + MAX_OFFSET_MS < span.end) return wall - span.offsetMs;
      const date = new Date(wall);
      return Temporal.PlainDateTime.from({
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
        hour: date.getUTCHours(),
        minute: date.getUTCMinutes(),
        second: date.getUTCSeconds(),
        millisecond: date.getUTCMilliseconds(),
      }).toZonedDateTime(timeZone, { disambiguation: 'compatible' }).epochMilliseconds;
    },
  };
}
