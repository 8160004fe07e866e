import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { createTestApp, DIALECTS, pdTrigger, seedService, type TestApp } from '../../../test/helpers.ts';
import type { FeatureModule } from '../../features/module.ts';

/**
 * Socket Mode end to end: the whole app with an app token, against a local fake Slack that does what
 * Slack documents — `apps.connections.open` (app token) hands out a WebSocket URL, the socket says
 * `hello`, then delivers envelopes (`slash_commands`, `interactive`, `events_api`) and expects each to be
 * acknowledged with `{envelope_id, payload?}`. Bolt's own client connects; nothing is mocked inside Firewatch.
 */

const APP_TOKEN = 'xapp-1-A1-socket-test';
const BOT_TOKEN = 'xoxb-socket-test';
const SLACK_CHANNEL = 'CINC1';

interface Ack { envelope_id: string; payload?: Record<string, unknown> }

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, body: object): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function until<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Slack's Web API (the parts Socket Mode and the adapter call) and its Socket Mode WebSocket. */
class FakeSlack {
  http: Server;
  wss: WebSocketServer;
  opens: { authorization: string | undefined }[] = [];
  responses: { path: string; body: Record<string, unknown> }[] = [];
  sockets: WebSocket[] = [];
  closed = 0;
  acks = new Map<string, Ack>();

  constructor() {
    this.http = createServer((req, res) => {
      void readBody(req).then((raw) => {
        const path = req.url ?? '';
        if (path === '/api/apps.connections.open') {
          this.opens.push({ authorization: req.headers.authorization });
          if (req.headers.authorization !== `Bearer ${APP_TOKEN}`) return json(res, { ok: false, error: 'invalid_auth' });
          return json(res, { ok: true, url: `ws://127.0.0.1:${this.port}/link` });
        }
        if (path.startsWith('/response/')) {
          this.responses.push({ path, body: JSON.parse(raw) as Record<string, unknown> });
          return void res.writeHead(200).end('ok');
        }
        if (req.headers.authorization !== `Bearer ${BOT_TOKEN}`) return json(res, { ok: false, error: 'invalid_auth' });
        if (path === '/api/auth.test') return json(res, { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'firewatch', team_id: 'T1', user_id: 'UBOT', bot_id: 'BFIREWATCH' });
        if (path === '/api/users.info') {
          const id = new URLSearchParams(raw).get('user');
          return json(res, id === 'UALICE'
            ? { ok: true, user: { id, name: 'alice', is_bot: false, profile: { email: 'alice@example.com', display_name: 'alice' } } }
            : { ok: false, error: 'user_not_found' });
        }
        return json(res, { ok: true, ts: '1700000000.000001' });
      });
    });
    this.wss = new WebSocketServer({ server: this.http, path: '/link' });
    this.wss.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data) => {
        const ack = JSON.parse(String(data)) as Ack;
        this.acks.set(ack.envelope_id, ack);
      });
      socket.on('close', () => this.closed++);
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 }, connection_info: { app_id: 'A1' } }));
    });
  }
  get port() {
    return (this.http.address() as AddressInfo).port;
  }
  /** Sends an envelope on the live socket and waits for the client's ack. */
  async deliver(envelope: { envelope_id: string; type: string; payload: object; accepts_response_payload: boolean }): Promise<Ack> {
    const socket = this.sockets.at(-1) as WebSocket;
    socket.send(JSON.stringify(envelope));
    return until(`the ack of ${envelope.envelope_id}`, () => this.acks.get(envelope.envelope_id));
  }
}

