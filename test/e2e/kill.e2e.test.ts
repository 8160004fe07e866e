import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../../src/db/database.ts';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers.ts';
import { type FirewatchProcess, NODE_BIN, ProcessGroup, REPO_ROOT } from './processes.ts';
import { seededRandom } from '../random.ts';

/**
 * "Reliability": a real server process takes a continuous stream of PagerDuty events from concurrent senders,
 * is killed with SIGKILL mid-stream, and restarted on the same database while the senders carry on. Afterwards
 * the database must hold every event that got a 2xx, and no incident twice.
 *
 * Each sender owns its dedup keys and sends one event at a time, so the order of a key's events is the order
 * they were sent. A request that fails (the connection dies with the server) is retried until it gets a 2xx,
 * as PagerDuty clients do; the failed attempt may or may not have been committed. Every event is therefore
 * applied at least once and in order, which fixes each key's outcome exactly: the incidents it opened (one per
 * trigger episode) and its final state. Only trigger_count may exceed the acknowledged triggers, by at most the
 * failed trigger attempts.
 *
 * FIREWATCH_KILL_SEED=<n> repeats an event mix (the kill lands wherever the timing puts it).
 */

const SEED = Number(process.env.FIREWATCH_KILL_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
const SENDERS = 16;
const ACKS_AFTER_RESTART = 1000;
const ROUTING_KEY = 'K1llTestK1llTestK1llTestK1llTest';
const CLI = path.join(REPO_ROOT, 'src/cli.ts');

type Action = 'trigger' | 'acknowledge' | 'resolve';
type KeyState = null | 'triggered' | 'acknowledged';

/** One event as sent: its key, action, and what became of its attempts. */
interface SentEvent {
  key: string;
  action: Action;
  failedAttempts: number;
  acked: boolean;
}


/** PagerDuty semantics for one key's acknowledged events, in order: what the database must show. */
function expectedFor(events: SentEvent[]) {
  let state: KeyState = null;
  let episodes = 0;
  let ackedTriggers = 0;
  let failedTriggerAttempts = 0;
  for (const e of events) {
    if (e.action === 'trigger') {
      ackedTriggers += 1;
      failedTriggerAttempts += e.failedAttempts;
      if (state === null) {
        episodes += 1;
        state = 'triggered';
      }
    } else if (e.action === 'acknowledge') {
      if (state !== null) state = 'acknowledged';
    } else {
      state = null;
    }
  }
  return { state, episodes, ackedTriggers, failedTriggerAttempts };
}

/** The server the senders talk to; replaced on restart. `up` settles when it can take requests. */
class Target {
  url = '';
  private upPromise: Promise<void> = Promise.resolve();
  private markUp: () => void = () => {};

  down(): void {
    this.upPromise = new Promise((resolve) => {
      this.markUp = resolve;
    });
  }

  up(url: string): void {
    this.url = url;
    this.markUp();
  }

  waitUntilUp(): Promise<void> {
    return this.upPromise;
  }
}

for (const dialect of DIALECTS) {
  describe(`SIGKILL mid-stream (${dialect})`, () => {
    const group = new ProcessGroup();
    let database: TestDatabase | undefined;
    after(async () => {
      await group.stop();
      await database?.destroy();
    });

    test('every event that got a 2xx survives SIGKILL and a restart, and no incident is duplicated', { timeout: 120_000 }, async (t) => {
      const random = seededRandom(SEED ^ (dialect === 'sqlite' ? 0 : 0x5bd1e995));
      if (dialect === 'postgres') database = await createTestDatabase('postgres');
      const yaml = `services:\n  - name: kill-test\n    integrations:\n      - name: pd\n        type: pagerduty\n        key: ${ROUTING_KEY}\n`;
      const first = await group.firewatch({ databaseUrl: database?.url, config: yaml });
      const databaseUrl = database?.url ?? `sqlite:${path.join(first.dataDir, 'firewatch.db')}`;

      const target = new Target();
      target.up(first.url);
      const events = new Map<string, SentEvent[]>();
      const killAfter = 400 + Math.floor(random() * 1200);
      let sent = 0;
      let acked = 0;
      let failed = 0;
      let ackedBeforeKill = 0;
      let killed = false;
      let stopSending = false;
      const sending = () => !stopSending;
      /** Set when the test failed mid-stream: senders give up on unacknowledged events. */
      let abandon = false;
      const retrying = (event: SentEvent) => !event.acked && !abandon;
      let restartMs = 0;
      let second: Awaited<ReturnType<ProcessGroup['startServer']>> | undefined;

      /** Sends until told to stop; each event is retried until it gets a 2xx. */
      async function sender(id: number): Promise<void> {
        const open: string[] = [];
        const closed: string[] = [];
        let next = 0;
        while (sending()) {
          const roll = random();
          let key: string;
          let action: Action;
          if (open.length === 0 || roll < 0.35) {
            key = `s${id}-k${next++}`;
            action = 'trigger';
          } else if (roll < 0.65) {
            key = open[Math.floor(random() * open.length)];
            action = 'trigger';
          } else if (roll < 0.72) {
            key = open[Math.floor(random() * open.length)];
            action = 'acknowledge';
          } else if (roll < 0.92 || closed.length === 0) {
            key = open[Math.floor(random() * open.length)];
            action = 'resolve';
          } else {
            key = closed[Math.floor(random() * closed.length)];
            action = 'trigger';
          }
          const event: SentEvent = { key, action, failedAttempts: 0, acked: false };
          const history = events.get(key) ?? [];
          history.push(event);
          events.set(key, history);
          const body = JSON.stringify(action === 'trigger'
            ? { routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: key, payload: { summary: `Kill test ${key}`, source: `sender-${id}`, severity: 'critical' } }
            : { routing_key: ROUTING_KEY, event_action: action, dedup_key: key });
          // Retried until acknowledged; only a test that is already failing stops sooner.
          while (retrying(event)) {
            await target.waitUntilUp();
            sent += 1;
            try {
              const response = await fetch(`${target.url}/v2/enqueue`, {
                method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000),
              });
              await response.arrayBuffer();
              if (response.status === 202) {
                event.acked = true;
                acked += 1;
                if (!killed) ackedBeforeKill += 1;
              } else {
                // Not a 2xx: nothing is promised, so it counts like a dropped connection.
                event.failedAttempts += 1;
                failed += 1;
              }
            } catch {
              event.failedAttempts += 1;
              failed += 1;
              await new Promise((r) => setTimeout(r, 20));
            }
          }
          if (action === 'resolve') {
            open.splice(open.indexOf(key), 1);
            if (!closed.includes(key)) closed.push(key);
          } else if (action === 'trigger' && !open.includes(key)) {
            open.push(key);
            if (closed.includes(key)) closed.splice(closed.indexOf(key), 1);
          }
        }
      }

      const senders = Array.from({ length: SENDERS }, (_, id) => sender(id));
      try {
        // Mid-stream: once enough events were acknowledged, SIGKILL with requests in flight.
        await until(() => acked >= killAfter);
        target.down();
        killed = true;
        first.process.child.kill('SIGKILL');
        assert.equal(await first.process.exited, 'SIGKILL');
        const restartStarted = Date.now();
        second = await group.startServer('firewatch (restarted)', (port) => ({
          command: NODE_BIN, args: [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)], env: first.env,
        }), '/readyz');
        restartMs = Date.now() - restartStarted;
        target.up(second.url);
        const goal = acked + ACKS_AFTER_RESTART;
        await until(() => acked >= goal);
      } catch (error) {
        abandon = true;
        throw error;
      } finally {
        stopSending = true;
        target.up(target.url);
        await Promise.all(senders);
      }

      // The API agrees on the newest incident before the server stops.
      const newest = await apiGet<{ incidents: { number: number }[] }>(first, second!.url, '/api/v1/incidents?limit=1');
      await second!.process.stop();
      assert.equal(second!.process.exitStatus, 0, 'the restarted server shut down cleanly');

      const handle = openDatabase(databaseUrl);
      try {
        const { db } = handle;
        const integration = await db.selectFrom('integrations').select('id').where('name', '=', 'pd').executeTakeFirstOrThrow();
        const incidents = await db.selectFrom('incidents').select(['id', 'number', 'group_key', 'status', 'integration_id']).orderBy('number').execute();
        const alerts = await db.selectFrom('alerts').select(['id', 'incident_id', 'dedup_key', 'status', 'open', 'trigger_count']).execute();
        const triggers = await db.selectFrom('timeline_entries').select('incident_id').where('type', '=', 'trigger').execute();

        const incidentById = new Map(incidents.map((i) => [i.id, i]));
        const triggerEntries = new Map<string, number>();
        for (const e of triggers) triggerEntries.set(e.incident_id, (triggerEntries.get(e.incident_id) ?? 0) + 1);
        // Whole incidents: numbered without gaps, one trigger entry each, every alert in its own key's incident.
        const broken: string[] = [];
        if (incidents.some((i, n) => i.number !== n + 1)) broken.push('incident numbers are not 1..N');
        for (const i of incidents) {
          if (i.integration_id !== integration.id || triggerEntries.get(i.id) !== 1) broken.push(`incident ${i.number}: ${triggerEntries.get(i.id) ?? 0} trigger entries`);
        }
        const alertsByKey = new Map<string, typeof alerts>();
        for (const a of alerts) {
          if (incidentById.get(a.incident_id)?.group_key !== a.dedup_key) broken.push(`alert ${a.dedup_key} is not in its key's incident`);
          alertsByKey.set(a.dedup_key, [...(alertsByKey.get(a.dedup_key) ?? []), a]);
        }
        const incidentsByKey = new Map<string, typeof incidents>();
        for (const i of incidents) incidentsByKey.set(i.group_key ?? '', [...(incidentsByKey.get(i.group_key ?? '') ?? []), i]);

        const lost: string[] = [];
        const duplicated: string[] = [];
        let expectedIncidents = 0;
        let unackedCommitted = 0;
        for (const [key, history] of events) {
          const expected = expectedFor(history);
          expectedIncidents += expected.episodes;
          const rows = alertsByKey.get(key) ?? [];
          const keyIncidents = incidentsByKey.get(key) ?? [];
          const openRows = rows.filter((r) => r.open === 1);
          const openIncidents = keyIncidents.filter((i) => i.status !== 'resolved');
          const triggerCount = rows.reduce((n, r) => n + r.trigger_count, 0);
          unackedCommitted += Math.max(0, triggerCount - expected.ackedTriggers);
          const actual = `${keyIncidents.length} incidents (${openIncidents.map((i) => i.status).join(',') || 'none open'}), ${rows.length} alerts, trigger_count ${triggerCount}`;
          const wanted = `${expected.episodes} incidents (${expected.state ?? 'none open'}), trigger_count ${expected.ackedTriggers}..${expected.ackedTriggers + expected.failedTriggerAttempts}`;
          if (openRows.length > 1 || openIncidents.length > 1 || keyIncidents.length > expected.episodes || rows.length > expected.episodes) {
            duplicated.push(`${key}: ${actual}; expected ${wanted}`);
          } else if (
            keyIncidents.length < expected.episodes || rows.length < expected.episodes || triggerCount < expected.ackedTriggers
            || (openIncidents[0]?.status ?? null) !== expected.state || (openRows[0]?.status ?? null) !== expected.state
          ) {
            lost.push(`${key}: ${actual}; expected ${wanted}`);
          } else if (triggerCount > expected.ackedTriggers + expected.failedTriggerAttempts) {
            duplicated.push(`${key}: ${actual}; expected ${wanted}`);
          }
        }
        const line = `kill test (${dialect}): sent=${sent} acked=${acked} failed=${failed} keys=${events.size} incidents=${incidents.length} `
          + `lost=${lost.length} duplicated=${duplicated.length} kill after=${ackedBeforeKill} acks restart=${restartMs} ms `
          + `failed-but-committed triggers=${unackedCommitted} seed=${SEED}`;
        process.stdout.write(`${line}\n`);
        t.diagnostic(line);
        assert.deepEqual(broken.slice(0, 10), [], 'every incident is whole');
        assert.deepEqual(lost.slice(0, 10), [], `${lost.length} keys lost an acknowledged event`);
        assert.deepEqual(duplicated.slice(0, 10), [], `${duplicated.length} keys have duplicated incidents or alerts`);
        assert.equal(incidents.length, expectedIncidents, 'one incident per trigger episode, and no other');
        assert.equal(newest.incidents[0]?.number, incidents.length, 'the API listed the same newest incident');
        assert.ok(ackedBeforeKill >= killAfter && acked - ackedBeforeKill >= ACKS_AFTER_RESTART, 'events flowed before the kill and after the restart');
      } finally {
        await handle.close();
      }
    });
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

async function apiGet<T>(fw: FirewatchProcess, url: string, apiPath: string): Promise<T> {
  const response = await fetch(`${url}${apiPath}`, { headers: { authorization: `Bearer ${fw.token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200, `GET ${apiPath}`);
  return (await response.json()) as T;
}
