import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, pdTrigger, seedService, type TestApp } from '../../test/helpers.ts';
import { ManualClock } from '../clock.ts';
import { parseConfigYaml } from '../config-as-code/apply.service.ts';
import type { Principal } from '../users/users.service.ts';

type Role = 'admin' | 'responder' | 'viewer';

const principal = (role: Role, name = `test-${role}`): Principal => ({ kind: 'token', id: `tok-${role}`, name, role, userId: null, csrfToken: null });
const names = (list: { name: string }[]) => list.map((c) => c.name);

for (const dialect of DIALECTS) {
  describe(`command registry (${dialect})`, () => {
    let t: TestApp;
    let keys: Awaited<ReturnType<typeof seedService>>;
    const clock = new ManualClock('2026-11-21T10:00:00Z');
    const stored: { name: string; contentType: string; data: Buffer; link?: string | null }[] = [];
    const run = (line: string, role: Role = 'responder', extra: Record<string, unknown> = {}) =>
      t.app.inject({ method: 'POST', url: '/api/v1/commands', headers: t.auth(role), payload: { line, ...extra } });
    const status = async (n: number) => (await t.features.incidents.get(n)).status;
    const timeline = (n: number) => t.features.incidents.timeline(n);

    async function openIncident(title: string, service = 'checkout'): Promise<number> {
      const res = await run(`/incident new "${title}" --service ${service}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data.incident;
    }

    before(async () => {
      t = await createTestApp(dialect, { clock });
      keys = await seedService(t, 'checkout');
      await t.features.services.create({ name: 'payments', description: 'payments' });
      await t.features.users.createUser({ email: 'ana@example.com', name: 'Ana Lima', role: 'responder' });
      // The graph PNGs as the commands handed them to the war room's file store.
      const chat = t.features.chat;
      const storeFile = chat.storeFile.bind(chat);
      chat.storeFile = async (input) => {
        stored.push(input);
        return storeFile(input);
      };
    });
    after(() => t.close());

    test('GET /api/v1/commands lists what the caller may run: viewers see only read commands', async () => {
      const viewer = (await t.app.inject({ method: 'GET', url: '/api/v1/commands', headers: t.auth('viewer') })).json().commands;
      const responder = (await t.app.inject({ method: 'GET', url: '/api/v1/commands', headers: t.auth('responder') })).json().commands;
      assert.ok(viewer.length > 0);
      assert.ok(viewer.every((c: { effect: string; role: string }) => c.effect === 'read' && c.role === 'viewer'), JSON.stringify(viewer));
      for (const n of ['help', 'oncall', 'graph', 'incident show']) assert.ok(names(viewer).includes(n), n);
      for (const n of ['ack', 'resolve', 'note', 'page', 'reassign', 'incident new', 'incident resolve-all']) {
        assert.ok(!names(viewer).includes(n), `viewer must not see ${n}`);
        assert.ok(names(responder).includes(n), `responder sees ${n}`);
      }
      const resolveAll = responder.find((c: { name: string }) => c.name === 'incident resolve-all');
      assert.equal(resolveAll.effect, 'destructive');
      assert.equal(resolveAll.confirm, true);
      assert.ok(resolveAll.examples.length > 0 && resolveAll.usage.startsWith('/incident resolve-all'));
    });

    test('/help differs by role and is for the caller only', async () => {
      const viewer = (await run('/help', 'viewer')).json();
      const responder = (await run('/help', 'responder')).json();
      assert.equal(viewer.visibility, 'caller');
      assert.match(viewer.text, /\/graph/);
      assert.doesNotMatch(viewer.text, /\/resolve|\/ack|\/page/);
      assert.match(responder.text, /\/resolve/);
      assert.match(responder.text, /\/page/);
      const one = (await run('/help resolve', 'viewer')).json();
      assert.match(one.text, /needs the responder role/);
      assert.match(one.text, /\/resolve 12/, 'examples are shown');
    });

    test('a viewer cannot /resolve: a clear refusal, and the incident is unchanged', async () => {
      const n = await openIncident('Viewer tries');
      const entriesBefore = (await timeline(n)).length;
      const res = await run(`/resolve ${n}`, 'viewer');
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().error.code, 'forbidden');
      assert.match(res.json().error.message, /needs the responder role; you have viewer/);
      assert.equal(await status(n), 'triggered');
      assert.equal((await timeline(n)).length, entriesBefore, 'nothing on the timeline');
    });

    test('/ack and /resolve act as the caller, with `via` on the timeline', async () => {
      const n = await openIncident('Checkout 500s');
      const ack = await run(`/ack ${n}`, 'responder', { via: 'cli' });
      assert.equal(ack.statusCode, 200, ack.body);
      assert.equal(ack.json().visibility, 'channel');
      assert.equal(await status(n), 'acknowledged');
      const ackEntry = (await timeline(n)).find((e) => e.type === 'acknowledge')!;
      assert.equal(ackEntry.actor.name, 'token:test-responder');
      assert.deepEqual(ackEntry.data, { via: 'cli' });
      const again = (await run(`/ack ${n}`)).json();
      assert.equal(again.visibility, 'caller');
      assert.match(again.text, /already acknowledged/);

      const res = await run(`/resolve #${n}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(await status(n), 'resolved');
      const resolveEntry = (await timeline(n)).find((e) => e.type === 'resolve')!;
      assert.equal((resolveEntry.data as { via: string }).via, 'api');
      const late = await run(`/ack ${n}`);
      assert.equal(late.statusCode, 400);
      assert.match(late.json().error.message, /already resolved/);
    });

    test('in an incident channel /ack needs no number; elsewhere it asks which incident', async () => {
      const n = await openIncident('Channel ack');
      const inChannel = await t.features.commands.run('/ack', { principal: principal('responder', 'Chat Person'), channel: `incident-${n}`, incidentNumber: n, via: 'chat', now: clock.now() });
      assert.equal(inChannel.error, undefined, inChannel.text);
      assert.equal(await status(n), 'acknowledged');
      const entry = (await timeline(n)).find((e) => e.type === 'acknowledge')!;
      assert.equal(entry.actor.name, 'Chat Person');
      assert.deepEqual(entry.data, { via: 'chat' });
      const outside = await run('/ack');
      assert.equal(outside.statusCode, 400);
      assert.equal(outside.json().error.code, 'incident_required');
      assert.match(outside.json().error.message, /\/ack 12/);
    });

    test('/note: a leading number names the incident outside its channel; inside, every word is the note', async () => {
      const n = await openIncident('Notes');
      assert.equal((await run(`/note ${n} "rolled back to v41"`)).statusCode, 200);
      await t.features.commands.run('/note 500s are back to normal', { principal: principal('responder'), channel: `incident-${n}`, incidentNumber: n, via: 'chat', now: clock.now() });
      const notes = (await timeline(n)).filter((e) => e.type === 'annotate');
      assert.deepEqual(notes.map((e) => e.message), ['rolled back to v41', '500s are back to normal']);
      assert.deepEqual(notes.map((e) => (e.data as { via: string }).via), ['api', 'chat']);
      const empty = await run(`/note ${n}`);
      assert.equal(empty.statusCode, 400);
      assert.match(empty.json().error.message, /Usage: `\/note/);
    });

    test('/incident new opens an incident (urgency, service, via) and bad arguments answer with usage and examples', async () => {
      const res = await run('/incident new "Payments slow" --service payments --urgency low');
      assert.equal(res.statusCode, 200, res.body);
      const { incident, channel } = res.json().data;
      assert.equal(channel, `incident-${incident}`);
      const view = await t.features.incidents.get(incident);
      assert.equal(view.title, 'Payments slow');
      assert.equal(view.urgency, 'low');
      assert.equal(view.service.name, 'payments');
      const trigger = (await timeline(incident)).find((e) => e.type === 'trigger')!;
      assert.equal(trigger.actor.name, 'token:test-responder');
      assert.deepEqual(trigger.data, { via: 'api' });

      const noTitle = await run('/incident new --service payments');
      assert.equal(noTitle.statusCode, 400);
      assert.equal(noTitle.json().error.code, 'invalid_arguments');
      assert.match(noTitle.json().error.message, /title/);
      assert.match(noTitle.json().error.message, /Usage: `\/incident new "title" --service NAME/);
      assert.match(noTitle.json().error.message, /Examples:/);
      const badUrgency = await run('/incident new "x" --service payments --urgency urgent');
      assert.equal(badUrgency.statusCode, 400);
      assert.match(badUrgency.json().error.message, /urgency/);
      const noService = await run('/incident new "x" --service nowhere');
      assert.equal(noService.statusCode, 404);
      assert.equal(noService.json().error.code, 'service_not_found');
    });

    test('unknown commands suggest the closest name; unterminated quotes are explained', async () => {
      const res = await run('/resolv 3');
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'unknown_command');
      assert.match(res.json().error.message, /Did you mean `\/resolve`\?/);
      const viewer = await run('/resolv 3', 'viewer');
      assert.doesNotMatch(viewer.json().error.message, /\/resolve/, 'no suggestion of a command the caller cannot run');
      const sub = await run('/incident nwe "x"');
      assert.match(sub.json().error.message, /Did you mean `\/incident new`\?/);
      const quote = await run('/note 1 "no end');
      assert.equal(quote.json().error.code, 'unterminated_quote');
    });

    test('a destructive command asks to confirm first (says what would happen), then runs with --yes or confirm: true', async () => {
      await t.features.services.create({ name: 'storm', description: 'alert storm' });
      const a = await openIncident('Storm one', 'storm');
      const b = await openIncident('Storm two', 'storm');
      const ask = await run('/incident resolve-all --service storm');
      assert.equal(ask.statusCode, 409);
      assert.equal(ask.json().error.code, 'confirmation_required');
      assert.match(ask.json().error.message, /would resolve 2 open incident\(s\) of storm/);
      assert.match(ask.json().error.message, new RegExp(`#${a} Storm one`));
      assert.match(ask.json().error.message, /--yes/);
      assert.equal(await status(a), 'triggered');
      assert.equal(await status(b), 'triggered');

      const viewer = await run('/incident resolve-all --service storm --yes', 'viewer');
      assert.equal(viewer.statusCode, 403, 'confirmation does not bypass the role');

      // The question names the exact line that confirms it: what was shown, fingerprinted.
      const line = ask.json().error.details.data.line as string;
      assert.match(line, /^\/incident resolve-all --service storm --expect 2-[0-9a-f]{10} --yes$/);
      assert.ok(ask.json().error.message.includes(line));
      const yes = await run(line);
      assert.equal(yes.statusCode, 200, yes.body);
      assert.deepEqual(yes.json().data.resolved.toSorted(), [a, b].toSorted());
      assert.match(yes.json().text, /resolved 2 incident\(s\) of storm/);
      assert.equal(await status(a), 'resolved');
      assert.equal(await status(b), 'resolved');

      // Without a fingerprint (scripts that never asked), --yes and confirm: true resolve what is open when it runs.
      const c = await openIncident('Storm three', 'storm');
      const api = await run('/incident resolve-all --service storm', 'responder', { confirm: true });
      assert.equal(api.statusCode, 200, api.body);
      assert.equal(await status(c), 'resolved');
    });

    test('/incident resolve-all resolves only what its question showed: a change in between is refused (confirmation_stale), and nothing runs', async () => {
      await t.features.services.create({ name: 'surge', description: 'surge' });
      const a = await openIncident('Surge one', 'surge');
      const b = await openIncident('Surge two', 'surge');
      const ask = await run('/incident resolve-all --service surge');
      assert.equal(ask.json().error.code, 'confirmation_required');
      const shown = ask.json().error.details.data.line as string;

      // A new incident arrives between the question and the answer.
      const late = await openIncident('Surge three, after the question', 'surge');
      const stale = await run(shown);
      assert.equal(stale.statusCode, 409, stale.body);
      assert.equal(stale.json().error.code, 'confirmation_stale');
      assert.match(stale.json().error.message, /it showed 2, 3 are open now\); nothing was resolved/);
      assert.match(stale.json().error.message, /This would resolve 3 open incident\(s\) of surge/);
      for (const n of [a, b, late]) assert.equal(await status(n), 'triggered', `#${n} untouched`);
      // The same through the API's confirm flag.
      const staleApi = await run(shown.replace(/ --yes$/, ''), 'responder', { confirm: true });
      assert.equal(staleApi.json().error.code, 'confirmation_stale');

      // One resolved elsewhere also changes the set.
      const again = stale.json().error.details.data.line as string;
      assert.notEqual(again, shown);
      assert.equal((await run(`/resolve ${b}`)).statusCode, 200);
      const stale2 = await run(again);
      assert.equal(stale2.json().error.code, 'confirmation_stale');
      assert.equal(await status(a), 'triggered');

      const confirmed = await run(stale2.json().error.details.data.line);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.deepEqual(confirmed.json().data.resolved.toSorted((x: number, y: number) => x - y), [a, late]);
      assert.equal(await status(late), 'resolved');
      // A fingerprint that matches nothing (typed by hand) is refused too.
      const bogus = await run('/incident resolve-all --service surge --expect 0-0000000000 --yes');
      assert.equal(bogus.statusCode, 409);
      assert.equal(bogus.json().error.code, 'confirmation_stale');
    });

    test('/incident resolve-all pages through every open incident: more than a thousand are all resolved, and the reply counts them', async () => {
      await t.features.services.create({ name: 'flood', description: 'flood' });
      const actor = { type: 'system' as const, id: null, name: 'test' };
      const total = 1003;
      for (let i = 0; i < total; i += 25) {
        await Promise.all(Array.from({ length: Math.min(25, total - i) }, (_, k) => t.features.incidents.create({ title: `Flood ${i + k}`, serviceName: 'flood', urgency: 'low' }, actor)));
      }
      const ask = await run('/incident resolve-all --service flood');
      assert.match(ask.json().error.message, /would resolve 1003 open incident\(s\) of flood/);
      assert.match(ask.json().error.details.data.line, /--expect 1003-/);
      const done = await run(ask.json().error.details.data.line);
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().data.resolved_count, total);
      assert.equal(new Set(done.json().data.resolved).size, total);
      assert.match(done.json().text, /resolved 1003 incident\(s\) of flood: .* and 983 more\./);
      const open = await t.handle.db.selectFrom('incidents').innerJoin('services', 'services.id', 'incidents.service_id')
        .select('incidents.id').where('services.name', '=', 'flood').where('incidents.status', '!=', 'resolved').execute();
      assert.deepEqual(open, []);
    });

    test('/page @user pages them (the timeline says who, and via); unknown users are named', async () => {
      const n = await openIncident('Need a DBA');
      const res = await run(`/page @ana "check replication" --incident ${n}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().data.paged, ['Ana Lima']);
      const entry = (await timeline(n)).find((e) => e.type === 'responder_added')!;
      assert.match(entry.message, /token:test-responder paged Ana Lima: check replication/);
      assert.equal((entry.data as { via: string }).via, 'api');
      const byName = await run(`/page @"Ana Lima" --incident ${n}`);
      assert.equal(byName.statusCode, 200, byName.body);
      const unknown = await run(`/page @nobody --incident ${n}`);
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.json().error.message, /no user @nobody/);
      const schedule = await run(`/page nosuchschedule --incident ${n}`);
      assert.equal(schedule.statusCode, 404);
    });

    test('/oncall answers only the caller unless --share', async () => {
      const mine = (await run('/oncall', 'viewer')).json();
      assert.equal(mine.visibility, 'caller');
      assert.match(mine.text, /no schedules/);
      assert.equal((await run('/oncall --share', 'viewer')).json().visibility, 'channel');
    });

    test('/page and /reassign a schedule reach whoever is on call on it now; /oncall names them', async () => {
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/schedules', headers: t.auth('admin'), payload: {
        name: 'primary', time_zone: 'UTC', layers: [{ name: 'weekly', start: '2026-11-01T00:00', rotation: 'FREQ=WEEKLY', members: ['ana@example.com'] }],
      } });
      assert.equal(created.statusCode, 201, created.body);
      const oncall = (await run('/oncall primary', 'viewer')).json();
      assert.match(oncall.text, /\*\*primary\*\*: Ana Lima/);
      const n = await openIncident('Paging a schedule');
      const paged = await run(`/page primary "db is slow" --incident ${n}`);
      assert.equal(paged.statusCode, 200, paged.body);
      assert.match(paged.json().text, /paged Ana Lima \(on call for primary\) for #/);
      const ana = await t.handle.db.selectFrom('users').select('id').where('email', '=', 'ana@example.com').executeTakeFirstOrThrow();
      const entry = (await timeline(n)).find((e) => e.type === 'responder_added')!;
      assert.match(entry.message, /paged Ana Lima: db is slow/);
      assert.deepEqual((entry.data as { users: string[] }).users, [ana.id]);
      const reassigned = await run(`/reassign primary --incident ${n}`);
      assert.equal(reassigned.statusCode, 200, reassigned.body);
      const assign = (await timeline(n)).find((e) => e.type === 'assign' && (e.data as { manual?: boolean }).manual)!;
      assert.match(assign.message, /Reassigned by token:test-responder to Ana Lima/);
      const nobody = await t.app.inject({ method: 'POST', url: '/api/v1/schedules', headers: t.auth('admin'), payload: { name: 'empty', time_zone: 'UTC', layers: [] } });
      assert.equal(nobody.statusCode, 201, nobody.body);
      const none = await run(`/page empty --incident ${n}`);
      assert.equal(none.statusCode, 400);
      assert.equal(none.json().error.code, 'nobody_on_call');
    });

    test('/graph alerts graphs the incident\'s own alerts with no data source, stores a PNG and links to the incident', async () => {
      const trigger = await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(keys.pagerduty, { dedup_key: 'g1' }) });
      assert.equal(trigger.statusCode, 202, trigger.body);
      const [incident] = await t.features.incidents.list({ statuses: ['triggered'], limit: 1 });
      clock.advance(10 * 60_000);
      const storedBefore = stored.length;
      const res = await t.features.commands.run('/graph alerts 1h', { principal: principal('viewer'), channel: `incident-${incident.number}`, incidentNumber: incident.number, via: 'chat', now: clock.now() });
      assert.equal(res.error, undefined, res.text);
      assert.equal(res.visibility, 'channel');
      assert.equal(res.files?.length, 1);
      assert.equal(stored.length, storedBefore + 1);
      const png = stored.at(-1)!;
      assert.equal(png.contentType, 'image/png');
      assert.deepEqual([...png.data.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      assert.equal(png.link, `http://firewatch.test/incidents/${incident.number}`);
      assert.match(res.text, /open the live view/);
      assert.equal((res.data as { series: number }).series, 2);

      const outside = await run('/graph alerts 6h', 'viewer');
      assert.equal(outside.statusCode, 400);
      assert.match(outside.json().error.message, /--incident N or --service NAME/);
      const byService = await run('/graph alerts 6h --service checkout', 'viewer');
      assert.equal(byService.statusCode, 200, byService.body);
      assert.equal(stored.at(-1)!.link, 'http://firewatch.test/services/checkout/dashboard');
    });

    test('chat: /ack typed in the incident channel acknowledges it; the channel shows the event once, the reply is for the caller', async () => {
      const n = await openIncident('Chat ack');
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/channels/incident-${n}/messages`, headers: t.auth('responder'), payload: { text: '/ack' } });
      assert.equal(res.statusCode, 201, res.body);
      const { message, reply } = res.json();
      assert.equal(message.kind, 'command');
      assert.match(reply.text, /acknowledged/);
      assert.ok(reply.visible_to, 'the timeline event already tells the channel');
      assert.equal(await status(n), 'acknowledged');
      assert.equal(((await timeline(n)).find((e) => e.type === 'acknowledge')!.data as { via: string }).via, 'api');
      const events = (await t.app.inject({ method: 'GET', url: `/api/v1/channels/incident-${n}/messages`, headers: t.auth('viewer') })).json().messages
        .filter((m: { text: string }) => /acknowledged/i.test(m.text));
      assert.equal(events.length, 1, JSON.stringify(events));
      // From a team channel the reply is for everyone there.
      await t.features.chat.ensureChannel('ops');
      const other = await openIncident('Acked from ops');
      const fromOps = (await t.app.inject({ method: 'POST', url: '/api/v1/channels/ops/messages', headers: t.auth('responder'), payload: { text: `/ack ${other}` } })).json();
      assert.equal(fromOps.reply.kind, 'reply');
      assert.ok(!fromOps.reply.visible_to);
      const help = (await t.app.inject({ method: 'POST', url: `/api/v1/channels/incident-${n}/messages`, headers: t.auth('responder'), payload: { text: '/help' } })).json();
      assert.ok(help.reply.visible_to, '/help answers only the caller');
      const inChannel = (await t.app.inject({ method: 'GET', url: `/api/v1/channels/incident-${n}/messages`, headers: t.auth('viewer') })).json().messages;
      assert.ok(!inChannel.some((m: { text: string }) => m.text.startsWith('Commands you can run')), 'the caller-only reply is not stored');
    });

    test('chat: /graph alerts posts a PNG that /api/v1/files serves, linked to the incident', async () => {
      const n = await openIncident('Chat graph');
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/channels/incident-${n}/messages`, headers: t.auth('responder'), payload: { text: '/graph alerts 2h' } });
      assert.equal(res.statusCode, 201, res.body);
      const { reply } = res.json();
      assert.equal(reply.kind, 'reply');
      assert.equal(reply.files.length, 1, JSON.stringify(reply));
      assert.equal(reply.files[0].content_type, 'image/png');
      assert.equal(reply.files[0].link, `http://firewatch.test/incidents/${n}`);
      const file = await t.app.inject({ method: 'GET', url: `/api/v1/files/${reply.files[0].id}`, headers: t.auth('viewer') });
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-type'], 'image/png');
      assert.deepEqual([...file.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    });

    test('POST /api/v1/commands with a channel posts like chat; viewers may run commands but not post in channels', async () => {
      const n = await openIncident('API in channel');
      const res = await run('/note "from the API"', 'responder', { channel: `incident-${n}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().posted, false, 'a note is acknowledged to the caller only');
      const messages = (await t.app.inject({ method: 'GET', url: `/api/v1/channels/incident-${n}/messages`, headers: t.auth('viewer') })).json().messages;
      assert.ok(messages.some((m: { kind: string; text: string }) => m.kind === 'command' && m.text === '/note "from the API"'));
      assert.equal((await timeline(n)).filter((e) => e.type === 'annotate').at(-1)!.message, 'from the API');
      const viewer = await run('/help', 'viewer', { channel: `incident-${n}` });
      assert.equal(viewer.statusCode, 403);
      const missing = await run('/help', 'responder', { channel: 'no-such-channel' });
      assert.equal(missing.statusCode, 404);
    });

    test('/graph queries the default data source (or --datasource) and links the PNG to the explore view of the same query and range', async () => {
      await t.features.apply.apply(parseConfigYaml(`datasources:
  - name: demo
    type: demo
    default: true
  - name: down
    type: prometheus
    url: http://127.0.0.1:9
    timeout_seconds: 2
`));
      const storedBefore = stored.length;
      const res = await run('/graph cpu_usage{service="storage"} 3h --unit ratio', 'viewer');
      assert.equal(res.statusCode, 200, res.body);
      const data = res.json().data;
      assert.equal(data.datasource, 'demo');
      assert.ok(data.series >= 6, `one series per storage instance (${data.series})`);
      assert.equal(data.to - data.from, 3 * 3600);
      const link = new URL(data.link);
      assert.equal(link.pathname, '/explore');
      assert.equal(link.searchParams.get('datasource'), 'demo');
      assert.equal(link.searchParams.get('query'), 'cpu_usage{service="storage"}');
      assert.equal(link.searchParams.get('from'), String(data.from));
      assert.equal(link.searchParams.get('to'), String(data.to));
      assert.equal(stored.length, storedBefore + 1);
      assert.equal(stored.at(-1)!.link, data.link);

      const bad = await run('/graph not a query!! 1h', 'viewer');
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'bad_query');
      const down = await run('/graph up 1h --datasource down', 'viewer');
      assert.ok(down.statusCode >= 500, down.body);
      assert.match(down.json().error.code, /^datasource_(unreachable|error|timeout)$/);
      assert.match(down.json().error.message, /`\/graph` failed:/);
      assert.equal(stored.length, storedBefore + 1, 'no image for a failed query');
    });

    test('/graph against a data source that does not exist replies with the error, and stores no image', async () => {
      const storedBefore = stored.length;
      const res = await run('/graph rate(http_requests_total[5m]) 1h --datasource nowhere', 'viewer');
      assert.ok(res.statusCode >= 400, res.body);
      assert.match(res.json().error.message, /`\/graph` failed:/);
      assert.equal(stored.length, storedBefore, 'no blank image');
      const badRange = await run('/graph up 400d', 'viewer');
      assert.equal(badRange.statusCode, 400);
      assert.match(badRange.json().error.message, /at most 90d/);
    });
  });
}
