import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './cli/client.ts';
import { runHostsCommand } from './cli/hosts.command.ts';
import { runLogsCommand } from './cli/logs.command.ts';
import { runCommandCommand } from './cli/command.command.ts';
import { runIncidentsCommand } from './cli/incidents.command.ts';
import { runOncallCommand, runScheduleCommand } from './cli/oncall.command.ts';
import { runRulesCommand } from './cli/rules.command.ts';
import { type ConfigOverrides, ConfigError, loadConfig } from './config.ts';
import { buildApp } from './app.ts';
import { parseConfigYaml } from './config-as-code/apply.service.ts';
import { type DatabaseHandle, migrateToLatest, openDatabase } from './db/database.ts';
import { AppError } from './errors.ts';
import { serve } from './main.ts';
import { roleSchema } from './users/roles.ts';

const USAGE = `Usage: firewatch <command> [options]

Server and offline admin (use the database from FIREWATCH_DATABASE_URL / --database-url / --data-dir):
  serve [--host H] [--port N] [--data-dir D] [--database-url U]   run the server (migrates first)
  migrate                                                         apply database migrations and exit
  user add EMAIL --role admin|responder|viewer [--name N] [--password-stdin]
  token create --name NAME --role admin|responder|viewer [--user EMAIL]   prints the token once
  apply -f FILE.yaml                                              create/update resources; idempotent
  export                                                          current resources as YAML for apply

Client commands (over the API: FIREWATCH_URL and FIREWATCH_TOKEN):
  incidents list [--status S] [--service NAME] [--limit N]
  incidents show N | ack N | resolve N | note N TEXT
  oncall [--schedule NAME] [--at TIME]                           who is on call now (or at TIME), until when
  rules import FILE [--datasource D] [--service S]               load a Prometheus rule file (offline, or over the API)
  rules list                                                      rule groups, states and health
  schedule render NAME [--from TIME] [--to TIME]                  the final schedule, gaps marked (at most 93 days)
  command "/ack 12" [--yes] [--channel C] | command --list          run a chat command (alias: cmd); --list shows yours
  hosts find SELECTOR…                                            which host is it? kind=object4, name=web-1, instance=10.0.0.4:9100, a bare name
  hosts list [--q TEXT] [--label k=v]… | hosts refresh PROVIDER   the inventory; re-discover a provider now
  logs search QUERY… [--from now-1h] [--to T] [--limit N] [--json]  search the central log store (README "Logs")

apply and export go through the API instead when FIREWATCH_URL and FIREWATCH_TOKEN are set.
Every client command takes --json.`;

const dbOptions = {
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
} as const;

