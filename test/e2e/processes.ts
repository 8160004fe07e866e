import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real processes for end-to-end tests and benchmarks: Firewatch itself (`node src/cli.ts serve`), Alertmanager,
 * Prometheus. Each lives in a ProcessGroup that frees a loopback port for it, waits until it is ready, keeps
 * the tail of its output for failure messages, and stops it (and deletes its temporary directories) in
 * `group.stop()`. A safety net kills anything still running when the test process exits.
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The pinned Node.js 24 (the system one may be older); the current one when run outside a checkout. */
export const NODE_BIN = existsSync(path.join(REPO_ROOT, 'node_modules/.bin/node')) ? path.join(REPO_ROOT, 'node_modules/.bin/node') : process.execPath;

export const CLI = path.join(REPO_ROOT, 'src/cli.ts');
const OUTPUT_TAIL_BYTES = 32 * 1024;
const STOP_GRACE_MS = 5000;

/** A port on 127.0.0.1 that was free a moment ago. Starters retry with another port if it was taken since. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of an executable: the env override (e.g. ALERTMANAGER_BIN) if set, else the first name found on
 * PATH. Null when absent, so a test can skip with a message instead of failing on machines without it.
 */
export function findBinary(names: string[], envOverride?: string): string | null {
  const override = envOverride ? process.env[envOverride] : undefined;
  if (override) return isExecutable(override) ? override : null;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      if (isExecutable(path.join(dir, name))) return path.join(dir, name);
    }
  }
  return null;
}

export class WaitTimeoutError extends Error {}

/**
 * Polls `probe` until it returns something other than undefined/null/false, or throws after `timeoutMs`.
 * The error names what was awaited, the last value or error seen, and any extra `detail` (process logs).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: { timeoutMs?: number; intervalMs?: number; detail?: () => string; abort?: () => string | null } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    const aborted = options.abort?.();
    if (aborted) throw new Error(`gave up waiting for ${what}: ${aborted}${options.detail ? `\n${options.detail()}` : ''}`);
    if (Date.now() >= deadline) {
      const lastText = last instanceof Error ? last.message : JSON.stringify(last);
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${lastText})${options.detail ? `\n${options.detail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** GET url and report whether it answered 200; network errors are false. */
export async function isHttpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** A child process whose output tail is kept for diagnostics. */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  exitStatus: number | string | null = null;
  private tail = '';

  constructor(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.name = name;
    this.child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        keep(Buffer.from(`spawn failed: ${error.message}\n`));
        this.exitStatus ??= 'spawn-error';
        resolve(this.exitStatus);
      });
      this.child.once('exit', (code, signal) => {
        this.exitStatus = code ?? signal ?? 'unknown';
        resolve(this.exitStatus);
      });
    });
    live.add(this);
    void this.exited.then(() => live.delete(this));
    installExitSafetyNet();
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitStatus === null;
  }

  /** The last few KB of stdout and stderr, interleaved as they arrived. */
  output(): string {
    return this.tail;
  }

  describe(lines = 40): string {
    const text = this.tail.trimEnd().split('\n').slice(-lines).join('\n');
    const state = this.running ? `pid ${this.pid}, running` : `exited with ${this.exitStatus}`;
    return `--- ${this.name} (${state}) ---\n${text || '(no output)'}`;
  }

  /** SIGTERM, then SIGKILL if it has not exited after a grace period. Safe to call twice. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

const live = new Set<ManagedProcess>();
const liveDirs = new Set<string>();
let safetyNetInstalled = false;

function killAll(): void {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
}

/**
 * Kills every child still alive, and deletes every temporary directory, when this process exits or is told
 * to stop, so nothing outlives a crashed or interrupted test.
 */
function installExitSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      // The once-listener is gone, so this re-raise takes the default action (exit by signal).
      process.kill(process.pid, signal);
    });
  }
}

/** Runs the Firewatch CLI to completion; resolves with stdout, rejects with stderr on a non-zero exit. */
export function runFirewatchCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(NODE_BIN, [CLI, ...args], { cwd: REPO_ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        const how = error.killed || error.signal ? `killed by ${error.signal ?? 'timeout'}` : `exit code ${String(error.code)}`;
        reject(new Error(`firewatch ${args.join(' ')} failed (${how})\n${stderr}${stdout}`.trimEnd()));
      }
      else resolve(stdout);
    });
  });
}

export interface FirewatchProcess {
  url: string;
  port: number;
  pid: number;
  /** The data directory (SQLite file, unless databaseUrl was given, and the generated secret key). */
  dataDir: string;
  /** The environment the server runs with; CLI commands need the same one. */
  env: NodeJS.ProcessEnv;
  /** An admin API token. */
  token: string;
  process: ManagedProcess;
  cli(args: string[]): Promise<string>;
  /** GET an /api/v1 path with the admin token; throws on a non-2xx answer. */
  api<T>(apiPath: string): Promise<T>;
  stop(): Promise<void>;
}

export interface ServiceProcess {
  url: string;
  port: number;
  pid: number;
  dir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const looksLikePortClash = (output: string) => /EADDRINUSE|address already in use/i.test(output);

/**
 * One test's (or benchmark's) processes and temporary directories. `stop()` ends them all and deletes the
 * directories; call it from after() so it runs even when a test failed.
 */
export class ProcessGroup {
  private readonly processes: ManagedProcess[] = [];
  private readonly dirs: string[] = [];

