import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import { policyCreateSchema, policyOutSchema, policyPatchSchema } from './policy.schemas.ts';
import type { PoliciesService } from './policies.service.ts';

export function registerPoliciesRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { policies: PoliciesService }) {
  const { policies } = deps;
  const nameParam = z.object({ name: z.string().min(1).max(100) });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/escalation-policies', auth: 'viewer', tags: ['escalation-policies'],
    summary: 'List escalation policies with their levels, targets and the services using them.',
    response: z.object({ escalation_policies: z.array(policyOutSchema) }),
    handler: async () => ({ escalation_policies: await policies.list() }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/escalation-policies/:name', auth: 'viewer', tags: ['escalation-policies'],
    summary: 'One escalation policy, by name or id.',
    params: nameParam,
    response: z.object({ escalation_policy: policyOutSchema }),
    handler: async ({ params }) => ({ escalation_policy: await policies.get(params.name) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/escalation-policies', auth: 'admin', tags: ['escalation-policies'], successStatus: 201,
    summary: 'Create an escalation policy: levels of users ({type: user, email}) and schedules ({type: schedule, name}), each waiting delay_minutes before the next.',
    body: policyCreateSchema,
    response: z.object({ escalation_policy: policyOutSchema }),
    handler: async ({ body }) => ({ escalation_policy: await policies.create(body) }),
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/escalation-policies/:name', auth: 'admin', tags: ['escalation-policies'],
    summary: 'Rename a policy or change its description, repeat count or levels (levels are replaced as a whole).',
    params: nameParam,
    body: policyPatchSchema,
    response: z.object({ escalation_policy: policyOutSchema }),
    handler: async ({ params, body }) => ({ escalation_policy: await policies.update(params.name, body) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/escalation-policies/:name', auth: 'admin', tags: ['escalation-policies'],
    summary: 'Delete a policy no service uses (409 policy_in_use otherwise).',
    params: nameParam,
    handler: async ({ params }) => {
      await policies.remove(params.name);
    },
  });
}
