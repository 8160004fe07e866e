import { sha256Hex } from '../../ids.ts';
import type { RenderedSchedule } from './schedule.ts';

/** One VEVENT. `uid` must stay the same across fetches for calendar clients to update rather than duplicate. */
export interface IcalEntry {
  start: Date;
  end: Date;
  summary: string;
  description?: string;
  uid: string;
}

export interface IcalFeed {
  /** Shown by clients as the calendar's name (X-WR-CALNAME and RFC 7986 NAME). */
  name: string;
  /** Where the feed lives (RFC 7986 URL). */
  calendarUrl?: string;
  entries: IcalEntry[];
  /** DTSTAMP of every event: when this copy of the feed was made. */
  now: Date;
}

/** A schedule as the feed helpers need it: its id keys the UIDs, its name labels the events. */
export interface FeedSchedule {
  id: string;
  name: string;
  rendered: RenderedSchedule;
}

const MAX_LINE_OCTETS = 75;

/**
 * An RFC 5545 calendar (METHOD:PUBLISH, times in UTC) with TEXT values escaped, lines folded at 75 octets
 * without splitting a UTF-8 character or an escape, and CRLF line endings.
 */
export function renderIcal(options: IcalFeed): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Firewatch//On-call schedules//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `NAME:${escapeText(options.name)}`,
    `X-WR-CALNAME:${escapeText(options.name)}`,
    // Clients that honour these poll every 15 minutes instead of once a day.
    'REFRESH-INTERVAL;VALUE=DURATION:PT15M',
    'X-PUBLISHED-TTL:PT15M',
  ];
  if (options.calendarUrl) lines.push(`URL:${stripControls(options.calendarUrl)}`);
  const stamp = icalUtc(options.now);
  for (const entry of options.entries) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${escapeText(entry.uid)}`,
      `DTSTAMP:${stamp}`,
      `DTSTART:${icalUtc(entry.start)}`,
      `DTEND:${icalUtc(entry.end)}`,
      `SUMMARY:${escapeText(entry.summary)}`,
    );
    if (entry.description) lines.push(`DESCRIPTION:${escapeText(entry.description)}`);
    // Being on call does not make anyone busy in free/busy lookups.
    lines.push('TRANSP:TRANSPARENT', 'END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}

/**
 * A schedule's feed: one event per stretch with the same people on call ("On call: Ann, Bob"); gaps are
 * left out.
 */
export function scheduleIcalEntries(schedule: FeedSchedule, names: Map<string, string>): IcalEntry[] {
  const windowStart = schedule.rendered.final[0]?.start.getTime();
  const stretches: { start: number; end: number; members: string[] }[] = [];
  for (const entry of schedule.rendered.final) {
    if (entry.members.length === 0) continue;
    const last = stretches[stretches.length - 1];
    if (last && last.end === entry.start.getTime() && sameSet(last.members, entry.members)) last.end = entry.end.getTime();
    else stretches.push({ start: entry.start.getTime(), end: entry.end.getTime(), members: entry.members });
  }
  return stretches.map((stretch) => ({
    start: new Date(stretch.start),
    end: new Date(stretch.end),
    summary: `On call: ${stretch.members.map((member) => displayName(names, member)).join(', ')}`,
    description: `Schedule: ${schedule.name}`,
    uid: stableUid([schedule.id, stretch.members.toSorted().join(',')], stretch, windowStart),
  }));
}

/**
 * One person's feed: their shifts across schedules ("On call: <schedule>"), with who else is on call
 * with them in the description.
 */
export function memberIcalEntries(memberId: string, schedules: FeedSchedule[], names: Map<string, string>): IcalEntry[] {
  const entries: IcalEntry[] = [];
  for (const schedule of schedules) {
    const windowStart = schedule.rendered.final[0]?.start.getTime();
    const shifts: { start: number; end: number; others: Set<string> }[] = [];
    for (const entry of schedule.rendered.final) {
      if (!entry.members.includes(memberId)) continue;
      const others = entry.members.filter((member) => member !== memberId);
      const last = shifts[shifts.length - 1];
      if (last && last.end === entry.start.getTime()) {
        last.end = entry.end.getTime();
        for (const other of others) last.others.add(other);
      } else {
        shifts.push({ start: entry.start.getTime(), end: entry.end.getTime(), others: new Set(others) });
      }
    }
    for (const shift of shifts) {
      const others = [...shift.others].map((member) => displayName(names, member));
      entries.push({
        start: new Date(shift.start),
        end: new Date(shift.end),
        summary: `On call: ${schedule.name}`,
        description: others.length > 0 ? `Schedule: ${schedule.name}\nAlso on call: ${others.join(', ')}` : `Schedule: ${schedule.name}`,
        uid: stableUid([schedule.id, memberId], shift, windowStart),
      });
    }
  }
  return entries.toSorted((a, b) => a.start.getTime() - b.start.getTime());
}

/**
 * A UID that survives re-rendering. A shift is keyed by its start, except one cut off by the start of the
 * rendered window: that start moves with the window, so it is keyed by its end.
 */
function stableUid(key: string[], shift: { start: number; end: number }, windowStart: number | undefined): string {
  const edge = shift.start === windowStart ? `until ${shift.end}` : `from ${shift.start}`;
  return `${sha256Hex([...key, edge].join('\n')).slice(0, 32)}@firewatch`;
}

function displayName(names: Map<string, string>, member: string): string {
  return names.get(member) ?? member;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((member) => b.includes(member));
}

/** RFC 5545 3.3.11: backslash, semicolon and comma escaped, newlines as \n, other control characters dropped. */
export function escapeText(value: string): string {
  return stripControls(value.replace(/\r\n?/g, '\n'), true)
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\n/g, '\\n');
}

function stripControls(value: string, keepNewlines = false): string {
  // oxlint-disable-next-line no-control-regex -- control characters are exactly what is being removed
  return value.replace(keepNewlines ? /[\u0000-\u0008\u000b-\u001f\u007f]/g : /[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
}

/** DATE-TIME in UTC form, to the second. */
function icalUtc(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * Folds a content line (RFC 5545 3.1): at most 75 octets a line, continuations start with a space. Breaks
 * fall between characters, never inside a UTF-8 sequence, a surrogate pair or a backslash escape.
 */
function foldLine(line: string): string {
  if (Buffer.byteLength(line) <= MAX_LINE_OCTETS) return line;
  const pieces: string[] = [];
  let current = '';
  let octets = 0;
  let limit = MAX_LINE_OCTETS;
  for (const unit of line.match(/\\.|[\s\S]/gu) ?? []) {
    const size = Buffer.byteLength(unit);
    if (octets + size > limit) {
      pieces.push(current);
      current = '';
      octets = 0;
      limit = MAX_LINE_OCTETS - 1; // the leading space counts
    }
    current += unit;
    octets += size;
  }
  pieces.push(current);
  return pieces.join('\r\n ');
}
