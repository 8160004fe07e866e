import { Temporal } from 'temporal-polyfill';
import { badRequest } from '../../errors.ts';
import { parseRotation, rotationFrom, upperBound, type Rotation } from './rotation.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, zoneClock, type WallMs, type ZoneClock } from './zone.ts';

export type Weekday = 'MO' | 'TU' | 'WE' | 'TH' | 'FR' | 'SA' | 'SU';

/**
 * A daily window in the schedule's zone, 'HH:MM' wall-clock ('24:00' allowed for `to`). `to` <= `from`
 * crosses midnight: the window starts on a listed day and ends the next. `to` === `from` is 24 hours.
 * No `days` = every day.
 */
export interface Restriction {
  days?: Weekday[];
  from: string;
  to: string;
}

export interface LayerSpec {
  name: string;
  /** First hand-off (DTSTART): local 'YYYY-MM-DDTHH:MM[:SS]' in the schedule's zone, or an ISO instant with Z/offset. */
  start: string;
  /** The layer stops covering here (same formats); null or absent = forever. */
  end?: string | null;
  /** Member ids in rotation order (may repeat); empty = the layer covers nothing. */
  members: string[];
  /** RRULE body for hand-off times, expanded on the wall clock from `start`; each occurrence starts the next turn. */
  rotation: string;
  /** Default 1. Turn k is members[(k*m + j) % n] for j in 0..m-1, without repeats; 'all' = every member. */
  members_per_turn?: number | 'all';
  /** If present and non-empty, the layer covers only the union of these windows; the rotation turns underneath. */
  restrictions?: Restriction[];
}

/** ISO instants. `replaces` null: the member replaces everyone on call; X: only X, if X is on call. */
export interface OverrideSpec {
  id: string;
  member: string;
  start: string;
  end: string;
  replaces?: string | null;
}

/** Layers bottom to top (a higher layer wins where it covers); overrides on top, applied in array order. */
export interface ScheduleSpec {
  timeZone: string;
  layers: LayerSpec[];
  overrides: OverrideSpec[];
}

export type EntrySource = { type: 'layer'; layer: string } | { type: 'override'; id: string } | { type: 'gap' };

export interface ScheduleEntry {
  start: Date;
  end: Date;
  members: string[];
  source: EntrySource;
}

export interface RenderedSchedule {
  /** Covers [from, to) contiguously; gaps are entries with no members; neighbours always differ. */
  final: ScheduleEntry[];
  /** Each layer on its own, where it covers. */
  layers: { name: string; entries: ScheduleEntry[] }[];
  /** Each override clipped to the window, whether or not it changed anything. */
  overrides: ScheduleEntry[];
  gaps: { start: Date; end: Date }[];
}

interface CompiledRestriction {
  /** Days the window may start on, as Date.getUTCDay() numbers of wall dates; null = every day. */
  days: Set<number> | null;
  fromMinute: number;
  toMinute: number;
}

interface CompiledLayer {
  name: string;
  startMs: number;
  startWall: WallMs;
  endMs: number;
  members: string[];
  perTurn: number | 'all';
  restrictions: CompiledRestriction[] | null;
  rotation: Rotation;
}

interface CompiledOverride {
  id: string;
  member: string;
  startMs: number;
  endMs: number;
  replaces: string | null;
}

interface CompiledSchedule {
  clock: ZoneClock;
  layers: CompiledLayer[];
  overrides: CompiledOverride[];
}

/** An interval of one layer's coverage with the members of the turn then. */
interface Segment {
  start: number;
  end: number;
  members: string[];
}

interface Entry {
  start: number;
  end: number;
  members: string[];
  source: EntrySource;
}

// Any two UTC offsets differ by less than this, so an occurrence this far before an instant's wall time
// happened before the instant, whatever DST does in between.
const OFFSET_SPREAD_MS = 27 * HOUR_MS;
const WEEKDAY_NUMBERS: Record<string, number> = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };
const LOOKAHEADS_MS = [DAY_MS, 7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS];
const CHANGE_LOOKAHEADS_MS = [7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS, 366 * DAY_MS];

