import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../errors.ts';
import { nextChanges, onCallAt, renderSchedule, validateSchedule, type LayerSpec, type ScheduleEntry, type ScheduleSpec } from './schedule.ts';

const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR'] as const;

/** Entries as [start, end, members, source] with ISO times, so expectations read like a timetable. */
function table(entries: ScheduleEntry[]): [string, string, string, string][] {
  return entries.map((entry) => [
    entry.start.toISOString().slice(0, 16),
    entry.end.toISOString().slice(0, 16),
    entry.members.join(','),
    entry.source.type === 'layer' ? entry.source.layer : entry.source.type === 'override' ? entry.source.id : 'gap',
  ]);
}

function schedule(timeZone: string, layers: LayerSpec[], overrides: ScheduleSpec['overrides'] = []): ScheduleSpec {
  return { timeZone, layers, overrides };
}

const berlinOffice = schedule('Europe/Berlin', [
  {
    name: 'Office hours',
    start: '2025-03-24T09:00', // a Monday
    members: ['ann', 'bob', 'cat', 'dan'],
    rotation: 'FREQ=WEEKLY',
    restrictions: [{ days: [...WEEKDAYS], from: '09:00', to: '17:00' }],
  },
]);

test('a weekly office-hours rotation in Berlin keeps 09:00-17:00 local across the March DST change', () => {
  const rendered = renderSchedule(berlinOffice, new Date('2025-03-27T00:00Z'), new Date('2025-04-02T00:00Z'));
  // Until Sunday 30 March Berlin is UTC+1, after it UTC+2; Monday 31 March is bob's first turn.
  assert.deepEqual(table(rendered.final), [
    ['2025-03-27T00:00', '2025-03-27T08:00', '', 'gap'],
    ['2025-03-27T08:00', '2025-03-27T16:00', 'ann', 'Office hours'],
    ['2025-03-27T16:00', '2025-03-28T08:00', '', 'gap'],
    ['2025-03-28T08:00', '2025-03-28T16:00', 'ann', 'Office hours'],
    ['2025-03-28T16:00', '2025-03-31T07:00', '', 'gap'],
    ['2025-03-31T07:00', '2025-03-31T15:00', 'bob', 'Office hours'],
    ['2025-03-31T15:00', '2025-04-01T07:00', '', 'gap'],
    ['2025-04-01T07:00', '2025-04-01T15:00', 'bob', 'Office hours'],
    ['2025-04-01T15:00', '2025-04-02T00:00', '', 'gap'],
  ]);
  assert.deepEqual(
    rendered.gaps.map((gap) => [gap.start.toISOString().slice(0, 16), gap.end.toISOString().slice(0, 16)]),
    table(rendered.final).filter((row) => row[3] === 'gap').map((row) => [row[0], row[1]]),
  );
  assert.deepEqual(table(rendered.layers[0].entries), table(rendered.final).filter((row) => row[3] !== 'gap'));
});

test('the same rotation in October: cat (turn 30) then dan (turn 31), back to UTC+1 after 26 October', () => {
  const rendered = renderSchedule(berlinOffice, new Date('2025-10-23T00:00Z'), new Date('2025-10-29T00:00Z'));
  assert.deepEqual(table(rendered.final).filter((row) => row[3] !== 'gap'), [
    ['2025-10-23T07:00', '2025-10-23T15:00', 'cat', 'Office hours'],
    ['2025-10-24T07:00', '2025-10-24T15:00', 'cat', 'Office hours'],
    ['2025-10-27T08:00', '2025-10-27T16:00', 'dan', 'Office hours'],
    ['2025-10-28T08:00', '2025-10-28T16:00', 'dan', 'Office hours'],
  ]);
});

