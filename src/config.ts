import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Firewatch reads from the environment, with its default and why it matters.
 * Parsed once at boot; all problems are reported together.
 */
const envSchema = z.object({
  // Where the HTTP server listens. 0.0.0.0 so a container or VM is reachable without extra flags.
  FIREWATCH_HOST: z.string().min(1).default('0.0.0.0'),
  FIREWATCH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // Files of the embedded mode: the SQLite database and the generated secret key. Back this up.
  FIREWATCH_DATA_DIR: z.string().min(1).default('./data'),
  // sqlite:<path> (default, one process) or postgres://… (several processes share it).
  FIREWATCH_DATABASE_URL: z.string().min(1).optional(),
  // Base of links in notifications and chat; set it when Firewatch sits behind a proxy.
  FIREWATCH_PUBLIC_URL: z.url().optional(),
  // Encrypts secrets at rest and signs webhooks. Losing it makes stored secrets unreadable.
  FIREWATCH_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  // A YAML file applied at start, exactly as `firewatch apply -f` would.
  FIREWATCH_CONFIG: z.string().min(1).optional(),
  // Log level for pino: fatal, error, warn, info, debug, trace, silent.
  FIREWATCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Largest intake body accepted, in bytes. PagerDuty's limit is 512 KB.
  FIREWATCH_MAX_EVENT_BYTES: z.coerce.number().int().positive().default(512 * 1024),
  // How often heartbeats are checked for missed pings, in milliseconds.
  FIREWATCH_HEARTBEAT_CHECK_MS: z.coerce.number().int().positive().default(5000),
  // Outgoing email for notifications: smtp://user:pass@host:587 or smtps://…; unset = email is not sent
  // (attempts are recorded as failed, so a missing setup is visible on every incident).
  FIREWATCH_SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
  FIREWATCH_SMTP_FROM: z.string().min(3).default('Firewatch <firewatch@localhost>'),
  // Outbound webhooks may not reach private, loopback or link-local addresses (SSRF) unless allowed here:
  // "true" allows all private targets; FIREWATCH_WEBHOOK_ALLOWLIST lists CIDRs or host names, comma-separated.
  FIREWATCH_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  FIREWATCH_WEBHOOK_ALLOWLIST: z.string().default(''),
  // Longest wait of the timer runner between looks at the jobs table (it is woken at once by local changes).
  FIREWATCH_JOB_POLL_MS: z.coerce.number().int().positive().default(1000),
  // Set to "false" to let /metrics require authentication.
  FIREWATCH_METRICS_PUBLIC: z.enum(['true', 'false']).default('true'),
  // Syslog receiver (RFC 5424 / 3164) on UDP and TCP at this port; 0 turns it off. 514 needs root, hence 5514.
  FIREWATCH_SYSLOG_PORT: z.coerce.number().int().min(0).max(65535).default(5514),
  // Where the syslog receiver listens; defaults to FIREWATCH_HOST.
  FIREWATCH_SYSLOG_HOST: z.string().min(1).optional(),
  // The log store keeps lines this many days, and at most this many megabytes of message text; oldest go first.
  FIREWATCH_LOG_RETENTION_DAYS: z.coerce.number().positive().default(7),
  FIREWATCH_LOG_MAX_MB: z.coerce.number().positive().default(2048),
  // Slack app (optional): the signing secret verifies HTTP-mode requests; the bot token posts messages;
  // an app-level token (xapp-…) switches to Socket Mode. FIREWATCH_SLACK_API_URL is for tests and proxies.
  FIREWATCH_SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  FIREWATCH_SLACK_BOT_TOKEN: z.string().min(1).optional(),
  FIREWATCH_SLACK_APP_TOKEN: z.string().min(1).optional(),
  FIREWATCH_SLACK_API_URL: z.url().default('https://slack.com/api/'),
});

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  publicUrl: string;
  secretKey: string;
  configFile: string | undefined;
  logLevel: z.infer<typeof envSchema>['FIREWATCH_LOG_LEVEL'];
  maxEventBytes: number;
  heartbeatCheckMs: number;
  metricsPublic: boolean;
  smtpUrl: string | null;
  smtpFrom: string;
  webhookAllowPrivate: boolean;
  webhookAllowList: string[];
  jobPollMs: number;
  /** 0 = no syslog receiver. */
  syslogPort: number;
  syslogHost: string;
  logRetentionDays: number;
  logMaxBytes: number;
  slack: { signingSecret: string | null; botToken: string | null; appToken: string | null; apiUrl: string };
}

export interface ConfigOverrides {
  host?: string;
  port?: number;
  dataDir?: string;
  databaseUrl?: string;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** Reads the environment (and command-line overrides) into a validated Config, listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const dataDir = path.resolve(overrides.dataDir ?? e.FIREWATCH_DATA_DIR);
  const port = overrides.port ?? e.FIREWATCH_PORT;
  const databaseUrl = overrides.databaseUrl ?? e.FIREWATCH_DATABASE_URL ?? `sqlite:${path.join(dataDir, 'firewatch.db')}`;
  const problems: string[] = [];
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push('FIREWATCH_DATABASE_URL: must start with sqlite: or postgres://');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: overrides.host ?? e.FIREWATCH_HOST,
    port,
    dataDir,
    databaseUrl,
    publicUrl: (e.FIREWATCH_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    secretKey: e.FIREWATCH_SECRET_KEY ?? readOrCreateSecretKey(dataDir),
    configFile: e.FIREWATCH_CONFIG,
    logLevel: e.FIREWATCH_LOG_LEVEL,
    maxEventBytes: e.FIREWATCH_MAX_EVENT_BYTES,
    heartbeatCheckMs: e.FIREWATCH_HEARTBEAT_CHECK_MS,
    metricsPublic: e.FIREWATCH_METRICS_PUBLIC === 'true',
    smtpUrl: e.FIREWATCH_SMTP_URL ?? null,
    smtpFrom: e.FIREWATCH_SMTP_FROM,
    webhookAllowPrivate: e.FIREWATCH_WEBHOOK_ALLOW_PRIVATE === 'true',
    webhookAllowList: e.FIREWATCH_WEBHOOK_ALLOWLIST.split(',').map((x) => x.trim()).filter(Boolean),
    jobPollMs: e.FIREWATCH_JOB_POLL_MS,
    syslogPort: e.FIREWATCH_SYSLOG_PORT,
    syslogHost: e.FIREWATCH_SYSLOG_HOST ?? overrides.host ?? e.FIREWATCH_HOST,
    logRetentionDays: e.FIREWATCH_LOG_RETENTION_DAYS,
    logMaxBytes: Math.round(e.FIREWATCH_LOG_MAX_MB * 1024 * 1024),
    slack: {
      signingSecret: e.FIREWATCH_SLACK_SIGNING_SECRET ?? null,
      botToken: e.FIREWATCH_SLACK_BOT_TOKEN ?? null,
      appToken: e.FIREWATCH_SLACK_APP_TOKEN ?? null,
      apiUrl: e.FIREWATCH_SLACK_API_URL,
    },
  };
}

/** The key lives in the data dir so a restart can still decrypt what it stored; created once with mode 0600. */
function readOrCreateSecretKey(dataDir: string): string {
  const file = path.join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
