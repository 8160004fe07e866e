import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import type { ChatService, PostInput } from '../../chat/chat.types.ts';
import type { LogsModule } from './logs.module.ts';

interface Out { lines: { id: string; time: string; host: string | null; app: string | null; service: string | null; severity: string | null; message: string; dashboard_url: string | null }[]; truncated: boolean }

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** A snappy block holding `data` as literals only (valid snappy, as a compressor may emit). */
function snappyLiterals(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let n = data.length;
  const header: number[] = [];
  do {
    header.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  parts.push(Buffer.from(header));
  for (let i = 0; i < data.length; i += 60) {
    const chunk = data.subarray(i, i + 60);
    parts.push(Buffer.from([(chunk.length - 1) << 2]), chunk);
  }
  return Buffer.concat(parts);
}
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
const field = (num: number, payload: Buffer) => Buffer.concat([varint((num << 3) | 2), varint(payload.length), payload]);
const fieldVarint = (num: number, v: number) => Buffer.concat([varint(num << 3), varint(v)]);

for (const dialect of DIALECTS) {
  describe(`central log store (${dialect})`, () => {
    let t: TestApp;
    let logs: LogsModule;
    const search = async (q: string, extra = '') => {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/logs/search?q=${encodeURIComponent(q)}&from=${at(-60)}&to=${at(60)}${extra}`, headers: t.auth('viewer') });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Out;
    };
    const messages = async (q: string) => (await search(q)).lines.map((l) => l.message).toSorted();

    before(async () => {
      t = await createTestApp(dialect);
      logs = t.features.modules.find((m) => m.name === 'logs') as LogsModule;
      await t.features.services.create({ name: 'checkout', description: 'shop' });
      const body = [
        { time: at(0), host: 'web-1', app: 'nginx', service: 'checkout', level: 'error', message: 'GET /pay 502 upstream connection refused' },
        { ts: (T0 + 60_000) / 1000, host: 'web-2', app: 'nginx', service: 'checkout', severity: 'info', msg: 'GET /pay 200 ok' },
        { time: at(2), host: 'db-1', app: 'postgres', severity: 'warning', message: 'connection refused by pg_hba for user shop' },
        { time: at(3), host: 'web-1', app: 'nginx', severity: 4, message: 'refused connection attempt' },
        { time: at(-120), host: 'web-1', app: 'nginx', message: 'old line 502 refused' },
      ].map((o) => JSON.stringify(o)).join('\n');
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/logs', headers: { ...t.auth('responder'), 'content-type': 'application/x-ndjson' }, payload: body });
      assert.equal(res.statusCode, 204, res.body);
    });
    after(() => t.close());

    test('terms, phrases, negation and field filters', async () => {
      assert.deepEqual(await messages('refused'), ['GET /pay 502 upstream connection refused', 'connection refused by pg_hba for user shop', 'refused connection attempt']);
      assert.deepEqual(await messages('"connection refused"'), ['GET /pay 502 upstream connection refused', 'connection refused by pg_hba for user shop']);
      assert.deepEqual(await messages('refused -"connection refused"'), ['refused connection attempt']);
      assert.deepEqual(await messages('host:web-1 502'), ['GET /pay 502 upstream connection refused']);
      assert.deepEqual(await messages('-refused'), ['GET /pay 200 ok']);
      assert.deepEqual(await messages('host:web-* -host:web-2'), ['GET /pay 502 upstream connection refused', 'refused connection attempt']);
      assert.deepEqual(await messages('severity:err'), ['GET /pay 502 upstream connection refused']);
      assert.deepEqual(await messages('severity:>=warning'), ['GET /pay 502 upstream connection refused', 'connection refused by pg_hba for user shop', 'refused connection attempt']);
      assert.deepEqual(await messages('app:postgres PG_HBA'), ['connection refused by pg_hba for user shop']);
      assert.deepEqual(await messages('conn* service:checkout'), ['GET /pay 502 upstream connection refused']);
      assert.deepEqual(await messages('nothing-like-this'), []);
    });

    test('newest first, time range, limit with truncation, and a dashboard link per line', async () => {
      const all = await search('');
      assert.deepEqual(all.lines.map((l) => l.time), [at(3), at(2), at(1), at(0)]);
      assert.equal(all.lines[3].dashboard_url, `/services/checkout/dashboard?from=${encodeURIComponent(at(-15))}&to=${encodeURIComponent(at(15))}`);
      assert.equal(all.lines[0].dashboard_url, null);
      assert.equal(all.lines[3].severity, 'err');
      const limited = await search('', '&limit=2');
      assert.equal(limited.lines.length, 2);
      assert.equal(limited.truncated, true);
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/logs/search?q=refused&from=${at(-180)}&to=${at(-60)}`, headers: t.auth('viewer') });
      assert.deepEqual((res.json() as Out).lines.map((l) => l.message), ['old line 502 refused']);
    });

    test('syntax errors answer 400 bad_log_query', async () => {
      for (const q of ['"unclosed', 'host:', 'severity:loud', '-', '!!!', 'a"b']) {
        const res = await t.app.inject({ method: 'GET', url: `/api/v1/logs/search?q=${encodeURIComponent(q)}`, headers: t.auth('viewer') });
        assert.equal(res.statusCode, 400, q);
        assert.equal(res.json().error.code, 'bad_log_query', q);
      }
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/logs/search?from=${at(5)}&to=${at(1)}`, headers: t.auth('viewer') });
      assert.equal(res.json().error.code, 'bad_log_query');
    });

    test('count and lastMatch (what log rules use)', async () => {
      assert.equal(await logs.store.count('refused', new Date(at(-1)), new Date(at(10))), 3);
      assert.equal(await logs.store.count('refused host:web-1', new Date(at(-1)), new Date(at(10))), 2);
      assert.equal(await logs.store.count('502', new Date(at(-500)), new Date(at(10))), 2);
      assert.equal((await logs.store.lastMatch('refused', new Date(at(10)), new Date(at(-10))))?.toISOString(), at(3));
      assert.equal(await logs.store.lastMatch('refused', new Date(at(-10)), new Date(at(-20))), null);
    });

    test('ingest: a bad line stores nothing; viewers may not ingest; Basic auth with the token as password works', async () => {
      const initial = (await search('')).lines.length;
      const bad = await t.app.inject({ method: 'POST', url: '/api/v1/logs', headers: t.auth('responder'), payload: `{"message":"fine","time":"${at(5)}"}\n{"message": 5}\n` });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'invalid_log_line');
      assert.match(bad.json().error.message, /line 2/);
      const notJson = await t.app.inject({ method: 'POST', url: '/api/v1/logs', headers: t.auth('responder'), payload: '{"message":' });
      assert.equal(notJson.json().error.code, 'invalid_json');
      assert.equal((await search('')).lines.length, initial);
      const viewer = await t.app.inject({ method: 'POST', url: '/api/v1/logs', headers: t.auth('viewer'), payload: '{"message":"x"}' });
      assert.equal(viewer.statusCode, 403);
      const none = await t.app.inject({ method: 'POST', url: '/loki/api/v1/push', payload: '{}' });
      assert.equal(none.statusCode, 401);
      const basic = `Basic ${Buffer.from(`loki:${t.tokens.responder}`).toString('base64')}`;
      const ok = await t.app.inject({ method: 'POST', url: '/api/v1/logs', headers: { authorization: basic }, payload: `{"message":"basic auth line","time":"${at(5)}"}` });
      assert.equal(ok.statusCode, 204, ok.body);
      assert.deepEqual(await messages('"basic auth"'), ['basic auth line']);
    });

    test('Loki push: JSON and snappy-compressed protobuf', async () => {
      const ns = (BigInt(T0) * 1_000_000n + 6n * 60_000_000_000n).toString();
      const json = await t.app.inject({
        method: 'POST', url: '/loki/api/v1/push', headers: { ...t.auth('responder'), 'content-type': 'application/json' },
        payload: { streams: [{ stream: { host: 'k8s-node-3', app: 'api', service_name: 'checkout', level: 'warn' }, values: [[ns, 'loki json line one'], [ns, 'loki json line two']] }] },
      });
      assert.equal(json.statusCode, 204, json.body);
      const lokiJson = await search('loki json');
      assert.equal(lokiJson.lines.length, 2);
      assert.deepEqual({ ...lokiJson.lines[0], id: undefined, dashboard_url: undefined, message: undefined }, {
        id: undefined, time: at(6), host: 'k8s-node-3', app: 'api', service: 'checkout', severity: 'warning', message: undefined, dashboard_url: undefined,
      });
      const ts = Buffer.concat([fieldVarint(1, Math.floor(T0 / 1000) + 7 * 60), fieldVarint(2, 250_000_000)]);
      const entry = Buffer.concat([field(1, ts), field(2, Buffer.from('promtail protobuf line'))]);
      const stream = Buffer.concat([field(1, Buffer.from('{host="node-9", job="varlogs"}')), field(2, entry)]);
      const proto = await t.app.inject({
        method: 'POST', url: '/loki/api/v1/push', headers: { ...t.auth('responder'), 'content-type': 'application/x-protobuf' },
        payload: snappyLiterals(field(1, stream)),
      });
      assert.equal(proto.statusCode, 204, proto.body);
      const found = (await search('promtail')).lines;
      assert.equal(found.length, 1);
      assert.equal(found[0].time, new Date(T0 + 7 * 60_000 + 250).toISOString());
      assert.equal(found[0].host, 'node-9');
      assert.equal(found[0].app, 'varlogs');
      const gz = await t.app.inject({
        method: 'POST', url: '/loki/api/v1/push', headers: { ...t.auth('responder'), 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync(JSON.stringify({ streams: [{ stream: { app: 'vector' }, values: [[ns, 'gzipped loki line']] }] })),
      });
      assert.equal(gz.statusCode, 204, gz.body);
      assert.deepEqual((await search('gzipped')).lines.map((l) => l.app), ['vector']);
      // A small gzip body that inflates past the limit is refused, not inflated into memory.
      const bomb = await t.app.inject({
        method: 'POST', url: '/api/v1/logs', headers: { ...t.auth('responder'), 'content-encoding': 'gzip' },
        payload: gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)),
      });
      assert.equal(bomb.statusCode, 413, bomb.body);
      const other = await t.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...t.auth('responder'), 'content-type': 'text/csv' }, payload: 'a,b' });
      assert.equal(other.statusCode, 415);
      assert.equal(other.json().error.code, 'unsupported_media_type');
      const garbage = await t.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...t.auth('responder'), 'content-type': 'application/x-protobuf' }, payload: Buffer.from([0x05, 0xff, 0xff]) });
      assert.equal(garbage.statusCode, 400);
      assert.equal(garbage.json().error.code, 'invalid_loki_push');
    });

    test('syslog over TCP (octet counting and LF) and UDP; the service comes from structured data or a service-named app', async () => {
      const server = await logs.listenSyslog('127.0.0.1', 0);
      try {
        const a = '<11>1 2026-11-21T10:08:00.000Z sys-1 billing 12 - [fw service="checkout"] tcp octet counted line';
        const socket = net.connect(server.tcpPort, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.end(`${Buffer.byteLength(a)} ${a}<14>Nov 21 10:09:00 sys-2 checkout[5]: tcp lf line\n`);
        const udp = dgram.createSocket('udp4');
        await new Promise<void>((resolve, reject) => udp.send('<12>2026-11-21T10:10:00Z sys-3 cron[1]: udp datagram line', server.udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
        udp.close();
        let lines: Out['lines'] = [];
        for (let i = 0; i < 100 && lines.length < 3; i++) {
          await new Promise((r) => setTimeout(r, 50));
          lines = (await search('line -json -protobuf -auth')).lines.filter((l) => /tcp|udp/.test(l.message));
        }
        const view = lines.map((l) => [l.host, l.app, l.service, l.severity, l.message]);
        assert.deepEqual(view.toSorted(), [
          ['sys-1', 'billing', 'checkout', 'err', 'tcp octet counted line'],
          ['sys-2', 'checkout', 'checkout', 'info', 'tcp lf line'],
          ['sys-3', 'cron', null, 'warning', 'udp datagram line'],
        ]);
      } finally {
        await server.close();
      }
    });

    test('share posts the result into a channel as a code block with a link', async () => {
      const chat = t.features.chat as ChatService;
      const posted: PostInput[] = [];
      const original = chat.post;
      chat.post = async (input) => {
        posted.push(input);
        return { id: 'm1', channel: input.channel } as Awaited<ReturnType<ChatService['post']>>;
      };
      try {
        const res = await t.app.inject({
          method: 'POST', url: '/api/v1/logs/share', headers: t.auth('responder'),
          payload: { q: '"connection refused"', from: at(-60), to: at(60), channel: 'inc-42' },
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(posted.length, 1);
        assert.equal(posted[0].channel, 'inc-42');
        assert.match(posted[0].text, /^Log search `"connection refused"` .*: 2 lines\n```\n/);
        assert.match(posted[0].text, /db-1 postgres warning: connection refused by pg_hba/);
        assert.match(posted[0].text, /http:\/\/firewatch\.test\/logs\?q=%22connection\+refused%22/);
        // A token without a user posts as that integration (as in the chat routes), never as a user with no id.
        const token = await t.features.users.principalFromToken(t.tokens.responder);
        assert.deepEqual(posted[0].author, { type: 'integration', id: token!.id, name: 'token:test-responder' });
        // A user's token posts as the user.
        const user = await t.features.users.createUser({ email: 'sharer@example.test', name: 'Sam Sharer', role: 'responder' });
        const own = await t.features.users.createToken({ name: 'sam-cli', role: 'responder', userEmail: 'sharer@example.test' });
        const byUser = await t.app.inject({
          method: 'POST', url: '/api/v1/logs/share', headers: { authorization: `Bearer ${own.token}` }, payload: { q: 'refused', from: at(-60), to: at(60), channel: 'inc-42' },
        });
        assert.equal(byUser.statusCode, 200, byUser.body);
        assert.deepEqual(posted[1].author, { type: 'user', id: user.id, name: 'Sam Sharer' });
        const viewer = await t.app.inject({ method: 'POST', url: '/api/v1/logs/share', headers: t.auth('viewer'), payload: { q: 'x', channel: 'inc-42' } });
        assert.equal(viewer.statusCode, 403);
      } finally {
        chat.post = original;
      }
    });

    test('retention deletes by age, then the oldest lines over the size limit', async () => {
      const stats = await logs.store.stats();
      assert.ok(stats.lines >= 10, JSON.stringify(stats));
      const byAge = await logs.store.retain(new Date(at(-60)), 1e12);
      assert.equal(byAge.deleted, 1);
      assert.deepEqual(await messages('old'), []);
      const left = await logs.store.stats();
      assert.equal(left.lines, stats.lines - 1);
      // Keep at most ~60 bytes: only the newest lines survive, and the FTS index forgets the deleted ones.
      await logs.store.retain(new Date(at(-60)), 60, 2);
      const final = await logs.store.stats();
      assert.ok(final.bytes <= 60 && final.lines >= 1, JSON.stringify(final));
      assert.equal((await search('refused')).lines.length, 0);
      assert.equal(await logs.store.count('refused', new Date(at(-100)), new Date(at(100))), 0);
    });
  });
}
