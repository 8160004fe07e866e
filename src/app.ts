import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { createIntakeService, type IntakeService } from './alerts/intake.service.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createApplyService, type ApplyService } from './config-as-code/apply.service.ts';
import { registerConfigRoutes } from './config-as-code/config.routes.ts';
import { type DatabaseHandle, isReady } from './db/database.ts';
import { AppError } from './errors.ts';
import { createEventBus, type EventBus } from './events/event-bus.ts';
import { relayThroughPostgres } from './events/pg-relay.ts';
import { registerStreamRoutes } from './events/stream.routes.ts';
import { apiErrorHandler } from './http/errors.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { apiRoute, buildOpenApi, type RegisteredRoute } from './http/route.ts';
import { createIncidentsRepo } from './incidents/incidents.repo.ts';
import { registerIncidentsRoutes } from './incidents/incidents.routes.ts';
import { createIncidentsService, type IncidentsService } from './incidents/incidents.service.ts';
import { createIntegrationLookup, type IntakeContext } from './integrations/intake-context.ts';
import { registerAlertmanagerRoutes } from './integrations/sources/alertmanager.ts';
import { registerHeartbeatRoutes } from './integrations/sources/heartbeat.ts';
import { registerPagerDutyRoutes } from './integrations/sources/pagerduty.ts';
import { registerWebhookRoutes } from './integrations/sources/webhook.ts';
import { createJobQueue, createJobRunner, type JobHandler, type JobQueue, type JobRunner } from './jobs/jobs.ts';
import { createMailer } from './notify/channels/email.ts';
import { createContactsRepo } from './oncall/contacts/contacts.repo.ts';
import { registerContactsRoutes } from './oncall/contacts/contacts.routes.ts';
import { createContactsService, type ContactsService } from './oncall/contacts/contacts.service.ts';
import { createEscalation, type Escalation } from './oncall/escalation/escalation.ts';
import { registerAckLinkRoutes, registerOnCallIncidentRoutes } from './oncall/escalation/escalation.routes.ts';
import { createHandoffs, HANDOFF_JOB, type Handoffs } from './oncall/handoff.ts';
import { createNotifier, DELIVER_JOB, type Notifier } from './oncall/notifications/notifier.ts';
import { createPoliciesRepo } from './oncall/policies/policies.repo.ts';
import { registerPoliciesRoutes } from './oncall/policies/policies.routes.ts';
import { createPoliciesService, type PoliciesService } from './oncall/policies/policies.service.ts';
import { createSchedulesRepo } from './oncall/schedules/schedules.repo.ts';
import { registerSchedulesRoutes } from './oncall/schedules/schedules.routes.ts';
import { createSchedulesService } from './oncall/schedules/schedules.service.ts';
import { createSilencesRepo } from './oncall/silences/silences.repo.ts';
import { registerSilencesRoutes } from './oncall/silences/silences.routes.ts';
import { createSilencesService, type SilencesService } from './oncall/silences/silences.service.ts';
import { createSecretBox } from './security/secret-box.ts';
import { createServicesRepo } from './services/services.repo.ts';
import { registerServicesRoutes } from './services/services.routes.ts';
import { createServicesService, type ServicesService } from './services/services.service.ts';
import { createTeamsRepo } from './teams/teams.repo.ts';
import { registerAuthRoutes, SESSION_COOKIE } from './users/auth.routes.ts';
import { roleAtLeast } from './users/roles.ts';
import { createUsersRepo } from './users/users.repo.ts';
import { createUsersService, type Principal, type UsersService } from './users/users.service.ts';
import type { ApplyKind } from './config-as-code/apply-kind.ts';
import { createChatModule } from './chat/chat.module.ts';
import type { ChatService } from './chat/chat.types.ts';
import { createSlackModule } from './chat/slack/slack.module.ts';
import type { CommandRegistry } from './commands/command.types.ts';
import { createCommandsModule } from './commands/commands.module.ts';
import type { FeatureContext, FeatureModule } from './features/module.ts';
import { createDashboardsModule } from './telemetry/dashboards/dashboards.module.ts';
import { createInventoryModule } from './telemetry/inventory/inventory.module.ts';
import type { LogStore } from './telemetry/logs/log.types.ts';
import { createLogsModule } from './telemetry/logs/logs.module.ts';
import type { DataSources } from './telemetry/metrics/datasource.types.ts';
import { createMetricsModule } from './telemetry/metrics/metrics.module.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const MAX_JSON_DEPTH = 200;