/** Human-readable problems with a schedule; empty when it can be rendered. */
export function validateSchedule(spec: ScheduleSpec): string[] {
  return compileSchedule(spec).problems;
}

/**
 * Who is on call over [from, to): the final schedule, each layer on its own, the overrides and the gaps.
 * Throws an `invalid_schedule` AppError listing every problem if the spec does not validate.
 */
export function renderSchedule(spec: ScheduleSpec, from: Date, to: Date): RenderedSchedule {
  return render(compiled(spec), from.getTime(), to.getTime());
}

/**
 * Who is on call at an instant, and until when that holds: the next instant the members or their source
 * may change, looking up to 90 days ahead (null if nothing changes in that time).
 */
export function onCallAt(spec: ScheduleSpec, at: Date): { members: string[]; until: Date | null; source: EntrySource } {
  const schedule = compiled(spec);
  const atMs = at.getTime();
  // Look a day ahead first: most answers end within one, and an hourly rotation over 90 days is 2,000 turns.
  let horizon = atMs + LOOKAHEADS_MS[0];
  let current = finalEntries(schedule, atMs, horizon)[0];
  for (const lookahead of LOOKAHEADS_MS.slice(1)) {
    if (current.end < horizon) break;
    horizon = atMs + lookahead;
    current = finalEntries(schedule, atMs, horizon)[0];
  }
  return { members: [...current.members], until: current.end < horizon ? new Date(current.end) : null, source: current.source };
}

/**
 * The next `limit` instants after `after` (exclusive) at which the set of people on call changes, with who
 * starts and who ends there; for hand-off notices. Looks up to a year ahead.
 */
export function nextChanges(spec: ScheduleSpec, after: Date, limit: number): { at: Date; started: string[]; ended: string[] }[] {
  const schedule = compiled(spec);
  const afterMs = after.getTime();
  let changes: { at: Date; started: string[]; ended: string[] }[] = [];
  if (limit <= 0) return changes;
  for (const lookahead of CHANGE_LOOKAHEADS_MS) {
    changes = [];
    const entries = finalEntries(schedule, afterMs, afterMs + lookahead);
    for (let i = 1; i < entries.length && changes.length < limit; i++) {
      const before = new Set(entries[i - 1].members);
      const now = new Set(entries[i].members);
      const started = entries[i].members.filter((member) => !before.has(member));
      const ended = entries[i - 1].members.filter((member) => !now.has(member));
      if (started.length > 0 || ended.length > 0) changes.push({ at: new Date(entries[i].start), started, ended });
    }
    if (changes.length >= limit) break;
  }
  return changes;
}

function compiled(spec: ScheduleSpec): CompiledSchedule {
  const { schedule, problems } = compileSchedule(spec);
  if (!schedule) throw badRequest('invalid_schedule', `Invalid schedule: ${problems.join('; ')}`, { problems });
  return schedule;
}

function render(schedule: CompiledSchedule, from: number, to: number): RenderedSchedule {
  if (!(to > from)) return { final: [], layers: schedule.layers.map((layer) => ({ name: layer.name, entries: [] })), overrides: [], gaps: [] };
  const segments = schedule.layers.map((layer) => layerSegments(schedule.clock, layer, from, to));
  const final = combine(schedule, segments, from, to);
  return {
    final: final.map(toScheduleEntry),
    layers: schedule.layers.map((layer, i) => ({
      name: layer.name,
      entries: mergeAdjacent(segments[i].map((segment) => ({ ...segment, source: { type: 'layer', layer: layer.name } }))).map(toScheduleEntry),
    })),
    overrides: schedule.overrides
      .filter((override) => override.startMs < to && override.endMs > from)
      .map((override) => toScheduleEntry({
        start: Math.max(from, override.startMs),
        end: Math.min(to, override.endMs),
        members: [override.member],
        source: { type: 'override', id: override.id },
      })),
    gaps: final.filter((entry) => entry.source.type === 'gap').map((entry) => ({ start: new Date(entry.start), end: new Date(entry.end) })),
  };
}

