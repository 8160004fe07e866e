import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { toIso } from '../../src/db/codec.ts';
import { type DialectName, openDatabase } from '../../src/db/database.ts';
import { newId } from '../../src/ids.ts';
import { createTestDatabase, DIALECTS, PG_ADMIN_URL, type TestDatabase } from '../helpers.ts';
import { CLI, NODE_BIN, ProcessGroup } from './processes.ts';

/**
 * Paging across real `firewatch serve` processes, timed by the real clock:
 * - restart in the middle of an escalation (SIGKILL while level 2 is pending; restart after it fell due):
 *   the overdue step fires at once after the restart, and nothing is paged twice — SQLite and PostgreSQL;
 * - two processes on one PostgreSQL database with 200 incidents escalating: every notification is delivered
 *   exactly once (the runners share the jobs table with FOR UPDATE SKIP LOCKED).
 * Notifications go to a local webhook receiver that records each delivery's X-Webhook-Id and incident.
 */

const SECRET_KEY = 'oncall-e2e-secret-key-0123456789abcdef';
const LEVEL_DELAY_MIN = 1;

interface Delivery { id: string; user: string; incident: number; type: string; at: number }

async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        deliveries.push({ id: String(req.headers['x-webhook-id']), user: (req.url ?? '').split('/').pop() ?? '', incident: body.event.data.number, type: body.event.event_type, at: Date.now() });
      } catch {
        // Not ours.
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deliveries, server };
}

const CONFIG = (serviceKey: string) => `services:
  - name: checkout
    integrations:
      - { name: pd, type: pagerduty, key: ${serviceKey} }
users:
  - { email: first@example.com, name: First }
  - { email: second@example.com, name: Second }
`;

/** Gives both users a webhook contact method at the receiver and a two-level policy to the service (directly in the database). */
async function seedOnCall(databaseUrl: string, receiverUrl: string): Promise<void> {
  const handle = openDatabase(databaseUrl);
  try {
    const db = handle.db;
    const now = toIso(new Date());
    const users = await db.selectFrom('users').select(['id', 'email']).execute();
    const id = (email: string) => users.find((u) => u.email === email)!.id;
    for (const [email, path] of [['first@example.com', 'first'], ['second@example.com', 'second']] as const) {
      const method = newId();
      await db.insertInto('contact_methods').values({ id: method, user_id: id(email), type: 'webhook', label: 'hook', address: `${receiverUrl}/${path}`, secret_encrypted: null, created_at: now }).execute();
      await db.insertInto('notification_rules').values({ id: newId(), user_id: id(email), urgency: 'high', contact_method_id: method, delay_minutes: 0, created_at: now }).execute();
    }
    const policy = newId();
    await db.insertInto('escalation_policies').values({
      id: policy, name: 'two-levels', description: '', repeat: 0, created_at: now, updated_at: now,
      levels: JSON.stringify([
        { delay_minutes: LEVEL_DELAY_MIN, strategy: 'all', targets: [{ type: 'user', id: id('first@example.com') }] },
        { delay_minutes: LEVEL_DELAY_MIN, strategy: 'all', targets: [{ type: 'user', id: id('second@example.com') }] },
      ]),
    }).execute();
    await db.updateTable('services').set({ escalation_policy_id: policy }).where('name', '=', 'checkout').execute();
  } finally {
    await handle.close();
  }
}

async function trigger(baseUrl: string, key: string, dedup: string): Promise<void> {
  const res = await fetch(`${baseUrl}/v2/enqueue`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ routing_key: key, event_action: 'trigger', dedup_key: dedup, payload: { summary: `probe ${dedup} failing`, source: 'e2e', severity: 'critical' } }),
  });
  assert.equal(res.status, 202, await res.text());
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each incident's deliveries per user; asserts exactly one each, and no webhook id twice. */
function assertExactlyOnce(deliveries: Delivery[], incidents: number, users: string[]): void {
  const ids = new Set(deliveries.map((d) => d.id));
  assert.equal(ids.size, deliveries.length, 'no notification delivered twice');
  const counts = new Map<string, number>();
  for (const d of deliveries) counts.set(`${d.incident}:${d.user}`, (counts.get(`${d.incident}:${d.user}`) ?? 0) + 1);
  assert.equal(counts.size, incidents * users.length, 'every incident paged each level');
  assert.ok([...counts.values()].every((n) => n === 1), 'each person paged once per incident');
}

