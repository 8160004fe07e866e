import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  activeWindowEnd, type AlertFacts, isActiveAt, type Matcher, matcherMatches, nextActiveChange, nextActiveStart, OPEN_ENDED, patternProblem,
  type SilenceRecord, silenceMatches,
} from './silence.ts';
import { matchersSchema, recurrenceSchema } from './silence.schemas.ts';

const facts: AlertFacts = {
  service: 'checkout',
  integration: 'alertmanager',
  source: 'db1.example.com',
  severity: 'critical',
  summary: 'Disk full on db1',
  component: 'postgres',
  group: null,
  class: 'disk',
  details: { labels: { env: 'prod', 'team-name': 'sre' }, replicas: 3, ok: false, nested: { list: [1, 2] } },
};

const silence = (overrides: Partial<SilenceRecord> = {}): SilenceRecord => ({
  id: 's1', name: null, matchers: [{ field: 'service', op: '=', value: 'checkout' }],
  starts_at: '2026-01-01T00:00:00.000Z', ends_at: null, recurrence: null, comment: '', ...overrides,
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

describe('matchers (Alertmanager semantics)', () => {
  const cases: [Matcher, boolean][] = [
    [{ field: 'service', op: '=', value: 'checkout' }, true],
    [{ field: 'service', op: '=', value: 'Checkout' }, false],
    [{ field: 'service', op: '!=', value: 'search' }, true],
    [{ field: 'service', op: '!=', value: 'checkout' }, false],
    // Regexes are anchored at both ends, as in Alertmanager.
    [{ field: 'service', op: '=~', value: 'check' }, false],
    [{ field: 'service', op: '=~', value: 'check.*' }, true],
    [{ field: 'service', op: '=~', value: 'out' }, false],
    [{ field: 'service', op: '=~', value: '.*out' }, true],
    [{ field: 'service', op: '=~', value: 'search|checkout' }, true],
    [{ field: 'service', op: '=~', value: 'search|check' }, false],
    [{ field: 'source', op: '=~', value: 'db[0-9]+\\.example\\.com' }, true],
    [{ field: 'source', op: '=~', value: 'db[0-9]+' }, false],
    [{ field: 'service', op: '!~', value: 'check' }, true],
    [{ field: 'service', op: '!~', value: 'check.*' }, false],
    [{ field: 'service', op: '=~', value: '(?i)CHECKOUT' }, true],
    [{ field: 'severity', op: '=', value: 'critical' }, true],
    [{ field: 'integration', op: '=', value: 'alertmanager' }, true],
    [{ field: 'summary', op: '=~', value: 'Disk full.*' }, true],
    [{ field: 'component', op: '=', value: 'postgres' }, true],
    [{ field: 'class', op: '=', value: 'disk' }, true],
    // A missing value is the empty string: `=""` matches it, `!= x` matches it.
    [{ field: 'group', op: '=', value: '' }, true],
    [{ field: 'group', op: '!=', value: 'web' }, true],
    [{ field: 'group', op: '=~', value: '.+' }, false],
    // details.<path> reaches into custom details; numbers and booleans compare as text.
    [{ field: 'details.labels.env', op: '=', value: 'prod' }, true],
    [{ field: 'details.labels.env', op: '=~', value: 'pro' }, false],
    [{ field: 'details.labels.team-name', op: '=', value: 'sre' }, true],
    [{ field: 'details.replicas', op: '=', value: '3' }, true],
    [{ field: 'details.ok', op: '=', value: 'false' }, true],
    [{ field: 'details.nested.list.1', op: '=', value: '2' }, true],
    [{ field: 'details.nested.list', op: '=', value: '[1,2]' }, true],
    [{ field: 'details.labels.missing', op: '=', value: '' }, true],
    [{ field: 'details.labels.env.deeper', op: '=', value: '' }, true],
    [{ field: 'details.constructor', op: '=', value: '' }, true],
  ];
  for (const [m, expected] of cases) {
    test(`${m.field} ${m.op} ${JSON.stringify(m.value)} → ${expected}`, () => {
      assert.equal(matcherMatches(m, facts), expected);
    });
  }

  test('a silence matches only when every matcher matches', () => {
    const at = new Date('2026-02-01T00:00:00Z');
    assert.equal(silenceMatches(silence({ matchers: [{ field: 'service', op: '=', value: 'checkout' }, { field: 'severity', op: '=~', value: 'critical|error' }] }), facts, at), true);
    assert.equal(silenceMatches(silence({ matchers: [{ field: 'service', op: '=', value: 'checkout' }, { field: 'severity', op: '=', value: 'warning' }] }), facts, at), false);
  });

  test('patterns that would backtrack exponentially, back-references, invalid and over-long patterns are refused', () => {
    for (const p of ['(a+)+', '(a*)*b', '(a|a)*', '(a|aa)+$', '((ab)*)+', '(.*a){12}', '(a?)+', '(a)\\1', '(?<x>a)\\k<x>', '[', '(', 'a{2,1}', 'x'.repeat(257)]) {
      assert.ok(patternProblem(p), `${p} should be refused`);
    }
    for (const p of ['db.*', 'foo|bar', '(foo|bar)-.*', '[a-z]+[0-9]{1,3}', '(?i)checkout', '(ab)?c', 'a{0,1}', '(a){1}', '.*', 'x'.repeat(256)]) {
      assert.equal(patternProblem(p), null, `${p} should be allowed`);
    }
  });

  test('matcher lists are validated: pattern problems by path, and at least one matcher must exclude the empty value', () => {
    const bad = matchersSchema.safeParse([{ field: 'service', op: '=', value: 'x' }, { field: 'summary', op: '=~', value: '(a+)+' }, { field: 'nope', op: '=', value: 'x' }]);
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).toSorted(), ['1.value', '2.field']);
    assert.equal(matchersSchema.safeParse([{ field: 'service', op: '=~', value: '.*' }]).success, false, 'would silence everything');
    assert.equal(matchersSchema.safeParse([{ field: 'group', op: '=', value: '' }, { field: 'service', op: '!=', value: 'x' }]).success, false);
    assert.equal(matchersSchema.safeParse([{ field: 'service', op: '=~', value: '.*' }, { field: 'severity', op: '=', value: 'critical' }]).success, true);
    assert.equal(matchersSchema.safeParse([]).success, false);
    assert.equal(matchersSchema.safeParse([{ field: 'service', op: '==', value: 'x' }]).success, false);
  });
});