test('a start given as an instant is the same as the local time it denotes', () => {
  const byInstant = schedule('Europe/Berlin', [{ ...berlinOffice.layers[0], start: '2025-03-24T08:00:00Z' }]);
  const window = [new Date('2025-03-20T00:00Z'), new Date('2025-04-20T00:00Z')] as const;
  assert.deepEqual(renderSchedule(byInstant, ...window), renderSchedule(berlinOffice, ...window));
});

/** The next three changes after an instant, as UTC minutes. */
function changeTimes(spec: ScheduleSpec, after: string): string[] {
  return nextChanges(spec, new Date(after), 3).map((change) => change.at.toISOString().slice(0, 16));
}

test('hand-offs keep their wall-clock time; a skipped time moves forward by the gap, a repeated one takes the earlier', () => {
  const daily = (start: string) => schedule('America/New_York', [{ name: 'Daily', start, members: ['ann', 'bob'], rotation: 'FREQ=DAILY' }]);
  // 02:30 does not exist on 9 March 2025: that hand-off is at 03:30 EDT, and 02:30 comes back on 10 March.
  assert.deepEqual(changeTimes(daily('2025-03-07T02:30'), '2025-03-07T12:00Z'), ['2025-03-08T07:30', '2025-03-09T07:30', '2025-03-10T06:30']);
  // 01:30 happens twice on 2 November 2025: the hand-off is at the first (EDT).
  assert.deepEqual(changeTimes(daily('2025-10-31T01:30'), '2025-10-31T12:00Z'), ['2025-11-01T05:30', '2025-11-02T05:30', '2025-11-03T06:30']);
  // Lord Howe moves its clocks by 30 minutes: 02:15 on 5 October 2025 becomes 02:45 (UTC+11).
  const lordHowe = schedule('Australia/Lord_Howe', [{ name: 'Daily', start: '2025-10-03T02:15', members: ['ann', 'bob'], rotation: 'FREQ=DAILY' }]);
  assert.deepEqual(changeTimes(lordHowe, '2025-10-03T00:00Z'), ['2025-10-03T15:45', '2025-10-04T15:45', '2025-10-05T15:15']);
  // India has no DST: 09:00 is always 03:30 UTC.
  const kolkata = schedule('Asia/Kolkata', [{ name: 'Daily', start: '2025-03-07T09:00', members: ['ann', 'bob'], rotation: 'FREQ=DAILY' }]);
  assert.deepEqual(changeTimes(kolkata, '2025-03-08T00:00Z'), ['2025-03-08T03:30', '2025-03-09T03:30', '2025-03-10T03:30']);
});

test('an hourly rotation on the wall clock: the turn whose hour is skipped in spring gets no time', () => {
  const hourly = schedule('America/New_York', [{ name: 'Hourly', start: '2025-03-09T00:00', members: ['ann', 'bob', 'cat'], rotation: 'FREQ=HOURLY' }]);
  // 00:00 ann, 01:00 bob, 02:00 (moved to 03:00 EDT) cat, 03:00 EDT ann: both hand-offs land on 07:00Z.
  assert.deepEqual(onCallAt(hourly, new Date('2025-03-09T06:59:59.999Z')).members, ['bob']);
  assert.deepEqual(onCallAt(hourly, new Date('2025-03-09T07:00Z')).members, ['ann']);
  assert.deepEqual(onCallAt(hourly, new Date('2025-03-09T08:00Z')).members, ['bob']);
});

test('a hand-off rule with BYDAY and BYHOUR, starting on a day it does not name, hands off on the first day it does', () => {
  const spec = schedule('UTC', [{ name: 'Twice a week', start: '2025-01-01T12:00', members: ['ann', 'bob', 'cat'], rotation: 'FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0' }]);
  assert.deepEqual(nextChanges(spec, new Date('2025-01-01T00:00Z'), 4).map((change) => [change.at.toISOString().slice(0, 16), change.started.join(), change.ended.join()]), [
    ['2025-01-01T12:00', 'ann', ''],
    ['2025-01-02T09:00', 'bob', 'ann'],
    ['2025-01-06T09:00', 'cat', 'bob'],
    ['2025-01-09T09:00', 'ann', 'cat'],
  ]);
});