function finalEntries(schedule: CompiledSchedule, from: number, to: number): Entry[] {
  const segments = schedule.layers.map((layer) => layerSegments(schedule.clock, layer, from, to));
  return combine(schedule, segments, from, to);
}

/** The final schedule over [from, to): the top covering layer at each moment, then the overrides in order. */
function combine(schedule: CompiledSchedule, segmentsByLayer: Segment[][], from: number, to: number): Entry[] {
  const overrides = schedule.overrides.filter((override) => override.startMs < to && override.endMs > from);
  const cuts = new Set<number>([from, to]);
  for (const segments of segmentsByLayer) for (const segment of segments) cuts.add(segment.start).add(segment.end);
  for (const override of overrides) cuts.add(Math.max(from, override.startMs)).add(Math.min(to, override.endMs));
  const boundaries = [...cuts].toSorted((a, b) => a - b);
  const cursors = segmentsByLayer.map(() => 0);
  const entries: Entry[] = [];
  for (let b = 0; b + 1 < boundaries.length; b++) {
    const start = boundaries[b];
    let members: string[] = [];
    let source: EntrySource = { type: 'gap' };
    for (let l = segmentsByLayer.length - 1; l >= 0; l--) {
      const segments = segmentsByLayer[l];
      while (cursors[l] < segments.length && segments[cursors[l]].end <= start) cursors[l]++;
      const segment = segments[cursors[l]];
      if (segment && segment.start <= start) {
        members = segment.members;
        source = { type: 'layer', layer: schedule.layers[l].name };
        break;
      }
    }
    for (const override of overrides) {
      if (override.startMs > start || override.endMs <= start) continue;
      if (override.replaces === null) {
        members = [override.member];
      } else if (members.includes(override.replaces)) {
        members = distinct(members.map((member) => (member === override.replaces ? override.member : member)));
      } else {
        continue;
      }
      source = { type: 'override', id: override.id };
    }
    entries.push({ start, end: boundaries[b + 1], members, source });
  }
  return mergeAdjacent(entries);
}

/** One layer's coverage over [from, to), cut where the turn changes. */
function layerSegments(clock: ZoneClock, layer: CompiledLayer, from: number, to: number): Segment[] {
  const start = Math.max(from, layer.startMs);
  const end = Math.min(to, layer.endMs);
  if (layer.members.length === 0 || start >= end) return [];
  const windows = layer.restrictions ? restrictionWindows(clock, layer.restrictions, start, end) : [[start, end]];
  if (windows.length === 0) return [];
  const { turnAtFrom, changes } = turnsBetween(clock, layer, start, end);
  const segments: Segment[] = [];
  let turn = turnAtFrom;
  let next = 0;
  for (const [windowStart, windowEnd] of windows) {
    while (next < changes.length && changes[next].at <= windowStart) turn = changes[next++].turn;
    let pieceStart = windowStart;
    while (next < changes.length && changes[next].at < windowEnd) {
      if (changes[next].at > pieceStart) segments.push({ start: pieceStart, end: changes[next].at, members: turnMembers(layer, turn) });
      pieceStart = changes[next].at;
      turn = changes[next++].turn;
    }
    segments.push({ start: pieceStart, end: windowEnd, members: turnMembers(layer, turn) });
  }
  return segments;
}

/**
 * The turn in force at `from` and each later hand-off before `to`. Turn k is in force from the k-th
 * hand-off on (counting the first as 0), so hand-offs that DST lands on one instant skip turns.
 */
