import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { migrateToLatest, openDatabase } from '../../src/db/database.ts';
import { createLogStore } from '../../src/telemetry/logs/log.store.ts';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers.ts';
import { type FirewatchProcess, freePort, ProcessGroup, runFirewatchCli, waitFor } from './processes.ts';
import { RSYSLOGD, type Rsyslog, startRsyslog } from './rsyslog.ts';

/**
 * A real rsyslogd (Debian) forwards to Firewatch's syslog receiver over TCP with octet counting (RFC 5424),
 * over TCP with LF framing (rsyslog's forward format, RFC 3164 with an RFC 3339 time) and over UDP; lines are
 * injected into rsyslog with util-linux `logger`. Runs once per database.
 */

const run = promisify(execFile);
const skip = RSYSLOGD ? false : 'skipped: rsyslogd not installed (apt-get install rsyslog, or set RSYSLOGD_BIN)';
if (skip) process.stderr.write(`${skip}\n`);

/** A saved search that alerts: more than 1,000 upstream 502s of checkout in 5 minutes opens an incident. */
const RULES_CONFIG = `services:
  - name: checkout
    description: shop
rules:
  - name: rsyslog-e2e
    interval: 1s
    service: checkout
    rules:
      - alert: Upstream502Burst
        log: { search: '"502 from upstream" service:checkout', window: 5m, above: 1000 }
        annotations: { summary: 'upstream 502 burst: {{ $value }} lines in 5 m' }
`;

interface Line { time: string; host: string | null; app: string | null; service: string | null; severity: string | null; message: string; dashboard_url: string | null }