describe('silence time ranges', () => {
  test('a one-off silence is active from starts_at (inclusive) to ends_at (exclusive)', () => {
    const s = silence({ starts_at: '2026-03-01T10:00:00.000Z', ends_at: '2026-03-01T12:00:00.000Z' });
    assert.equal(isActiveAt(s, new Date('2026-03-01T09:59:59.999Z')), false);
    assert.equal(isActiveAt(s, new Date('2026-03-01T10:00:00Z')), true);
    assert.equal(isActiveAt(s, new Date('2026-03-01T12:00:00Z')), false);
    assert.equal(silenceMatches(s, facts, new Date('2026-03-01T13:00:00Z')), false, 'an expired silence matches nothing');
    assert.equal(iso(activeWindowEnd(s, new Date('2026-03-01T11:00:00Z'))), '2026-03-01T12:00:00.000Z');
    assert.equal(activeWindowEnd(s, new Date('2026-03-01T09:00:00Z')), null);
    assert.equal(iso(nextActiveStart(s, new Date('2026-03-01T09:00:00Z'))), '2026-03-01T10:00:00.000Z');
    assert.equal(nextActiveStart(s, new Date('2026-03-01T11:00:00Z')), null);
    assert.equal(iso(nextActiveChange(s, new Date('2026-03-01T11:00:00Z'))), '2026-03-01T12:00:00.000Z');
  });

  test('an open-ended silence stays active; its end is OPEN_ENDED', () => {
    const s = silence();
    assert.equal(activeWindowEnd(s, new Date('2030-01-01T00:00:00Z'))?.getTime(), OPEN_ENDED.getTime());
    assert.equal(nextActiveChange(s, new Date('2030-01-01T00:00:00Z')), null);
  });

  // Sundays 02:00–04:00 in Berlin. 2026-03-29: clocks jump 02:00 CET → 03:00 CEST; 2026-10-25: 03:00 CEST → 02:00 CET.
  const sunday = silence({ recurrence: { time_zone: 'Europe/Berlin', windows: [{ days: ['SU'], from: '02:00', to: '04:00' }] } });
  const windowCases: [string, string, boolean, string | null][] = [
    ['ordinary winter Sunday, 02:00 CET', '2026-03-22T01:00:00Z', true, '2026-03-22T03:00:00.000Z'],
    ['ordinary winter Sunday, 01:59 CET', '2026-03-22T00:59:00Z', false, null],
    ['ordinary winter Sunday, 04:00 CET', '2026-03-22T03:00:00Z', false, null],
    ['spring forward: 01:59 CET', '2026-03-29T00:59:00Z', false, null],
    ['spring forward: 03:00 CEST (02:00 never happens)', '2026-03-29T01:00:00Z', true, '2026-03-29T02:00:00.000Z'],
    ['spring forward: 03:59 CEST', '2026-03-29T01:59:00Z', true, '2026-03-29T02:00:00.000Z'],
    ['spring forward: 04:00 CEST', '2026-03-29T02:00:00Z', false, null],
    ['ordinary summer Sunday, 02:00 CEST', '2026-04-05T00:00:00Z', true, '2026-04-05T02:00:00.000Z'],
    ['ordinary summer Sunday, 01:59 CEST', '2026-04-04T23:59:00Z', false, null],
    ['fall back: first 02:00 (CEST)', '2026-10-25T00:00:00Z', true, '2026-10-25T03:00:00.000Z'],
    ['fall back: second 02:30 (CET)', '2026-10-25T01:30:00Z', true, '2026-10-25T03:00:00.000Z'],
    ['fall back: 04:00 CET', '2026-10-25T03:00:00Z', false, null],
    ['a Monday', '2026-03-23T01:00:00Z', false, null],
  ];
  for (const [what, at, active, end] of windowCases) {
    test(`recurring window across DST in Europe/Berlin: ${what}`, () => {
      assert.equal(isActiveAt(sunday, new Date(at)), active);
      assert.equal(silenceMatches(sunday, facts, new Date(at)), active);
      assert.equal(iso(activeWindowEnd(sunday, new Date(at))), end);
    });
  }

  test('the next start of a recurring silence follows wall-clock time across DST', () => {
    assert.equal(iso(nextActiveStart(sunday, new Date('2026-03-23T00:00:00Z'))), '2026-03-29T01:00:00.000Z', 'spring forward: the first existing instant after 02:00');
    assert.equal(iso(nextActiveStart(sunday, new Date('2026-03-29T01:30:00Z'))), '2026-04-05T00:00:00.000Z', 'from inside a window: the next one');
    assert.equal(iso(nextActiveStart(sunday, new Date('2026-10-19T00:00:00Z'))), '2026-10-25T00:00:00.000Z');
    assert.equal(iso(nextActiveStart(sunday, new Date('2026-10-26T00:00:00Z'))), '2026-11-01T01:00:00.000Z', 'winter: 02:00 CET');
  });

  test('windows past midnight, back-to-back windows and the silence range combine', () => {
    const nights = silence({
      starts_at: '2026-06-01T00:00:00.000Z',
      ends_at: '2026-06-04T04:00:00.000Z',
      recurrence: { time_zone: 'Europe/Berlin', windows: [{ from: '22:00', to: '24:00' }, { from: '00:00', to: '06:00' }] },
    });
    // 2026-06-02 23:00 CEST = 21:00Z: the 22:00–24:00 window continues into 00:00–06:00, ending 04:00Z.
    assert.equal(iso(activeWindowEnd(nights, new Date('2026-06-02T21:00:00Z'))), '2026-06-03T04:00:00.000Z');
    assert.equal(isActiveAt(nights, new Date('2026-06-02T12:00:00Z')), false);
    assert.equal(iso(nextActiveStart(nights, new Date('2026-06-02T12:00:00Z'))), '2026-06-02T20:00:00.000Z');
    // The last night is cut by ends_at.
    assert.equal(iso(activeWindowEnd(nights, new Date('2026-06-03T21:00:00Z'))), '2026-06-04T04:00:00.000Z');
    assert.equal(nextActiveStart(nights, new Date('2026-06-03T21:00:00Z')), null);

    const overnight = silence({ recurrence: { time_zone: 'America/New_York', windows: [{ days: ['FR'], from: '22:00', to: '02:00' }] } });
    // Friday 2026-06-05 23:00 EDT = 03:00Z Saturday; the window started Friday and runs to Saturday 02:00 EDT.
    assert.equal(iso(activeWindowEnd(overnight, new Date('2026-06-06T03:00:00Z'))), '2026-06-06T06:00:00.000Z');
    assert.equal(isActiveAt(overnight, new Date('2026-06-07T03:00:00Z')), false, 'Saturday night is not Friday');

    const early = silence({ starts_at: '2026-06-05T03:00:00.000Z', recurrence: { time_zone: 'UTC', windows: [{ from: '02:00', to: '04:00' }] } });
    assert.equal(isActiveAt(early, new Date('2026-06-05T02:30:00Z')), false, 'not before starts_at, even inside a window');
    assert.equal(iso(nextActiveStart(early, new Date('2026-06-05T01:00:00Z'))), '2026-06-05T03:00:00.000Z', 'starts mid-window');
  });

  test('recurrences are validated: zone, times and days', () => {
    assert.equal(recurrenceSchema.safeParse({ time_zone: 'Europe/Berlin', windows: [{ days: ['SU'], from: '02:00', to: '04:00' }] }).success, true);
    assert.equal(recurrenceSchema.safeParse({ time_zone: 'UTC', windows: [{ from: '00:00', to: '24:00' }] }).success, true);
    for (const bad of [
      { time_zone: 'Mars/Olympus', windows: [{ from: '02:00', to: '04:00' }] },
      { time_zone: 'UTC', windows: [{ from: '2:00', to: '04:00' }] },
      { time_zone: 'UTC', windows: [{ from: '24:00', to: '04:00' }] },
      { time_zone: 'UTC', windows: [{ from: '04:00', to: '04:00' }] },
      { time_zone: 'UTC', windows: [{ days: ['SUN'], from: '02:00', to: '04:00' }] },
      { time_zone: 'UTC', windows: [{ days: ['SU', 'SU'], from: '02:00', to: '04:00' }] },
      { time_zone: 'UTC', windows: [] },
    ]) {
      assert.equal(recurrenceSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
