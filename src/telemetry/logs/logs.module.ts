import { Counter } from 'prom-client';
import type { ChatService } from '../../chat/chat.types.ts';
import type { FeatureContext, FeatureModule } from '../../features/module.ts';
import { fromSyslog } from './log.formats.ts';
import { createLogIngest, type LogIngest } from './log.ingest.ts';
import { createLogStore, type LogStoreImpl } from './log.store.ts';
import type { LogStore } from './log.types.ts';
import { registerLogsApi, registerLogsIngest } from './logs.routes.ts';
import { type SyslogServer, startSyslogServer } from './syslog.server.ts';

const RETENTION_EVERY_MS = 10 * 60_000;
const SERVICE_NAMES_TTL_MS = 60_000;

export interface LogsModule extends FeatureModule {
  store: LogStoreImpl & LogStore;
  ingest: LogIngest;
  /** Starts a syslog receiver (UDP and TCP on one port number; 0 picks one). `start()` does this for serve. */
  listenSyslog(host: string, port: number): Promise<SyslogServer>;
  /** One retention pass: age, then size (also run every 10 minutes by start()). */
  retain(): Promise<{ deleted: number }>;
}

/** The central log repository: syslog/HTTP/Loki ingest, full-text store, search, live tail, retention. */
export function createLogsModule(ctx: FeatureContext, deps: { chat?: () => ChatService | undefined } = {}): LogsModule {
  const { config, clock } = ctx;
  // A SQLite file gets a writer thread; `sqlite::memory:` (one connection) and PostgreSQL write in-line.
  const file = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl.slice('sqlite:'.length) : '';
  const store = createLogStore(ctx.handle, { sqliteFile: file && file !== ':memory:' ? file : undefined });
  const registry = ctx.metrics.registry;
  const received = new Counter({ name: 'firewatch_log_lines_received_total', help: 'Log lines received, by transport.', labelNames: ['transport'] as const, registers: [registry] });
  const dropped = new Counter({ name: 'firewatch_log_lines_dropped_total', help: 'Log lines dropped before storage, by reason.', labelNames: ['reason'] as const, registers: [registry] });
  const stored = new Counter({ name: 'firewatch_log_lines_stored_total', help: 'Log lines committed to the store.', registers: [registry] });
  const ingest = createLogIngest({
    insert: (lines) => store.insertBatch(lines),
    onCommitted: (n) => stored.inc(n),
    onError: (error, n) => {
      dropped.inc({ reason: 'store_failed' }, n);
      ctx.log.error({ err: error, lines: n }, 'storing log lines failed');
    },
  });

  // Service of a syslog line without structured data: its app name, when a Firewatch service has that name.
  let serviceNames = new Set<string>();
  let namesAt = 0;
  let refreshing = false;
  const refreshNames = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      serviceNames = new Set((await ctx.servicesRepo.list()).map((r) => r.name));
      namesAt = Date.now();
    } catch (error) {
      ctx.log.warn({ err: error }, 'reading service names for logs failed');
    } finally {
      refreshing = false;
    }
  };
  const serviceFor = (app: string | null) => {
    if (Date.now() - namesAt > SERVICE_NAMES_TTL_MS) void refreshNames();
    return app !== null && serviceNames.has(app) ? app : null;
  };

  const servers: SyslogServer[] = [];
  let retentionTimer: NodeJS.Timeout | undefined;

  const listenSyslog = async (host: string, port: number) => {
    await refreshNames();
    const server = await startSyslogServer({
      host, port,
      sink: {
        offer: (messages) => ingest.offer(messages.map((m) => fromSyslog(m, serviceFor))),
        push: (messages) => ingest.push(messages.map((m) => fromSyslog(m, serviceFor))),
        onDrain: (listener) => ingest.onDrain(listener),
        now: () => clock.now(),
        received: (n, transport) => received.inc({ transport }, n),
        dropped: (n, reason) => dropped.inc({ reason }, n),
        log: ctx.log,
      },
    });
    servers.push(server);
    const close = server.close.bind(server);
    server.close = async () => {
      servers.splice(servers.indexOf(server) >>> 0, servers.includes(server) ? 1 : 0);
      await close();
    };
    return server;
  };

  const retain = () => store.retain(new Date(clock.now().getTime() - config.logRetentionDays * 86_400_000), config.logMaxBytes);
  const runRetention = () => {
    retain()
      .then(({ deleted }) => {
        if (deleted > 0) ctx.log.info({ deleted }, 'log retention deleted old lines');
      })
      .catch((error: unknown) => ctx.log.error({ err: error }, 'log retention failed'))
      .finally(() => {
        if (retentionTimer) retentionTimer = setTimeout(runRetention, RETENTION_EVERY_MS).unref();
      });
  };

  const routeDeps = {
    store, ingest, clock, users: ctx.users, publicUrl: config.publicUrl, chat: deps.chat ?? (() => undefined),
    retention: { days: config.logRetentionDays, maxBytes: config.logMaxBytes },
    onIngested: (n: number, transport: 'http' | 'loki') => received.inc({ transport }, n),
  };

  return {
    name: 'logs',
    store,
    ingest,
    listenSyslog,
    retain,
    registerApi: (api, routes) => registerLogsApi(api, routes, routeDeps),
    registerPublic: (app) => registerLogsIngest(app, routeDeps),
    async start() {
      if (config.syslogPort > 0) {
        // A taken port costs the syslog receiver, not the server: paging and everything else keep running.
        try {
          const server = await listenSyslog(config.syslogHost, config.syslogPort);
          ctx.log.info({ host: server.host, port: server.tcpPort }, 'syslog receiver listening (UDP and TCP)');
        } catch (error) {
          ctx.log.error({ err: error, host: config.syslogHost, port: config.syslogPort }, 'syslog receiver could not listen (is the port taken? set FIREWATCH_SYSLOG_PORT, or 0 to turn it off); everything else runs');
        }
      }
      retentionTimer = setTimeout(runRetention, 10_000).unref();
    },
    async stop() {
      clearTimeout(retentionTimer);
      retentionTimer = undefined;
      for (const s of servers.splice(0)) await s.close();
      await ingest.close();
      await store.close();
    },
  };
}
