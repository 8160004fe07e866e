import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import { badRequest } from '../../errors.ts';
import type { Clock } from '../../clock.ts';
import { datasourceOutSchema, datasourcePatchSchema, type DatasourcesService } from './datasources.service.ts';
import { datasourceDocumentSchema } from './metrics.document.ts';
import type { RulesService } from './rules.service.ts';

const nameParam = z.object({ name: z.string().min(1).max(100) });
const seriesSchema = z.object({ labels: z.record(z.string(), z.string()), points: z.array(z.tuple([z.number(), z.number().nullable()])) });
/** JSON has no NaN or Inf: such points are sent as null. */
const jsonPoints = (series: { labels: Record<string, string>; points: [number, number][] }[]) =>
  series.map((s) => ({ labels: s.labels, points: s.points.map(([t, v]) => [t, Number.isFinite(v) ? v : null] as [number, number | null]) }));

const MAX_DATE_MS = 8.64e15;

/** A time as unix seconds (float) or RFC 3339, as Prometheus accepts it. */
const timeParam = z.string().max(40).transform((text, ctx) => {
  const n = Number(text);
  const ms = text.trim() !== '' && Number.isFinite(n) ? n * 1000 : Date.parse(text);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'use unix seconds or RFC 3339' });
    return z.NEVER;
  }
  // Times a date can hold (±275,000 years); beyond that, float seconds lose whole steps.
  if (Math.abs(ms) > MAX_DATE_MS) {
    ctx.addIssue({ code: 'custom', message: 'the time is out of range' });
    return z.NEVER;
  }
  return ms / 1000;
});

const alertSchema = z.object({
  labels: z.record(z.string(), z.string()), annotations: z.record(z.string(), z.string()), state: z.enum(['pending', 'firing']), value: z.string(),
  active_at: z.string(), fired_at: z.string().nullable(), keep_firing_since: z.string().nullable(),
  lines: z.array(z.object({ id: z.string(), time: z.string(), host: z.string().nullable(), app: z.string().nullable(), service: z.string().nullable(), severity: z.string().nullable(), message: z.string() })).optional(),
});

const ruleSchema = z.object({
  id: z.string(), name: z.string(), type: z.enum(['alerting', 'recording', 'log']), query: z.string(),
  log: z.object({ search: z.string(), window: z.string(), above: z.number().optional(), absent_for: z.string().optional() }).nullable(),
  for: z.string().nullable(), keep_firing_for: z.string().nullable(), labels: z.record(z.string(), z.string()), annotations: z.record(z.string(), z.string()),
  state: z.enum(['inactive', 'pending', 'firing']).nullable(), health: z.string(), last_error: z.string().nullable(), last_evaluation: z.string().nullable(), evaluation_ms: z.number().nullable(),
  last_result: z.object({ samples: z.array(z.object({ labels: z.record(z.string(), z.string()), value: z.string() })), total: z.number() }).nullable(),
  alerts: z.array(alertSchema),
});
export const ruleGroupOutSchema = z.object({
  name: z.string(), interval_seconds: z.number(), datasource: z.string().nullable(), service: z.string().nullable(), labels: z.record(z.string(), z.string()),
  last_evaluation: z.string().nullable(), evaluation_ms: z.number().nullable(), next_evaluation: z.string(), rules: z.array(ruleSchema),
});
const evaluationSchema = z.object({
  rule_id: z.string(), at: z.string(), duration_ms: z.number(), health: z.string(), error: z.string().nullable(), pending: z.number(), firing: z.number(), samples: z.number(),
  transitions: z.array(z.object({ fingerprint: z.string(), labels: z.record(z.string(), z.string()), from: z.string(), to: z.string() })),
});

