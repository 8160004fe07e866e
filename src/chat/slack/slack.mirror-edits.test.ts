import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { ManualClock } from '../../clock.ts';
import type { FeatureModule } from '../../features/module.ts';
import type { LeaseJobHandler } from '../../jobs/jobs.ts';
import type { ChatMessage } from '../chat.types.ts';
import { SLACK_MIRROR_JOB, SLACK_SYNC_JOB, SYNC_WAIT_MS } from './forward.ts';
import type { SlackAdapter } from './slack-adapter.ts';

/**
 * Edits and deletions through the Slack mirror, both ways, on the real app and database (each dialect)
 * against a fake Slack Web API: chat.postMessage's ts is recorded, war-room edits become chat.update and
 * deletions chat.delete (never before the post, never lost), Slack's message_changed / message_deleted
 * change the war-room copy through its edit path, and nothing echoes back.
 */

const BOT_TOKEN = 'xoxb-mirror-test';
const SLACK_CHANNEL = 'COPS';

interface Call { method: string; body: Record<string, unknown>; ts?: string }
type Answer = { status?: number; headers?: Record<string, string>; json: Record<string, unknown> };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, a: Answer): void {
  res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers }).end(JSON.stringify(a.json));
}

/** Slack's Web API as far as the mirror uses it; answers can be scripted per method, and posts can be held. */
class FakeSlack {
  server: Server;
  calls: Call[] = [];
  scripted = new Map<string, Answer[]>();
  private nextTs = 1;
  private hold: Promise<void> | null = null;
  private release: (() => void) | null = null;
  /** Resolves when a held chat.postMessage has reached the fake. */
  postArrived: Promise<void> = Promise.resolve();
  private arrived: (() => void) | null = null;