  /** A fresh temporary directory, deleted by stop(). */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
    this.dirs.push(dir);
    liveDirs.add(dir);
    installExitSafetyNet();
    return dir;
  }

  /** The tails of every process's output, for failure messages. */
  logs(): string {
    return this.processes.map((p) => p.describe()).join('\n');
  }

  /**
   * Spawns a server on a free port and waits until `readyPath` answers 200. If it exits first because the
   * port was taken in the meantime, tries again with another port.
   */
  async startServer(name: string, build: (port: number) => { command: string; args: string[]; env?: NodeJS.ProcessEnv }, readyPath: string, timeoutMs = 30_000): Promise<{ port: number; url: string; process: ManagedProcess }> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const spec = build(port);
      const proc = new ManagedProcess(name, spec.command, spec.args, { env: spec.env });
      this.processes.push(proc);
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitFor(`${name} at ${url}${readyPath}`, () => isHttpOk(`${url}${readyPath}`), {
          timeoutMs,
          abort: () => (proc.running ? null : `${name} exited with ${proc.exitStatus}`),
          detail: () => proc.describe(),
        });
        return { port, url, process: proc };
      } catch (error) {
        await proc.stop();
        if (attempt < 3 && looksLikePortClash(proc.output())) continue;
        throw error;
      }
    }
  }

  /**
   * A Firewatch server as a real process, on `databaseUrl` (a fresh SQLite file in a temporary data
   * directory when omitted). `config` (YAML) is applied and an admin token created with the CLI first.
   */
  async firewatch(options: { databaseUrl?: string; config?: string; env?: NodeJS.ProcessEnv } = {}): Promise<FirewatchProcess> {
    const dataDir = this.tempDir('fw-e2e-data');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FIREWATCH_DATA_DIR: dataDir,
      FIREWATCH_LOG_LEVEL: 'warn',
      // Test servers run side by side: no fixed syslog port unless a test asks for one.
      FIREWATCH_SYSLOG_PORT: '0',
      ...options.env,
    };
    // Inherited settings would point the server at another database or apply another file.
    delete env.FIREWATCH_CONFIG;
    delete env.FIREWATCH_URL;
    delete env.FIREWATCH_TOKEN;
    if (options.databaseUrl) env.FIREWATCH_DATABASE_URL = options.databaseUrl;
    else delete env.FIREWATCH_DATABASE_URL;

    const cli = (args: string[]) => runFirewatchCli(args, env);
    if (options.config !== undefined) {
      const file = path.join(dataDir, 'firewatch.yaml');
      writeFileSync(file, options.config);
      await cli(['apply', '-f', file]);
    }
    const token = (await cli(['token', 'create', '--name', 'e2e', '--role', 'admin'])).trim();
    const server = await this.startServer('firewatch', (port) => ({
      command: NODE_BIN,
      args: [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)],
      env,
    }), '/readyz');
    return {
      ...server,
      pid: server.process.pid,
      dataDir,
      env,
      token,
      cli,
      async api<T>(apiPath: string): Promise<T> {
        const response = await fetch(`${server.url}${apiPath}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        if (!response.ok) throw new Error(`GET ${apiPath} answered ${response.status}: ${text}`);
        return JSON.parse(text) as T;
      },
      stop: () => server.process.stop(),
    };
  }

  /** Alertmanager on loopback with gossip off and its state in a temporary directory. */
  async alertmanager(binary: string, config: string): Promise<ServiceProcess> {
    const dir = this.tempDir('fw-e2e-alertmanager');
    writeFileSync(path.join(dir, 'alertmanager.yml'), config);
    const server = await this.startServer('alertmanager', (port) => ({
      command: binary,
      args: [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
    }), '/-/ready');
    return { ...server, pid: server.process.pid, dir, stop: () => server.process.stop() };
  }

  /** Prometheus on loopback; `files` (name → text, e.g. rule files) are written next to its config. */
  async prometheus(binary: string, config: string, files: Record<string, string> = {}): Promise<ServiceProcess> {
    const dir = this.tempDir('fw-e2e-prometheus');
    // Relative rule_files paths resolve against the config file's directory.
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    writeFileSync(path.join(dir, 'prometheus.yml'), config);
    const server = await this.startServer('prometheus', (port) => ({
      command: binary,
      args: [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
    }), '/-/ready');
    return { ...server, pid: server.process.pid, dir, stop: () => server.process.stop() };
  }

  /** Stops every process (in parallel) and deletes every temporary directory. Never throws. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.stop()));
    for (const dir of this.dirs.splice(0)) {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    }
  }
}

/** Peak resident set size (VmHWM) of a process in MB, or null when /proc is unavailable or it has exited. */
export function peakRssMb(pid: number): number | null {
  return procStatusKb(pid, 'VmHWM');
}

/** Current resident set size (VmRSS) of a process in MB, or null. */
export function rssMb(pid: number): number | null {
  return procStatusKb(pid, 'VmRSS');
}

function procStatusKb(pid: number, field: string): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux architecture Node.js supports. */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (user + system) a process has used so far, in seconds, or null. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}