/** How many jobs a process ran, from its /metrics. */
async function jobsRun(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^firewatch_job_lateness_seconds_count\{kind="[a-z_]+"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const dialectsToRun: DialectName[] = DIALECTS;

describe('on-call across real processes', { concurrency: true }, () => {
  const group = new ProcessGroup();
  const receivers: Server[] = [];
  const databases: TestDatabase[] = [];
  after(async () => {
    await group.stop();
    for (const r of receivers) r.close();
    for (const d of databases) await d.destroy();
  });

  async function restartScenario(dialect: DialectName): Promise<string> {
    const receiver = await startReceiver();
    receivers.push(receiver.server);
    const database = dialect === 'postgres' ? await createTestDatabase('postgres') : undefined;
    if (database) databases.push(database);
    const key = `restart${dialect.padEnd(8, '0')}0123456789abcdef01`.slice(0, 32);
    const env = { FIREWATCH_SECRET_KEY: SECRET_KEY, FIREWATCH_WEBHOOK_ALLOW_PRIVATE: 'true' };
    const first = await group.firewatch({ databaseUrl: database?.url, config: CONFIG(key), env });
    const databaseUrl = database?.url ?? `sqlite:${first.dataDir}/firewatch.db`;
    await seedOnCall(databaseUrl, receiver.url);
    const incidents = 20;
    for (let i = 0; i < incidents; i++) await trigger(first.url, key, `restart-${i}`);
    await until('level 1 of every incident', () => receiver.deliveries.length >= incidents, 20_000);

    first.process.child.kill('SIGKILL');
    assert.equal(await first.process.exited, 'SIGKILL');
    const killedAt = Date.now();
    // Stay down until level 2 is overdue.
    const dueBy = receiver.deliveries[incidents - 1].at + LEVEL_DELAY_MIN * 60_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueBy - Date.now() + 2_000)));
    assert.equal(receiver.deliveries.length, incidents, 'nothing is paged while the server is down');

    const restartedAt = Date.now();
    await group.startServer(`firewatch ${dialect} (restarted)`, (port) => ({
      command: NODE_BIN, args: [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)], env: first.env,
    }), '/readyz');
    await until('level 2 after the restart', () => receiver.deliveries.length >= 2 * incidents, 20_000);
    const lastLevel2 = Math.max(...receiver.deliveries.filter((d) => d.user === 'second').map((d) => d.at));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assertExactlyOnce(receiver.deliveries, incidents, ['first', 'second']);
    const catchUpMs = lastLevel2 - restartedAt;
    assert.ok(catchUpMs < 15_000, `overdue steps fire at once after the restart (took ${catchUpMs} ms)`);
    return `restart (${dialect}): incidents=${incidents} down_ms=${restartedAt - killedAt} overdue_level2_delivered_within_ms=${catchUpMs} duplicates=0`;
  }

  test('a restart in the middle of an escalation: overdue steps fire at once, none twice', { timeout: 240_000 }, async () => {
    const lines = await Promise.all(dialectsToRun.map((d) => restartScenario(d)));
    for (const line of lines) process.stdout.write(`${line}\n`);
  });

  test('two processes on one PostgreSQL: 200 incidents escalating, each notification delivered once', { skip: PG_ADMIN_URL ? false : 'skipped: no PostgreSQL', timeout: 240_000 }, async () => {
    const receiver = await startReceiver();
    receivers.push(receiver.server);
    const database = await createTestDatabase('postgres');
    databases.push(database);
    const key = 'twoproc0123456789abcdef012345678';
    const env = { FIREWATCH_SECRET_KEY: SECRET_KEY, FIREWATCH_WEBHOOK_ALLOW_PRIVATE: 'true' };
    const a = await group.firewatch({ databaseUrl: database.url, config: CONFIG(key), env });
    await seedOnCall(database.url, receiver.url);
    const b = await group.firewatch({ databaseUrl: database.url, env });
    const incidents = 200;
    const started = Date.now();
    await Promise.all(Array.from({ length: incidents }, (_, i) => trigger(i % 2 === 0 ? a.url : b.url, key, `two-${i}`)));
    await until('level 1 of 200 incidents', () => receiver.deliveries.length >= incidents, 60_000);
    await until('level 2 of 200 incidents', () => receiver.deliveries.length >= 2 * incidents, LEVEL_DELAY_MIN * 60_000 + 60_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assertExactlyOnce(receiver.deliveries, incidents, ['first', 'second']);

    // Both processes ran timers (each exposes its own job metrics).
    const [ranA, ranB] = await Promise.all([jobsRun(a.url), jobsRun(b.url)]);
    assert.ok(ranA > 0 && ranB > 0, `both processes ran jobs (a=${ranA}, b=${ranB})`);
    process.stdout.write(`two processes (postgres): incidents=${incidents} deliveries=${receiver.deliveries.length} duplicates=0 jobs_a=${ranA} jobs_b=${ranB} total_s=${((Date.now() - started) / 1000).toFixed(1)}\n`);
  });
});
