import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../errors.ts';
import { actorOf } from '../http/principal.ts';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import type { ServicesRepo } from '../services/services.repo.ts';
import type { IncidentsRepo } from './incidents.repo.ts';
import type { IncidentsService } from './incidents.service.ts';
import { alertSchema as alertOut, INCIDENT_STATUSES, incidentSchema as incidentOut, timelineEntrySchema as timelineOut } from './incident.schemas.ts';

export { INCIDENT_STATUSES };

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date or time').transform((v) => new Date(v).toISOString());
const numberParam = z.object({ number: z.coerce.number().int().positive().max(2 ** 31) });

export function registerIncidentsRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { incidents: IncidentsService; repo: IncidentsRepo; servicesRepo: ServicesRepo }) {
  const { incidents } = deps;

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/incidents', auth: 'viewer', tags: ['incidents'],
    summary: 'List incidents, newest first. Page with `before` = the last number seen (next_cursor).',
    query: z.strictObject({
      status: z.string().max(100).optional().transform((v, ctx) => {
        if (!v) return undefined;
        const list = v.split(',').map((s) => s.trim()).filter(Boolean).flatMap((s) => (s === 'open' ? ['triggered', 'acknowledged'] : [s]));
        for (const s of list) {
          if (!(INCIDENT_STATUSES as readonly string[]).includes(s)) {
            ctx.addIssue({ code: 'custom', message: `unknown status ${s}; use ${INCIDENT_STATUSES.join(', ')} or open` });
          }
        }
        return list;
      }),
      service: z.string().max(100).optional(),
      urgency: z.enum(['high', 'low']).optional(),
      since: isoDate.optional(),
      until: isoDate.optional(),
      before: z.coerce.number().int().positive().optional(),
      limit: z.coerce.number().int().min(1).max(100).default(25),
    }),
    response: z.object({ incidents: z.array(incidentOut), next_cursor: z.number().nullable() }),
    handler: async ({ query }) => {
      let serviceId: string | undefined;
      if (query.service) {
        const service = await deps.servicesRepo.findByName(query.service);
        if (!service) throw notFound('service', `service ${query.service} not found`);
        serviceId = service.id;
      }
      // One row more than asked tells whether another page exists, so the last page has no cursor.
      const list = await incidents.list({
        statuses: query.status, serviceId, urgency: query.urgency, since: query.since, until: query.until,
        beforeNumber: query.before, limit: query.limit + 1,
      });
      const page = list.slice(0, query.limit);
      return { incidents: page, next_cursor: list.length > query.limit ? page[page.length - 1].number : null };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents', auth: 'responder', tags: ['incidents'], successStatus: 201,
    summary: 'Open an incident by hand.',
    body: z.strictObject({ title: z.string().trim().min(1).max(1024), service: z.string().min(1).max(100), urgency: z.enum(['high', 'low']).default('high') }),
    response: z.object({ incident: incidentOut }),
    handler: async ({ body, principal }) => ({ incident: await incidents.create({ title: body.title, serviceName: body.service, urgency: body.urgency }, actorOf(principal)) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/incidents/:number', auth: 'viewer', tags: ['incidents'],
    summary: 'One incident with its alerts and timeline.',
    params: numberParam,
    response: z.object({ incident: incidentOut, alerts: z.array(alertOut), timeline: z.array(timelineOut) }),
    handler: async ({ params }) => {
      const incident = await incidents.get(params.number);
      const [alerts, timeline] = await Promise.all([incidents.alerts(params.number), incidents.timeline(params.number)]);
      return { incident, alerts, timeline };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/incidents/:number/timeline', auth: 'viewer', tags: ['incidents'],
    summary: "An incident's append-only timeline, oldest first.",
    params: numberParam,
    response: z.object({ timeline: z.array(timelineOut) }),
    handler: async ({ params }) => ({ timeline: await incidents.timeline(params.number) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/incidents/:number/alerts', auth: 'viewer', tags: ['incidents'],
    summary: "An incident's alerts.",
    params: numberParam,
    response: z.object({ alerts: z.array(alertOut) }),
    handler: async ({ params }) => ({ alerts: await incidents.alerts(params.number) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/acknowledge', auth: 'responder', tags: ['incidents'],
    summary: 'Acknowledge a triggered incident (no change if already acknowledged; 409 if resolved).',
    params: numberParam,
    response: z.object({ incident: incidentOut }),
    handler: async ({ params, principal }) => ({ incident: await incidents.acknowledge(params.number, actorOf(principal)) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/resolve', auth: 'responder', tags: ['incidents'],
    summary: 'Resolve an incident and its open alerts (no change if already resolved).',
    params: numberParam,
    response: z.object({ incident: incidentOut }),
    handler: async ({ params, principal }) => ({ incident: await incidents.resolve(params.number, actorOf(principal)) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/notes', auth: 'responder', tags: ['incidents'], successStatus: 201,
    summary: 'Add a note to the timeline.',
    params: numberParam,
    body: z.strictObject({ text: z.string().trim().min(1).max(10_000) }),
    response: z.object({ incident: incidentOut }),
    handler: async ({ params, body, principal }) => ({ incident: await incidents.addNote(params.number, actorOf(principal), body.text) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/change-events', auth: 'viewer', tags: ['incidents'],
    summary: 'Recent change events (deploys, config changes) sent to /v2/change/enqueue.',
    query: z.strictObject({ service: z.string().max(100).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
    response: z.object({ change_events: z.array(z.object({ id: z.string(), service_id: z.string(), summary: z.string(), source: z.string().nullable(), timestamp: z.string(), custom_details: z.unknown(), links: z.unknown() })) }),
    handler: async ({ query }) => {
      let serviceId: string | undefined;
      if (query.service) {
        const service = await deps.servicesRepo.findByName(query.service);
        if (!service) throw notFound('service', `service ${query.service} not found`);
        serviceId = service.id;
      }
      const rows = await deps.repo.listChangeEvents(serviceId, query.limit);
      return { change_events: rows.map((r) => ({ ...r, custom_details: JSON.parse(r.custom_details), links: JSON.parse(r.links) })) };
    },
  });
}
