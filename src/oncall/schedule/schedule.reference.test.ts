import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Temporal } from 'temporal-polyfill';
import { seededRandom } from '../../../test/random.ts';
import { onCallAt, renderSchedule, validateSchedule, type LayerSpec, type OverrideSpec, type ScheduleSpec, type Weekday } from './schedule.ts';

/*
 * renderSchedule and onCallAt against a deliberately naive reference written from the spec alone: UTC
 * offsets from Intl (not Temporal), RRULEs expanded by looping over days and hours, and at each sampled
 * instant the turn is the number of hand-offs at or before it. Set SCHEDULE_REFERENCE_SEED to replay.
 */

const ZONES = ['America/New_York', 'Europe/London', 'Europe/Berlin', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC'];
const WEEKDAYS: Weekday[] = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA']; // index = Date.getUTCDay()
const POOL = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const BASE_SEED = Number(process.env.SCHEDULE_REFERENCE_SEED ?? 20_260_101);
const SCHEDULES = Number(process.env.SCHEDULE_REFERENCE_COUNT ?? 320);

// ---- The reference: wall-clock time from Intl -------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

/** UTC offset in ms at an instant. Cached per 15 minutes: every transition of these zones falls on a quarter hour. */
function offsetAt(zone: string, ms: number): number {
  const bucket = Math.floor(ms / (15 * MINUTE));
  const key = `${zone} ${bucket}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, format);
  }
  const at = bucket * 15 * MINUTE;
  const parts = Object.fromEntries(format.formatToParts(new Date(at)).map((part) => [part.type, Number(part.value)]));
  const offset = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - at;
  offsets.set(key, offset);
  return offset;
}

const wallOf = (zone: string, ms: number): number => ms + offsetAt(zone, ms);

/** The instant of a wall time: the earlier of two, or (in a gap) read with the offset from before the gap. */
function instantOf(zone: string, wall: number): number {
  const before = offsetAt(zone, wall - DAY);
  const after = offsetAt(zone, wall + DAY);
  const valid = [...new Set([before, after])].filter((offset) => offsetAt(zone, wall - offset) === offset).map((offset) => wall - offset);
  if (valid.length > 0) return Math.min(...valid);
  return wall - Math.min(before, after);
}

// ---- The reference: RRULE occurrences by brute force ------------------------------------------------

const weekday = (wall: number): number => new Date(wall).getUTCDay();

/** Wall times of the rule's occurrences from dtstart (inclusive) to limit, ascending. */
function expandRule(rule: string, dtstart: number, limit: number): number[] {
  const parts = new Map(rule.split(';').map((part) => part.split('=') as [string, string]));
  const list = (name: string): number[] | null => (parts.has(name) ? parts.get(name)!.split(',').map(Number).toSorted((a, b) => a - b) : null);
  const interval = Number(parts.get('INTERVAL') ?? 1);
  const byDay = parts.has('BYDAY') ? new Set(parts.get('BYDAY')!.split(',').map((day) => WEEKDAYS.indexOf(day as Weekday))) : null;
  const startDay = Math.floor(dtstart / DAY) * DAY;
  const start = new Date(dtstart);
  const hours = list('BYHOUR') ?? [start.getUTCHours()];
  const minutes = list('BYMINUTE') ?? [start.getUTCMinutes()];
  const seconds = start.getUTCSeconds() * 1000 + start.getUTCMilliseconds();
  const out: number[] = [];
  const timesOfDay = (day: number) => {
    for (const hour of hours) for (const minute of minutes) out.push(day + hour * HOUR + minute * MINUTE + seconds);
  };
  switch (parts.get('FREQ')) {
    case 'WEEKLY': {
      const days = byDay ?? new Set([weekday(dtstart)]);
      const weekStart = WEEKDAYS.indexOf((parts.get('WKST') ?? 'MO') as Weekday);
      const firstWeek = startDay - ((weekday(startDay) - weekStart + 7) % 7) * DAY;
      for (let week = firstWeek; week <= limit; week += interval * 7 * DAY) {
        for (let d = 0; d < 7; d++) if (days.has(weekday(week + d * DAY))) timesOfDay(week + d * DAY);
      }
      break;
    }
    case 'DAILY':
      for (let day = startDay; day <= limit; day += interval * DAY) if (!byDay || byDay.has(weekday(day))) timesOfDay(day);
      break;
    case 'HOURLY': {
      const byHour = list('BYHOUR');
      for (let hour = dtstart - (dtstart % HOUR); hour <= limit; hour += interval * HOUR) {
        if (byDay && !byDay.has(weekday(hour))) continue;
        if (byHour && !byHour.includes(new Date(hour).getUTCHours())) continue;
        for (const minute of minutes) out.push(hour + minute * MINUTE + seconds);
      }
      break;
    }
    default:
      throw new Error(`reference does not expand ${rule}`);
  }
  return [...new Set(out)].filter((wall) => wall >= dtstart && wall <= limit).toSorted((a, b) => a - b);
}

// ---- The reference: who is on call at one instant ---------------------------------------------------

type Source = { type: 'layer'; layer: string } | { type: 'override'; id: string } | { type: 'gap' };
interface ReferenceLayer {
  spec: LayerSpec;
  startMs: number;
  endMs: number;
  handoffs: number[];
}

const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

function referenceLayer(zone: string, spec: LayerSpec, horizon: number): ReferenceLayer {
  const parse = (value: string): { ms: number; wall: number } => {
    if (LOCAL.test(value)) {
      const wall = Date.parse(`${value}Z`);
      return { ms: instantOf(zone, wall), wall };
    }
    const ms = Date.parse(value);
    return { ms, wall: wallOf(zone, ms) };
  };
  const start = parse(spec.start);
  const handoffs = expandRule(spec.rotation, start.wall, wallOf(zone, horizon) + 2 * DAY)
    .filter((wall) => wall > start.wall)
    .map((wall) => instantOf(zone, wall));
  handoffs.push(start.ms);
  handoffs.sort((a, b) => a - b);
  return { spec, startMs: start.ms, endMs: spec.end ? parse(spec.end).ms : Infinity, handoffs };
}

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return hours * 60 + minutes;
}

function restricted(zone: string, layer: LayerSpec, t: number): boolean {
  if (!layer.restrictions || layer.restrictions.length === 0) return true;
  const today = Math.floor(wallOf(zone, t) / DAY) * DAY;
  for (let day = today - 2 * DAY; day <= today + DAY; day += DAY) {
    for (const restriction of layer.restrictions) {
      if (restriction.days && !restriction.days.includes(WEEKDAYS[new Date(day).getUTCDay()])) continue;
      const from = minutesOf(restriction.from);
      let to = minutesOf(restriction.to);
      if (to <= from) to += 24 * 60;
      if (instantOf(zone, day + from * MINUTE) <= t && t < instantOf(zone, day + to * MINUTE)) return true;
    }
  }
  return false;
}

function countAtOrBefore(sorted: number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where the layer's restriction windows open and close around [from, to). */
function restrictionEdges(zone: string, layer: LayerSpec, from: number, to: number): number[] {
  const edges: number[] = [];
  for (let day = Math.floor(wallOf(zone, from) / DAY) * DAY - 2 * DAY; day <= wallOf(zone, to) + DAY; day += DAY) {
    for (const restriction of layer.restrictions ?? []) {
      edges.push(instantOf(zone, day + minutesOf(restriction.from) * MINUTE), instantOf(zone, day + minutesOf(restriction.to) * MINUTE));
    }
  }
  return edges;
}

function referenceOnCall(zone: string, layers: ReferenceLayer[], overrides: OverrideSpec[], t: number): { members: string[]; source: Source } {
  let members: string[] = [];
  let source: Source = { type: 'gap' };
  for (let i = layers.length - 1; i >= 0; i--) {
    const { spec, startMs, endMs, handoffs } = layers[i];
    if (t < startMs || t >= endMs || spec.members.length === 0 || !restricted(zone, spec, t)) continue;
    const turn = countAtOrBefore(handoffs, t) - 1;
    const n = spec.members.length;
    const perTurn = spec.members_per_turn ?? 1;
    const onCall: string[] = [];
    if (perTurn === 'all') onCall.push(...spec.members);
    else for (let j = 0; j < perTurn; j++) onCall.push(spec.members[(turn * perTurn + j) % n]);
    members = [...new Set(onCall)];
    source = { type: 'layer', layer: spec.name };
    break;
  }
  for (const override of overrides) {
    if (t < Date.parse(override.start) || t >= Date.parse(override.end)) continue;
    if (override.replaces == null) members = [override.member];
    else if (members.includes(override.replaces)) members = [...new Set(members.map((m) => (m === override.replaces ? override.member : m)))];
    else continue;
    source = { type: 'override', id: override.id };
  }
  return { members, source };
}

// ---- Random schedules ---------------------------------------------------------------------------------

function randomSchedule(random: () => number): { spec: ScheduleSpec; from: Date; to: Date } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chance = (p: number) => random() < p;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const subset = <T>(items: readonly T[], min = 1): T[] => {
    const chosen = items.filter(() => chance(0.4));
    while (chosen.length < min) chosen.push(pick(items.filter((item) => !chosen.includes(item))));
    return items.filter((item) => chosen.includes(item));
  };
  const zone = pick(ZONES);
  // Centre the window on a DST transition (or any instant, for zones without one).
  const seedInstant = Date.UTC(2024, 0, 1) + Math.floor(random() * 3 * 365 * DAY);
  const transition = Temporal.Instant.fromEpochMilliseconds(seedInstant).toZonedDateTimeISO(zone).getTimeZoneTransition('next');
  const anchor = transition && chance(0.9) ? transition.epochMilliseconds : seedInstant;
  const anchorWall = wallOf(zone, anchor);
  const from = Math.floor((anchor - int(0, 72) * HOUR) / (15 * MINUTE)) * 15 * MINUTE;
  const to = from + int(12, 24 * 9) * HOUR;
  const local = (wall: number) => new Date(wall).toISOString().slice(0, chance(0.2) ? 19 : 16);
  const instant = (ms: number) => new Date(ms).toISOString().replace('.000Z', chance(0.5) ? 'Z' : '.000Z');
  // Local times on the transition's own wall hour (skipped or repeated) as often as not.
  const nearTransitionWall = () => Math.floor(anchorWall / (30 * MINUTE)) * 30 * MINUTE + pick([-60, -30, 0, 0, 15, 30, 60]) * MINUTE;

  const layers: LayerSpec[] = [];
  for (let l = int(1, 3); l > 0; l--) {
    const freq = pick(['HOURLY', 'DAILY', 'DAILY', 'WEEKLY', 'WEEKLY']);
    const ruleParts = [`FREQ=${freq}`];
    if (freq === 'HOURLY') {
      if (chance(0.7)) ruleParts.push(`INTERVAL=${pick([1, 2, 3, 4, 5, 6, 8, 12])}`);
      if (chance(0.3)) ruleParts.push(`BYHOUR=${subset([0, 1, 2, 3, 8, 9, 12, 20, 23]).join(',')}`);
      if (chance(0.2)) ruleParts.push(`BYMINUTE=${pick(['0', '30', '0,30', '15'])}`);
      if (chance(0.2)) ruleParts.push(`BYDAY=${subset(['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']).join(',')}`);
    } else {
      if (chance(0.5)) ruleParts.push(`INTERVAL=${freq === 'DAILY' ? int(1, 3) : int(1, 2)}`);
      if (chance(0.4)) ruleParts.push(`BYDAY=${subset(['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']).join(',')}`);
      if (chance(0.4)) ruleParts.push(`BYHOUR=${subset([1, 2, 3, 9, 17, 21]).join(',')}`);
      if (chance(0.2)) ruleParts.push(`BYMINUTE=${pick(['0', '30', '0,30'])}`);
      if (freq === 'WEEKLY' && chance(0.2)) ruleParts.push('WKST=SU');
    }
    // Mostly days to weeks before the window; sometimes years (the counting shortcut); sometimes inside it.
    const back = chance(0.15) ? (freq === 'HOURLY' ? int(100, 400) : int(365, 3 * 365)) * DAY : chance(0.2) ? -int(0, 48) * HOUR : int(0, 40) * DAY;
    const startWall = chance(0.5) ? nearTransitionWall() - Math.round(back / DAY) * DAY : Math.floor((anchorWall - back) / (30 * MINUTE)) * 30 * MINUTE;
    const startMs = anchor - back + pick([-90, -60, -30, 0, 30, 60]) * MINUTE;
    const start = chance(0.8) ? local(startWall) : instant(startMs);
    const members = chance(0.05) ? [] : Array.from({ length: int(1, 5) }, () => pick(POOL));
    const layer: LayerSpec = { name: `layer-${layers.length}`, start, members, rotation: ruleParts.join(';') };
    if (chance(0.5)) layer.members_per_turn = pick([1, 2, 3, 'all'] as const);
    if (chance(0.15)) {
      // Somewhere in the window, at least two days after the start (wall times are within 14 h of instants).
      const endWall = Math.max(nearTransitionWall() + int(-24, 48) * HOUR, startWall + 2 * DAY, startMs + 3 * DAY);
      layer.end = chance(0.5) ? local(endWall) : instant(Math.floor(endWall / HOUR) * HOUR);
    }
    if (chance(0.45)) {
      layer.restrictions = Array.from({ length: int(1, 3) }, () => ({
        ...(chance(0.6) ? { days: subset(WEEKDAYS) } : {}),
        from: pick(['00:00', '01:00', '01:30', '02:00', '02:30', '03:00', '08:00', '09:00', '17:00', '22:00', '23:30']),
        to: pick(['00:00', '01:30', '02:00', '02:30', '03:00', '08:00', '09:00', '16:00', '17:00', '24:00']),
      }));
    }
    layers.push(layer);
  }

  const overrides: OverrideSpec[] = [];
  for (let o = int(0, 4); o > 0; o--) {
    const start = from + int(-12, 24 * 8) * 15 * MINUTE * 4 + pick([0, 15, 30]) * MINUTE;
    const end = start + int(1, 72) * HOUR;
    const replaces = chance(0.3) ? null : chance(0.7) || overrides.length === 0 ? pick(POOL) : pick(overrides).member;
    overrides.push({ id: `o${overrides.length}`, member: pick([...POOL, 'xan', 'yul']), start: instant(start), end: instant(end), replaces });
  }
  return { spec: { timeZone: zone, layers, overrides }, from: new Date(from), to: new Date(to) };
}

// ---- The comparison -----------------------------------------------------------------------------------

test('renderSchedule and onCallAt agree with a brute-force reference on random schedules around DST changes', () => {
  let compared = 0;
  for (let i = 0; i < SCHEDULES; i++) {
    const seed = BASE_SEED + i;
    const random = seededRandom(seed);
    let generated = randomSchedule(random);
    // A rule whose INTERVAL never meets its BYHOUR is refused by validation; draw again.
    while (validateSchedule(generated.spec).some((problem) => problem.includes('never hands off'))) generated = randomSchedule(random);
    const { spec, from, to } = generated;
    const context = () => `seed ${seed} (SCHEDULE_REFERENCE_SEED=${seed} SCHEDULE_REFERENCE_COUNT=1 replays it)\n${JSON.stringify({ spec, from, to }, null, 1)}`;
    assert.deepEqual(validateSchedule(spec), [], context());
    const fromMs = from.getTime();
    const toMs = to.getTime();
    const horizon = toMs + 91 * DAY;
    const layers = spec.layers.map((layer) => referenceLayer(spec.timeZone, layer, horizon));
    const expected = (t: number) => referenceOnCall(spec.timeZone, layers, spec.overrides, t);

    const rendered = renderSchedule(spec, from, to);
    const final = rendered.final;
    assert.ok(final.length > 0, context());
    assert.equal(final[0].start.getTime(), fromMs, context());
    assert.equal(final[final.length - 1].end.getTime(), toMs, context());
    for (let e = 0; e < final.length; e++) {
      assert.ok(final[e].start < final[e].end, `empty entry ${e}\n${context()}`);
      if (e > 0) {
        assert.equal(final[e].start.getTime(), final[e - 1].end.getTime(), `not contiguous at ${e}\n${context()}`);
        assert.notDeepEqual({ m: final[e].members, s: final[e].source }, { m: final[e - 1].members, s: final[e - 1].source }, `unmerged neighbours at ${e}\n${context()}`);
      }
    }
    assert.deepEqual(rendered.gaps, final.filter((entry) => entry.source.type === 'gap').map(({ start, end }) => ({ start, end })), context());

    // Every instant at which something could change, either side of it, and random instants.
    const samples = new Set<number>();
    const around = (ms: number) => {
      for (const t of [ms - 1, ms, ms + 1]) if (t >= fromMs && t < toMs) samples.add(t);
    };
    for (const entry of final) around(entry.start.getTime());
    for (const layer of layers) for (const handoff of layer.handoffs) if (handoff >= fromMs - 1 && handoff <= toMs) around(handoff);
    for (const layer of layers) {
      around(layer.startMs);
      around(layer.endMs);
    }
    for (const override of spec.overrides) {
      around(Date.parse(override.start));
      around(Date.parse(override.end));
    }
    for (const layer of layers) for (const edge of restrictionEdges(spec.timeZone, layer.spec, fromMs, toMs)) around(edge);
    for (let r = 0; r < 40; r++) samples.add(fromMs + Math.floor(random() * (toMs - fromMs)));

    let index = 0;
    for (const t of [...samples].toSorted((a, b) => a - b)) {
      while (final[index].end.getTime() <= t) index++;
      const want = expected(t);
      const got = { members: final[index].members, source: final[index].source };
      if (!isDeepEqual(got, want)) assert.deepEqual(got, want, `at ${new Date(t).toISOString()}\n${context()}`);
      compared++;
    }

    // onCallAt renders from the instant asked about, so ask where window edges are hardest: just after
    // a DST transition (an hour whose wall times repeat or were skipped) and either side of hand-offs.
    const transitions: number[] = [];
    for (let at = Temporal.Instant.fromEpochMilliseconds(fromMs).toZonedDateTimeISO(spec.timeZone).getTimeZoneTransition('next'); at && at.epochMilliseconds < toMs; at = at.getTimeZoneTransition('next')) {
      transitions.push(at.epochMilliseconds);
    }
    const questions = Array.from({ length: 3 }, () => fromMs + Math.floor(random() * (toMs - fromMs)));
    for (const transition of transitions) for (const minutes of [0, 10, 30, 45, 70, 100]) questions.push(transition + minutes * MINUTE);
    const handoffs = layers.flatMap((layer) => layer.handoffs.filter((handoff) => handoff > fromMs && handoff < toMs));
    for (let k = 0; k < 3 && handoffs.length > 0; k++) questions.push(handoffs[Math.floor(random() * handoffs.length)] - 1);
    for (const t of questions.filter((question) => question >= fromMs && question < toMs)) {
      const now = onCallAt(spec, new Date(t));
      const want = expected(t);
      assert.deepEqual({ members: now.members, source: now.source }, want, `onCallAt ${new Date(t).toISOString()}\n${context()}`);
      if (now.until) {
        const until = now.until.getTime();
        assert.ok(until > t, context());
        assert.deepEqual(expected(until - 1), want, `onCallAt until-1 ${new Date(t).toISOString()}\n${context()}`);
        assert.notDeepEqual(expected(until), want, `onCallAt until ${new Date(t).toISOString()}\n${context()}`);
      }
    }

    // Rendering from a later instant gives the same entries as rendering the whole window and cutting it there.
    const cut = questions[Math.floor(random() * questions.length)];
    if (cut > fromMs && cut < toMs) {
      const tail = renderSchedule(spec, new Date(cut), to).final;
      const clipped = final.filter((entry) => entry.end.getTime() > cut).map((entry) => ({ ...entry, start: new Date(Math.max(cut, entry.start.getTime())) }));
      assert.deepEqual(tail, clipped, `rendered from ${new Date(cut).toISOString()}\n${context()}`);
    }
  }
  assert.ok(compared > SCHEDULES * 50, `only ${compared} instants compared`);
});

function isDeepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
