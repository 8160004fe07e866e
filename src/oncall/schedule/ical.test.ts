import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { memberIcalEntries, renderIcal, scheduleIcalEntries, type IcalEntry } from './ical.ts';
import { renderSchedule, type ScheduleSpec } from './schedule.ts';

const NOW = new Date('2025-06-01T12:00:00Z');

const TRICKY = [
  'Müller, Jörg; "the boss"',
  'back\\slash and semi;colon, comma',
  'two\nlines\r\nand a CR\rhere',
  '🔥 Ops 👩‍🚒 rotation',
  'é'.repeat(120),
  '🔥'.repeat(60),
  `A${'x'.repeat(72)}é tail`, // the first fold falls inside "é"
  'long '.repeat(40).trim(), // 199 characters
  'a'.repeat(200),
];

const tricky: IcalEntry[] = TRICKY.map((summary, i) => ({
  start: new Date(Date.UTC(2025, 5, 2 + i, 9, 0, 0)),
  end: new Date(Date.UTC(2025, 5, 2 + i, 17, 30, 15)),
  summary,
  description: `Entry ${i}: ${summary}\nsecond line, with; punctuation \\ and ${'ü'.repeat(50)}`,
  uid: `entry-${i},odd;uid@firewatch`,
}));

function feed(): string {
  return renderIcal({ name: 'Platform, primary; 🔥 "on call"', calendarUrl: 'https://firewatch.example/ical/abc?token=x', entries: tricky, now: NOW });
}