for (const dialect of DIALECTS) {
  describe(`rsyslog forwards to Firewatch (${dialect})`, { skip }, () => {
    const group = new ProcessGroup();
    let database: TestDatabase | undefined;
    let fw: FirewatchProcess;
    let rsyslog: Rsyslog;
    let syslogPort: number;

    before(async () => {
      if (dialect === 'postgres') database = await createTestDatabase('postgres');
      syslogPort = await freePort();
      fw = await group.firewatch({
        databaseUrl: database?.url,
        config: RULES_CONFIG,
        env: { FIREWATCH_SYSLOG_PORT: String(syslogPort), FIREWATCH_SYSLOG_HOST: '127.0.0.1' },
      });
      const fwd = (program: string, options: string) =>
        `if $programname == '${program}' then { action(type="omfwd" target="127.0.0.1" port="${syslogPort}" ${options}) stop }`;
      rsyslog = await startRsyslog(group, () => [
        fwd('e2e-octet', 'protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"'),
        fwd('e2e-lf', 'protocol="tcp" TCP_Framing="traditional" template="RSYSLOG_ForwardFormat"'),
        fwd('e2e-udp', 'protocol="udp" template="RSYSLOG_SyslogProtocol23Format"'),
      ].join('\n'));
    });
    after(async () => {
      await rsyslog?.stop();
      await group.stop();
      await database?.destroy();
    });

    const logger = (args: string[]) => run('logger', ['--server', '127.0.0.1', '--port', String(rsyslog.port), ...args]);
    const search = async (q: string) => (await fw.api<{ lines: Line[] }>(`/api/v1/logs/search?q=${encodeURIComponent(q)}&from=now-1h`)).lines;

    test('lines arrive over TCP (octet-counted and LF) and UDP with host, app, service, severity and time', async () => {
      const sent = Date.now();
      await logger(['--tcp', '--octet-count', '--rfc5424', '-t', 'e2e-octet', '-p', 'local0.err', '--sd-id', 'fw@32473', '--sd-param', 'service="checkout"', 'payment gateway timeout order=1001']);
      await logger(['--tcp', '--rfc3164', '-t', 'e2e-lf', '-p', 'user.warning', 'disk nearly full on /var']);
      await logger(['--udp', '--rfc5424', '-t', 'e2e-udp', '-p', 'daemon.info', 'udp heartbeat from cron']);
      const lines = await waitFor('three forwarded lines', async () => {
        const found = await search('app:e2e-*');
        return found.length >= 3 ? found : null;
      }, { timeoutMs: 20_000, detail: () => `${rsyslog.process.describe()}\n${group.logs()}` });
      const byApp = Object.fromEntries(lines.map((l) => [l.app, l]));
      assert.deepEqual(Object.keys(byApp).toSorted(), ['e2e-lf', 'e2e-octet', 'e2e-udp']);
      const host = hostname().split('.')[0];
      assert.equal(byApp['e2e-octet'].message, 'payment gateway timeout order=1001');
      assert.equal(byApp['e2e-octet'].service, 'checkout');
      assert.equal(byApp['e2e-octet'].severity, 'err');
      assert.match(byApp['e2e-octet'].dashboard_url ?? '', /^\/services\/checkout\/dashboard\?from=/);
      assert.equal(byApp['e2e-lf'].message, 'disk nearly full on /var');
      assert.equal(byApp['e2e-lf'].severity, 'warning');
      assert.equal(byApp['e2e-udp'].message, 'udp heartbeat from cron');
      assert.equal(byApp['e2e-udp'].severity, 'info');
      for (const l of lines) {
        assert.ok(l.host && l.host.split('.')[0] === host, `host ${l.host} (expected ${host})`);
        const skew = Math.abs(Date.parse(l.time) - sent);
        assert.ok(skew < 10_000, `time ${l.time} is ${skew} ms from when it was sent`);
      }
      assert.deepEqual((await search('"gateway timeout" severity:err service:checkout')).map((l) => l.app), ['e2e-octet']);
      assert.deepEqual((await search('app:e2e-* -timeout -disk')).map((l) => l.app), ['e2e-udp']);
      const cli = await runFirewatchCli(['logs', 'search', 'app:e2e-*', 'severity:>=warning', '--from', 'now-1h'], { ...fw.env, FIREWATCH_URL: fw.url, FIREWATCH_TOKEN: fw.token });
      // Oldest first; RFC 3164 times have whole seconds, so the order of these two is not asserted.
      const cliLines = cli.trimEnd().split('\n').map((l) => l.replace(/^\S+ \S+ /, '')).toSorted();
      assert.deepEqual(cliLines, ['e2e-lf warning: disk nearly full on /var', 'e2e-octet err: payment gateway timeout order=1001'], cli);
    });

    test('a burst of 2,000 lines through rsyslog all arrive; the log rule on them fires an incident', async () => {
      const burst = Array.from({ length: 2000 }, (_, i) => `checkout 502 from upstream seq=${i}`).join('\n');
      const child = execFile('logger', ['--server', '127.0.0.1', '--port', String(rsyslog.port), '--tcp', '--octet-count', '--rfc5424', '-t', 'e2e-octet', '-p', 'local0.err', '--sd-id', 'fw@32473', '--sd-param', 'service="checkout"']);
      child.stdin!.end(`${burst}\n`);
      await new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`logger exited ${code}`)))));
      // The count a log rule ("502 from upstream" service:checkout above N in 5m) evaluates, read from the store itself.
      const handle = openDatabase(database?.url ?? `sqlite:${path.join(fw.dataDir, 'firewatch.db')}`);
      try {
        await migrateToLatest(handle.db);
        const store = createLogStore(handle);
        const count = await waitFor('2,000 stored lines', async () => {
          const n = await store.count('"502 from upstream" service:checkout severity:err', new Date(Date.now() - 5 * 60_000), new Date(Date.now() + 60_000));
          return n >= 2000 ? n : null;
        }, { timeoutMs: 30_000, intervalMs: 250, detail: () => group.logs() });
        assert.equal(count, 2000);
        const last = await store.lastMatch('seq 1999', new Date(Date.now() + 60_000), new Date(Date.now() - 5 * 60_000));
        assert.ok(last && Date.now() - last.getTime() < 60_000);
      } finally {
        await handle.close();
      }
      // The rules engine evaluates the saved search every second and opens an incident on checkout.
      const incident = await waitFor('the log rule\'s incident', async () => {
        const { incidents } = await fw.api<{ incidents: { number: number; title: string; service: { name: string } }[] }>('/api/v1/incidents?limit=20');
        return incidents.find((i) => i.title.startsWith('upstream 502 burst')) ?? null;
      }, { timeoutMs: 20_000, intervalMs: 250, detail: () => group.logs() });
      assert.equal(incident.service.name, 'checkout');
      const count = Number(/: (\d+) lines in 5 m$/.exec(incident.title)?.[1]);
      assert.ok(count > 1000 && count <= 2000, incident.title);
    });
  });
}