/** The deepest nesting of arrays and objects in JSON text, skipping string contents; one pass, no parse. */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export interface Features {
  users: UsersService;
  services: ServicesService;
  incidents: IncidentsService;
  intake: IntakeService;
  intakeContext: IntakeContext;
  apply: ApplyService;
  policies: PoliciesService;
  contacts: ContactsService;
  silences: SilencesService;
  bus: EventBus;
  metrics: Metrics;
  jobs: JobQueue;
  /** Durable timers; not started by buildApp (serve starts it; tests call runDue()). */
  jobRunner: JobRunner;
  escalation: Escalation;
  notifier: Notifier;
  handoffs: Handoffs;
  chat: ChatService;
  commands: CommandRegistry;
  logs: LogStore;
  datasources: DataSources;
  /** Feature modules in creation order; serve() starts and stops them. */
  modules: FeatureModule[];
}

export interface AppBundle {
  app: FastifyInstance;
  /** The API routes registered through apiRoute (with their zod schemas). */
  routes: RegisteredRoute[];
  /** Every route Fastify registered, with the role it demands; for the auth-coverage test. */
  allRoutes: { method: string; url: string; auth: string | undefined }[];
  features: Features;
}

/** Wires the features over one database into a Fastify app. Does not listen, migrate or start timers. */
export async function buildApp(options: { config: Config; handle: DatabaseHandle; clock?: Clock; logger?: boolean }): Promise<AppBundle> {
  const { config, handle } = options;
  const clock = options.clock ?? systemClock;
  const { db } = handle;
  const metrics = createMetrics();
  const bus = createEventBus();
  const secrets = createSecretBox(config.secretKey);

  const usersRepo = createUsersRepo(db);
  const servicesRepo = createServicesRepo(db);
  const incidentsRepo = createIncidentsRepo(db, handle.raw);
  const teamsRepo = createTeamsRepo(db);
  const schedulesRepo = createSchedulesRepo(db);
  const policiesRepo = createPoliciesRepo(db);
  const contactsRepo = createContactsRepo(db);
  const silencesRepo = createSilencesRepo(db);

  // On-call: durable timers drive escalation and notification delivery.
  const jobs = createJobQueue();
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.smtpFrom });
  const notifier = createNotifier({
    db, jobs, hooks: () => escalation.hooks, contacts: createContactsRepo(db), incidentsRepo, mailer, secrets, secretKey: config.secretKey, publicUrl: config.publicUrl, bus, emailConfigured: config.smtpUrl !== null,
    webhookPolicy: { allowPrivate: config.webhookAllowPrivate, allowList: config.webhookAllowList },
  });
  // The runner is created below; escalation wakes it through this indirection.
  let jobRunner: JobRunner | undefined;
  const escalation = createEscalation({
    db, jobs, notifier, incidentsRepo, policies: createPoliciesRepo(db), schedules: createSchedulesRepo(db), silences: createSilencesRepo(db),
    bus, clock, lockRows: handle.dialect === 'postgres', wake: () => jobRunner?.wake(),
  });
  // Feature modules add their kinds before the runner starts.
  const jobHandlers: Record<string, JobHandler> = { ...escalation.handlers, [DELIVER_JOB]: notifier.deliverHandler };
  const handoffs = createHandoffs({ db, jobs, schedules: createSchedulesRepo(db), notifier, clock, publicUrl: config.publicUrl, wake: () => jobRunner?.wake() });

  const users = createUsersService({ repo: usersRepo, clock });
  const services = createServicesService({ db, repo: servicesRepo, clock, secrets, publicUrl: config.publicUrl, policies: policiesRepo });
  const policies = createPoliciesService({ db, repo: policiesRepo, clock });
  const contacts = createContactsService({ db, repo: contactsRepo, users: usersRepo, secrets, clock });
  const silences = createSilencesService({ db, repo: silencesRepo, clock });
  const incidents = createIncidentsService({ db, durable: handle.durable, repo: incidentsRepo, servicesRepo, clock, bus, metrics, publicUrl: config.publicUrl, hooks: escalation.hooks });
  const intake = createIntakeService({ db, dialect: handle.dialect, durable: handle.durable, repo: incidentsRepo, servicesRepo, clock, bus, metrics, hooks: escalation.hooks });
  const integrations = createIntegrationLookup(services, clock);
  const schedules = createSchedulesService({ db, repo: schedulesRepo, clock, secrets, publicUrl: config.publicUrl });
  const intakeContext: IntakeContext = { db, durable: handle.durable, intake, integrations, servicesRepo, incidentsRepo, clock, metrics, maxEventBytes: config.maxEventBytes };
  const applyKinds: ApplyKind[] = [];
  const apply = createApplyService({ db, durable: handle.durable, clock, secrets, servicesRepo, services, usersRepo, teamsRepo, schedulesRepo, onChange: () => integrations.forget(), kinds: applyKinds });

  // Feature modules, in dependency order: each may use the public objects of those before it.
  const moduleLog: FeatureContext['log'] = {
    info: (obj, msg) => app.log.info(obj, msg),
    warn: (obj, msg) => app.log.warn(obj, msg),
    error: (obj, msg) => app.log.error(obj, msg),
  };
  const ctx: FeatureContext = {
    config, handle, db, clock, bus, secrets, metrics, jobs, wake: () => jobRunner?.wake(), log: moduleLog,
    users, usersRepo, services, servicesRepo, incidents, incidentsRepo, intake, intakeContext, escalation, notifier, contacts,
  };
  const logs = createLogsModule(ctx, { chat: () => chat.chat });
  const metricsModule = createMetricsModule(ctx, { logs: logs.store });
  const chat = createChatModule(ctx);
  const commands = createCommandsModule(ctx, { chat: chat.chat, datasources: metricsModule.datasources });
  const slack = createSlackModule(ctx, { chat: chat.chat, registry: commands.registry });
  const inventory = createInventoryModule(ctx, { datasources: metricsModule.datasources });
  const dashboards = createDashboardsModule(ctx, { datasources: metricsModule.datasources, chat: chat.chat, inventory: inventory.inventory });
  const modules: FeatureModule[] = [logs, metricsModule, chat, commands, slack, inventory, dashboards];
  for (const m of modules) {
    if (m.hooks) escalation.hooks.add(m.hooks);
    Object.assign(jobHandlers, m.jobHandlers ?? {});
    applyKinds.push(...(m.applyKinds ?? []));
  }
  // The runner reads its job kinds when created: after every module added its handlers.
  jobHandlers[HANDOFF_JOB] = handoffs.handler;
  const runner = createJobRunner({
    db, dialect: handle.dialect, clock, durable: handle.durable, pollMs: config.jobPollMs,
    handlers: jobHandlers,
    log: { error: (obj, msg) => app.log.error(obj, msg), warn: (obj, msg) => app.log.warn(obj, msg) },
    onLateness: (ms, kind) => metrics.jobLateness.observe({ kind }, ms / 1000),
  });
  jobRunner = runner;

  const app = Fastify({
    logger: options.logger === false ? false : { level: config.logLevel },
    // Per-request lines would dominate the log at alert-storm rates; errors are logged at the boundary.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    // Alertmanager and PagerDuty clients send JSON; __proto__ keys are refused rather than merged.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Malformed URLs and over-long path parameters answer in the API's error shape, not Fastify's.
    frameworkErrors: (error, request, reply) => apiErrorHandler(new AppError('bad_url', 400, `the URL is malformed: ${error.message}`), request, reply),
    routerOptions: {
      maxParamLength: 200,
      onMaxParamLength: (_path, _req, res) => {
        res.statusCode = 414;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify({ error: { code: 'uri_too_long', message: 'a path segment is longer than 200 characters' } }));
      },
    },
  });
  // JSON bodies: the default parser (prototype-poisoning checks included) behind a nesting limit, since
  // storing a document nested thousands deep would overflow the stack inside the commit.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestingDepth(body as string) > MAX_JSON_DEPTH) {
      done(new AppError('invalid_json', 400, `the JSON is nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });
  app.decorateRequest('principal', null);
  const allRoutes: AppBundle['allRoutes'] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) allRoutes.push({ method, url: route.url, auth: route.config?.auth });
  });
  app.setErrorHandler(apiErrorHandler);

  // Per-request metrics, labelled by route pattern so label cardinality stays bounded.
  // The labelled children are looked up once per route and status, not per request.
  const requestCounters = new Map<string, { inc(): void }>();
  const durationHistograms = new Map<string, { observe(value: number): void }>();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    const status = String(reply.statusCode);
    const counterKey = `${method} ${route} ${status}`;
    let counter = requestCounters.get(counterKey);
    if (!counter) requestCounters.set(counterKey, (counter = metrics.httpRequests.labels(method, route, status)));
    counter.inc();
    const histogramKey = `${method} ${route}`;
    let histogram = durationHistograms.get(histogramKey);
    if (!histogram) durationHistograms.set(histogramKey, (histogram = metrics.httpDuration.labels(method, route)));
    histogram.observe(reply.elapsedTime / 1000);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await isReady(db);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', database: handle.dialect });
  });

  // Everything that authenticates lives in this context: the cookie parser and the auth hook run only here,
  // so intake requests (authenticated by their key) pay for neither.
  const routes: RegisteredRoute[] = [];
  await app.register(async (api) => {
    await api.register(cookie);
    // Authentication and role checks for every route that declares `config.auth`.
    api.addHook('onRequest', async (request) => {
      const needed = request.routeOptions.config?.auth;
      if (!needed || needed === 'public') return;
      let principal: Principal | null = null;
      const header = request.headers.authorization;
      if (header) {
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        if (!match) throw new AppError('authentication_required', 401, 'use Authorization: Bearer <token>');
        principal = await users.principalFromToken(match[1]);
        if (!principal) throw new AppError('invalid_token', 401, 'the API token is unknown or revoked');
      } else {
        const session = request.cookies[SESSION_COOKIE];
        if (session) principal = await users.principalFromSession(session);
        if (!principal) throw new AppError('authentication_required', 401, 'sign in or send Authorization: Bearer <token>');
        // Cookie-authenticated changes must echo the session's CSRF token (a cross-site form cannot read it).
        if (!SAFE_METHODS.has(request.method) && request.headers['x-csrf-token'] !== principal.csrfToken) {
          throw new AppError('csrf_failed', 403, 'missing or wrong X-CSRF-Token header');
        }
      }
      if (!roleAtLeast(principal.role, needed)) {
        throw new AppError('forbidden', 403, `this needs the ${needed} role; you have ${principal.role}`);
      }
      request.principal = principal;
    });

    api.get('/metrics', { config: { auth: config.metricsPublic ? 'public' : 'viewer' } }, async (_request, reply) => {
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });

    registerAuthRoutes(api, routes, { users, repo: usersRepo, clock, secureCookies: config.publicUrl.startsWith('https:') });
    registerServicesRoutes(api, routes, { services, onIntegrationsChanged: () => integrations.forget() });
    registerIncidentsRoutes(api, routes, { incidents, repo: incidentsRepo, servicesRepo });
    registerStreamRoutes(api, routes, { bus });
    registerOnCallIncidentRoutes(api, routes, { escalation, notifier, incidentsRepo, usersRepo, durable: handle.durable, clock });
    registerConfigRoutes(api, routes, { apply });
    registerSchedulesRoutes(api, routes, { schedules });
    // Hand-off timers follow schedule, override and swap changes (and applied configuration) at once.
    api.addHook('onResponse', async (request, reply) => {
      if (SAFE_METHODS.has(request.method) || reply.statusCode >= 300) return;
      if (!/^\/api\/v1\/(schedules|config\/apply)(\/|\?|$)/.test(request.url)) return;
      handoffs.reconcile().catch((error: unknown) => app.log.error({ err: error }, 'hand-off reconcile failed'));
    });
    registerPoliciesRoutes(api, routes, { policies });
    registerContactsRoutes(api, routes, {
      contacts,
      sendTest: async (userId, method) => {
        const id = await notifier.sendTest(userId, method, clock.now());
        runner.wake();
        return id;
      },
    });
    registerSilencesRoutes(api, routes, { silences });
    for (const m of modules) await m.registerApi?.(api, routes);
    apiRoute(api, routes, {
      method: 'GET', url: '/api/v1/openapi.json', auth: 'viewer', tags: ['meta'],
      summary: 'This document.',
      handler: async () => buildOpenApi(routes, { version: VERSION, publicUrl: config.publicUrl }),
    });
  });

  registerPagerDutyRoutes(app, intakeContext);
  registerAlertmanagerRoutes(app, intakeContext);
  registerWebhookRoutes(app, intakeContext);
  registerHeartbeatRoutes(app, intakeContext);
  for (const m of modules) await m.registerPublic?.(app);

  if (handle.dialect === 'postgres') {
    const stopRelay = relayThroughPostgres(bus, config.databaseUrl, app.log);
    app.addHook('onClose', async () => stopRelay());
  }

  // Query timings for /metrics, measured by Kysely per query.
  handle.onQuery?.((ms) => metrics.dbQueryDuration.observe(ms / 1000));

  const hasUi = existsSync(path.join(WEB_DIST, 'index.html'));
  if (hasUi) {
    await app.register(fastifyStatic, { root: WEB_DIST, prefix: '/', wildcard: false, index: ['index.html'] });
  }
  app.setNotFoundHandler((request, reply) => {
    const url = request.url;
    const isMachinePath = /^\/(api|v2|integrations|hooks)(\/|$)/.test(url);
    if (!isMachinePath && request.method === 'GET' && hasUi) {
      // Client-side routes (/incidents/12) load the single-page app.
      return reply.type('text/html').sendFile('index.html');
    }
    if (!isMachinePath && request.method === 'GET') {
      return reply.code(404).type('text/plain').send('The web UI is not built. Run `npm run build:web` (npm ci does it).');
    }
    return reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${request.method} ${url.split('?')[0]}` } });
  });

  registerAckLinkRoutes(app, { notifier, incidentsRepo, escalation, durable: handle.durable, clock, bus });
  app.addHook('onClose', async () => {
    for (const m of modules.toReversed()) await m.stop?.();
    await runner.stop();
    mailer.close();
  });

  return { app, routes, allRoutes, features: { users, services, incidents, intake, intakeContext, apply, policies, contacts, silences, bus, metrics, jobs, jobRunner: runner, escalation, notifier, handoffs,
    chat: chat.chat, commands: commands.registry, logs: logs.store, datasources: metricsModule.datasources, modules,
  } };
}
