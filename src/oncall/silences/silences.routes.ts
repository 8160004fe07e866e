import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../http/principal.ts';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import { SILENCE_STATES, silenceCreateSchema, silenceOutSchema, silencePatchSchema } from './silence.schemas.ts';
import type { SilencesService } from './silences.service.ts';

/** Silences: responders may create and change them, as in Alertmanager; everyone signed in may read them. */
export function registerSilencesRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { silences: SilencesService }) {
  const { silences } = deps;
  const refParam = z.object({ id: z.string().min(1).max(100) });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/silences', auth: 'viewer', tags: ['silences'],
    summary: 'List silences, optionally only those active now, pending (starting later) or expired.',
    query: z.object({ state: z.enum(SILENCE_STATES).optional() }),
    response: z.object({ silences: z.array(silenceOutSchema) }),
    handler: async ({ query }) => ({ silences: await silences.list(query.state) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/silences/:id', auth: 'viewer', tags: ['silences'],
    summary: 'One silence, by id or name.',
    params: refParam,
    response: z.object({ silence: silenceOutSchema }),
    handler: async ({ params }) => ({ silence: await silences.get(params.id) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/silences', auth: 'responder', tags: ['silences'], successStatus: 201,
    summary: 'Silence alerts that match every matcher, from starts_at (default now) to ends_at, optionally only in recurring windows.',
    body: silenceCreateSchema,
    response: z.object({ silence: silenceOutSchema }),
    handler: async ({ body, principal }) => ({ silence: await silences.create(body, actorOf(principal).name) }),
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/silences/:id', auth: 'responder', tags: ['silences'],
    summary: 'Change a silence (by id or name); set ends_at to now to expire it.',
    params: refParam,
    body: silencePatchSchema,
    response: z.object({ silence: silenceOutSchema }),
    handler: async ({ params, body }) => ({ silence: await silences.update(params.id, body) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/silences/:id', auth: 'responder', tags: ['silences'],
    summary: 'Delete a silence (by id or name).',
    params: refParam,
    handler: async ({ params }) => {
      await silences.remove(params.id);
    },
  });
}