test('a monthly rotation (first Monday at 09:00) counts its turns from a start more than a year back', () => {
  const spec = schedule('America/New_York', [{ name: 'Monthly', start: '2024-01-01T09:00', members: ['ann', 'bob', 'cat'], rotation: 'FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9' }]);
  // Turns: 1 Jan 2024 is turn 0, so 3 March 2025 is turn 14 (cat) and 7 April 2025 turn 15 (ann).
  assert.deepEqual(nextChanges(spec, new Date('2025-03-01T00:00Z'), 2), [
    { at: new Date('2025-03-03T14:00Z'), started: ['cat'], ended: ['bob'] },
    { at: new Date('2025-04-07T13:00Z'), started: ['ann'], ended: ['cat'] },
  ]);
});

test('follow-the-sun: three eight-hour windows give 24-hour coverage with no gaps, DST day included', () => {
  const spec = schedule('Europe/London', [
    { name: 'APAC', start: '2025-03-01T00:00', members: ['ann', 'bob'], rotation: 'FREQ=WEEKLY', restrictions: [{ from: '00:00', to: '08:00' }] },
    { name: 'EMEA', start: '2025-03-01T00:00', members: ['cat', 'dan'], rotation: 'FREQ=WEEKLY', restrictions: [{ from: '08:00', to: '16:00' }] },
    { name: 'AMER', start: '2025-03-01T00:00', members: ['eve', 'fay'], rotation: 'FREQ=WEEKLY', restrictions: [{ from: '16:00', to: '24:00' }] },
  ]);
  const rendered = renderSchedule(spec, new Date('2025-03-01T00:00Z'), new Date('2025-04-01T00:00Z'));
  assert.deepEqual(rendered.gaps, []);
  // Three a day, and 1 April's APAC window opens at 23:00Z on 31 March, inside the month.
  assert.equal(rendered.final.length, 31 * 3 + 1);
  const sunday = table(rendered.final).filter((row) => row[0].startsWith('2025-03-30'));
  // Weekly turns from Saturday 1 March: 29 March starts turn 4 (ann, cat, eve). Clocks go forward at
  // 01:00 GMT on the 30th, so APAC's night is seven hours long and the later windows start an hour earlier in UTC.
  assert.deepEqual(sunday, [
    ['2025-03-30T00:00', '2025-03-30T07:00', 'ann', 'APAC'],
    ['2025-03-30T07:00', '2025-03-30T15:00', 'cat', 'EMEA'],
    ['2025-03-30T15:00', '2025-03-30T23:00', 'eve', 'AMER'],
    ['2025-03-30T23:00', '2025-03-31T07:00', 'ann', 'APAC'],
  ]);
});

test('a higher layer wins where it covers and the lower one shows through where it does not', () => {
  const spec = schedule('UTC', [
    { name: 'Base', start: '2025-06-02T00:00', members: ['ann'], rotation: 'FREQ=WEEKLY' },
    { name: 'Weekend', start: '2025-06-02T00:00', members: ['bob', 'cat'], rotation: 'FREQ=WEEKLY', restrictions: [{ days: ['SA'], from: '00:00', to: '00:00' }, { days: ['SU'], from: '00:00', to: '00:00' }] },
  ]);
  assert.deepEqual(table(renderSchedule(spec, new Date('2025-06-06T00:00Z'), new Date('2025-06-10T00:00Z')).final), [
    ['2025-06-06T00:00', '2025-06-07T00:00', 'ann', 'Base'],
    ['2025-06-07T00:00', '2025-06-09T00:00', 'bob', 'Weekend'],
    ['2025-06-09T00:00', '2025-06-10T00:00', 'ann', 'Base'],
  ]);
});