function turnsBetween(clock: ZoneClock, layer: CompiledLayer, from: number, to: number): { turnAtFrom: number; changes: { at: number; turn: number }[] } {
  const low = Math.max(clock.wallOf(from) - OFFSET_SPREAD_MS, layer.startWall);
  const high = clock.wallOf(to) + OFFSET_SPREAD_MS;
  const earlier = layer.rotation.countUpTo(low);
  const instants = layer.rotation.occurrencesBetween(low, high).map((wall) => clock.instantOf(wall));
  instants.push(layer.startMs);
  instants.sort((a, b) => a - b);
  const atFrom = upperBound(instants, from);
  const changes: { at: number; turn: number }[] = [];
  for (let i = atFrom; i < instants.length && instants[i] < to; i++) {
    if (i + 1 < instants.length && instants[i + 1] === instants[i]) continue;
    changes.push({ at: instants[i], turn: earlier + i });
  }
  return { turnAtFrom: earlier + atFrom - 1, changes };
}

function turnMembers(layer: CompiledLayer, turn: number): string[] {
  const count = layer.members.length;
  if (layer.perTurn === 'all') return distinct(layer.members);
  const perTurn = Math.min(layer.perTurn, count);
  const first = (((turn * layer.perTurn) % count) + count) % count;
  const members: string[] = [];
  for (let j = 0; j < perTurn; j++) members.push(layer.members[(first + j) % count]);
  return distinct(members);
}

/** The instants the restriction windows cover within [from, to), merged, ascending. */
function restrictionWindows(clock: ZoneClock, restrictions: CompiledRestriction[], from: number, to: number): [number, number][] {
  const windows: [number, number][] = [];
  const firstDay = Math.floor((clock.wallOf(from) - 2 * DAY_MS) / DAY_MS) * DAY_MS;
  const lastDay = Math.floor((clock.wallOf(to) + 2 * DAY_MS) / DAY_MS) * DAY_MS;
  for (let day = firstDay; day <= lastDay; day += DAY_MS) {
    const weekday = new Date(day).getUTCDay();
    for (const restriction of restrictions) {
      if (restriction.days && !restriction.days.has(weekday)) continue;
      const endMinute = restriction.toMinute > restriction.fromMinute ? restriction.toMinute : restriction.toMinute + 24 * 60;
      const start = Math.max(from, clock.instantOf(day + restriction.fromMinute * MINUTE_MS));
      const end = Math.min(to, clock.instantOf(day + endMinute * MINUTE_MS));
      if (start < end) windows.push([start, end]);
    }
  }
  windows.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const window of windows) {
    const last = merged[merged.length - 1];
    if (last && window[0] <= last[1]) last[1] = Math.max(last[1], window[1]);
    else merged.push([window[0], window[1]]);
  }
  return merged;
}

function mergeAdjacent(entries: Entry[]): Entry[] {
  const merged: Entry[] = [];
  for (const entry of entries) {
    const last = merged[merged.length - 1];
    if (last && last.end === entry.start && sameMembers(last.members, entry.members) && sameSource(last.source, entry.source)) {
      last.end = entry.end;
    } else {
      merged.push({ ...entry });
    }
  }
  return merged;
}

function sameMembers(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((member, i) => member === b[i]);
}

function sameSource(a: EntrySource, b: EntrySource): boolean {
  if (a.type === 'layer') return b.type === 'layer' && a.layer === b.layer;
  if (a.type === 'override') return b.type === 'override' && a.id === b.id;
  return b.type === 'gap';
}

function distinct(members: string[]): string[] {
  return [...new Set(members)];
}

function toScheduleEntry(entry: Entry): ScheduleEntry {
  return { start: new Date(entry.start), end: new Date(entry.end), members: [...entry.members], source: entry.source };
}

