import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CommandContext, CommandRegistry, CommandResult } from '../../commands/command.types.ts';
import type { JobQueue, JobRow, LeaseJobHandler, NewJob } from '../../jobs/jobs.ts';
import type { UsersRepo } from '../../users/users.repo.ts';
import type { ChannelSettings, ChatMessage, PostInput } from '../chat.types.ts';
import { CHAT_OUTBOUND_JOB, createForwarder, SLACK_MIRROR_JOB } from './forward.ts';
import { type AdapterChat, createSlackAdapter, fromSlackKey } from './slack-adapter.ts';
import { createSlackApi } from './slack-api.ts';
import type { SlackLink, SlackLinks } from './slack-links.ts';
import { registerIncomingHookRoutes, registerSlackRoutes } from './slack.routes.ts';
import { slackSignature } from './signature.ts';

/**
 * The Slack adapter against a fake Slack (Web API, response_url, incoming webhooks) that speaks the
 * documented shapes, with requests signed as Slack signs them. No live Slack.
 */

const SECRET = 'test-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-test-token';
const NOW = new Date('2026-11-21T10:00:00.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const HOOK_KEY = '0123456789abcdef0123456789abcdef';
const silentLog = { info: () => {}, warn: () => {}, error: () => {} };

interface Received { path: string; headers: IncomingMessage['headers']; body: string }

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Slack users by id: alice has a Firewatch account, mallory does not, bob's e-mail is unreadable. */
const SLACK_USERS: Record<string, { name: string; real_name: string; profile: { email?: string; display_name: string } }> = {
  UALICE: { name: 'alice', real_name: 'Alice A', profile: { email: 'Alice@Example.com', display_name: 'alice' } },
  UMALLORY: { name: 'mallory', real_name: 'Mallory M', profile: { email: 'mallory@elsewhere.example', display_name: 'mallory' } },
};

class FakeSlack {
  server: Server;
  received: Received[] = [];
  failNext = 0;
  constructor() {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const path = req.url ?? '';
        this.received.push({ path, headers: req.headers, body });
        if (this.failNext > 0) {
          this.failNext--;
          res.writeHead(503).end('busy');
          return;
        }
        if (path === '/api/users.info') {
          if (req.headers.authorization !== `Bearer ${BOT_TOKEN}`) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
          const id = new URLSearchParams(body).get('user') ?? '';
          const user = SLACK_USERS[id];
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(user ? { ok: true, user: { id, ...user, is_bot: false } } : { ok: false, error: 'user_not_found' }));
        }
        if (path === '/api/chat.postMessage') {
          const msg = JSON.parse(body) as { channel: string };
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ ok: true, channel: msg.channel, ts: '1700000000.000100', message: {} }));
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  }
  get url() {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  on(path: string) {
    return this.received.filter((r) => r.path === path);
  }
  async waitFor(path: string, count = 1): Promise<Received[]> {
    for (let i = 0; i < 200; i++) {
      if (this.on(path).length >= count) return this.on(path);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no request to ${path}`);
  }
}

function signed(body: string, contentType: string, options: { secret?: string; timestamp?: number } = {}) {
  const ts = String(options.timestamp ?? NOW_S);
  return { 'content-type': contentType, 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(options.secret ?? SECRET, ts, body) };
}

let tsCounter = 0;
function envelope(eventId: string, event: Record<string, unknown>): string {
  const ts = `${NOW_S}.${String(++tsCounter).padStart(6, '0')}`;
  return JSON.stringify({
    token: 'legacy', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: eventId, event_time: NOW_S,
    event: { channel_type: 'channel', event_ts: ts, ts, ...event },
  });
}

/** chat_slack_messages in memory, over the messages this file makes (the DB-backed store is tested in slack.mirror-edits.test.ts). */
function memoryLinks(): SlackLinks & { all: Map<string, SlackLink> } {
  const all = new Map<string, SlackLink>();
  return {
    all,
    pending: async (messageId, slackChannel) => {
      if (!all.has(messageId)) all.set(messageId, { messageId, channel: made.get(messageId)?.channel ?? '', slackChannel, slackTs: null, origin: 'firewatch' });
    },
    posted: async (_tx, messageId, slackChannel, slackTs) => {
      all.set(messageId, { messageId, channel: made.get(messageId)?.channel ?? '', slackChannel, slackTs, origin: 'firewatch' });
    },
    copyFromSlack: async (chat, input, slackChannel, slackTs) => {
      const m = await chat.post(input);
      all.set(m.id, { messageId: m.id, channel: m.channel, slackChannel, slackTs, origin: 'slack' });
      return m;
    },
    byMessage: async (id) => all.get(id) ?? null,
    bySlackTs: async (c, ts) => [...all.values()].find((l) => l.slackChannel === c && l.slackTs === ts) ?? null,
    forget: async (id) => void all.delete(id),
    message: async (id) => made.get(id) ?? null,
  };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

describe('Slack adapter (fake Slack, signed requests)', () => {
  const slack = new FakeSlack();
  let app: FastifyInstance;
  let runs: { line: string; ctx: CommandContext }[] = [];
  let posts: PostInput[] = [];
  let scheduled: NewJob[] = [];
  let nextResult: CommandResult = { text: '**Acknowledged** incident #12', visibility: 'channel' };
  const settings: Record<string, ChannelSettings> = {};
  let forwarder: ReturnType<typeof createForwarder>;
  const fromSlack = new Set<string>();
  const links = memoryLinks();

  const registry: CommandRegistry = {
    register: () => {},
    list: () => [],
    run: async (line, ctx) => {
      runs.push({ line, ctx });
      return nextResult;
    },
  };
  const usersRepo = {
    findByEmail: async (email: string) => (email.toLowerCase() === 'alice@example.com' ? { id: 'user-alice', name: 'Alice', role: 'responder', email } : undefined),
  } as unknown as UsersRepo;
  const chat = {
    post: async (input: PostInput) => {
      posts.push(input);
      return message({ channel: input.channel, author: input.author, text: input.text });
    },
    hookByKey: async (key: string) => (key === HOOK_KEY ? { id: 'hook-1', name: 'alertmanager', channel: 'ops' } : null),
    channelSettings: async (name: string) => settings[name] ?? null,
    onMessage: () => () => {},
  } as unknown as AdapterChat;

  before(async () => {
    await new Promise<void>((r) => slack.server.listen(0, '127.0.0.1', r));
    settings.ops = { name: 'ops', incidentNumber: null, slackChannel: 'COPS', outbound: [
      { name: 'team-slack', type: 'slack', url: `${slack.url}/hook/slack` },
      { name: 'team-mm', type: 'mattermost', url: `${slack.url}/hook/mm` },
    ] };
    settings['incident-12'] = { name: 'incident-12', incidentNumber: 12, slackChannel: 'CINC12', outbound: [] };
    const api = createSlackApi({ apiUrl: `${slack.url}/api/`, botToken: BOT_TOKEN });
    const adapter = createSlackAdapter({
      api, chat, links, registry, usersRepo, clock: { now: () => NOW }, log: silentLog,
      channelForSlack: async (id) => Object.values(settings).find((s) => s.slackChannel === id) ?? null,
      respond: async (url, body) => {
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      },
      markFromSlack: (key) => fromSlack.add(key),
    });
    const jobs = { schedule: async (_tx: unknown, job: NewJob) => void scheduled.push(job) } as unknown as JobQueue;
    forwarder = createForwarder({
      db: {} as never, chat, jobs, wake: () => {}, log: silentLog, now: () => NOW, publicUrl: 'https://fw.example',
      webhookPolicy: { allowPrivate: true, allowList: [] }, slackApi: api, links, takeFromSlack: (key) => fromSlack.delete(key),
    });
    app = Fastify({ logger: false });
    await registerIncomingHookRoutes(app, { chat, log: silentLog });
    await registerSlackRoutes(app, { signingSecret: SECRET, adapter, clock: { now: () => NOW }, log: silentLog });
    await app.ready();
  });
  after(async () => {
    await app.close();
    slack.server.close();
  });
  beforeEach(() => {
    runs = [];
    posts = [];
    scheduled = [];
    slack.received = [];
    nextResult = { text: '**Acknowledged** incident #12', visibility: 'channel' };
  });

  const command = (text: string, user = 'UALICE', channel = 'CINC12') => form({
    token: 'legacy', team_id: 'T1', team_domain: 'acme', channel_id: channel, channel_name: 'incident-12', user_id: user, user_name: 'x',
    command: '/firewatch', text, api_app_id: 'A1', response_url: `${slack.url}/response/1`, trigger_id: '1.2.3',
  });

  test('a signed /firewatch command runs through the registry as the mapped user, in the mirrored channel', async () => {
    const body = command('ack 12');
    const res = await app.inject({ method: 'POST', url: '/slack/commands', headers: signed(body, 'application/x-www-form-urlencoded'), payload: body });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { response_type: 'in_channel', text: '*Acknowledged* incident #12' });
    assert.equal(runs.length, 1);
    assert.equal(runs[0].line, '/ack 12');
    assert.equal(runs[0].ctx.principal.userId, 'user-alice');
    assert.equal(runs[0].ctx.principal.role, 'responder');
    assert.equal(runs[0].ctx.channel, 'incident-12');
    assert.equal(runs[0].ctx.incidentNumber, 12);
    assert.equal(runs[0].ctx.via, 'slack');
    const info = slack.on('/api/users.info');
    assert.equal(info.length, 1);
    assert.equal(info[0].headers['content-type'], 'application/x-www-form-urlencoded');

    // The user is cached: a second command does not call users.info again; caller-only replies are ephemeral.
    nextResult = { text: 'only you see this', visibility: 'caller' };
    const again = command('');
    const res2 = await app.inject({ method: 'POST', url: '/slack/events', headers: signed(again, 'application/x-www-form-urlencoded'), payload: again });
    assert.deepEqual(res2.json(), { response_type: 'ephemeral', text: 'only you see this' });
    assert.equal(runs[1].line, '/help');
    assert.equal(slack.on('/api/users.info').length, 1);
  });

  test('tampered, wrongly signed, replayed and unsigned requests are refused with 401 and run nothing', async () => {
    const body = command('resolve 12');
    const headers = signed(body, 'application/x-www-form-urlencoded');
    const tampered = await app.inject({ method: 'POST', url: '/slack/commands', headers, payload: body.replace('resolve', 'ack') });
    assert.equal(tampered.statusCode, 401);
    assert.equal(tampered.json().error.code, 'invalid_signature');
    const wrongSecret = await app.inject({ method: 'POST', url: '/slack/commands', headers: signed(body, 'application/x-www-form-urlencoded', { secret: 'not-the-secret' }), payload: body });
    assert.equal(wrongSecret.statusCode, 401);
    const replay = await app.inject({ method: 'POST', url: '/slack/commands', headers: signed(body, 'application/x-www-form-urlencoded', { timestamp: NOW_S - 6 * 60 }), payload: body });
    assert.equal(replay.statusCode, 401);
    assert.equal(replay.json().error.code, 'stale_request');
    const unsigned = await app.inject({ method: 'POST', url: '/slack/commands', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
    assert.equal(unsigned.statusCode, 401);
    assert.equal(runs.length, 0);
    // Slack's unsigned certificate probe still gets its 200.
    const probe = await app.inject({ method: 'POST', url: '/slack/commands', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'ssl_check=1&token=x' });
    assert.equal(probe.statusCode, 200);
  });

  test('a Slack user without a Firewatch account is told to link it; nothing runs', async () => {
    const body = command('ack 12', 'UMALLORY');
    const res = await app.inject({ method: 'POST', url: '/slack/commands', headers: signed(body, 'application/x-www-form-urlencoded'), payload: body });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().response_type, 'ephemeral');
    assert.match(res.json().text, /mallory@elsewhere\.example.*does not match a Firewatch user/);
    assert.equal(runs.length, 0);
  });

  test('Acknowledge/Resolve buttons (block_actions) map to registry commands; the answer goes to response_url', async () => {
    const payload = {
      type: 'block_actions', user: { id: 'UALICE', username: 'alice', team_id: 'T1' }, api_app_id: 'A1', token: 'legacy',
      container: { type: 'message', message_ts: '1.2', channel_id: 'CINC12', is_ephemeral: false }, trigger_id: '1.2.3',
      team: { id: 'T1', domain: 'acme' }, channel: { id: 'CINC12', name: 'incident-12' }, response_url: `${slack.url}/response/2`,
      message: { type: 'message', ts: '1.2', text: 'Incident #7' }, state: { values: {} },
      actions: [{ action_id: 'firewatch_resolve', block_id: 'firewatch_incident_7', text: { type: 'plain_text', text: 'Resolve' }, value: '7', type: 'button', action_ts: '1.3' }],
    };
    nextResult = { text: 'Resolved #7', visibility: 'channel' };
    const body = form({ payload: JSON.stringify(payload) });
    const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers: signed(body, 'application/x-www-form-urlencoded'), payload: body });
    assert.equal(res.statusCode, 200);
    const [reply] = await slack.waitFor('/response/2');
    assert.deepEqual(JSON.parse(reply.body), { response_type: 'in_channel', text: 'Resolved #7', replace_original: false });
    assert.equal(runs[0].line, '/resolve 7');
    assert.equal(runs[0].ctx.incidentNumber, 7);
    assert.equal(runs[0].ctx.principal.userId, 'user-alice');
  });

  test('Events API: url_verification answers the challenge; messages mirror into the war room without loops', async () => {
    const verify = JSON.stringify({ token: 'legacy', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
    const v = await app.inject({ method: 'POST', url: '/slack/events', headers: signed(verify, 'application/json'), payload: verify });
    assert.equal(v.statusCode, 200);
    assert.equal(v.body, '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P');

    const send = (b: string) => app.inject({ method: 'POST', url: '/slack/events', headers: signed(b, 'application/json'), payload: b });
    const human = envelope('Ev1', { type: 'message', channel: 'COPS', user: 'UALICE', text: 'checking *db1* &amp; <https://grafana.example|graphs>' });
    assert.equal((await send(human)).statusCode, 200);
    assert.equal((await send(human)).statusCode, 200); // Slack's retry of the same event
    await send(envelope('Ev2', { type: 'message', channel: 'COPS', bot_id: 'B1', text: 'our own mirror post' }));
    await send(envelope('Ev3', { type: 'message', subtype: 'channel_join', channel: 'COPS', user: 'UALICE', text: 'joined' }));
    await send(envelope('Ev4', { type: 'message', channel: 'CUNMIRRORED', user: 'UALICE', text: 'elsewhere' }));
    await send(envelope('Ev5', { type: 'message', channel: 'COPS', user: 'UMALLORY', text: 'hi from mallory' }));
    for (let i = 0; i < 100 && posts.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(posts.length, 2, 'one post per human message in a mirrored channel; bots, joins, retries and other channels skipped');
    assert.deepEqual(posts[0], { channel: 'ops', author: { type: 'user', id: 'user-alice', name: 'Alice' }, text: 'checking **db1** & [graphs](https://grafana.example/)' });
    assert.deepEqual(posts[1].author, { type: 'integration', id: 'slack:UMALLORY', name: 'mallory (Slack)' });

    // Back in the war room, neither message goes to Slack again (outbound webhooks still get them).
    for (const p of posts) forwarder.onMessage(message({ channel: p.channel, author: p.author, text: p.text }), 'created');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(scheduled.filter((j) => j.kind === SLACK_MIRROR_JOB).length, 0);
    assert.equal(scheduled.filter((j) => j.kind === CHAT_OUTBOUND_JOB).length, 4);
    assert.equal(fromSlack.has(fromSlackKey('ops', 'user-alice', posts[0].text)), false);
  });

  test('war-room messages reach the Slack mirror (with buttons for incident events) and outbound webhooks, retried on failure', async () => {
    forwarder.onMessage(message({ channel: 'ops', author: { type: 'user', id: 'user-bob', name: 'Bob' }, text: 'rolling **back** [deploy](https://ci.example/9)' }), 'created');
    forwarder.onMessage(message({ channel: 'incident-12', kind: 'event', author: { type: 'bot', id: null, name: 'Firewatch' }, text: 'Incident #12 triggered: API down' }), 'created');
    forwarder.onMessage(message({ channel: 'ops', author: { type: 'user', id: 'user-bob', name: 'Bob' }, text: 'edited' }), 'edited');
    forwarder.onMessage(message({ channel: 'ops', author: { type: 'bot', id: null, name: 'Firewatch' }, text: 'just for you', visible_to: 'user-bob' }), 'created');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(scheduled.map((j) => j.kind).toSorted(), [CHAT_OUTBOUND_JOB, CHAT_OUTBOUND_JOB, SLACK_MIRROR_JOB, SLACK_MIRROR_JOB]);

    const handlers = forwarder.handlers as Record<string, LeaseJobHandler>;
    const run = (job: NewJob, attempts = 1) => handlers[job.kind].run({ id: 'j', kind: job.kind, payload: JSON.stringify(job.payload), attempts, ref: job.ref ?? null } as JobRow, NOW);
    for (const job of scheduled) {
      const result = await run(job);
      assert.equal(result.done, true);
      await result.record?.({} as never, NOW);
    }
    // Each mirror post's ts is recorded, so later edits and deletions can follow it.
    const mirroredIds = scheduled.filter((j) => j.kind === SLACK_MIRROR_JOB).map((j) => j.ref);
    assert.deepEqual(mirroredIds.map((id) => links.all.get(id as string)?.slackTs), ['1700000000.000100', '1700000000.000100']);

    const [slackHook] = slack.on('/hook/slack');
    assert.deepEqual(JSON.parse(slackHook.body), { text: '*Bob*: rolling *back* <https://ci.example/9|deploy>' });
    assert.equal(slackHook.headers['content-type'], 'application/json');
    const [mmHook] = slack.on('/hook/mm');
    assert.deepEqual(JSON.parse(mmHook.body), { text: 'rolling **back** [deploy](https://ci.example/9)', username: 'Bob' });

    const mirrored = slack.on('/api/chat.postMessage').map((r) => ({ auth: r.headers.authorization, body: JSON.parse(r.body) as { channel: string; text: string; blocks?: { type: string; elements?: { action_id: string; value?: string }[] }[] } }));
    assert.equal(mirrored.length, 2);
    assert.ok(mirrored.every((m) => m.auth === `Bearer ${BOT_TOKEN}`));
    const ops = mirrored.find((m) => m.body.channel === 'COPS');
    assert.equal(ops?.body.text, '*Bob*: rolling *back* <https://ci.example/9|deploy>');
    assert.equal(ops?.body.blocks, undefined);
    const incident = mirrored.find((m) => m.body.channel === 'CINC12');
    const actions = incident?.body.blocks?.find((b) => b.type === 'actions');
    assert.deepEqual(actions?.elements?.slice(0, 2).map((e) => [e.action_id, e.value]), [['firewatch_ack', '12'], ['firewatch_resolve', '12']]);

    // A receiver that is down: the job asks to be retried later, and gives up after the last attempt.
    slack.failNext = 2;
    const outbound = scheduled.find((j) => j.kind === CHAT_OUTBOUND_JOB) as NewJob;
    const failed = await run(outbound, 1);
    assert.equal(failed.done, false);
    assert.ok(!failed.done && failed.retryAt.getTime() > NOW.getTime());
    assert.deepEqual(await run(outbound, 5), { done: true });
  });

  test('POST /hooks/chat/{key}: Slack payloads as JSON or payload= form, answered like Slack', async () => {
    const json = await app.inject({ method: 'POST', url: `/hooks/chat/${HOOK_KEY}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ text: 'deploy *done* <!here>', username: 'ci-bot', channel: '#elsewhere' }) });
    assert.equal(json.statusCode, 200);
    assert.equal(json.body, 'ok');
    assert.match(String(json.headers['content-type']), /^text\/plain/);
    assert.deepEqual(posts[0], { channel: 'ops', author: { type: 'integration', id: 'hook-1', name: 'ci-bot' }, text: 'deploy **done** @here', attachments: [], blocks: [] });

    const formBody = form({ payload: JSON.stringify({ attachments: [{ color: 'danger', title: 'Disk full', fields: [{ title: 'host', value: 'db1', short: true }] }] }) });
    const viaForm = await app.inject({ method: 'POST', url: `/hooks/chat/${HOOK_KEY}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: formBody });
    assert.equal(viaForm.body, 'ok');
    assert.equal(posts[1].author.name, 'alertmanager');
    assert.deepEqual(posts[1].attachments, [{ color: 'danger', title: 'Disk full', fields: [{ title: 'host', value: 'db1', short: true }] }]);

    const cases: [string, string, string, number, string][] = [
      ['0'.repeat(32), 'application/json', '{"text":"x"}', 404, 'no_service'],
      ['not-a-key', 'application/json', '{"text":"x"}', 404, 'no_service'],
      [HOOK_KEY, 'application/json', '{"text":', 400, 'invalid_payload'],
      [HOOK_KEY, 'application/json', '{"text":""}', 400, 'no_text'],
      [HOOK_KEY, 'application/json', '{"blocks":[{"type":"section","text":{"type":"html","text":"x"}}]}', 400, 'invalid_blocks'],
      [HOOK_KEY, 'application/x-www-form-urlencoded', 'text=hello', 400, 'invalid_payload'],
      [HOOK_KEY, 'application/json', JSON.stringify({ text: 'x'.repeat(600_000) }), 413, 'payload_too_large'],
    ];
    for (const [key, type, payload, status, text] of cases) {
      const res = await app.inject({ method: 'POST', url: `/hooks/chat/${key}`, headers: { 'content-type': type }, payload });
      assert.equal(res.statusCode, status, `${payload.slice(0, 40)} → ${res.body}`);
      assert.equal(res.body, text);
    }
    assert.equal(posts.length, 2);
  });

  test('without Slack configuration the app routes answer 404 slack_not_configured', async () => {
    const bare = Fastify({ logger: false });
    await registerSlackRoutes(bare, { signingSecret: null, adapter: null, clock: { now: () => NOW }, log: silentLog });
    const body = command('ack 1');
    const res = await bare.inject({ method: 'POST', url: '/slack/commands', headers: signed(body, 'application/x-www-form-urlencoded'), payload: body });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'slack_not_configured');
    await bare.close();
  });
});

let seq = 0;
const made = new Map<string, ChatMessage>();
function message(overrides: Partial<ChatMessage> & Pick<ChatMessage, 'channel' | 'author' | 'text'>): ChatMessage {
  seq++;
  const m: ChatMessage = {
    id: `m${seq}`, seq, version_seq: seq, kind: 'message', attachments: [], blocks: [], files: [], mentions: [], timeline_entry_id: null,
    visible_to: null, created_at: NOW.toISOString(), edited_at: null, deleted_at: null, ...overrides,
  };
  made.set(m.id, m);
  return m;
}
