import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, ManagedProcess, type ProcessGroup, waitFor } from './processes.ts';

/** The Debian rsyslogd (apt-get install rsyslog), or RSYSLOGD_BIN; null when missing. */
export const RSYSLOGD = process.env.RSYSLOGD_BIN ?? (existsSync('/usr/sbin/rsyslogd') ? '/usr/sbin/rsyslogd' : null);

export interface Rsyslog {
  /** The imtcp/imudp port (same number for both). */
  port: number;
  dir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const canConnect = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => {
    s.destroy();
    resolve(true);
  });
  s.once('error', () => resolve(false));
});

/**
 * A private rsyslogd in the foreground (no root daemon, no /dev/log): its own work directory, pid file and
 * config, receiving on imtcp and imudp at a free loopback port. `rules` is the rest of the config (actions).
 */
export async function startRsyslog(group: ProcessGroup, rules: (dir: string) => string): Promise<Rsyslog> {
  if (!RSYSLOGD) throw new Error('rsyslogd is not installed (apt-get install rsyslog)');
  const dir = group.tempDir('fw-rsyslog');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'rsyslog.conf');
    writeFileSync(conf, [
      `global(workDirectory="${dir}" maxMessageSize="64k" net.enableDNS="off")`,
      'module(load="imtcp")',
      'module(load="imudp")',
      `input(type="imtcp" port="${port}" address="127.0.0.1")`,
      `input(type="imudp" port="${port}" address="127.0.0.1")`,
      rules(dir),
      '',
    ].join('\n'));
    const proc = new ManagedProcess('rsyslogd', RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')]);
    try {
      await waitFor(`rsyslogd on ${port}`, () => canConnect(port), {
        timeoutMs: 15_000, abort: () => (proc.running ? null : `rsyslogd exited with ${proc.exitStatus}`), detail: () => proc.describe(),
      });
      return { port, dir, process: proc, stop: () => proc.stop() };
    } catch (error) {
      await proc.stop();
      if (attempt < 3 && /Address already in use/i.test(proc.output())) continue;
      throw error;
    }
  }
}