/** The Python with icalendar: PATH's python3, else Debian's (python3-icalendar), else null. */
function pythonWithIcalendar(): string | null {
  for (const python of [process.env.FIREWATCH_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    const probe = spawnSync(python, ['-c', 'import icalendar'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return null;
}

const PARSE_WITH_ICALENDAR = `
import json, sys
from datetime import timezone
from icalendar import Calendar
calendar = Calendar.from_ical(sys.stdin.buffer.read())
def utc(component, name):
    return component.decoded(name).astimezone(timezone.utc).isoformat()
events = []
for event in calendar.walk('VEVENT'):
    events.append({
        'uid': str(event.get('UID')),
        'summary': str(event.get('SUMMARY')),
        'description': str(event.get('DESCRIPTION')),
        'dtstart': utc(event, 'DTSTART'),
        'dtend': utc(event, 'DTEND'),
        'dtstamp': utc(event, 'DTSTAMP'),
    })
print(json.dumps({
    'name': str(calendar.get('X-WR-CALNAME')),
    'version': str(calendar.get('VERSION')),
    'method': str(calendar.get('METHOD')),
    'url': str(calendar.get('URL')),
    'events': events,
}))
`;

const python = pythonWithIcalendar();
const pythonUtc = (date: Date): string => date.toISOString().replace('.000Z', '+00:00');

test('an independent parser (Python icalendar) reads back every name, description, time and UID', { skip: python ? false : 'skipped: no python3 with icalendar (apt install python3-icalendar)' }, () => {
  const result = spawnSync(python!, ['-c', PARSE_WITH_ICALENDAR], { input: feed(), encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as { name: string; version: string; method: string; url: string; events: Record<string, string>[] };
  assert.equal(parsed.name, 'Platform, primary; 🔥 "on call"');
  assert.equal(parsed.version, '2.0');
  assert.equal(parsed.method, 'PUBLISH');
  assert.equal(parsed.url, 'https://firewatch.example/ical/abc?token=x');
  assert.deepEqual(
    parsed.events,
    tricky.map((entry) => ({
      uid: entry.uid,
      // TEXT cannot carry a bare CR: every line break comes back as \n.
      summary: entry.summary.replace(/\r\n?/g, '\n'),
      description: entry.description?.replace(/\r\n?/g, '\n'),
      dtstart: pythonUtc(entry.start),
      dtend: pythonUtc(entry.end),
      dtstamp: pythonUtc(NOW),
    })),
  );
});

test('lines end in CRLF, fold at 75 octets, and never split a UTF-8 character or an escape', () => {
  const ics = feed();
  assert.ok(ics.endsWith('END:VCALENDAR\r\n'));
  assert.doesNotMatch(ics, /[^\r]\n|\r[^\n]/, 'a line break that is not CRLF');
  const bytes = Buffer.from(ics, 'utf8');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lineStart = 0;
  let folded = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0d) continue;
    const line = bytes.subarray(lineStart, i);
    assert.ok(line.length <= 75, `${line.length} octets: ${line.toString()}`);
    decoder.decode(line); // throws if the line starts or ends inside a character
    assert.doesNotMatch(line.toString(), /(^|[^\\])(\\\\)*\\$/, `an escape split at a fold: ${line.toString()}`);
    if (line[0] === 0x20) folded++;
    lineStart = i + 2;
  }
  assert.ok(folded > 20, `only ${folded} continuation lines: the long names were not folded`);
  // Unfolding restores the escaped value.
  const summary = ics.replace(/\r\n /g, '').split('\r\n').find((line) => line.startsWith('SUMMARY:Müller'));
  assert.equal(summary, 'SUMMARY:Müller\\, Jörg\\; "the boss"');
  assert.ok(ics.replace(/\r\n /g, '').includes('SUMMARY:two\\nlines\\nand a CR\\nhere\r\n'));
});

test('the calendar has the headers clients need, and the same input gives the same bytes', () => {
  const ics = feed();
  for (const line of ['BEGIN:VCALENDAR', 'VERSION:2.0', 'CALSCALE:GREGORIAN', 'METHOD:PUBLISH', 'X-WR-CALNAME:Platform\\, primary\\; 🔥 "on call"', 'DTSTAMP:20250601T120000Z', 'DTSTART:20250602T090000Z', 'DTEND:20250602T173015Z']) {
    assert.ok(ics.includes(`\r\n${line}\r\n`) || ics.startsWith(`${line}\r\n`), line);
  }
  assert.match(ics, /\r\nPRODID:-\/\/Firewatch\/\/[^\r]+\r\n/);
  assert.equal((ics.match(/BEGIN:VEVENT/g) ?? []).length, tricky.length);
  assert.equal(feed(), ics);
});

const spec: ScheduleSpec = {
  timeZone: 'Europe/Berlin',
  layers: [{ name: 'Primary', start: '2025-03-24T09:00', members: ['ann', 'bob'], rotation: 'FREQ=WEEKLY', members_per_turn: 1 }],
  overrides: [
    { id: 'o1', member: 'cat', start: '2025-03-26T10:00:00Z', end: '2025-03-26T14:00:00Z', replaces: 'ann' },
    { id: 'o2', member: 'ann', start: '2025-03-27T10:00:00Z', end: '2025-03-27T14:00:00Z', replaces: 'ann' },
  ],
};
const names = new Map([
  ['ann', 'Ann Müller, SRE'],
  ['bob', 'Bob 🔥'],
]);

test('a schedule feed has one event per stretch with the same people, named by display name', () => {
  const rendered = renderSchedule(spec, new Date('2025-03-24T00:00Z'), new Date('2025-04-08T00:00Z'));
  const entries = scheduleIcalEntries({ id: 'sched-1', name: 'Platform', rendered }, names);
  assert.deepEqual(
    entries.map((entry) => [entry.start.toISOString().slice(0, 16), entry.end.toISOString().slice(0, 16), entry.summary]),
    [
      ['2025-03-24T08:00', '2025-03-26T10:00', 'On call: Ann Müller, SRE'],
      ['2025-03-26T10:00', '2025-03-26T14:00', 'On call: cat'], // no display name known: the id
      // ann's override of herself changes the source, not the people: one event.
      ['2025-03-26T14:00', '2025-03-31T07:00', 'On call: Ann Müller, SRE'],
      ['2025-03-31T07:00', '2025-04-07T07:00', 'On call: Bob 🔥'],
      ['2025-04-07T07:00', '2025-04-08T00:00', 'On call: Ann Müller, SRE'],
    ],
  );
  assert.ok(entries.every((entry) => entry.description === 'Schedule: Platform'));
  assert.equal(new Set(entries.map((entry) => entry.uid)).size, entries.length);
});

test('UIDs are stable as the feed window slides: keyed by the start, or by the end for the event the window cuts', () => {
  const uids = (from: string, to: string) =>
    new Map(
      scheduleIcalEntries({ id: 'sched-1', name: 'Platform', rendered: renderSchedule(spec, new Date(from), new Date(to)) }, names).map((entry) => [
        `${entry.summary} until ${entry.end.toISOString().slice(0, 16)}`,
        entry.uid,
      ]),
    );
  const monday = uids('2025-03-28T00:00Z', '2025-04-20T00:00Z');
  const tuesday = uids('2025-03-29T00:00Z', '2025-04-21T00:00Z');
  // Ann's shift is cut by both windows' start (at different instants) but ends where it ended.
  assert.equal(tuesday.get('On call: Ann Müller, SRE until 2025-03-31T07:00'), monday.get('On call: Ann Müller, SRE until 2025-03-31T07:00'));
  assert.equal(tuesday.get('On call: Bob 🔥 until 2025-04-07T07:00'), monday.get('On call: Bob 🔥 until 2025-04-07T07:00'));
  assert.equal(tuesday.get('On call: Ann Müller, SRE until 2025-04-14T07:00'), monday.get('On call: Ann Müller, SRE until 2025-04-14T07:00'));
  // Bob's last shift, cut by the window's end, grows by a day and keeps its start, so its UID too.
  assert.deepEqual(new Set(tuesday.values()), new Set(monday.values()));
  // A different schedule id gives different UIDs for the same shifts.
  const other = scheduleIcalEntries({ id: 'sched-2', name: 'Platform', rendered: renderSchedule(spec, new Date('2025-03-28T00:00Z'), new Date('2025-04-20T00:00Z')) }, names);
  assert.ok(other.every((entry) => ![...monday.values()].includes(entry.uid)));
});

test("a member's feed lists their shifts across schedules, merged across source changes, with who else is on", () => {
  const pairSpec: ScheduleSpec = {
    timeZone: 'UTC',
    layers: [{ name: 'Pair', start: '2025-03-25T00:00', members: ['bob', 'ann'], rotation: 'FREQ=DAILY', members_per_turn: 'all' }],
    overrides: [],
  };
  const window = [new Date('2025-03-24T00:00Z'), new Date('2025-04-01T00:00Z')] as const;
  const entries = memberIcalEntries(
    'ann',
    [
      { id: 'sched-1', name: 'Platform', rendered: renderSchedule(spec, ...window) },
      { id: 'sched-2', name: 'Database; "DBA"', rendered: renderSchedule(pairSpec, ...window) },
    ],
    names,
  );
  assert.deepEqual(
    entries.map((entry) => [entry.start.toISOString().slice(0, 16), entry.end.toISOString().slice(0, 16), entry.summary, entry.description]),
    [
      ['2025-03-24T08:00', '2025-03-26T10:00', 'On call: Platform', 'Schedule: Platform'],
      ['2025-03-25T00:00', '2025-04-01T00:00', 'On call: Database; "DBA"', 'Schedule: Database; "DBA"\nAlso on call: Bob 🔥'],
      ['2025-03-26T14:00', '2025-03-31T07:00', 'On call: Platform', 'Schedule: Platform'],
    ],
  );
  assert.match(renderIcal({ name: 'Ann Müller, SRE', entries, now: NOW }), /\r\nSUMMARY:On call: Database\\; "DBA"\r\n/);
});