/** Checks the whole spec, collecting every problem, and compiles it if there are none. */
function compileSchedule(spec: ScheduleSpec): { schedule?: CompiledSchedule; problems: string[] } {
  const problems: string[] = [];
  let clock: ZoneClock | undefined;
  try {
    clock = zoneClock(spec.timeZone);
  } catch {
    problems.push(`timeZone: unknown time zone "${String(spec.timeZone)}"`);
  }
  const layers: CompiledLayer[] = [];
  const layerNames = new Set<string>();
  (Array.isArray(spec.layers) ? spec.layers : []).forEach((layer, index) => {
    const where = `layers[${index}]${typeof layer?.name === 'string' && layer.name !== '' ? ` ("${layer.name}")` : ''}`;
    const compiledLayer = compileLayer(layer, clock, where, problems);
    if (typeof layer?.name === 'string' && layer.name !== '') {
      if (layerNames.has(layer.name)) problems.push(`${where}.name: another layer has the same name`);
      layerNames.add(layer.name);
    }
    if (compiledLayer) layers.push(compiledLayer);
  });
  if (!Array.isArray(spec.layers)) problems.push('layers: must be a list');
  const overrides: CompiledOverride[] = [];
  const overrideIds = new Set<string>();
  (Array.isArray(spec.overrides) ? spec.overrides : []).forEach((override, index) => {
    const where = `overrides[${index}]`;
    const before = problems.length;
    if (typeof override?.id !== 'string' || override.id === '') problems.push(`${where}.id: must be a non-empty string`);
    else if (overrideIds.has(override.id)) problems.push(`${where}.id: another override has the id "${override.id}"`);
    else overrideIds.add(override.id);
    if (typeof override?.member !== 'string' || override.member === '') problems.push(`${where}.member: must be a non-empty member id`);
    const replaces = override?.replaces ?? null;
    if (replaces !== null && (typeof replaces !== 'string' || replaces === '')) problems.push(`${where}.replaces: must be a member id or null`);
    const startMs = parseInstant(override?.start, `${where}.start`, problems);
    const endMs = parseInstant(override?.end, `${where}.end`, problems);
    if (startMs !== null && endMs !== null && endMs <= startMs) problems.push(`${where}: end must be after start`);
    if (problems.length === before && startMs !== null && endMs !== null) {
      overrides.push({ id: override.id, member: override.member, startMs, endMs, replaces });
    }
  });
  if (!Array.isArray(spec.overrides)) problems.push('overrides: must be a list');
  if (problems.length > 0 || !clock) return { problems };
  return { schedule: { clock, layers, overrides }, problems };
}

function compileLayer(layer: LayerSpec, clock: ZoneClock | undefined, where: string, problems: string[]): CompiledLayer | null {
  const before = problems.length;
  if (typeof layer !== 'object' || layer === null) {
    problems.push(`${where}: must be an object`);
    return null;
  }
  if (typeof layer.name !== 'string' || layer.name === '') problems.push(`${where}.name: must be a non-empty string`);
  if (!Array.isArray(layer.members) || layer.members.some((member) => typeof member !== 'string' || member === '')) {
    problems.push(`${where}.members: must be a list of member ids`);
  }
  const perTurn = layer.members_per_turn ?? 1;
  if (perTurn !== 'all' && !(Number.isInteger(perTurn) && perTurn >= 1)) {
    problems.push(`${where}.members_per_turn: must be a whole number of at least 1, or "all"`);
  }
  const start = parseLayerTime(clock, layer.start, `${where}.start`, problems);
  const end = layer.end !== undefined && layer.end !== null ? parseLayerTime(clock, layer.end, `${where}.end`, problems) : null;
  if (start && end && end.ms <= start.ms) problems.push(`${where}: end must be after start`);
  const parsed = typeof layer.rotation === 'string' ? parseRotation(layer.rotation) : { problems: ['must be an RRULE string'] };
  for (const problem of parsed.problems) problems.push(`${where}.rotation: ${problem}`);
  let restrictions: CompiledRestriction[] | null = null;
  if (layer.restrictions !== undefined && layer.restrictions !== null) {
    if (!Array.isArray(layer.restrictions)) problems.push(`${where}.restrictions: must be a list`);
    // An empty list means "no restrictions", as in PagerDuty's API, not "never covers".
    else if (layer.restrictions.length > 0) {
      restrictions = layer.restrictions.map((restriction, i) => compileRestriction(restriction, `${where}.restrictions[${i}]`, problems));
    }
  }
  if (problems.length > before || !start || start.wall === null || !parsed.rotation) return null;
  const rotation = rotationFrom(parsed.rotation, start.wall);
  if (!rotation.handsOff) {
    problems.push(`${where}.rotation: never hands off (no occurrence within two years of the start); check INTERVAL against BYHOUR and BYDAY`);
    return null;
  }
  return {
    name: layer.name,
    startMs: start.ms,
    startWall: start.wall,
    endMs: end ? end.ms : Infinity,
    members: layer.members,
    perTurn,
    restrictions,
    rotation,
  };
}

