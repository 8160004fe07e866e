import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import type { SchedulesService } from './schedules.service.ts';
import {
  feedSchema, instantSchema, oncallSchema, overrideCreateSchema, overrideSchema, renderSchema, scheduleCreateSchema, schedulePatchSchema,
  scheduleSchema, swapCreateSchema, swapSchema,
} from './schedules.schemas.ts';

/** A query-string instant: ISO with Z or an offset, or a date (midnight UTC). */
const queryInstant = z.union([z.iso.date().transform((d) => `${d}T00:00:00.000Z`), instantSchema]);

export function registerSchedulesRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { schedules: SchedulesService }) {
  const { schedules } = deps;
  const tags = ['schedules'];
  const nameParam = z.object({ name: z.string().min(1).max(100) });
  const itemParam = z.object({ name: z.string().min(1).max(100), id: z.string().min(1).max(64) });
  const windowQuery = z.object({ from: queryInstant.optional(), to: queryInstant.optional() });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/schedules', auth: 'viewer', tags,
    summary: 'List on-call schedules with their layers.',
    response: z.object({ schedules: z.array(scheduleSchema) }),
    handler: async () => ({ schedules: await schedules.list() }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/schedules/:name', auth: 'viewer', tags,
    summary: 'One schedule.',
    params: nameParam,
    response: z.object({ schedule: scheduleSchema }),
    handler: async ({ params }) => ({ schedule: await schedules.get(params.name) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/schedules', auth: 'admin', tags, successStatus: 201,
    summary: 'Create a schedule; layer members are user emails. 400 invalid_schedule lists what the layers get wrong.',
    body: scheduleCreateSchema,
    response: z.object({ schedule: scheduleSchema }),
    handler: async ({ body }) => ({ schedule: await schedules.create(body) }),
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/schedules/:name', auth: 'admin', tags,
    summary: 'Rename a schedule or change its description, time zone or layers (layers are replaced as a whole).',
    params: nameParam,
    body: schedulePatchSchema,
    response: z.object({ schedule: scheduleSchema }),
    handler: async ({ params, body }) => ({ schedule: await schedules.update(params.name, body) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/schedules/:name', auth: 'admin', tags,
    summary: 'Delete a schedule with its overrides, swaps and calendar feed.',
    params: nameParam,
    handler: async ({ params }) => {
      await schedules.remove(params.name);
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/schedules/:name/render', auth: 'viewer', tags,
    summary: 'Who is on call over [from, to) (default: the next 7 days; at most 93): final entries, each layer, overrides and gaps.',
    params: nameParam,
    query: windowQuery,
    response: renderSchema,
    handler: async ({ params, query }) => schedules.render(params.name, query),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/oncall', auth: 'viewer', tags,
    summary: 'Who is on call now (or at `at`) on every schedule (or one), until when, and gaps in the next 7 days.',
    query: z.object({ schedule: z.string().min(1).max(100).optional(), at: queryInstant.optional() }),
    response: oncallSchema,
    handler: async ({ query }) => schedules.onCall(query),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/schedules/:name/overrides', auth: 'viewer', tags,
    summary: 'Overrides overlapping [from, to) (default: from now on), oldest first; later ones stack on top.',
    params: nameParam,
    query: windowQuery,
    response: z.object({ overrides: z.array(overrideSchema) }),
    handler: async ({ params, query }) => ({ overrides: await schedules.listOverrides(params.name, query) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/schedules/:name/overrides', auth: 'responder', tags, successStatus: 201,
    summary: 'Put someone on call for a while (at most 90 days), replacing everyone or only `replaces`.',
    params: nameParam,
    body: overrideCreateSchema,
    response: z.object({ override: overrideSchema }),
    handler: async ({ params, body, principal }) => ({ override: await schedules.createOverride(params.name, body, principal) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/schedules/:name/overrides/:id', auth: 'responder', tags,
    summary: 'Delete an override.',
    params: itemParam,
    handler: async ({ params }) => {
      await schedules.deleteOverride(params.name, params.id);
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/schedules/:name/swaps', auth: 'viewer', tags,
    summary: 'Shift swaps offered on this schedule, by start.',
    params: nameParam,
    response: z.object({ swaps: z.array(swapSchema) }),
    handler: async ({ params }) => ({ swaps: await schedules.listSwaps(params.name) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/schedules/:name/swaps', auth: 'responder', tags, successStatus: 201,
    summary: "Offer part of your own shift; 409 not_on_call unless you are on call for all of it.",
    params: nameParam,
    body: swapCreateSchema,
    response: z.object({ swap: swapSchema }),
    handler: async ({ params, body, principal }) => ({ swap: await schedules.requestSwap(params.name, body, principal) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/schedules/:name/swaps/:id/take', auth: 'responder', tags,
    summary: "Take someone else's open swap: you replace them with an override for its window.",
    params: itemParam,
    response: z.object({ swap: swapSchema }),
    handler: async ({ params, principal }) => ({ swap: await schedules.takeSwap(params.name, params.id, principal) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/schedules/:name/swaps/:id/cancel', auth: 'responder', tags,
    summary: 'Withdraw an open swap (its requester, or an admin).',
    params: itemParam,
    response: z.object({ swap: swapSchema }),
    handler: async ({ params, principal }) => ({ swap: await schedules.cancelSwap(params.name, params.id, principal) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/schedules/:name/feed', auth: 'viewer', tags,
    summary: "The schedule's secret iCal URL (null until created).",
    params: nameParam,
    response: feedSchema,
    handler: async ({ params }) => schedules.scheduleFeed(params.name),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/schedules/:name/feed', auth: 'admin', tags,
    summary: "Create or rotate the schedule's secret iCal URL; the previous URL stops working.",
    params: nameParam,
    response: feedSchema,
    handler: async ({ params }) => schedules.rotateScheduleFeed(params.name),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/users/me/feed', auth: 'viewer', tags,
    summary: 'Your secret iCal URL with your shifts on every schedule (null until created).',
    response: feedSchema,
    handler: async ({ principal }) => schedules.userFeed(principal),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/users/me/feed', auth: 'viewer', tags,
    summary: 'Create or rotate your secret iCal URL; the previous URL stops working.',
    response: feedSchema,
    handler: async ({ principal }) => schedules.rotateUserFeed(principal),
  });

  // The key in the path is the credential (calendar apps cannot send headers), as with intake keys.
  apiRoute(app, routes, {
    method: 'GET', url: '/calendar/:file', auth: 'public', tags,
    summary: 'An iCal feed by its secret key: /calendar/{key}.ics, 30 days back to 180 days ahead.',
    params: z.object({ file: z.string().min(1).max(200) }),
    handler: async ({ params, reply }) => {
      const ics = await schedules.renderFeed(params.file);
      return reply.code(200).header('cache-control', 'private, max-age=300').type('text/calendar; charset=utf-8').send(ics);
    },
  });
}
