import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { buildApp } from '../app.ts';
import { openDatabase } from '../db/database.ts';
import { createTestApp, DIALECTS, seedService, testConfig, type TestApp } from '../../test/helpers.ts';
import { hookKeyHash } from './chat.service.ts';
import type { ChatMessage } from './chat.types.ts';

interface Frame { type: string; channel?: string; message?: ChatMessage; last_seq?: number; users?: { name: string }[]; code?: string; summary?: { status: string } }

/** A test client that records every frame. */
class Client {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }
  static open(url: string, headers: Record<string, string>): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
      ws.once('error', reject);
    });
  }
  send(value: unknown) {
    this.ws.send(JSON.stringify(value));
  }
  messages(channel: string): ChatMessage[] {
    return this.frames.filter((f) => f.type === 'message' && f.message!.channel === channel).map((f) => f.message!);
  }
  async until(predicate: (frames: Frame[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  close() {
    this.ws.terminate();
  }
}

for (const dialect of DIALECTS) {
  describe(`war room: WebSocket and channels YAML (${dialect})`, () => {
    let t: TestApp;
    let url: string;
    let origin: string;
    const post = (role: 'admin' | 'responder', channel: string, text: string) =>
      t.app.inject({ method: 'POST', url: `/api/v1/channels/${channel}/messages`, headers: t.auth(role), payload: { text } });

    before(async () => {
      t = await createTestApp(dialect);
      const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
      url = `${address.replace('http', 'ws')}/api/v1/ws`;
      origin = address;
      await t.app.inject({ method: 'POST', url: '/api/v1/channels', headers: t.auth('responder'), payload: { name: 'ops' } });
    });
    after(() => t.close());

    test('an unauthenticated upgrade is refused with 401 before any upgrade; a bad token too', async () => {
      await assert.rejects(Client.open(url, {}), { statusCode: 401 });
      await assert.rejects(Client.open(url, { authorization: 'Bearer fw_nope' }), { statusCode: 401 });
    });

    test('a session cookie works only from our own origin', async () => {
      await t.features.users.createUser({ email: 'ana@example.com', name: 'Ana', role: 'responder', password: 'correct horse battery staple' });
      const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'ana@example.com', password: 'correct horse battery staple' } });
      assert.equal(login.statusCode, 200, login.body);
      const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
      await assert.rejects(Client.open(url, { cookie, origin: 'https://evil.example' }), { statusCode: 403 });
      await assert.rejects(Client.open(url, { cookie }), { statusCode: 403 });
      const ok = await Client.open(url, { cookie, origin });
      ok.send({ type: 'ping' });
      await ok.until((f) => f.some((x) => x.type === 'pong'));
      ok.close();
    });

    test('two clients see each other\'s messages, in seq order, with presence', async () => {
      const a = await Client.open(url, t.auth('responder'));
      const b = await Client.open(url, t.auth('admin'));
      a.send({ type: 'subscribe', channel: 'ops' });
      b.send({ type: 'subscribe', channel: 'ops' });
      await a.until((f) => f.some((x) => x.type === 'subscribed'));
      await b.until((f) => f.some((x) => x.type === 'subscribed'));
      await a.until((f) => f.some((x) => x.type === 'presence' && x.users!.length === 2));
      await post('responder', 'ops', 'from a');
      await post('admin', 'ops', 'from b');
      for (const c of [a, b]) {
        await c.until(() => c.messages('ops').length >= 2);
        assert.deepEqual(c.messages('ops').map((m) => m.text), ['from a', 'from b']);
      }
      const online = (await t.app.inject({ method: 'GET', url: '/api/v1/channels/ops', headers: t.auth('viewer') })).json().members_online;
      assert.deepEqual(online.map((u: { name: string }) => u.name).toSorted(), ['token:test-admin', 'token:test-responder'].toSorted());
      a.send({ type: 'subscribe', channel: 'nope' });
      await a.until((f) => f.some((x) => x.type === 'error' && x.code === 'channel_not_found'));
      a.close();
      b.close();
    });

    test('reconnecting with after_seq misses nothing: backlog (new, edited, deleted) first, then live, no duplicates', async () => {
      const a = await Client.open(url, t.auth('viewer'));
      a.send({ type: 'subscribe', channel: 'ops', after_seq: 0 });
      await a.until(() => a.messages('ops').length >= 2);
      const seen = Math.max(...a.messages('ops').map((m) => m.version_seq));
      a.close();
      const first = (await post('responder', 'ops', 'while away 1')).json().message;
      await post('responder', 'ops', 'while away 2');
      await t.app.inject({ method: 'PATCH', url: `/api/v1/channels/ops/messages/${first.id}`, headers: t.auth('responder'), payload: { text: 'while away 1 (fixed)' } });
      const b = await Client.open(url, t.auth('viewer'));
      b.send({ type: 'subscribe', channel: 'ops', after_seq: seen });
      // Posts racing the backlog read.
      const racing = Promise.all(Array.from({ length: 20 }, (_, i) => post('responder', 'ops', `live ${i}`)));
      await racing;
      await b.until(() => b.messages('ops').length >= 22);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const got = b.messages('ops');
      const versions = got.map((m) => m.version_seq);
      assert.deepEqual(versions, versions.toSorted((x, y) => x - y), 'strictly in version order');
      assert.equal(new Set(versions).size, versions.length, 'no duplicates');
      const last = (await t.app.inject({ method: 'GET', url: `/api/v1/channels/ops/messages?after_seq=${seen}&limit=500`, headers: t.auth('viewer') })).json();
      assert.deepEqual(versions, last.messages.map((m: ChatMessage) => m.version_seq), 'exactly what the REST resume returns');
      assert.ok(got.some((m) => m.text === 'while away 1 (fixed)'));
      assert.ok(!got.some((m) => m.text === 'while away 1'));
      b.close();
    });

    test('a cursor from the future is clamped: new messages still arrive; bad frames get errors, not a crash', async () => {
      const c = await Client.open(url, t.auth('viewer'));
      c.send({ type: 'subscribe', channel: 'ops', after_seq: 1_000_000 });
      await c.until((f) => f.some((x) => x.type === 'subscribed'));
      c.ws.send('not json');
      c.send({ type: 'subscribe', channel: '../etc' });
      c.send({ type: 'subscribe', channel: 'ops', after_seq: -1 });
      c.send({ type: 'shout' });
      await c.until((f) => ['invalid_json', 'invalid_channel', 'invalid_after_seq', 'unknown_type'].every((code) => f.some((x) => x.code === code)));
      await post('responder', 'ops', 'after the future');
      await c.until(() => c.messages('ops').some((m) => m.text === 'after the future'));
      c.close();
    });

    test('summary is pushed when the incident changes; ephemeral replies reach only the caller', async () => {
      const keys = await seedService(t);
      await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: { routing_key: keys.pagerduty, event_action: 'trigger', payload: { summary: 'Disk full', source: 'db1', severity: 'critical' } } });
      const c = await Client.open(url, t.auth('responder'));
      const other = await Client.open(url, t.auth('admin'));
      c.send({ type: 'subscribe', channel: 'incident-1', after_seq: 0 });
      other.send({ type: 'subscribe', channel: 'incident-1' });
      await c.until(() => c.messages('incident-1').length >= 1);
      await other.until((f) => f.some((x) => x.type === 'subscribed'));
      await t.app.inject({ method: 'POST', url: '/api/v1/incidents/1/acknowledge', headers: t.auth('responder') });
      await c.until((f) => f.some((x) => x.type === 'summary' && x.summary!.status === 'acknowledged'));
      await c.until(() => c.messages('incident-1').some((m) => /Acknowledged/.test(m.text)));
      const responderId = (await t.handle.db.selectFrom('api_tokens').select('id').where('name', '=', 'test-responder').executeTakeFirstOrThrow()).id;
      t.features.chat.ephemeral('incident-1', responderId, 'only for you');
      await c.until((f) => f.some((x) => x.type === 'ephemeral' && x.message!.text === 'only for you'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(!other.frames.some((x) => x.type === 'ephemeral'));
      c.close();
      other.close();
    });

    // Several server processes share one database only on PostgreSQL (the bus is relayed through NOTIFY).
    if (dialect === 'postgres') test('a message committed by another server process reaches this one\'s sockets (ids over the bus, bodies from the database)', async () => {
      const handle = openDatabase(t.database.url);
      const other = await buildApp({ config: testConfig({ databaseUrl: t.database.url }), handle, logger: false });
      try {
        const c = await Client.open(url, t.auth('viewer'));
        c.send({ type: 'subscribe', channel: 'ops' });
        await c.until((f) => f.some((x) => x.type === 'subscribed' && x.channel === 'ops'));
        // Give the second process's LISTEN a moment; then post there.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const res = await other.app.inject({ method: 'POST', url: '/api/v1/channels/ops/messages', headers: t.auth('responder'), payload: { text: 'from the other process' } });
        assert.equal(res.statusCode, 201, res.body);
        await c.until(() => c.messages('ops').some((m) => m.text === 'from the other process'));
        c.close();
      } finally {
        await other.app.close();
        await handle.close();
      }
    });

    test('channels YAML: apply creates hooks (keys generated, stored hashed and sealed), twice is unchanged, export round-trips', async () => {
      const yaml = `services:
  - name: payments
channels:
  - name: sre
    topic: SRE room
    services: [payments]
    slack_channel: C0123ABCD
    hooks:
      - name: alertmanager
        key: 0123456789abcdef0123456789abcdef
      - name: ci
    outbound:
      - name: mm
        type: mattermost
        url: https://chat.example.com/hooks/xyz
`;
      const apply = (body: string) => t.app.inject({ method: 'POST', url: '/api/v1/config/apply', headers: t.auth('admin'), payload: { yaml: body } });
      const first = await apply(yaml);
      assert.equal(first.statusCode, 200, first.body);
      assert.ok(first.json().created.includes('channel/sre'));
      const second = await apply(yaml);
      assert.ok(second.json().unchanged.includes('channel/sre'), second.body);
      const hook = await t.features.chat.hookByKey('0123456789abcdef0123456789abcdef');
      assert.deepEqual(hook && { name: hook.name, channel: hook.channel }, { name: 'alertmanager', channel: 'sre' });
      assert.equal(await t.features.chat.hookByKey('ffffffffffffffffffffffffffffffff'), null);
      const rows = await t.handle.db.selectFrom('chat_hooks').selectAll().execute();
      assert.equal(rows.find((r) => r.name === 'alertmanager')!.key_hash, hookKeyHash('0123456789abcdef0123456789abcdef'));
      assert.ok(rows.every((r) => !r.key_encrypted.includes('0123456789abcdef')));
      const channelRow = await t.handle.db.selectFrom('chat_channels').selectAll().where('name', '=', 'sre').executeTakeFirstOrThrow();
      assert.ok(!channelRow.outbound_encrypted!.includes('chat.example.com'));
      const settings = await t.features.chat.channelSettings('sre');
      assert.deepEqual(settings, { name: 'sre', incidentNumber: null, slackChannel: 'C0123ABCD', outbound: [{ name: 'mm', type: 'mattermost', url: 'https://chat.example.com/hooks/xyz' }] });

      const exported = (await t.app.inject({ method: 'GET', url: '/api/v1/config/export', headers: t.auth('admin') })).json().yaml as string;
      assert.match(exported, /name: sre/);
      assert.match(exported, /key: 0123456789abcdef0123456789abcdef/);
      const again = await apply(exported);
      assert.equal(again.statusCode, 200, again.body);
      assert.ok(again.json().unchanged.includes('channel/sre'), again.body);
      assert.equal(again.json().updated.length, 0, again.body);

      // The team channel follows payments: the bot posts its incidents there.
      await t.features.services.addIntegration('payments', { name: 'pd', type: 'pagerduty', key: 'abcdefabcdefabcdefabcdefabcdef12' });
      await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: { routing_key: 'abcdefabcdefabcdefabcdefabcdef12', event_action: 'trigger', payload: { summary: 'Card declines', source: 'pay', severity: 'critical' } } });
      const sre = (await t.app.inject({ method: 'GET', url: '/api/v1/channels/sre/messages', headers: t.auth('viewer') })).json().messages as ChatMessage[];
      assert.match(sre[0].text, /^\*\*Triggered\*\* \[#\d+ Card declines\]\(http:\/\/firewatch\.test\/incidents\/\d+\) · payments/);
      assert.ok(sre.every((m) => m.kind === 'event' && m.author.type === 'bot'));
      // Only the followed kinds of change reach a team channel (no notify, assign, alert_added …).
      assert.ok(sre.every((m) => /^\*\*(Triggered|Acknowledged|Escalated|Resolved)\*\*/.test(m.text)), JSON.stringify(sre.map((m) => m.text)));
      const bad = await apply(yaml.replace('[payments]', '[nope]'));
      assert.equal(bad.statusCode, 400);
    });
  });
}