test('several on call at once: two per turn, or everyone', () => {
  const pairs = schedule('UTC', [{ name: 'Pairs', start: '2025-06-02T09:00', members: ['ann', 'bob', 'cat'], rotation: 'FREQ=DAILY', members_per_turn: 2 }]);
  const turns = ['2025-06-02T10:00Z', '2025-06-03T10:00Z', '2025-06-04T10:00Z'].map((at) => onCallAt(pairs, new Date(at)).members);
  assert.deepEqual(turns, [['ann', 'bob'], ['cat', 'ann'], ['bob', 'cat']]);
  const everyone = schedule('UTC', [{ name: 'All', start: '2025-06-02T09:00', members: ['ann', 'bob', 'ann'], rotation: 'FREQ=DAILY', members_per_turn: 'all' }]);
  assert.deepEqual(onCallAt(everyone, new Date('2025-06-05T00:00Z')), { members: ['ann', 'bob'], until: null, source: { type: 'layer', layer: 'All' } });
});

test('overrides: replace everyone, replace one of two, an override on an override, and one that replaces nobody', () => {
  const spec = schedule(
    'UTC',
    [{ name: 'Pair', start: '2025-06-02T09:00', members: ['ann', 'bob', 'cat', 'dan'], rotation: 'FREQ=WEEKLY', members_per_turn: 2 }],
    [
      { id: 'o1', member: 'eve', start: '2025-06-03T00:00:00Z', end: '2025-06-03T12:00:00Z', replaces: null },
      { id: 'o2', member: 'fay', start: '2025-06-04T00:00:00Z', end: '2025-06-05T00:00:00Z', replaces: 'bob' },
      { id: 'o3', member: 'gus', start: '2025-06-04T06:00:00Z', end: '2025-06-04T12:00:00Z', replaces: 'fay' },
      { id: 'o4', member: 'hal', start: '2025-06-06T00:00:00Z', end: '2025-06-06T06:00:00Z', replaces: 'dan' },
    ],
  );
  const rendered = renderSchedule(spec, new Date('2025-06-02T00:00Z'), new Date('2025-06-07T00:00Z'));
  assert.deepEqual(table(rendered.final), [
    ['2025-06-02T00:00', '2025-06-02T09:00', '', 'gap'],
    ['2025-06-02T09:00', '2025-06-03T00:00', 'ann,bob', 'Pair'],
    ['2025-06-03T00:00', '2025-06-03T12:00', 'eve', 'o1'],
    ['2025-06-03T12:00', '2025-06-04T00:00', 'ann,bob', 'Pair'],
    ['2025-06-04T00:00', '2025-06-04T06:00', 'ann,fay', 'o2'],
    ['2025-06-04T06:00', '2025-06-04T12:00', 'ann,gus', 'o3'],
    ['2025-06-04T12:00', '2025-06-05T00:00', 'ann,fay', 'o2'],
    ['2025-06-05T00:00', '2025-06-07T00:00', 'ann,bob', 'Pair'],
  ]);
  assert.deepEqual(table(rendered.overrides).map((row) => row[3]), ['o1', 'o2', 'o3', 'o4']);
  assert.deepEqual(rendered.gaps, [{ start: new Date('2025-06-02T00:00Z'), end: new Date('2025-06-02T09:00Z') }]);
  assert.deepEqual(onCallAt(spec, new Date('2025-06-04T07:00Z')), { members: ['ann', 'gus'], until: new Date('2025-06-04T12:00Z'), source: { type: 'override', id: 'o3' } });
  // An override that replaces everyone fills a gap, too.
  const fill = { ...spec, overrides: [{ id: 'o5', member: 'eve', start: '2025-06-02T08:00:00Z', end: '2025-06-02T10:00:00Z', replaces: null }] };
  assert.deepEqual(table(renderSchedule(fill, new Date('2025-06-02T00:00Z'), new Date('2025-06-02T12:00Z')).final), [
    ['2025-06-02T00:00', '2025-06-02T08:00', '', 'gap'],
    ['2025-06-02T08:00', '2025-06-02T10:00', 'eve', 'o5'],
    ['2025-06-02T10:00', '2025-06-02T12:00', 'ann,bob', 'Pair'],
  ]);
});