function compileRestriction(restriction: Restriction, where: string, problems: string[]): CompiledRestriction {
  const fromMinute = parseClockTime(restriction?.from, false);
  const toMinute = parseClockTime(restriction?.to, true);
  if (fromMinute === null) problems.push(`${where}.from: "${String(restriction?.from)}" is not a time HH:MM from 00:00 to 23:59`);
  if (toMinute === null) problems.push(`${where}.to: "${String(restriction?.to)}" is not a time HH:MM from 00:00 to 24:00`);
  let days: Set<number> | null = null;
  if (restriction?.days !== undefined) {
    if (!Array.isArray(restriction.days) || restriction.days.length === 0) {
      problems.push(`${where}.days: must be a non-empty list of weekdays (MO..SU), or absent for every day`);
    } else {
      for (const day of restriction.days) if (!(day in WEEKDAY_NUMBERS)) problems.push(`${where}.days: "${String(day)}" is not a weekday (MO..SU)`);
      days = new Set(restriction.days.map((day) => WEEKDAY_NUMBERS[day]));
    }
  }
  return { days, fromMinute: fromMinute ?? 0, toMinute: toMinute === 24 * 60 ? 0 : (toMinute ?? 0) };
}

/** Minutes since midnight of 'HH:MM', or null; '24:00' only where allowed. */
function parseClockTime(value: unknown, allowMidnightEnd: boolean): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d{2}):(\d{2})$/.exec(value);
  if (!match) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (allowMidnightEnd && hours === 24 && minutes === 0) return 24 * 60;
  return hours < 24 && minutes < 60 ? hours * 60 + minutes : null;
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * A layer's start or end: a local date-time in the schedule's zone, or an instant with Z or an offset.
 * Without a clock (the zone is unknown) local times are only checked, and come back as null.
 */
function parseLayerTime(clock: ZoneClock | undefined, value: unknown, where: string, problems: string[]): { ms: number; wall: WallMs | null } | null {
  if (typeof value === 'string') {
    const local = LOCAL_DATE_TIME.exec(value);
    if (local) {
      const [year, month, day, hour, minute, second] = local.slice(1).map((part) => Number(part ?? '0'));
      try {
        Temporal.PlainDateTime.from({ year, month, day, hour, minute, second }, { overflow: 'reject' });
      } catch {
        problems.push(`${where}: "${value}" is not a valid date and time`);
        return null;
      }
      const wall = Date.UTC(year, month - 1, day, hour, minute, second);
      return clock ? { ms: clock.instantOf(wall), wall } : null;
    }
  }
  const ms = parseInstant(value, where, problems, ` or a local date-time YYYY-MM-DDTHH:MM[:SS]`);
  return ms === null ? null : { ms, wall: clock ? clock.wallOf(ms) : null };
}

function parseInstant(value: unknown, where: string, problems: string[], alternative = ''): number | null {
  if (typeof value === 'string') {
    try {
      return Temporal.Instant.from(value).epochMilliseconds;
    } catch {
      // reported below
    }
  }
  problems.push(`${where}: "${String(value)}" is not an ISO instant with Z or an offset${alternative}`);
  return null;
}
