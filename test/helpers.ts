import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp, type AppBundle } from '../src/app.ts';
import type { Clock } from '../src/clock.ts';
import type { Config } from '../src/config.ts';
import { type DatabaseHandle, type DialectName, migrateToLatest, openDatabase } from '../src/db/database.ts';

/**
 * Test support shared by repository, API and end-to-end tests. Every suite that touches the database
 * runs once per dialect: SQLite always, PostgreSQL when FIREWATCH_TEST_DATABASE_URL is set (CI sets it).
 */
export const PG_ADMIN_URL = process.env.FIREWATCH_TEST_DATABASE_URL;
export const DIALECTS: DialectName[] = PG_ADMIN_URL ? ['sqlite', 'postgres'] : ['sqlite'];
if (!PG_ADMIN_URL && !process.env.FIREWATCH_QUIET_SKIPS) {
  process.stderr.write('skipped: no PostgreSQL (set FIREWATCH_TEST_DATABASE_URL to run the PostgreSQL variants)\n');
}

export interface TestDatabase {
  url: string;
  dialect: DialectName;
  /** Drops the database (PostgreSQL) or deletes its directory (SQLite). */
  destroy(): Promise<void>;
}

/** A fresh, empty database of the given dialect. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'fw-test-'));
    return { url: `sqlite:${path.join(dir, 'firewatch.db')}`, dialect, destroy: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (!PG_ADMIN_URL) throw new Error('FIREWATCH_TEST_DATABASE_URL is not set');
  const name = `fw_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dialect,
    destroy: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir: tmpdir(),
    databaseUrl: 'sqlite::memory:',
    publicUrl: 'http://firewatch.test',
    secretKey: 'test-secret-key-test-secret-key-0123456789',
    configFile: undefined,
    logLevel: 'silent',
    maxEventBytes: 512 * 1024,
    heartbeatCheckMs: 1000,
    metricsPublic: true,
    smtpUrl: null,
    smtpFrom: 'Firewatch <firewatch@test>',
    // Test receivers listen on loopback.
    webhookAllowPrivate: true,
    webhookAllowList: [],
    jobPollMs: 50,
    // Tests start their own receivers (buildApp never listens for syslog).
    syslogPort: 0,
    syslogHost: '127.0.0.1',
    logRetentionDays: 7,
    logMaxBytes: 2 * 1024 ** 3,
    slack: { signingSecret: null, botToken: null, appToken: null, apiUrl: 'http://127.0.0.1:9/api/' },
    ...overrides,
  };
}

export interface TestApp extends AppBundle {
  handle: DatabaseHandle;
  database: TestDatabase;
  /** Bearer tokens for each role. */
  tokens: { admin: string; responder: string; viewer: string };
  /** Authorization header for a role. */
  auth(role: 'admin' | 'responder' | 'viewer'): { authorization: string };
  close(): Promise<void>;
}

/** A migrated app on a fresh database, with one token per role. Not listening: use app.inject(). */
export async function createTestApp(dialect: DialectName, options: { clock?: Clock; config?: Partial<Config> } = {}): Promise<TestApp> {
  const database = await createTestDatabase(dialect);
  const handle = openDatabase(database.url);
  await migrateToLatest(handle.db);
  const bundle = await buildApp({ config: testConfig({ databaseUrl: database.url, ...options.config }), handle, clock: options.clock, logger: false });
  const tokens = {
    admin: (await bundle.features.users.createToken({ name: 'test-admin', role: 'admin' })).token,
    responder: (await bundle.features.users.createToken({ name: 'test-responder', role: 'responder' })).token,
    viewer: (await bundle.features.users.createToken({ name: 'test-viewer', role: 'viewer' })).token,
  };
  return {
    ...bundle,
    handle,
    database,
    tokens,
    auth: (role) => ({ authorization: `Bearer ${tokens[role]}` }),
    async close() {
      await bundle.app.close();
      await handle.close();
      await database.destroy();
    },
  };
}

/** Creates a service with one integration of each type; returns their keys. */
export async function seedService(t: TestApp, name = 'checkout') {
  await t.features.services.create({ name, description: `${name} service` });
  const pagerduty = await t.features.services.addIntegration(name, { name: 'pd', type: 'pagerduty' });
  const alertmanager = await t.features.services.addIntegration(name, { name: 'am', type: 'alertmanager' });
  const webhook = await t.features.services.addIntegration(name, { name: 'hook', type: 'webhook' });
  const heartbeat = await t.features.services.addIntegration(name, { name: 'cron', type: 'heartbeat', config: { interval_seconds: 60 } });
  return { pagerduty: pagerduty.key, alertmanager: alertmanager.key, webhook: webhook.key, heartbeat: heartbeat.key };
}

/** The declarative example from CONTRACTS.md, as written there (the hook key unquoted). */
export const CONTRACTS_EXAMPLE = `services:
  - name: checkout
    description: Checkout API
    integrations:
      - name: alertmanager
        type: alertmanager
        key: 0123456789abcdef0123456789abcdef
users:
  - email: ana@example.com
    name: Ana
    role: responder
teams:
  - name: sre
    members: [ana@example.com]
channels:
  - name: ops
    hooks:
      - name: alertmanager
        key: 00000000000000000000000000000000   # POST /hooks/chat/{key}; generated when absent
`;

/** A PagerDuty Events v2 trigger body. */
export function pdTrigger(routingKey: string, overrides: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    payload: { summary: 'Disk full on db1', source: 'db1.example.com', severity: 'critical', ...payload },
    ...overrides,
  };
}