  constructor() {
    this.server = createServer((req, res) => {
      void readBody(req).then(async (raw) => {
        const method = (req.url ?? '').replace(/^\/api\//, '');
        const body = (req.headers['content-type'] ?? '').startsWith('application/json') ? JSON.parse(raw) as Record<string, unknown> : Object.fromEntries(new URLSearchParams(raw));
        if (req.headers.authorization !== `Bearer ${BOT_TOKEN}`) return answer(res, { json: { ok: false, error: 'invalid_auth' } });
        if (method === 'users.info') {
          const users: Record<string, object> = {
            UALICE: { id: 'UALICE', name: 'alice', profile: { email: 'alice@example.com', display_name: 'alice' } },
            UBOB: { id: 'UBOB', name: 'bob', profile: { email: 'bob@elsewhere.example', display_name: 'bob' } },
          };
          const user = users[String(body.user)];
          return answer(res, { json: user ? { ok: true, user } : { ok: false, error: 'user_not_found' } });
        }
        this.calls.push({ method, body });
        if (method === 'chat.postMessage' && this.hold) {
          this.arrived?.();
          await this.hold;
        }
        const scripted = this.scripted.get(method)?.shift();
        if (scripted) return answer(res, scripted);
        if (method === 'chat.postMessage') {
          const ts = `1700000000.${String(this.nextTs++).padStart(6, '0')}`;
          (this.calls.at(-1) as Call).ts = ts;
          return answer(res, { json: { ok: true, channel: body.channel, ts, message: {} } });
        }
        return answer(res, { json: { ok: true, channel: body.channel, ts: body.ts } });
      });
    });
  }
  get apiUrl() {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }
  of(method: string) {
    return this.calls.filter((c) => c.method === method);
  }
  /** chat.postMessage waits until release() is called. */
  holdPosts() {
    this.hold = new Promise((r) => {
      this.release = r;
    });
    this.postArrived = new Promise((r) => {
      this.arrived = r;
    });
  }
  releasePosts() {
    this.release?.();
    this.hold = null;
  }
}

for (const dialect of DIALECTS) {
  describe(`Slack mirror: edits and deletions both ways (${dialect})`, () => {
    const slack = new FakeSlack();
    const clock = new ManualClock('2026-11-21T10:00:00Z');
    let t: TestApp;
    let alice: { authorization: string };
    let adapter: SlackAdapter;
    let syncHandler: LeaseJobHandler;
    let eventSeq = 0;

    const api = (method: 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, payload?: object, headers = alice) => t.app.inject({ method, url, headers, payload });
    const say = async (text: string): Promise<ChatMessage> => {
      const res = await api('POST', '/api/v1/channels/ops/messages', { text });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().message as ChatMessage;
    };
    const link = (messageId: string) => t.handle.db.selectFrom('chat_slack_messages').selectAll().where('message_id', '=', messageId).executeTakeFirst();
    const jobsOf = (kind: string, ref: string) => t.handle.db.selectFrom('jobs').selectAll().where('kind', '=', kind).where('ref', '=', ref).execute();
    /** The forwarder schedules from a listener, after the request answered: wait for its job. */
    async function scheduled(kind: string, ref: string) {
      for (let i = 0; i < 300; i++) {
        const jobs = await jobsOf(kind, ref);
        if (jobs.length > 0) return jobs;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`no ${kind} job for ${ref}`);
    }
    const runJobs = () => t.features.jobRunner.runDue();
    const current = async (id: string) => (await t.handle.db.selectFrom('chat_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    const history = async (id: string) => (await api('GET', `/api/v1/channels/ops/messages/${id}/history`, undefined, t.auth('admin'))).json() as { revisions: { text: string; change: string; changed_by: string }[] };
    const event = (e: Record<string, unknown>) => adapter.handleEvent(`Ev${++eventSeq}`, { channel: SLACK_CHANNEL, channel_type: 'channel', event_ts: `1700000100.${eventSeq}`, ...e, type: 'message' } as { type: string });

    before(async () => {
      await new Promise<void>((r) => slack.server.listen(0, '127.0.0.1', r));
      t = await createTestApp(dialect, { clock, config: { slack: { signingSecret: null, botToken: BOT_TOKEN, appToken: null, apiUrl: slack.apiUrl } } });
      await t.features.users.createUser({ email: 'alice@example.com', name: 'Alice', role: 'responder' });
      alice = { authorization: `Bearer ${(await t.features.users.createToken({ name: 'alice-cli', role: 'responder', userEmail: 'alice@example.com' })).token}` };
      assert.equal((await api('POST', '/api/v1/channels', { name: 'ops', topic: 'Operations' })).statusCode, 201);
      await t.handle.db.updateTable('chat_channels').set({ slack_channel: SLACK_CHANNEL }).where('name', '=', 'ops').execute();
      const module = t.features.modules.find((m) => m.name === 'slack') as FeatureModule & { adapter: SlackAdapter | null };
      assert.ok(module.adapter);
      adapter = module.adapter;
      syncHandler = module.jobHandlers?.[SLACK_SYNC_JOB] as LeaseJobHandler;
    });
    after(async () => {
      await t.close();
      slack.server.close();
    });
    beforeEach(() => {
      slack.calls = [];
      slack.scripted.clear();
    });

    test('the post records Slack\'s ts; an edit becomes chat.update of that ts, a deletion chat.delete; history is kept', async () => {
      const m = await say('db1 is **slow**');
      await scheduled(SLACK_MIRROR_JOB, m.id);
      assert.equal((await link(m.id))?.slack_ts, null, 'linked as on its way before the post goes out');
      await runJobs();
      const [post] = slack.of('chat.postMessage');
      assert.deepEqual({ channel: post.body.channel, text: post.body.text }, { channel: SLACK_CHANNEL, text: '*Alice*: db1 is *slow*' });
      const ts = (await link(m.id))?.slack_ts;
      assert.equal(ts, '1700000000.000001');

      assert.equal((await api('PATCH', `/api/v1/channels/ops/messages/${m.id}`, { text: 'db1 is ~~slow~~ fine' })).statusCode, 200);
      await scheduled(SLACK_SYNC_JOB, m.id);
      await runJobs();
      assert.deepEqual(slack.of('chat.update').map((c) => c.body), [
        // blocks and attachments are sent empty, or Slack would keep the earlier ones.
        { channel: SLACK_CHANNEL, ts, text: '*Alice*: db1 is ~slow~ fine', blocks: [], attachments: [] },
      ]);

      assert.equal((await api('DELETE', `/api/v1/channels/ops/messages/${m.id}`)).statusCode, 200);
      await scheduled(SLACK_SYNC_JOB, m.id);
      await runJobs();
      assert.deepEqual(slack.of('chat.delete').map((c) => c.body), [{ channel: SLACK_CHANNEL, ts }]);
      assert.equal(await link(m.id), undefined, 'a deleted Slack copy is forgotten');
      assert.equal(slack.of('chat.postMessage').length, 1);
      assert.deepEqual((await history(m.id)).revisions.map((r) => [r.change, r.text]), [['edited', 'db1 is **slow**'], ['deleted', 'db1 is ~~slow~~ fine']]);
    });

    test('an edit and a deletion made while the post is in flight wait for its ts, then follow in order', async () => {
      const m = await say('v1');
      await scheduled(SLACK_MIRROR_JOB, m.id);
      slack.holdPosts();
      const running = runJobs();
      await slack.postArrived;
      // Slack has the post but has not answered: the war room edits the message twice.
      assert.equal((await api('PATCH', `/api/v1/channels/ops/messages/${m.id}`, { text: 'v2' })).statusCode, 200);
      await scheduled(SLACK_SYNC_JOB, m.id);
      assert.equal((await api('PATCH', `/api/v1/channels/ops/messages/${m.id}`, { text: 'v3' })).statusCode, 200);
      await new Promise((r) => setTimeout(r, 50));
      const pending = await jobsOf(SLACK_SYNC_JOB, m.id);
      assert.equal(pending.length, 1, 'one pending sync per message');
      // The sync job runs now, before Slack answered the post: it sends nothing and looks again later.
      const early = await syncHandler.run(pending[0], clock.now());
      assert.deepEqual(early, { done: false, retryAt: new Date(clock.now().getTime() + SYNC_WAIT_MS) });
      assert.equal(slack.of('chat.update').length, 0, 'no update before the post has a ts');
      slack.releasePosts();
      await running;
      const ts = (await link(m.id))?.slack_ts;
      assert.deepEqual(slack.calls.map((c) => [c.method, c.body.text]), [['chat.postMessage', '*Alice*: v1'], ['chat.update', '*Alice*: v3']]);
      assert.equal(slack.of('chat.update')[0].body.ts, ts);
      assert.equal((await jobsOf(SLACK_SYNC_JOB, m.id)).length, 0);

      // A deletion while a second message's post is held: chat.delete follows the post, never precedes it.
      const n = await say('short-lived');
      await scheduled(SLACK_MIRROR_JOB, n.id);
      slack.calls = [];
      slack.holdPosts();
      const again = runJobs();
      await slack.postArrived;
      assert.equal((await api('DELETE', `/api/v1/channels/ops/messages/${n.id}`)).statusCode, 200);
      await scheduled(SLACK_SYNC_JOB, n.id);
      const [deletion] = await jobsOf(SLACK_SYNC_JOB, n.id);
      assert.equal((await syncHandler.run(deletion, clock.now())).done, false);
      slack.releasePosts();
      await again;
      const nts = slack.of('chat.postMessage')[0].ts;
      assert.deepEqual(slack.calls.map((c) => [c.method, c.body.ts ?? null]), [['chat.postMessage', null], ['chat.delete', nts]]);
      assert.equal(await link(n.id), undefined);
    });

    test('an edit or deletion before the post ran is carried by the post itself (or no post at all)', async () => {
      const edited = await say('typo');
      await scheduled(SLACK_MIRROR_JOB, edited.id);
      await api('PATCH', `/api/v1/channels/ops/messages/${edited.id}`, { text: 'fixed' });
      const deleted = await say('oops, wrong channel');
      await scheduled(SLACK_MIRROR_JOB, deleted.id);
      await api('DELETE', `/api/v1/channels/ops/messages/${deleted.id}`);
      await scheduled(SLACK_SYNC_JOB, deleted.id);
      await runJobs();
      clock.advance(SYNC_WAIT_MS);
      await runJobs();
      const posts = slack.of('chat.postMessage').map((c) => c.body.text);
      assert.deepEqual(posts, ['*Alice*: fixed'], 'the post sends the latest text; the deleted message is never posted');
      assert.ok(slack.of('chat.update').every((c) => c.body.text === '*Alice*: fixed'));
      assert.equal(slack.of('chat.delete').length, 0);
      assert.equal(await link(deleted.id), undefined);
      assert.equal((await jobsOf(SLACK_SYNC_JOB, deleted.id)).length, 0);
    });

    test('Slack\'s errors: message_not_found gives up quietly, ratelimited waits for Retry-After, cant_update_message gives up', async () => {
      const mirrored = async (text: string) => {
        const m = await say(text);
        await scheduled(SLACK_MIRROR_JOB, m.id);
        await runJobs();
        return m;
      };
      const gone = await mirrored('gone in Slack');
      slack.scripted.set('chat.update', [{ json: { ok: false, error: 'message_not_found' } }]);
      await api('PATCH', `/api/v1/channels/ops/messages/${gone.id}`, { text: 'gone in Slack!' });
      await scheduled(SLACK_SYNC_JOB, gone.id);
      await runJobs();
      assert.equal((await jobsOf(SLACK_SYNC_JOB, gone.id)).length, 0, 'not retried');
      assert.equal(await link(gone.id), undefined, 'the link goes with the Slack message');

      const limited = await mirrored('busy');
      slack.scripted.set('chat.update', [{ status: 429, headers: { 'retry-after': '600' }, json: { ok: false, error: 'ratelimited' } }]);
      await api('PATCH', `/api/v1/channels/ops/messages/${limited.id}`, { text: 'busy!' });
      await scheduled(SLACK_SYNC_JOB, limited.id);
      await runJobs();
      const [retry] = await jobsOf(SLACK_SYNC_JOB, limited.id);
      assert.ok(retry, 'retried');
      assert.ok(new Date(retry.due_at).getTime() >= clock.now().getTime() + 600_000, 'not before Retry-After');
      clock.advance(600_000);
      await runJobs();
      assert.equal(slack.of('chat.update').at(-1)?.body.text, '*Alice*: busy!');
      assert.equal((await jobsOf(SLACK_SYNC_JOB, limited.id)).length, 0);

      const locked = await mirrored('locked');
      slack.scripted.set('chat.delete', [{ json: { ok: false, error: 'cant_delete_message' } }]);
      await api('DELETE', `/api/v1/channels/ops/messages/${locked.id}`);
      await scheduled(SLACK_SYNC_JOB, locked.id);
      await runJobs();
      assert.equal(slack.of('chat.delete').length, 1);
      assert.equal((await jobsOf(SLACK_SYNC_JOB, locked.id)).length, 0, 'given up, not retried');
    });

    test('Slack → war room: message_changed edits the copy as its author, message_deleted deletes it; nothing echoes back', async () => {
      await event({ user: 'UALICE', text: 'looking at *db1*', ts: '1700000200.000001' });
      await event({ user: 'UBOB', text: 'me too', ts: '1700000200.000002' });
      const copies = await t.handle.db.selectFrom('chat_slack_messages').selectAll().where('origin', '=', 'slack').orderBy('slack_ts').execute();
      assert.deepEqual(copies.map((c) => c.slack_ts), ['1700000200.000001', '1700000200.000002']);
      const [aliceCopy, bobCopy] = copies.map((c) => c.message_id);
      assert.deepEqual(await current(aliceCopy).then((r) => [r.author_type, r.author_name, r.text]), ['user', 'Alice', 'looking at **db1**']);
      assert.deepEqual(await current(bobCopy).then((r) => [r.author_type, r.author_id, r.text]), ['integration', 'slack:UBOB', 'me too']);

      // Slack retries the first event under a new id (as after a restart): not copied twice.
      await event({ user: 'UALICE', text: 'looking at *db1*', ts: '1700000200.000001' });
      assert.equal((await t.handle.db.selectFrom('chat_slack_messages').select('message_id').where('origin', '=', 'slack').execute()).length, 2);

      const changed = (ts: string, user: string, text: string, previous: string, extra: Record<string, unknown> = {}) => event({
        subtype: 'message_changed', hidden: true, ts: '1700000300.000001',
        message: { type: 'message', user, text, ts, edited: { user, ts: '1700000300.000001' }, ...extra },
        previous_message: { type: 'message', user, text: previous, ts },
      });
      await changed('1700000200.000001', 'UALICE', 'looking at *db2*', 'looking at *db1*');
      await changed('1700000200.000002', 'UBOB', 'me too, on db2', 'me too');
      assert.equal((await current(aliceCopy)).text, 'looking at **db2**');
      assert.ok((await current(aliceCopy)).edited_at);
      assert.equal((await current(bobCopy)).text, 'me too, on db2');
      assert.deepEqual((await history(aliceCopy)).revisions.map((r) => [r.change, r.text, r.changed_by]), [['edited', 'looking at **db1**', 'Alice']]);

      // Unfurls (same text), unknown ts, someone else's message, and our own bot's edits change nothing.
      await changed('1700000200.000001', 'UALICE', 'looking at *db2*', 'looking at *db2*', { attachments: [{ from_url: 'https://x.example' }] });
      await changed('1700000999.000001', 'UALICE', 'unknown', 'x');
      await changed('1700000200.000001', 'UBOB', 'hijacked', 'looking at *db2*');
      const ours = await say('posted from the war room');
      await scheduled(SLACK_MIRROR_JOB, ours.id);
      await runJobs();
      const oursTs = (await link(ours.id))?.slack_ts as string;
      await changed(oursTs, 'UBOTUSER', '*Alice*: edited by our own chat.update', '*Alice*: posted from the war room', { bot_id: 'BFIREWATCH' });
      assert.equal((await current(aliceCopy)).text, 'looking at **db2**');
      assert.equal((await history(aliceCopy)).revisions.length, 1);
      assert.equal((await current(ours.id)).text, 'posted from the war room');

      await event({ subtype: 'message_deleted', hidden: true, ts: '1700000400.000001', deleted_ts: '1700000200.000002', previous_message: { type: 'message', user: 'UBOB', text: 'me too, on db2', ts: '1700000200.000002' } });
      assert.ok((await current(bobCopy)).deleted_at, 'deleted in the war room too');
      assert.deepEqual((await history(bobCopy)).revisions.map((r) => r.change), ['edited', 'deleted']);
      // Deleting one of the mirror's own posts in Slack (or our chat.delete's echo) leaves the war room alone.
      await event({ subtype: 'message_deleted', hidden: true, ts: '1700000400.000002', deleted_ts: oursTs, previous_message: { type: 'message', bot_id: 'BFIREWATCH', text: 'x', ts: oursTs } });
      assert.equal((await current(ours.id)).deleted_at, null);

      // None of the Slack-side changes went back to Slack.
      await new Promise((r) => setTimeout(r, 50));
      await runJobs();
      clock.advance(SYNC_WAIT_MS);
      await runJobs();
      assert.deepEqual(slack.calls.map((c) => c.method), ['chat.postMessage'], 'only the war room\'s own message was posted; no update or delete echoed');
    });
  });
}
