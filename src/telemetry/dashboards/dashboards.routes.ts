import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { actorOf, requirePrincipal } from '../../http/principal.ts';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import { hostOutSchema } from '../inventory/inventory.routes.ts';
import { type DashboardsService, parseTime } from './dashboards.service.ts';
import { dashboardConfigSchema, panelSpecSchema } from './panels.ts';

const errorSchema = z.object({ code: z.string(), message: z.string() }).nullable();
const namedSeriesSchema = z.object({ name: z.string(), labels: z.record(z.string(), z.string()), points: z.array(z.tuple([z.number(), z.number().nullable()])) });
const instanceStatsSchema = z.object({
  instance: z.string(), mean: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable(), amplitude: z.number().nullable(),
  score: z.number(), amplitude_score: z.number(), outlier: z.boolean(), reason: z.enum(['high', 'low', 'amplitude']).nullable(),
});
const outliersSchema = z.object({
  method: z.literal('mad'), threshold: z.number(), instances: z.array(instanceStatsSchema),
  top: z.object({ instance: z.string(), score: z.number(), reason: z.string() }).nullable(), spread: z.number().nullable(), note: z.string().nullable(),
});
export const dashboardDataSchema = z.object({
  service: z.string(), datasource: z.string().nullable(), preset: z.string().nullable(), from: z.number(), to: z.number(),
  panels: z.array(z.object({
    id: z.string(), title: z.string(), unit: z.string().nullable(),
    queries: z.object({ per_instance: z.string(), aggregate: z.array(z.object({ label: z.string(), query: z.string() })) }),
    aggregate: z.array(namedSeriesSchema), per_instance: z.array(namedSeriesSchema), outliers: outliersSchema.nullable(),
    step: z.number().nullable(), warnings: z.array(z.string()), error: errorSchema,
  })),
  outliers: z.array(z.object({ panel: z.string(), panel_title: z.string(), instance: z.string(), score: z.number(), reason: z.string() })),
  top_outlier: z.object({ instance: z.string(), panels: z.array(z.string()), score: z.number() }).nullable(),
  error: errorSchema,
});
const dashboardConfigOutSchema = z.object({
  service: z.string(),
  config: z.unknown(),
  effective: z.object({ datasource: z.string().nullable(), preset: z.string(), selector: z.string(), panels: z.array(panelSpecSchema) }),
  datasource_error: errorSchema,
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable(),
});

const windowQuery = z.object({
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  instance: z.string().max(500).optional(),
});

/** JSON has no NaN: a missing sample is sent as null. */
const jsonPoints = <T extends { panels: { aggregate: { points: [number, number][] }[]; per_instance: { points: [number, number][] }[] }[] }>(d: T): T => {
  for (const p of d.panels) for (const s of [...p.aggregate, ...p.per_instance]) s.points = s.points.map(([t, v]) => [t, Number.isFinite(v) ? v : (null as unknown as number)]);
  return d;
};

/** Service dashboards, chart snapshots into the war room, and an incident's telemetry. */
export function registerDashboardsRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { dashboards: DashboardsService; clock: Clock }) {
  const { dashboards, clock } = deps;
  const serviceParam = z.object({ name: z.string().min(1).max(100) });
  const window = (q: { from?: string; to?: string }) => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const to = parseTime(q.to, now, now);
    return { from: parseTime(q.from, now, to - 3600), to };
  };

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/services/:name/dashboard', auth: 'viewer', tags: ['dashboards'],
    summary: 'A service dashboard\'s settings (stored overrides) and the panels in effect (preset defaults filled in).',
    params: serviceParam,
    response: dashboardConfigOutSchema,
    handler: async ({ params }) => dashboards.getConfig(params.name),
  });

  apiRoute(app, routes, {
    method: 'PUT', url: '/api/v1/services/:name/dashboard', auth: 'responder', tags: ['dashboards'],
    summary: 'Replace a service dashboard\'s settings: data source, preset, label selector ($service) and custom panels. An empty object restores the defaults.',
    params: serviceParam,
    body: dashboardConfigSchema,
    response: dashboardConfigOutSchema,
    handler: async ({ params, body, principal }) => dashboards.putConfig(params.name, body, actorOf(principal).name),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/services/:name/dashboard/data', auth: 'viewer', tags: ['dashboards'],
    summary: 'Every panel\'s aggregated and per-instance series over from–to (ISO, unix seconds or now-1h; default the last hour) with outlier scores (MAD, threshold 3); errors per panel.',
    params: serviceParam,
    query: windowQuery,
    response: dashboardDataSchema,
    handler: async ({ params, query }) => jsonPoints(await dashboards.data(params.name, { ...window(query), instance: query.instance ?? null })),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/snapshots', auth: 'responder', tags: ['dashboards'], successStatus: 201,
    summary: 'Render a query\'s chart over from–to as a PNG and post it into a war-room channel, linked to its live view (/explore).',
    body: z.strictObject({
      datasource: z.string().min(1).max(100).nullable().optional(),
      query: z.string().trim().min(1).max(4000),
      from: z.union([z.number(), z.string().max(40)]),
      to: z.union([z.number(), z.string().max(40)]),
      channel: z.string().trim().min(1).max(100),
      title: z.string().max(200).nullable().optional(),
      highlight: z.array(z.string().max(500)).max(20).optional(),
    }),
    response: z.object({ message_id: z.string(), channel: z.string(), link: z.string(), file: z.object({ id: z.string(), name: z.string(), content_type: z.string(), size: z.number() }) }),
    handler: async ({ body, principal }) => {
      const p = requirePrincipal(principal);
      const now = Math.floor(clock.now().getTime() / 1000);
      const from = typeof body.from === 'number' ? body.from : parseTime(body.from, now, Number.NaN);
      const to = typeof body.to === 'number' ? body.to : parseTime(body.to, now, Number.NaN);
      return dashboards.snapshot({ ...body, from, to }, { id: p.id, name: p.name, userId: p.userId });
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/incidents/:number/telemetry', auth: 'viewer', tags: ['dashboards'],
    summary: 'The incident\'s service dashboard at its window (start − 1h … resolved or now + 15m) with outliers, and the inventory hosts its alerts name.',
    params: z.object({ number: z.coerce.number().int().positive() }),
    response: z.object({
      incident: z.object({ number: z.number(), title: z.string(), service: z.string(), created_at: z.string(), resolved_at: z.string().nullable() }),
      window: z.object({ from: z.number(), to: z.number() }),
      dashboard_url: z.string(),
      dashboard: dashboardDataSchema,
      affected_hosts: z.array(z.object({ value: z.string(), label: z.string(), hosts: z.array(hostOutSchema) })),
    }),
    handler: async ({ params }) => {
      const t = await dashboards.incidentTelemetry(params.number);
      return { ...t, dashboard: jsonPoints(t.dashboard) };
    },
  });
}
