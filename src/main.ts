import { readFileSync } from 'node:fs';
import { buildApp } from './app.ts';
import { parseConfigYaml } from './config-as-code/apply.service.ts';
import { type ConfigOverrides, loadConfig } from './config.ts';
import { migrateToLatest, openDatabase } from './db/database.ts';
import { startHeartbeatMonitor } from './integrations/sources/heartbeat.ts';

/**
 * The composition root for `firewatch serve`: config → database (migrated) → features → HTTP → timers.
 * Resolves once listening; returns a function that shuts everything down in order.
 */
export async function serve(overrides: ConfigOverrides = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const config = loadConfig(process.env, overrides);
  const handle = openDatabase(config.databaseUrl);
  await migrateToLatest(handle.db);
  const { app, features } = await buildApp({ config, handle });
  app.log.info({ database: handle.description }, 'database ready');

  const firstAdmin = await features.users.ensureFirstAdmin();
  if (firstAdmin) {
    // Printed once, to stdout, so the person starting Firewatch can sign in; it is never stored in plain text.
    process.stdout.write([
      '',
      '  ┌──────────────────────────────────────────────────────────────┐',
      '  │ Firewatch created the first administrator. Sign in with:     │',
      `  │   email:    ${firstAdmin.email.padEnd(49)}│`,
      `  │   password: ${firstAdmin.password.padEnd(49)}│`,
      '  │ This password is shown only once. Change it after signing in.│',
      '  └──────────────────────────────────────────────────────────────┘',
      '',
    ].join('\n') + '\n');
  }

  if (config.configFile) {
    const report = await features.apply.apply(parseConfigYaml(readFileSync(config.configFile, 'utf8')));
    app.log.info({ file: config.configFile, created: report.created.length, updated: report.updated.length }, 'configuration applied');
  }

  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  app.log.info(`Firewatch is listening on ${url}`);

  // Durable timers: overdue escalations, deliveries and hand-offs run at once after a restart.
  features.jobRunner.start();
  // Hand-off timers follow schedule edits at once; this also re-arms them periodically as a safety net.
  const reconcileHandoffs = () => features.handoffs.reconcile().catch((error: unknown) => app.log.error({ err: error }, 'hand-off reconcile failed'));
  void reconcileHandoffs();
  const handoffTimer = setInterval(reconcileHandoffs, 10 * 60_000);
  handoffTimer.unref();
  // Feature background work: syslog listeners, rule evaluation, inventory refresh, Slack Socket Mode.
  // One module failing to start (a port in use) must not keep the others (the rule evaluator) from starting.
  for (const m of features.modules) {
    try {
      await m.start?.();
    } catch (error) {
      app.log.error({ err: error, module: m.name }, 'a feature could not start; the others run');
    }
  }
  const stopHeartbeats = startHeartbeatMonitor(features.intakeContext, config.heartbeatCheckMs, (error) => app.log.error({ err: error }, 'heartbeat check failed'));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopHeartbeats();
      clearInterval(handoffTimer);
      await app.close();
      await handle.close();
    })();
    return stopping;
  };
  return { url, stop };
}
