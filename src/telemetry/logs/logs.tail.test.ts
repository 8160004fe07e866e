import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { createLogStore } from './log.store.ts';
import type { LogsModule } from './logs.module.ts';
import { MAX_TAILS_PER_PRINCIPAL, TAIL_CATCH_UP } from './logs.routes.ts';

interface SseEvent { event: string; id: string; data: string }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A Server-Sent Events client that keeps the last event id the way EventSource does (an `id:` without data counts).
 * One connection per tail (no pooled keep-alive sockets left for the server's close to wait on).
 */
async function openTail(base: string, path: string, headers: Record<string, string>) {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${base}${path}`, { headers, agent: false }, resolve).on('error', reject);
  });
  const events: SseEvent[] = [];
  const state = { lastId: '', body: '' };
  const parse = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon === 0) continue;
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') state.lastId = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, id: state.lastId, data: data.join('\n') });
  };
  res.setEncoding('utf8');
  let buffer = '';
  res.on('data', (chunk: string) => {
    if (res.statusCode !== 200) {
      state.body += chunk;
      return;
    }
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  });
  const ended = new Promise((resolve) => res.once('close', resolve));
  const messages = () => events.filter((e) => e.event === 'lines').flatMap((e) => (JSON.parse(e.data) as { lines: { message: string }[] }).lines.map((l) => l.message));
  const waitFor = async (what: string, done: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events).slice(0, 2000)}`);
      await sleep(20);
    }
  };
  return {
    status: res.statusCode ?? 0, events, messages, waitFor,
    get lastId() {
      return state.lastId;
    },
    /** The body of a refused tail, once it ended. */
    async json() {
      await ended;
      return JSON.parse(state.body) as { error: { code: string } };
    },
    async close() {
      res.destroy();
      await ended;
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`log live tail (${dialect})`, () => {
    let t: TestApp;
    let logs: LogsModule;
    let base: string;
    const time = new Date().toISOString();
    const ingest = async (messages: string[]) => {
      const res = await t.app.inject({
        method: 'POST', url: '/api/v1/logs', headers: { ...t.auth('responder'), 'content-type': 'application/x-ndjson' },
        payload: messages.map((message) => JSON.stringify({ time, host: 'tail-1', app: 'tailer', message })).join('\n'),
      });
      assert.equal(res.statusCode, 204, res.body);
    };
    /** The SQL text and parameters of the queries `run` makes (the store's raw handle, patched for the call). */
    const captured = async (run: () => Promise<unknown>) => {
      const raw = t.handle.raw;
      const original = raw.query;
      const seen: { text: string; params: readonly unknown[] }[] = [];
      raw.query = ((executor, text, params) => {
        seen.push({ text, params });
        return original(executor, text, params);
      }) as typeof raw.query;
      try {
        await run();
      } finally {
        raw.query = original;
      }
      return seen;
    };
    const explain = async (q: { text: string; params: readonly unknown[] }) => {
      const rows = (await t.handle.raw.query<Record<string, string>>(t.handle.db, `explain ${dialect === 'sqlite' ? 'query plan ' : ''}${q.text}`, q.params)).rows;
      return rows.map((r) => r.detail ?? r['QUERY PLAN']).join('\n');
    };

    before(async () => {
      t = await createTestApp(dialect);
      logs = t.features.modules.find((m) => m.name === 'logs') as LogsModule;
      base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    });
    after(() => t.close());

    test('a tail read of a word that is in every line walks the new lines only (the plan is an id range)', async () => {
      // 60k older lines all holding the word: a read that collected every match would visit all of them (and
      // PostgreSQL, without statistics yet, ANDs in the word's whole GIN list at this size unless fenced off).
      await logs.store.insertBatch(Array.from({ length: 60_000 }, (_, i) => ({ time, host: 'bulk-1', app: 'bulk', service: null, sev: 6, message: `everywhere bulk line ${i}` })));
      const newest = await logs.store.newestSeq();
      for (const query of ['everywhere', 'everywhere host:bulk-1', 'host:bulk-1', '-nowhere', '']) {
        let slice: Awaited<ReturnType<typeof logs.store.tailAfter>> | undefined;
        const queries = await captured(async () => {
          slice = await logs.store.tailAfter(query, newest - 3, 500);
        });
        assert.deepEqual(slice!.lines.map((l) => l.message), ['everywhere bulk line 59997', 'everywhere bulk line 59998', 'everywhere bulk line 59999'], query);
        assert.equal(slice!.seq, newest);
        assert.equal(slice!.more, false);
        const read = queries.find((q) => q.text.startsWith('select l.id'));
        assert.ok(read, query);
        const plan = await explain(read);
        if (dialect === 'sqlite') {
          // Never the whole match list (LIST SUBQUERY) nor a field index over all of a host's lines.
          assert.doesNotMatch(plan, /LIST SUBQUERY|log_lines_\w+_idx|SCAN l\b/, `${query}:\n${plan}`);
          // FTS5 uses a rowid bound only when it arrives as an INTEGER (a REAL one is ignored: the word's whole list is
          // read from its start, and SQLite filters the rows afterwards, with the same plan text).
          for (const p of read.params.filter((x) => typeof x !== 'string')) {
            const bound = (await t.handle.raw.query<{ t: string }>(t.handle.db, 'select typeof(?) as t', [p])).rows[0].t;
            assert.equal(bound, 'integer', `${query}: ${String(p)} binds as ${bound}`);
          }
          if (query.startsWith('everywhere')) {
            // The FTS index walked from a rowid (its index string holds the rowid bounds), each line found by rowid.
            assert.match(plan, /SCAN f VIRTUAL TABLE INDEX \d+:M\d*></, `${query}:\n${plan}`);
            assert.match(plan, /SEARCH l USING INTEGER PRIMARY KEY \(rowid=\?\)/, `${query}:\n${plan}`);
          } else {
            assert.match(plan, /SEARCH l USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/, `${query}:\n${plan}`);
          }
        } else {
          // Fresh statistics or none, the primary key range drives the read; the GIN list of the word is not read.
          assert.match(plan, /log_lines_pkey/, `${query}:\n${plan}`);
          assert.match(plan, /Index Cond: \(\(id > '\d+'::bigint\) AND \(id <= '\d+'::bigint\)\)/, `${query}:\n${plan}`);
          assert.doesNotMatch(plan, /log_lines_tsv_idx|Seq Scan/, `${query}:\n${plan}`);
        }
      }
      // A search over more lines than its first span walks the newest arrivals first (rowid bound as an INTEGER too).
      const found = await logs.store.search({ query: 'everywhere', from: new Date(Date.parse(time) - 60_000), to: new Date(Date.parse(time) + 60_000), limit: 3 });
      assert.deepEqual(found.lines.map((l) => l.message), ['everywhere bulk line 59999', 'everywhere bulk line 59998', 'everywhere bulk line 59997']);
      assert.equal(found.truncated, true);
      // The catch-up after a reconnect reads newest first, by the same id range.
      const queries = await captured(() => logs.store.tailCatchUp('everywhere', newest - 10, 5));
      const plan = await explain(queries.find((q) => q.text.startsWith('select l.id'))!);
      if (dialect === 'sqlite') assert.match(plan, /SCAN f VIRTUAL TABLE INDEX \d+:M\d*></, plan);
      else assert.doesNotMatch(plan, /log_lines_tsv_idx|Seq Scan/, plan);
    });

    test('tail reads move past lines without a match, are bounded by the scan window, and catch up newest first', async () => {
      const small = createLogStore(t.handle, { tailScanWindow: 50 });
      const start = await small.newestSeq();
      await small.insertBatch(Array.from({ length: 120 }, (_, i) => ({ time, host: 'w', app: 'w', service: null, sev: 6, message: `window ${i + 1} ${(i + 1) % 40 === 0 ? 'needle' : 'hay'}` })));
      const newest = start + 120;
      assert.equal(await small.newestSeq(), newest);
      const read = async (query: string, afterSeq: number, limit: number) => {
        const s = await small.tailAfter(query, afterSeq, limit);
        return { messages: s.lines.map((l) => l.message), seq: s.seq - start, more: s.more };
      };
      // 50 lines a read: the cursor advances through lines that did not match.
      assert.deepEqual(await read('needle', start, 500), { messages: ['window 40 needle'], seq: 50, more: true });
      assert.deepEqual(await read('needle', start + 50, 500), { messages: ['window 80 needle'], seq: 100, more: true });
      assert.deepEqual(await read('needle', start + 100, 500), { messages: ['window 120 needle'], seq: 120, more: false });
      assert.deepEqual(await read('needle', newest, 500), { messages: [], seq: 120, more: false });
      // The limit cuts a read: it resumes after the last line sent.
      assert.deepEqual(await read('hay', start, 3), { messages: ['window 1 hay', 'window 2 hay', 'window 3 hay'], seq: 3, more: true });
      // A cursor past the newest line (every line was deleted, ids start again) continues from the newest.
      assert.equal((await small.tailAfter('hay', newest + 1000, 10)).seq, newest);

      // Catch-up: too many matches keeps the newest; older ones are reported as skipped.
      const many = await small.tailCatchUp('hay', start + 100, 5);
      assert.deepEqual(many.lines.map((l) => l.message), ['window 115 hay', 'window 116 hay', 'window 117 hay', 'window 118 hay', 'window 119 hay']);
      assert.deepEqual(many.skipped, { afterSeq: start + 100, beforeSeq: many.lines[0].seq });
      assert.equal(many.seq, newest);
      // A gap wider than the window: only its newest lines are read, the rest reported as skipped.
      const wide = await small.tailCatchUp('needle', start, 1000);
      assert.deepEqual(wide.lines.map((l) => l.message), ['window 80 needle', 'window 120 needle']);
      assert.deepEqual(wide.skipped, { afterSeq: start, beforeSeq: newest - 50 + 1 });
      const exact = await small.tailCatchUp('needle', start + 100, 1000);
      assert.deepEqual({ messages: exact.lines.map((l) => l.message), skipped: exact.skipped, seq: exact.seq }, { messages: ['window 120 needle'], skipped: null, seq: newest });
    });

    test('a reconnect with Last-Event-ID (or ?after_seq=) receives the lines it missed, none twice', async () => {
      const headers = t.auth('viewer');
      // Disconnected before any line: the id sent on connect still marks where to resume.
      const quiet = await openTail(base, '/api/v1/logs/tail?q=quietword', headers);
      await quiet.waitFor('the first id', () => quiet.lastId !== '');
      const connectedAt = quiet.lastId;
      await quiet.close();
      await ingest(['quietword one']);
      const quietAgain = await openTail(base, '/api/v1/logs/tail?q=quietword', { ...headers, 'last-event-id': connectedAt });
      await quietAgain.waitFor('the missed line', () => quietAgain.messages().length > 0);
      assert.deepEqual(quietAgain.messages(), ['quietword one']);
      await quietAgain.close();

      const first = await openTail(base, '/api/v1/logs/tail?q=resumeword', headers);
      await first.waitFor('connected', () => first.lastId !== '');
      await ingest(['resumeword 1', 'resumeword 2', 'unrelated 1']);
      await first.waitFor('two lines', () => first.messages().length === 2);
      const linesEvent = first.events.find((e) => e.event === 'lines')!;
      const sent = (JSON.parse(linesEvent.data) as { lines: { id: string }[] }).lines;
      // The id is the seq read up to: its last line's, or past it over lines that did not match ('unrelated 1').
      assert.ok(Number(linesEvent.id) >= Number(sent.at(-1)!.id), `${linesEvent.id} >= ${sent.at(-1)!.id}`);
      const resumeFrom = first.lastId;
      await first.close();

      await ingest(['resumeword 3', 'unrelated 2', 'resumeword 4']);
      const second = await openTail(base, '/api/v1/logs/tail?q=resumeword', { ...headers, 'last-event-id': resumeFrom });
      await second.waitFor('the missed lines', () => second.messages().length >= 2);
      assert.deepEqual(second.messages(), ['resumeword 3', 'resumeword 4'], 'the catch-up arrives at once');
      await ingest(['resumeword 5']);
      await second.waitFor('the next line', () => second.messages().length >= 3);
      await sleep(1200); // one more poll: nothing is sent twice
      const all = [...first.messages(), ...second.messages()];
      assert.deepEqual(all, ['resumeword 1', 'resumeword 2', 'resumeword 3', 'resumeword 4', 'resumeword 5']);
      assert.equal(second.events.some((e) => e.event === 'gap'), false);
      await second.close();

      // A first connection may resume by query parameter; a Last-Event-ID header wins over it.
      const byParam = await openTail(base, `/api/v1/logs/tail?q=resumeword&after_seq=${resumeFrom}`, headers);
      await byParam.waitFor('the lines after after_seq', () => byParam.messages().length >= 3);
      assert.deepEqual(byParam.messages(), ['resumeword 3', 'resumeword 4', 'resumeword 5']);
      await byParam.close();
      const headerWins = await openTail(base, '/api/v1/logs/tail?q=resumeword&after_seq=0', { ...headers, 'last-event-id': second.lastId });
      await headerWins.waitFor('connected', () => headerWins.lastId !== '');
      await sleep(300); // a catch-up is written right after the connect
      assert.deepEqual(headerWins.messages(), []);
      await headerWins.close();

      const bad = await t.app.inject({ method: 'GET', url: '/api/v1/logs/tail?q=x', headers: { ...headers, 'last-event-id': 'abc' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'bad_last_event_id');
    });

    test(`more than ${TAIL_CATCH_UP} missed lines: a gap event, then the newest ${TAIL_CATCH_UP}`, async () => {
      const tail = await openTail(base, '/api/v1/logs/tail?q=floodword', t.auth('viewer'));
      await tail.waitFor('connected', () => tail.lastId !== '');
      const resumeFrom = tail.lastId;
      await tail.close();
      const count = TAIL_CATCH_UP + 100;
      await ingest(Array.from({ length: count }, (_, i) => `floodword ${i + 1}`));
      const again = await openTail(base, '/api/v1/logs/tail?q=floodword', { ...t.auth('viewer'), 'last-event-id': resumeFrom });
      await again.waitFor('the catch-up', () => again.messages().length >= TAIL_CATCH_UP);
      const gap = again.events.find((e) => e.event === 'gap');
      assert.ok(gap, 'a gap event');
      assert.equal(again.events.indexOf(gap), 0, 'the gap comes before the lines');
      const lines = again.events.filter((e) => e.event === 'lines').flatMap((e) => (JSON.parse(e.data) as { lines: { id: string; message: string }[] }).lines);
      assert.deepEqual(lines.map((l) => l.message), Array.from({ length: TAIL_CATCH_UP }, (_, i) => `floodword ${count - TAIL_CATCH_UP + i + 1}`));
      assert.deepEqual(JSON.parse(gap.data), { after_seq: Number(resumeFrom), before_seq: Number(lines[0].id), max_lines: TAIL_CATCH_UP });
      assert.equal(again.lastId, lines.at(-1)!.id);
      await again.close();
    });

    test(`at most ${MAX_TAILS_PER_PRINCIPAL} tails per person: the next answers 429 too_many_tails until one closes`, async () => {
      // Its own token: the other tests' tails may still be closing.
      const headers = { authorization: `Bearer ${(await t.features.users.createToken({ name: 'tail-limit', role: 'viewer' })).token}` };
      const open = [];
      for (let i = 0; i < MAX_TAILS_PER_PRINCIPAL; i++) {
        const tail = await openTail(base, '/api/v1/logs/tail?q=limitword', headers);
        assert.equal(tail.status, 200);
        open.push(tail);
      }
      const refused = await openTail(base, '/api/v1/logs/tail?q=limitword', headers);
      assert.equal(refused.status, 429);
      assert.equal((await refused.json()).error.code, 'too_many_tails');
      // Someone else is not affected.
      const other = await openTail(base, '/api/v1/logs/tail?q=limitword', t.auth('admin'));
      assert.equal(other.status, 200);
      await other.close();
      await open.pop()!.close();
      let status = 0;
      for (const deadline = Date.now() + 5000; status !== 200 && Date.now() < deadline; await sleep(50)) {
        const retry = await openTail(base, '/api/v1/logs/tail?q=limitword', headers);
        status = retry.status;
        if (status === 200) open.push(retry);
        else await retry.close();
      }
      assert.equal(status, 200, 'a closed tail frees its place');
      for (const tail of open) await tail.close();
    });
  });
}
