import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSyslog, SyslogFramer } from './syslog.parse.ts';

const NOW = new Date('2026-11-21T10:00:00.000Z');

describe('syslog parsing', () => {
  test('RFC 5424 with structured data, BOM, procid and msgid', () => {
    const m = parseSyslog('<165>1 2026-11-21T09:59:58.123456+01:00 web-1.example.com checkout 4242 ID47 [exampleSDID@32473 iut="3" service="payments"][meta note="a \\"q\\" \\]"] \uFEFFpayment failed: 502', '10.0.0.9', NOW);
    assert.equal(m.parsed, true);
    assert.equal(m.time, '2026-11-21T08:59:58.123Z');
    assert.equal(m.host, 'web-1.example.com');
    assert.equal(m.app, 'checkout');
    assert.equal(m.procid, '4242');
    assert.equal(m.msgid, 'ID47');
    assert.equal(m.severity, 5);
    assert.equal(m.facility, 20);
    assert.deepEqual(m.structured, { 'exampleSDID@32473': { iut: '3', service: 'payments' }, meta: { note: 'a "q" ]' } });
    assert.equal(m.message, 'payment failed: 502');
  });

  test('RFC 5424 with nil values and no message', () => {
    const m = parseSyslog('<14>1 - - - - - -', '10.0.0.9', NOW);
    assert.equal(m.parsed, true);
    assert.equal(m.host, '10.0.0.9');
    assert.equal(m.app, null);
    assert.equal(m.time, NOW.toISOString());
    assert.equal(m.message, '');
  });

  test('RFC 3164 with host and tag[pid], without a year', () => {
    const m = parseSyslog('<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed for lonvick on /dev/pts/8', null, NOW);
    assert.equal(m.severity, 2);
    assert.equal(m.host, 'mymachine');
    assert.equal(m.app, 'su');
    assert.equal(m.procid, '230');
    assert.equal(m.message, '\'su root\' failed for lonvick on /dev/pts/8');
    assert.equal(new Date(m.time).getFullYear(), 2026);
  });

  test('RFC 3164 from a future month is last year; a year in the timestamp is used', () => {
    assert.equal(new Date(parseSyslog('<13>Dec 24 10:00:00 h app: x', null, NOW).time).getFullYear(), 2025);
    assert.equal(new Date(parseSyslog('<13>Mar  1 2024 10:00:00 h app: x', null, NOW).time).getFullYear(), 2024);
  });

  test('an impossible date (Feb 30) is not rolled into March', () => {
    const m = parseSyslog('<13>Feb 30 2026 10:00:00 h a: feb30', null, NOW);
    assert.ok(!m.time.startsWith('2026-03'), m.time);
    assert.match(m.message, /feb30/);
    assert.ok(new Date(parseSyslog('<13>Feb 29 2024 10:00:00 h a: leap', null, NOW).time).getMonth() === 1, 'a leap day is a real date');
  });

  test('RFC 3164 without a host takes the sender address; rsyslog forward format (RFC 3339)', () => {
    const a = parseSyslog('<13>Nov 21 09:00:00 cron[77]: job done', '192.0.2.1', NOW);
    assert.equal(a.host, '192.0.2.1');
    assert.equal(a.app, 'cron');
    assert.equal(a.message, 'job done');
    const b = parseSyslog('<30>2026-11-21T09:30:00.5+00:00 db-2 postgres[9]: checkpoint complete', null, NOW);
    assert.equal(b.time, '2026-11-21T09:30:00.500Z');
    assert.equal(b.host, 'db-2');
    assert.equal(b.app, 'postgres');
    assert.equal(b.severity, 6);
  });

  test('a line without PRI (or with a bad one) is kept raw', () => {
    for (const line of ['just some text', '<999>1 x', '<abc> hello']) {
      const m = parseSyslog(line, '198.51.100.7', NOW);
      assert.equal(m.parsed, false);
      assert.equal(m.message, line);
      assert.equal(m.host, '198.51.100.7');
      assert.equal(m.severity, null);
    }
  });
});

describe('TCP framing', () => {
  test('octet counting and LF lines, split across chunks at every byte', () => {
    const a = '<13>1 - h app - - - first line';
    const b = '<13>Nov 21 09:00:00 h app: second';
    const c = '<13>1 - h app - - - third\nwith a newline inside';
    const stream = `${Buffer.byteLength(a)} ${a}${b}\n${Buffer.byteLength(c)} ${c}2026 starts with digits\r\n`;
    const bytes = Buffer.from(stream);
    for (let cut = 1; cut < bytes.length; cut++) {
      const f = new SyslogFramer();
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut)), ...f.end()];
      assert.deepEqual(out, [a, b, c, '2026 starts with digits'], `cut at ${cut}`);
    }
  });

  test('over-long frames are cut to the limit and the rest skipped', () => {
    const f = new SyslogFramer(10);
    const out = [...f.push(Buffer.from(`20 <13>${'x'.repeat(16)}${'y'.repeat(25)}\nok\n`)), ...f.end()];
    assert.deepEqual(out, [`<13>${'x'.repeat(6)}`, 'y'.repeat(10), 'ok']);
  });

  test('a last line without LF is delivered at the end', () => {
    const f = new SyslogFramer();
    assert.deepEqual(f.push(Buffer.from('<13>no newline')), []);
    assert.deepEqual(f.end(), ['<13>no newline']);
  });
});