test('a layer covers nothing before its start, after its end, or without members; an empty restriction list restricts nothing', () => {
  const spec = schedule('UTC', [
    { name: 'Short', start: '2025-06-02T09:00', end: '2025-06-03T09:00', members: ['ann'], rotation: 'FREQ=DAILY', restrictions: [] },
    { name: 'Nobody', start: '2025-06-01T00:00', members: [], rotation: 'FREQ=DAILY' },
  ]);
  assert.deepEqual(table(renderSchedule(spec, new Date('2025-06-02T00:00Z'), new Date('2025-06-04T00:00Z')).final), [
    ['2025-06-02T00:00', '2025-06-02T09:00', '', 'gap'],
    ['2025-06-02T09:00', '2025-06-03T09:00', 'ann', 'Short'],
    ['2025-06-03T09:00', '2025-06-04T00:00', '', 'gap'],
  ]);
});

test('onCallAt says until when the current people are on call, and null when nothing changes within 90 days', () => {
  assert.deepEqual(onCallAt(berlinOffice, new Date('2025-03-31T08:00Z')), { members: ['bob'], until: new Date('2025-03-31T15:00Z'), source: { type: 'layer', layer: 'Office hours' } });
  assert.deepEqual(onCallAt(berlinOffice, new Date('2025-03-29T12:00Z')), { members: [], until: new Date('2025-03-31T07:00Z'), source: { type: 'gap' } });
  const alone = schedule('UTC', [{ name: 'Solo', start: '2025-01-01T00:00', members: ['ann'], rotation: 'FREQ=WEEKLY' }]);
  assert.equal(onCallAt(alone, new Date('2025-06-01T00:00Z')).until, null);
});

test('nextChanges lists who starts and who ends at each change after the given instant, skipping source-only changes', () => {
  const spec = schedule(
    'Europe/Berlin',
    [{ name: 'Weekly', start: '2025-03-17T09:00', members: ['ann', 'bob', 'cat', 'dan'], rotation: 'FREQ=WEEKLY' }],
    [{ id: 'same', member: 'bob', start: '2025-03-25T00:00:00Z', end: '2025-03-26T00:00:00Z', replaces: 'bob' }],
  );
  assert.deepEqual(nextChanges(spec, new Date('2025-03-20T00:00Z'), 3), [
    { at: new Date('2025-03-24T08:00Z'), started: ['bob'], ended: ['ann'] },
    { at: new Date('2025-03-31T07:00Z'), started: ['cat'], ended: ['bob'] },
    { at: new Date('2025-04-07T07:00Z'), started: ['dan'], ended: ['cat'] },
  ]);
  // A change exactly at `after` is not after it.
  assert.equal(nextChanges(spec, new Date('2025-03-24T08:00Z'), 1)[0].at.toISOString(), '2025-03-31T07:00:00.000Z');
  assert.deepEqual(nextChanges(spec, new Date('2025-03-20T00:00Z'), 0), []);
});