export function registerMetricsRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { datasources: DatasourcesService; rules: RulesService; clock: Clock }) {
  const { datasources, rules, clock } = deps;
  const source = (name: string) => datasources.datasources.metrics(name);

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources', auth: 'viewer', tags: ['datasources'],
    summary: 'Data sources (credentials never shown). The built-in demo source is listed while no metrics source is declared.',
    response: z.object({ datasources: z.array(datasourceOutSchema) }),
    handler: async () => ({ datasources: await datasources.list() }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name', auth: 'viewer', tags: ['datasources'], summary: 'One data source.',
    params: nameParam, response: z.object({ datasource: datasourceOutSchema }),
    handler: async ({ params }) => ({ datasource: await datasources.get(params.name) }),
  });
  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/datasources', auth: 'admin', tags: ['datasources'], successStatus: 201,
    summary: 'Declare a data source (prometheus, loki or demo); credentials are encrypted at rest.',
    body: datasourceDocumentSchema, response: z.object({ datasource: datasourceOutSchema }),
    handler: async ({ body }) => ({ datasource: await datasources.create(body) }),
  });
  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/datasources/:name', auth: 'admin', tags: ['datasources'],
    summary: 'Change a data source (url, auth — null removes it —, timeout, default).',
    params: nameParam, body: datasourcePatchSchema, response: z.object({ datasource: datasourceOutSchema }),
    handler: async ({ params, body }) => ({ datasource: await datasources.update(params.name, body) }),
  });
  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/datasources/:name', auth: 'admin', tags: ['datasources'],
    summary: 'Delete a data source no rule group uses.', params: nameParam,
    handler: async ({ params }) => {
      await datasources.remove(params.name);
    },
  });
  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/datasources/:name/test', auth: 'admin', tags: ['datasources'],
    summary: 'Check that the data source answers; errors come back as bad_query, datasource_unreachable, datasource_timeout or datasource_error.',
    params: nameParam, response: z.object({ ok: z.boolean(), latency_ms: z.number(), detail: z.string() }),
    handler: async ({ params }) => datasources.test(params.name),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/query', auth: 'viewer', tags: ['datasources'],
    summary: 'Instant query (PromQL for Prometheus-compatible sources; the demo source takes metric{labels}, sum by (…) (…), and a comparison).',
    params: nameParam, query: z.object({ query: z.string().min(1).max(100_000), time: timeParam.optional() }),
    response: z.object({ resultType: z.string(), series: z.array(seriesSchema), warnings: z.array(z.string()) }),
    handler: async ({ params, query }) => {
      const r = await (await source(params.name)).query(query.query, query.time === undefined ? clock.now() : new Date(query.time * 1000));
      return { resultType: r.resultType, series: jsonPoints(r.series), warnings: r.warnings };
    },
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/query_range', auth: 'viewer', tags: ['datasources'],
    summary: 'Range query; the step is raised so that no series exceeds 11,000 points (the step used is returned).',
    params: nameParam,
    query: z.object({ query: z.string().min(1).max(100_000), start: timeParam, end: timeParam, step: z.coerce.number().positive().max(31_536_000).optional() }),
    response: z.object({ series: z.array(seriesSchema), step: z.number(), warnings: z.array(z.string()) }),
    handler: async ({ params, query }) => {
      if (query.end < query.start) throw badRequest('bad_query', 'end must not be before start');
      const r = await (await source(params.name)).queryRange(query.query, { start: query.start, end: query.end, step: query.step });
      return { series: jsonPoints(r.series), step: r.step, warnings: r.warnings };
    },
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/series', auth: 'viewer', tags: ['datasources'], summary: 'Series matching the match[] selectors.',
    params: nameParam,
    query: z.object({ 'match[]': z.union([z.string().max(10_000), z.array(z.string().max(10_000)).max(50)]).transform((m) => (Array.isArray(m) ? m : [m])), start: timeParam.optional(), end: timeParam.optional() }),
    response: z.object({ series: z.array(z.record(z.string(), z.string())) }),
    handler: async ({ params, query }) => ({ series: await (await source(params.name)).series(query['match[]'], query.start, query.end) }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/labels', auth: 'viewer', tags: ['datasources'], summary: 'Label names.',
    params: nameParam, response: z.object({ labels: z.array(z.string()) }),
    handler: async ({ params }) => ({ labels: await (await source(params.name)).labels() }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/label/:label/values', auth: 'viewer', tags: ['datasources'], summary: 'Values of one label.',
    params: z.object({ name: z.string().min(1).max(100), label: z.string().min(1).max(200) }), response: z.object({ values: z.array(z.string()) }),
    handler: async ({ params }) => ({ values: await (await source(params.name)).labelValues(params.label) }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/targets', auth: 'viewer', tags: ['datasources'], summary: 'Scrape targets and their health.',
    params: nameParam,
    response: z.object({ targets: z.array(z.object({ labels: z.record(z.string(), z.string()), discoveredLabels: z.record(z.string(), z.string()), scrapeUrl: z.string(), health: z.string(), lastError: z.string() })) }),
    handler: async ({ params }) => ({ targets: await (await source(params.name)).targets() }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/datasources/:name/logs', auth: 'viewer', tags: ['datasources'], summary: 'Log lines from a Loki source (LogQL query_range), newest first.',
    params: nameParam, query: z.object({ query: z.string().min(1).max(100_000), start: timeParam, end: timeParam, limit: z.coerce.number().int().min(1).max(5000).default(100) }),
    response: z.object({ lines: z.array(z.object({ time: z.string(), labels: z.record(z.string(), z.string()), line: z.string() })), warnings: z.array(z.string()) }),
    handler: async ({ params, query }) => {
      const r = await (await datasources.datasources.logs(params.name)).queryRange(query.query, { start: query.start, end: query.end, limit: query.limit });
      return { lines: r.lines.map((l) => ({ time: l.time, labels: l.labels, line: l.line })), warnings: r.warnings };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/rules', auth: 'viewer', tags: ['rules'],
    summary: 'Rule groups with each rule\'s state (inactive, pending, firing), health, last evaluation and active alerts.',
    response: z.object({ groups: z.array(ruleGroupOutSchema) }),
    handler: async () => ({ groups: await rules.listGroups() }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/rules/alerts', auth: 'viewer', tags: ['rules'], summary: 'Pending and firing alerts of every rule (like Prometheus /api/v1/alerts).',
    response: z.object({ alerts: z.array(alertSchema.extend({ group: z.string(), rule: z.string() })) }),
    handler: async () => ({ alerts: await rules.activeAlerts() }),
  });
  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/rules/:group/:rule/history', auth: 'viewer', tags: ['rules'],
    summary: 'The latest evaluations of a rule (by id or name), newest first, with state transitions.',
    params: z.object({ group: z.string().min(1).max(200), rule: z.string().min(1).max(200) }), query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    response: z.object({ evaluations: z.array(evaluationSchema) }),
    handler: async ({ params, query }) => ({ evaluations: await rules.history(params.group, params.rule, query.limit) }),
  });
  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/rules/:group', auth: 'admin', tags: ['rules'], summary: 'Delete a rule group and its state.',
    params: z.object({ group: z.string().min(1).max(200) }),
    handler: async ({ params }) => {
      await rules.removeGroup(params.group);
    },
  });
}
