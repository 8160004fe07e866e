import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, pdTrigger, seedService, type TestApp } from '../../test/helpers.ts';
import type { ChatServiceImpl } from './chat.service.ts';
import type { ChatMessage } from './chat.types.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

for (const dialect of DIALECTS) {
  describe(`war room: channels and messages (${dialect})`, () => {
    let t: TestApp;
    let keys: Awaited<ReturnType<typeof seedService>>;
    const api = (role: 'admin' | 'responder' | 'viewer', method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      t.app.inject({ method, url, headers: t.auth(role), payload: payload as object });
    const messages = async (channel: string, query = '') => (await api('viewer', 'GET', `/api/v1/channels/${channel}/messages${query}`)).json() as { messages: ChatMessage[]; has_more: boolean; last_seq: number };

    before(async () => {
      t = await createTestApp(dialect);
      keys = await seedService(t);
    });
    after(() => t.close());

    test('an incident opens with its channel and the trigger posted as a bot event in the same transaction', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(keys.pagerduty, { dedup_key: 'disk-1' }) });
      assert.equal(res.statusCode, 202);
      const channel = (await api('viewer', 'GET', '/api/v1/channels/incident-1')).json();
      assert.equal(channel.channel.kind, 'incident');
      assert.equal(channel.channel.incident_number, 1);
      assert.equal(channel.summary.status, 'triggered');
      assert.equal(channel.summary.service.name, 'checkout');
      const list = await messages('incident-1');
      assert.equal(list.messages[0].kind, 'event');
      assert.equal(list.messages[0].seq, 1);
      assert.equal(list.messages[0].author.type, 'bot');
      assert.match(list.messages[0].text, /Triggered/);
      assert.match(list.messages[0].text, /http:\/\/firewatch\.test\/incidents\/1/);
      assert.ok(list.messages[0].timeline_entry_id);
      // Every non-repeat timeline entry has exactly one event message (the same transaction wrote both).
      const entries = await t.handle.db.selectFrom('timeline_entries').select(['id', 'type']).execute();
      const mirrored = new Set(list.messages.map((m) => m.timeline_entry_id));
      for (const e of entries) assert.equal(mirrored.has(e.id), e.type !== 'trigger_repeat', `${e.type} mirrored`);

      // A repeat trigger is noise: no message. Acknowledging posts one, by the actor.
      await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(keys.pagerduty, { dedup_key: 'disk-1' }) });
      const ack = await api('responder', 'POST', '/api/v1/incidents/1/acknowledge');
      assert.equal(ack.statusCode, 200);
      const later = await messages('incident-1');
      const last = later.messages.at(-1)!;
      assert.equal(last.kind, 'event');
      assert.match(last.text, /Acknowledged/);
      assert.match(last.author.name, /test-responder/);
      assert.equal(later.messages.filter((m) => /repeat/i.test(m.text)).length, 0);
      const summary = (await api('viewer', 'GET', '/api/v1/channels/incident-1')).json().summary;
      assert.equal(summary.status, 'acknowledged');
      assert.ok(summary.key_events.some((e: { type: string }) => e.type === 'acknowledge'));
    });

    test('a burst of alerts: every new incident gets its channel, each with gapless seqs starting at its trigger', async () => {
      const existing = Number((await t.handle.db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(keys.pagerduty, { dedup_key: `burst-${i}` }, { summary: `Burst ${i}` }) })));
      for (const r of results) assert.equal(r.statusCode, 202);
      const incidents = await t.handle.db.selectFrom('incidents').select(['id', 'number']).where('number', '>', existing).execute();
      assert.equal(incidents.length, 30);
      for (const i of incidents) {
        const list = await messages(`incident-${i.number}`);
        assert.deepEqual(list.messages.map((m) => m.seq), list.messages.map((_, k) => k + 1), `incident-${i.number}`);
        assert.match(list.messages[0].text, /^Triggered: Burst/);
        assert.equal(list.last_seq, list.messages.length);
      }
    });

    test('seq is gapless and unique under concurrent posts', async () => {
      const created = await api('responder', 'POST', '/api/v1/channels', { name: 'ops', topic: 'Operations' });
      assert.equal(created.statusCode, 201);
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => api('responder', 'POST', '/api/v1/channels/ops/messages', { text: `line ${i}` })));
      for (const r of results) assert.equal(r.statusCode, 201, r.body);
      const seqs = results.map((r) => r.json().message.seq as number).toSorted((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1));
      const list = await messages('ops', '?limit=500');
      assert.deepEqual(list.messages.map((m) => m.seq), seqs);
      assert.equal(list.last_seq, 40);
    });

    test('resuming after N returns exactly what changed: new, edited and deleted messages, once each, in order', async () => {
      await api('responder', 'POST', '/api/v1/channels', { name: 'resume' });
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) ids.push((await api('responder', 'POST', '/api/v1/channels/resume/messages', { text: `m${i}` })).json().message.id);
      const seen = (await messages('resume')).last_seq;
      assert.equal(seen, 5);
      const edited = await api('responder', 'PATCH', `/api/v1/channels/resume/messages/${ids[1]}`, { text: 'm2 fixed' });
      assert.equal(edited.statusCode, 200);
      assert.equal(edited.json().message.version_seq, 6);
      assert.equal((await api('responder', 'DELETE', `/api/v1/channels/resume/messages/${ids[2]}`)).statusCode, 200);
      await api('responder', 'POST', '/api/v1/channels/resume/messages', { text: 'm6' });
      const resumed = await messages('resume', `?after_seq=${seen}`);
      assert.deepEqual(resumed.messages.map((m) => [m.id === ids[1] ? 'edit' : m.id === ids[2] ? 'delete' : m.text, m.version_seq]), [['edit', 6], ['delete', 7], ['m6', 8]]);
      assert.equal(resumed.messages[1].text, '');
      assert.ok(resumed.messages[1].deleted_at);
      assert.equal(resumed.has_more, false);
      assert.deepEqual((await messages('resume', '?after_seq=8')).messages, []);
      // Paging: limit 2 then the rest, no duplicates.
      const first = await messages('resume', `?after_seq=${seen}&limit=2`);
      assert.equal(first.has_more, true);
      const rest = await messages('resume', `?after_seq=${first.messages.at(-1)!.version_seq}`);
      assert.deepEqual([...first.messages, ...rest.messages].map((m) => m.version_seq), [6, 7, 8]);

      const history = (await api('viewer', 'GET', `/api/v1/channels/resume/messages/${ids[1]}/history`)).json();
      assert.deepEqual(history.revisions.map((r: { text: string; change: string }) => [r.text, r.change]), [['m2', 'edited']]);
      assert.equal(history.message.text, 'm2 fixed');
      const deletedHistory = await api('responder', 'GET', `/api/v1/channels/resume/messages/${ids[2]}/history`);
      assert.equal(deletedHistory.json().revisions[0].text, 'm3');
      assert.equal((await api('viewer', 'GET', `/api/v1/channels/resume/messages/${ids[2]}/history`)).statusCode, 403);
    });

    test('authorisation: viewers read only; only the author edits; the author or an admin deletes', async () => {
      await api('responder', 'POST', '/api/v1/channels', { name: 'authz' });
      assert.equal((await api('viewer', 'POST', '/api/v1/channels/authz/messages', { text: 'hi' })).statusCode, 403);
      const mine = (await api('responder', 'POST', '/api/v1/channels/authz/messages', { text: 'mine' })).json().message;
      const other = await api('admin', 'PATCH', `/api/v1/channels/authz/messages/${mine.id}`, { text: 'hijacked' });
      assert.equal(other.statusCode, 403);
      assert.equal((await messages('authz')).messages[0].text, 'mine');
      const adminMsg = (await api('admin', 'POST', '/api/v1/channels/authz/messages', { text: 'admin says' })).json().message;
      assert.equal((await api('responder', 'DELETE', `/api/v1/channels/authz/messages/${adminMsg.id}`)).statusCode, 403);
      assert.equal((await api('admin', 'DELETE', `/api/v1/channels/authz/messages/${mine.id}`)).statusCode, 200);
      // Bot events cannot be edited, even by an admin.
      const event = (await messages('incident-1')).messages[0];
      assert.equal((await api('admin', 'PATCH', `/api/v1/channels/incident-1/messages/${event.id}`, { text: 'x' })).statusCode, 403);
      assert.equal((await api('responder', 'POST', '/api/v1/channels', { name: 'incident-99' })).json().error.code, 'reserved_channel_name');
      assert.equal((await api('responder', 'POST', '/api/v1/channels', { name: 'authz' })).statusCode, 409);
      assert.equal((await api('viewer', 'GET', '/api/v1/channels/nope/messages')).statusCode, 404);
      assert.equal((await api('responder', 'POST', '/api/v1/channels/authz/messages', { text: '   ' })).json().error.code, 'empty_message');
    });

    test('unread markers per reader and search on this dialect', async () => {
      await api('responder', 'POST', '/api/v1/channels', { name: 'unread' });
      for (const text of ['Disk 100% full on db1', 'restart_db_1 done', 'unrelated']) await api('responder', 'POST', '/api/v1/channels/unread/messages', { text });
      const channels = (await api('viewer', 'GET', '/api/v1/channels')).json().channels as { name: string; unread: number }[];
      assert.equal(channels.find((c) => c.name === 'unread')!.unread, 3);
      // The author's own messages are never unread for them.
      assert.equal(((await api('responder', 'GET', '/api/v1/channels')).json().channels as { name: string; unread: number }[]).find((c) => c.name === 'unread')!.unread, 0);
      const read = await api('viewer', 'POST', '/api/v1/channels/unread/read', { seq: 2 });
      assert.equal(read.json().unread, 1);
      // Never backwards.
      assert.equal((await api('viewer', 'POST', '/api/v1/channels/unread/read', { seq: 1 })).json().seq, 2);

      const search = async (q: string, channel?: string) =>
        ((await api('viewer', 'GET', `/api/v1/messages/search?q=${encodeURIComponent(q)}${channel ? `&channel=${channel}` : ''}`)).json().results as { message: ChatMessage; channel: { name: string } }[]);
      assert.deepEqual((await search('DISK 100%')).map((r) => r.message.text), ['Disk 100% full on db1']);
      // % and _ are literal, not wildcards.
      assert.deepEqual((await search('100%')).length, 1);
      assert.deepEqual((await search('_db_')).map((r) => r.message.text), ['restart_db_1 done']);
      assert.deepEqual(await search('0% f', 'ops'), []);
      assert.ok((await search('Triggered')).some((r) => r.channel.name === 'incident-1'));
    });

    test('files: allowed types up to 5 MB, served sandboxed; images inline, others as downloads', async () => {
      const upload = (body: Buffer, type: string, name = 'graph.png') =>
        t.app.inject({ method: 'POST', url: `/api/v1/files?name=${encodeURIComponent(name)}`, headers: { ...t.auth('responder'), 'content-type': type }, payload: body });
      const png = await upload(PNG, 'image/png');
      assert.equal(png.statusCode, 201, png.body);
      const file = png.json();
      assert.equal(file.size, PNG.length);
      assert.equal((await upload(Buffer.from('<svg onload=alert(1)>'), 'image/svg+xml', 'x.svg')).statusCode, 415);
      assert.equal((await upload(Buffer.from('<html>'), 'text/html', 'x.html')).statusCode, 415);
      assert.equal((await upload(Buffer.from('not a png'), 'image/png')).json().error.code, 'file_type_mismatch');
      assert.equal((await upload(Buffer.alloc(5 * 1024 * 1024 + 1, 1), 'text/plain', 'big.txt')).statusCode, 413);
      assert.equal((await upload(Buffer.alloc(5 * 1024 * 1024, 65), 'text/plain', 'max.txt')).statusCode, 201);
      const txt = (await upload(Buffer.from('hello <script>'), 'text/plain', 'notes.txt')).json();
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/files?name=a.png', headers: { ...t.auth('viewer'), 'content-type': 'image/png' }, payload: PNG })).statusCode, 403);

      const got = await api('viewer', 'GET', `/api/v1/files/${file.id}`);
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.rawPayload, PNG);
      assert.equal(got.headers['x-content-type-options'], 'nosniff');
      assert.equal(got.headers['content-security-policy'], 'sandbox');
      assert.match(String(got.headers['content-disposition']), /^inline/);
      const gotTxt = await api('viewer', 'GET', `/api/v1/files/${txt.id}`);
      assert.match(String(gotTxt.headers['content-disposition']), /^attachment/);

      const posted = await api('responder', 'POST', '/api/v1/channels/incident-1/messages', { text: 'the graph', file_ids: [file.id] });
      assert.equal(posted.statusCode, 201);
      assert.equal(posted.json().message.files[0].content_type, 'image/png');
      assert.equal((await api('responder', 'POST', '/api/v1/channels/incident-1/messages', { text: 'x', file_ids: ['nope'] })).statusCode, 404);
      // Deleting the message that shows a file stops serving the file.
      const screenshot = (await upload(PNG, 'image/png', 'secret.png')).json();
      const leaked = (await api('responder', 'POST', '/api/v1/channels/incident-1/messages', { text: 'oops', file_ids: [screenshot.id] })).json().message;
      assert.equal((await api('viewer', 'GET', `/api/v1/files/${screenshot.id}`)).statusCode, 200);
      assert.equal((await api('responder', 'DELETE', `/api/v1/channels/incident-1/messages/${leaked.id}`)).statusCode, 200);
      assert.equal((await api('viewer', 'GET', `/api/v1/files/${screenshot.id}`)).statusCode, 404);
      assert.equal((await api('viewer', 'GET', `/api/v1/files/${file.id}`)).statusCode, 200);
    });

    test('export: Markdown and one offline HTML file with images inline, no script from user text', async () => {
      await api('responder', 'POST', '/api/v1/channels/incident-1/messages', {
        text: '<script>alert(1)</script> [click](javascript:alert(2)) ![x](https://evil.example/t.png) **bold** [ok](https://example.com)',
      });
      const html = await api('viewer', 'GET', '/api/v1/channels/incident-1/export?format=html');
      assert.equal(html.statusCode, 200);
      assert.match(String(html.headers['content-disposition']), /attachment; filename="incident-1.html"/);
      const body = html.body;
      assert.doesNotMatch(body, /<script/i);
      assert.doesNotMatch(body, /href="javascript/i);
      assert.doesNotMatch(body, /\ssrc="https?:/i);
      assert.doesNotMatch(body, /<link\b/i);
      assert.match(body, /&lt;script&gt;/);
      assert.match(body, /<strong>bold<\/strong>/);
      assert.match(body, /href="https:\/\/example.com"/);
      assert.match(body, /src="data:image\/png;base64,/);
      assert.match(body, /Acknowledged/);
      const md = await api('viewer', 'GET', '/api/v1/channels/incident-1/export?format=markdown');
      assert.match(md.body, /^# #incident-1/);
      assert.match(md.body, /data:image\/png;base64,/);
      assert.match(md.body, /Triggered/);
    });

    test('mentions: @name and @oncall leave an in-app notice for the people meant', async () => {
      const ana = await t.features.users.createUser({ email: 'ana@example.com', name: 'Ana Lopez', role: 'responder' });
      await t.features.users.createUser({ email: 'bo@example.com', name: 'Bo', role: 'responder' });
      const res = await api('responder', 'POST', '/api/v1/channels/ops/messages', { text: 'hey @ana can you look? `@bo` is in code' });
      assert.deepEqual(res.json().message.mentions, [ana.id]);
      const notes = await t.handle.db.selectFrom('notifications').selectAll().where('kind', '=', 'mention').execute();
      assert.equal(notes.length, 1);
      assert.equal(notes[0].user_id, ana.id);
      assert.equal(notes[0].channel, 'in_app');
    });

    test('commands: refused without a runner; with one, the line and a channel reply are posted, caller-only replies are not stored', async () => {
      await api('responder', 'POST', '/api/v1/channels', { name: 'cmds' });
      const chat = t.features.chat as ChatServiceImpl;
      const saved = chat.commandRunner;
      chat.setCommandRunner(null);
      const none = await api('responder', 'POST', '/api/v1/channels/cmds/messages', { text: '/status' });
      assert.equal(none.statusCode, 400);
      assert.equal(none.json().error.code, 'commands_unavailable');
      chat.setCommandRunner(async (line) => (line.startsWith('/secret') ? { text: 'just you', visibility: 'caller' } : { text: `ran ${line}`, visibility: 'channel' }));
      try {
        const ran = await api('responder', 'POST', '/api/v1/channels/cmds/messages', { text: '/status now' });
        assert.equal(ran.statusCode, 201);
        assert.equal(ran.json().message.kind, 'command');
        assert.equal(ran.json().reply.kind, 'reply');
        assert.equal(ran.json().reply.text, 'ran /status now');
        const secret = (await api('responder', 'POST', '/api/v1/channels/cmds/messages', { text: '/secret' })).json();
        assert.equal(secret.reply.text, 'just you');
        assert.ok(secret.reply.visible_to);
        const list = await messages('cmds', '?limit=5');
        assert.deepEqual(list.messages.map((m) => [m.kind, m.text]), [['command', '/status now'], ['reply', 'ran /status now'], ['command', '/secret']]);
      } finally {
        chat.setCommandRunner(saved);
      }
    });
  });
}