test('validateSchedule lists every problem in terms a person can act on, and renderSchedule refuses an invalid schedule', () => {
  const problems = validateSchedule({
    timeZone: 'Mars/Olympus_Mons',
    layers: [
      { name: 'A', start: '2025-13-01T09:00', members: ['ann'], rotation: 'FREQ=FORTNIGHTLY' },
      { name: 'A', start: '2025-01-01T09:00', end: 'tomorrow', members: ['ann'], rotation: 'FREQ=WEEKLY;COUNT=4', members_per_turn: 0 },
      { name: 'B', start: '2025-01-01T09:00Z', end: '2024-01-01T09:00Z', members: ['ann'], rotation: 'FREQ=DAILY;BYHOUR=9,25', restrictions: [{ days: ['XX' as 'MO'], from: '9:00', to: '24:30' }] },
    ],
    overrides: [
      { id: 'o1', member: 'ann', start: '2025-01-02T00:00:00Z', end: '2025-01-01T00:00:00Z' },
      { id: 'o1', member: '', start: 'soon', end: '2025-01-01T00:00:00Z' },
    ],
  });
  const expected = [
    /^timeZone: unknown time zone "Mars\/Olympus_Mons"$/,
    /^layers\[0\] \("A"\)\.start: "2025-13-01T09:00" is not a valid date and time$/,
    /^layers\[0\] \("A"\)\.rotation: FREQ=FORTNIGHTLY is not a frequency$/,
    /^layers\[1\] \("A"\)\.members_per_turn: must be a whole number of at least 1, or "all"$/,
    /^layers\[1\] \("A"\)\.end: "tomorrow" is not an ISO instant/,
    /^layers\[1\] \("A"\)\.rotation: COUNT is not supported/,
    /^layers\[1\] \("A"\)\.name: another layer has the same name$/,
    /^layers\[2\] \("B"\): end must be after start$/,
    /^layers\[2\] \("B"\)\.rotation: BYHOUR value "25" is out of range$/,
    /^layers\[2\] \("B"\)\.restrictions\[0\]\.from: "9:00" is not a time HH:MM/,
    /^layers\[2\] \("B"\)\.restrictions\[0\]\.to: "24:30" is not a time HH:MM/,
    /^layers\[2\] \("B"\)\.restrictions\[0\]\.days: "XX" is not a weekday/,
    /^overrides\[0\]: end must be after start$/,
    /^overrides\[1\]\.id: another override has the id "o1"$/,
    /^overrides\[1\]\.member: must be a non-empty member id$/,
    /^overrides\[1\]\.start: "soon" is not an ISO instant/,
  ];
  assert.equal(problems.length, expected.length, problems.join('\n'));
  expected.forEach((pattern, i) => assert.match(problems[i], pattern));

  assert.deepEqual(validateSchedule(berlinOffice), []);
  assert.deepEqual(validateSchedule(schedule('UTC', [{ name: 'Never', start: '2025-01-01T21:30', members: ['ann', 'bob'], rotation: 'FREQ=HOURLY;INTERVAL=8;BYHOUR=1' }])), [
    'layers[0] ("Never").rotation: never hands off (no occurrence within two years of the start); check INTERVAL against BYHOUR and BYDAY',
  ]);
  assert.throws(
    () => renderSchedule({ ...berlinOffice, timeZone: 'Nowhere/Special' }, new Date('2025-01-01T00:00Z'), new Date('2025-01-02T00:00Z')),
    (error: unknown) => error instanceof AppError && error.code === 'invalid_schedule' && error.status === 400,
  );
});

test('a layer started five years ago renders a month quickly (turns are counted, not walked)', () => {
  for (const rotation of ['FREQ=WEEKLY', 'FREQ=DAILY', 'FREQ=HOURLY;INTERVAL=12', 'FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9,21']) {
    let fastest = Infinity;
    for (let run = 0; run < 3; run++) {
      // A different start each run, so nothing counted by an earlier run is reused.
      const spec = schedule('America/New_York', [{ name: 'Old', start: `2020-03-0${2 + run}T09:00`, members: ['ann', 'bob', 'cat'], rotation }]);
      const began = performance.now();
      const rendered = renderSchedule(spec, new Date('2025-03-01T00:00Z'), new Date('2025-04-01T00:00Z'));
      fastest = Math.min(fastest, performance.now() - began);
      assert.ok(rendered.final.length > 0);
    }
    assert.ok(fastest < 50, `${rotation}: ${fastest.toFixed(1)} ms`);
  }
});