for (const dialect of DIALECTS) {
  describe(`Slack Socket Mode against a local fake Slack (${dialect})`, () => {
    const slack = new FakeSlack();
    let t: TestApp;
    let module: FeatureModule;
    const responseUrl = () => `http://127.0.0.1:${slack.port}/response/1`;

    before(async () => {
      await new Promise<void>((r) => slack.http.listen(0, '127.0.0.1', r));
      t = await createTestApp(dialect, { config: { slack: { signingSecret: null, botToken: BOT_TOKEN, appToken: APP_TOKEN, apiUrl: `http://127.0.0.1:${slack.port}/api/` } } });
      await t.features.users.createUser({ email: 'alice@example.com', name: 'Alice', role: 'responder' });
      const keys = await seedService(t);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(keys.pagerduty, { dedup_key: 'db1' }) })).statusCode, 202);
      await t.handle.db.updateTable('chat_channels').set({ slack_channel: SLACK_CHANNEL }).where('name', '=', 'incident-1').execute();
      module = t.features.modules.find((m) => m.name === 'slack') as FeatureModule;
      await module.start?.();
      await until('the Socket Mode connection', () => slack.sockets.length === 1);
    });
    after(async () => {
      await t.close();
      slack.wss.close();
      slack.http.close();
    });

    test('the client opens its connection with the app token (apps.connections.open), then the WebSocket', () => {
      assert.deepEqual(slack.opens, [{ authorization: `Bearer ${APP_TOKEN}` }]);
    });

    test('a slash command is answered in the ack payload', async () => {
      const ack = await slack.deliver({
        envelope_id: 'env-command', type: 'slash_commands', accepts_response_payload: true,
        payload: {
          token: 'legacy', team_id: 'T1', team_domain: 'acme', channel_id: SLACK_CHANNEL, channel_name: 'incident-1', user_id: 'UALICE', user_name: 'alice',
          command: '/firewatch', text: 'help', api_app_id: 'A1', is_enterprise_install: 'false', response_url: responseUrl(), trigger_id: '1.2.3',
        },
      });
      assert.equal(ack.payload?.response_type, 'ephemeral');
      assert.match(String(ack.payload?.text), /Commands you can run:/);
      assert.match(String(ack.payload?.text), /\/ack/);
    });

    test('the Acknowledge button acknowledges the incident as the Slack user\'s Firewatch account', async () => {
      const ack = await slack.deliver({
        envelope_id: 'env-button', type: 'interactive', accepts_response_payload: false,
        payload: {
          type: 'block_actions', user: { id: 'UALICE', username: 'alice', team_id: 'T1' }, api_app_id: 'A1', token: 'legacy', trigger_id: '1.2.4',
          team: { id: 'T1', domain: 'acme' }, channel: { id: SLACK_CHANNEL, name: 'incident-1' }, response_url: responseUrl(),
          container: { type: 'message', message_ts: '1700000000.000001', channel_id: SLACK_CHANNEL, is_ephemeral: false },
          message: { type: 'message', ts: '1700000000.000001', text: 'Triggered' }, state: { values: {} },
          actions: [{ action_id: 'firewatch_ack', block_id: 'firewatch_incident_1', type: 'button', value: '1', text: { type: 'plain_text', text: 'Acknowledge' }, action_ts: '1700000001.000001' }],
        },
      });
      assert.equal(ack.envelope_id, 'env-button');
      const incident = await until('the acknowledgement', async () => {
        const row = await t.handle.db.selectFrom('incidents').selectAll().where('number', '=', 1).executeTakeFirstOrThrow();
        return row.status === 'acknowledged' && row;
      });
      assert.equal(incident.status, 'acknowledged');
      const entry = await t.handle.db.selectFrom('timeline_entries').selectAll().where('incident_id', '=', incident.id).where('type', '=', 'acknowledge').executeTakeFirstOrThrow();
      assert.match(JSON.stringify(entry), /Alice/);
      const [reply] = await until('the reply at response_url', () => slack.responses.length > 0 && slack.responses);
      assert.equal(reply.body.replace_original, false);
    });

    test('a message event in the mirrored Slack channel lands in the war-room channel', async () => {
      const ack = await slack.deliver({
        envelope_id: 'env-event', type: 'events_api', accepts_response_payload: false,
        payload: {
          token: 'legacy', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: 'Ev-socket-1', event_time: 1700000002,
          event: { type: 'message', channel: SLACK_CHANNEL, channel_type: 'channel', user: 'UALICE', text: 'rolling back *now*', ts: '1700000002.000100', event_ts: '1700000002.000100' },
        },
      });
      assert.equal(ack.envelope_id, 'env-event');
      const message = await until('the war-room copy', () => t.handle.db.selectFrom('chat_messages').selectAll().where('text', '=', 'rolling back **now**').executeTakeFirst());
      assert.equal(message.author_name, 'Alice');
      const link = await t.handle.db.selectFrom('chat_slack_messages').selectAll().where('message_id', '=', message.id).executeTakeFirstOrThrow();
      assert.deepEqual([link.slack_channel, link.slack_ts, link.origin], [SLACK_CHANNEL, '1700000002.000100', 'slack']);
    });

    test('a `disconnect` (refresh_requested) makes the client reconnect through apps.connections.open; envelopes flow again', async () => {
      (slack.sockets.at(-1) as WebSocket).send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-fake' } }));
      await until('the old socket to close', () => slack.closed === 1);
      // Bolt's client waits one client-ping timeout (5 s) before it reconnects.
      await until('a new connection', () => slack.sockets.length === 2, 15_000);
      assert.equal(slack.opens.length, 2);
      const ack = await slack.deliver({
        envelope_id: 'env-after-refresh', type: 'slash_commands', accepts_response_payload: true,
        payload: { team_id: 'T1', channel_id: SLACK_CHANNEL, user_id: 'UALICE', command: '/firewatch', text: 'help ack', response_url: responseUrl() },
      });
      assert.match(String(ack.payload?.text), /\/ack/);
    });

    test('stop() closes the socket cleanly and does not reconnect', async () => {
      const opened = slack.opens.length;
      await module.stop?.();
      await until('the socket to close', () => slack.closed === slack.sockets.length);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(slack.opens.length, opened, 'no new connection after stop');
      assert.equal([...slack.wss.clients].length, 0);
    });
  });
}