function overridesFrom(values: { 'data-dir'?: string; 'database-url'?: string; host?: string; port?: string }): ConfigOverrides {
  const o: ConfigOverrides = {};
  if (values['data-dir']) o.dataDir = values['data-dir'];
  if (values['database-url']) o.databaseUrl = values['database-url'];
  if (values.host) o.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got ${values.port}`);
    o.port = port;
  }
  return o;
}

/** Opens and migrates the configured database for an offline command, and always closes it. */
async function withFeatures<T>(overrides: ConfigOverrides, run: (features: Awaited<ReturnType<typeof buildApp>>['features']) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, overrides);
  let handle: DatabaseHandle | undefined;
  try {
    handle = openDatabase(config.databaseUrl);
    await migrateToLatest(handle.db);
    const { app, features } = await buildApp({ config, handle, logger: false });
    try {
      return await run(features);
    } finally {
      await app.close();
    }
  } finally {
    await handle?.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const remoteConfigured = () => !!(process.env.FIREWATCH_URL && process.env.FIREWATCH_TOKEN);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { ...dbOptions, host: { type: 'string' }, port: { type: 'string' } } });
      const server = await serve(overridesFrom(values));
      const shutdown = () => {
        void server.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      return -1; // keep running
    }
    case 'migrate': {
      const { values } = parseArgs({ args: rest, options: dbOptions });
      const config = loadConfig(process.env, overridesFrom(values));
      const handle = openDatabase(config.databaseUrl);
      try {
        const applied = await migrateToLatest(handle.db);
        console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await handle.close();
      }
      return 0;
    }
    case 'user': {
      const [sub, ...args] = rest;
      if (sub !== 'add') throw new CliError('usage: firewatch user add EMAIL --role admin|responder|viewer [--name N] [--password-stdin]');
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...dbOptions, role: { type: 'string' }, name: { type: 'string' }, 'password-stdin': { type: 'boolean' }, json: { type: 'boolean' } } });
      const email = positionals[0];
      if (!email) throw new CliError('usage: firewatch user add EMAIL --role admin|responder|viewer');
      const role = roleSchema.safeParse(values.role);
      if (!role.success) throw new CliError('--role must be admin, responder or viewer');
      const password = values['password-stdin'] ? await readStdin() : undefined;
      if (password !== undefined && password.length < 12) throw new CliError('the password must be at least 12 characters');
      const user = await withFeatures(overridesFrom(values), (f) => f.users.createUser({ email, name: values.name, role: role.data, password }));
      console.log(values.json ? JSON.stringify({ id: user.id, email: user.email, role: user.role }) : `created ${user.role} ${user.email}`);
      return 0;
    }
    case 'token': {
      const [sub, ...args] = rest;
      if (sub !== 'create') throw new CliError('usage: firewatch token create --name NAME --role admin|responder|viewer [--user EMAIL]');
      const { values } = parseArgs({ args, options: { ...dbOptions, name: { type: 'string' }, role: { type: 'string' }, user: { type: 'string' } } });
      if (!values.name) throw new CliError('--name is required');
      const role = roleSchema.safeParse(values.role);
      if (!role.success) throw new CliError('--role must be admin, responder or viewer');
      const { token } = await withFeatures(overridesFrom(values), (f) => f.users.createToken({ name: values.name!, role: role.data, userEmail: values.user }));
      // Only the token, so scripts can capture it: TOKEN=$(firewatch token create …)
      process.stdout.write(`${token}\n`);
      return 0;
    }
    case 'apply': {
      const { values } = parseArgs({ args: rest, options: { ...dbOptions, file: { type: 'string', short: 'f' }, json: { type: 'boolean' } } });
      if (!values.file) throw new CliError('usage: firewatch apply -f FILE.yaml');
      const text = values.file === '-' ? await readStdin() : readFileSync(values.file, 'utf8');
      const report = remoteConfigured()
        ? await ApiClient.fromEnv().request<{ created: string[]; updated: string[]; unchanged: string[] }>('POST', '/api/v1/config/apply', { yaml: text })
        : await withFeatures(overridesFrom(values), (f) => f.apply.apply(parseConfigYaml(text)));
      if (values.json) {
        console.log(JSON.stringify(report));
      } else {
        for (const r of report.created) console.log(`created   ${r}`);
        for (const r of report.updated) console.log(`updated   ${r}`);
        console.log(`${report.created.length} created, ${report.updated.length} updated, ${report.unchanged.length} unchanged`);
      }
      return 0;
    }
    case 'export': {
      const { values } = parseArgs({ args: rest, options: { ...dbOptions, json: { type: 'boolean' } } });
      if (remoteConfigured()) {
        const { yaml } = await ApiClient.fromEnv().request<{ yaml: string }>('GET', '/api/v1/config/export');
        process.stdout.write(yaml);
        return 0;
      }
      const doc = await withFeatures(overridesFrom(values), (f) => f.apply.exportDocument());
      process.stdout.write(values.json ? `${JSON.stringify(doc, null, 2)}\n` : (await import('yaml')).stringify(doc));
      return 0;
    }
    case 'incidents':
      return runIncidentsCommand(rest);
    case 'oncall':
      return runOncallCommand(rest);
    case 'command':
    case 'cmd':
      return runCommandCommand(rest);
    case 'hosts':
      return runHostsCommand(rest);
    case 'logs':
      return runLogsCommand(rest);
    case 'rules':
      return runRulesCommand(rest, (yaml, db) => withFeatures(overridesFrom(db), (f) => f.apply.apply(parseConfigYaml(yaml))));
    case 'schedule':
    case 'schedules':
      return runScheduleCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new CliError(`unknown command ${command}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError || error instanceof ConfigError) {
      console.error(`firewatch: ${error.message}`);
    } else if (error instanceof AppError) {
      const details = error.details ? `\n${JSON.stringify(error.details, null, 2)}` : '';
      console.error(`firewatch: ${error.code}: ${error.message}${details}`);
    } else if (error instanceof TypeError && (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`firewatch: ${error.message}`);
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  },
);
