import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONTRACTS_EXAMPLE } from '../helpers.ts';
import { type FirewatchProcess, NODE_BIN, ProcessGroup, REPO_ROOT, runFirewatchCli } from './processes.ts';

// The CONTRACTS.md example plus a PagerDuty-compatible integration for sending test events.
const CONFIG = CONTRACTS_EXAMPLE.replace('users:', `      - name: events
        type: pagerduty
        key: fedcba9876543210fedcba9876543210
users:`);

/** Runs the CLI through the package's bin (bin/firewatch.js), as `npx firewatch` does. */
function viaBin(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(NODE_BIN, [path.join(REPO_ROOT, 'bin/firewatch.js'), ...args], { cwd: REPO_ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

describe('the firewatch CLI against a real server', () => {
  const group = new ProcessGroup();
  let fw: FirewatchProcess;
  let clientEnv: NodeJS.ProcessEnv;

  before(async () => {
    fw = await group.firewatch({ config: CONFIG });
    clientEnv = { ...fw.env, FIREWATCH_URL: fw.url, FIREWATCH_TOKEN: fw.token };
  });
  after(() => group.stop());

  test('apply with the CONTRACTS example is idempotent', async () => {
    const file = path.join(fw.dataDir, 'again.yaml');
    writeFileSync(file, CONFIG);
    const out = await runFirewatchCli(['apply', '-f', file, '--json'], fw.env);
    const report = JSON.parse(out);
    assert.deepEqual([report.created, report.updated], [[], []]);
    const service = await fw.api<{ service: { integrations: { name: string; key: string }[] } }>('/api/v1/services/checkout');
    assert.equal(service.service.integrations.find((i) => i.name === 'alertmanager')?.key, '0123456789abcdef0123456789abcdef');
  });

  test('export prints YAML that apply accepts unchanged', async () => {
    const yaml = await runFirewatchCli(['export'], fw.env);
    assert.match(yaml, /0123456789abcdef0123456789abcdef/);
    const file = path.join(fw.dataDir, 'export.yaml');
    writeFileSync(file, yaml);
    const report = JSON.parse(await runFirewatchCli(['apply', '-f', file, '--json'], fw.env));
    assert.deepEqual([report.created, report.updated], [[], []]);
  });

  test('user add takes the password on stdin and the user can sign in', async () => {
    const res = await viaBin(['user', 'add', 'bo@example.com', '--role', 'viewer', '--name', 'Bo', '--password-stdin'], fw.env, 'a long enough password\n');
    assert.equal(res.code, 0, res.stderr);
    const login = await fetch(`${fw.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bo@example.com', password: 'a long enough password' }) });
    assert.equal(login.status, 200);
    const dup = await viaBin(['user', 'add', 'bo@example.com', '--role', 'viewer'], fw.env);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /user_exists/);
  });

  test('token create prints only the token', async () => {
    const res = await viaBin(['token', 'create', '--name', 'script', '--role', 'viewer'], fw.env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^fw_[\w-]{43}\n$/);
  });

  test('incidents list/show/ack/note/resolve work over the API, with --json', async () => {
    const sent = await fetch(`${fw.url}/v2/enqueue`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: 'fedcba9876543210fedcba9876543210', event_action: 'trigger', dedup_key: 'cli-1', payload: { summary: 'CLI test alert', source: 'cli', severity: 'error' } }),
    });
    assert.equal(sent.status, 202);
    const list = JSON.parse((await viaBin(['incidents', 'list', '--status', 'triggered', '--service', 'checkout', '--json'], clientEnv)).stdout);
    const incident = list.find((i: { title: string }) => i.title === 'CLI test alert');
    assert.ok(incident);
    const table = await viaBin(['incidents', 'list'], clientEnv);
    assert.match(table.stdout, /CLI test alert/);
    assert.match(table.stdout, /^#\s+STATUS/);
    assert.equal(JSON.parse((await viaBin(['incidents', 'ack', String(incident.number), '--json'], clientEnv)).stdout).status, 'acknowledged');
    assert.equal((await viaBin(['incidents', 'note', String(incident.number), 'rebooted', 'db1'], clientEnv)).code, 0);
    assert.equal(JSON.parse((await viaBin(['incidents', 'resolve', String(incident.number), '--json'], clientEnv)).stdout).status, 'resolved');
    const show = await viaBin(['incidents', 'show', String(incident.number)], clientEnv);
    assert.match(show.stdout, /annotate\s+token:e2e: rebooted db1/);
    assert.match(show.stdout, /status: resolved/);
  });

  test('client errors are one clear line and exit 1', async () => {
    const missing = await viaBin(['incidents', 'show', '99999'], clientEnv);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404 incident_not_found/);
    const noEnv = await viaBin(['incidents', 'list'], { ...fw.env, FIREWATCH_URL: '', FIREWATCH_TOKEN: '' });
    assert.equal(noEnv.code, 1);
    assert.match(noEnv.stderr, /set FIREWATCH_URL and FIREWATCH_TOKEN/);
    const unknown = await viaBin(['frobnicate'], fw.env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command frobnicate/);
  });
});

describe('FIREWATCH_CONFIG is applied at start', () => {
  const group = new ProcessGroup();
  after(() => group.stop());

  test('the server starts with the file\'s services', async () => {
    const dir = group.tempDir('fw-config');
    const file = path.join(dir, 'firewatch.yaml');
    writeFileSync(file, CONTRACTS_EXAMPLE);
    const env: NodeJS.ProcessEnv = { ...process.env, FIREWATCH_DATA_DIR: dir, FIREWATCH_CONFIG: file, FIREWATCH_LOG_LEVEL: 'warn' };
    delete env.FIREWATCH_DATABASE_URL;
    const token = (await runFirewatchCli(['token', 'create', '--name', 't', '--role', 'viewer'], env)).trim();
    const server = await group.startServer('firewatch', (port) => ({
      command: NODE_BIN,
      args: [path.join(REPO_ROOT, 'src/cli.ts'), 'serve', '--host', '127.0.0.1', '--port', String(port)],
      env,
    }), '/readyz');
    const res = await fetch(`${server.url}/api/v1/services`, { headers: { authorization: `Bearer ${token}` } });
    const services = (await res.json()) as { services: { name: string }[] };
    assert.deepEqual(services.services.map((s) => s.name), ['checkout']);
  });
});
