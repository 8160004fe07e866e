import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import { type ApplyService, parseConfigYaml } from './apply.service.ts';

export function registerConfigRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { apply: ApplyService }) {
  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/config/apply', auth: 'admin', tags: ['config'],
    summary: 'Apply a declarative YAML document (as `firewatch apply -f`); all or nothing.',
    body: z.strictObject({ yaml: z.string().max(5_000_000) }),
    response: z.object({ created: z.array(z.string()), updated: z.array(z.string()), unchanged: z.array(z.string()) }),
    handler: async ({ body }) => deps.apply.apply(parseConfigYaml(body.yaml)),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/config/export', auth: 'admin', tags: ['config'],
    summary: 'The current resources as YAML that apply accepts (contains integration keys).',
    response: z.object({ yaml: z.string() }),
    handler: async () => ({ yaml: deps.apply.exportYaml(await deps.apply.exportDocument()) }),
  });
}
