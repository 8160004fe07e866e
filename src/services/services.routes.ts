import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import { roleAtLeast } from '../users/roles.ts';
import type { Principal } from '../users/users.service.ts';
import { integrationTypeSchema } from './integration-config.ts';
import { integrationSchema as integrationOut, serviceSchema as serviceOut } from './service.schemas.ts';
import { ackTimeoutSchema, integrationKeySchema, serviceNameSchema, type IntegrationView, type ServicesService } from './services.service.ts';

/** Intake keys let anyone raise alerts; viewers see them masked. */
function maskFor(principal: Principal | null, integration: IntegrationView): IntegrationView {
  if (principal && roleAtLeast(principal.role, 'responder')) return integration;
  const masked = `${integration.key.slice(0, 4)}${'•'.repeat(28)}`;
  return { ...integration, key: masked, url: integration.url.replace(integration.key, masked) };
}

const maskService = <T extends { integrations: IntegrationView[] }>(principal: Principal | null, s: T): T => ({ ...s, integrations: s.integrations.map((i) => maskFor(principal, i)) });

export function registerServicesRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { services: ServicesService; onIntegrationsChanged: () => void }) {
  const { services } = deps;
  const nameParam = z.object({ name: z.string().min(1).max(100) });
  const integrationParam = z.object({ name: z.string().min(1).max(100), integration: z.string().min(1).max(100) });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/services', auth: 'viewer', tags: ['services'],
    summary: 'List services with their integrations and intake URLs.',
    response: z.object({ services: z.array(serviceOut) }),
    handler: async ({ principal }) => ({ services: (await services.list()).map((s) => maskService(principal, s)) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/services/:name', auth: 'viewer', tags: ['services'],
    summary: 'One service.',
    params: nameParam,
    response: z.object({ service: serviceOut }),
    handler: async ({ params, principal }) => ({ service: maskService(principal, await services.get(params.name)) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/services', auth: 'admin', tags: ['services'], successStatus: 201,
    summary: 'Create a service.',
    body: z.strictObject({ name: serviceNameSchema, description: z.string().max(2000).optional() }),
    response: z.object({ service: serviceOut }),
    handler: async ({ body }) => ({ service: await services.create(body) }),
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/services/:name', auth: 'admin', tags: ['services'],
    summary: 'Rename a service or change its description or on-call settings (escalation_policy by name or null, ack_timeout_seconds 60–86400 or null, renotify_on_new_alerts).',
    params: nameParam,
    body: z.strictObject({
      name: serviceNameSchema.optional(), description: z.string().max(2000).optional(),
      escalation_policy: z.string().min(1).max(100).nullable().optional(), ack_timeout_seconds: ackTimeoutSchema.optional(), renotify_on_new_alerts: z.boolean().optional(),
    }),
    response: z.object({ service: serviceOut }),
    handler: async ({ params, body }) => ({ service: await services.update(params.name, body) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/services/:name', auth: 'admin', tags: ['services'],
    summary: 'Delete a service that has no incidents.',
    params: nameParam,
    handler: async ({ params }) => {
      await services.remove(params.name);
      deps.onIntegrationsChanged();
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/services/:name/integrations', auth: 'admin', tags: ['services'], successStatus: 201,
    summary: 'Add an integration (pagerduty, alertmanager, webhook or heartbeat); the key is generated unless given.',
    params: nameParam,
    body: z.strictObject({ name: z.string().trim().min(1).max(100), type: integrationTypeSchema, key: integrationKeySchema.optional(), config: z.record(z.string(), z.unknown()).optional() }),
    response: z.object({ integration: integrationOut }),
    handler: async ({ params, body }) => {
      const integration = await services.addIntegration(params.name, body);
      deps.onIntegrationsChanged();
      return { integration };
    },
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/services/:name/integrations/:integration', auth: 'admin', tags: ['services'],
    summary: "Rename an integration or change its config (webhook mapping, heartbeat interval).",
    params: integrationParam,
    body: z.strictObject({ name: z.string().trim().min(1).max(100).optional(), config: z.record(z.string(), z.unknown()).optional() }),
    response: z.object({ integration: integrationOut }),
    handler: async ({ params, body }) => {
      const integration = await services.updateIntegration(params.name, params.integration, body);
      deps.onIntegrationsChanged();
      return { integration };
    },
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/services/:name/integrations/:integration', auth: 'admin', tags: ['services'],
    summary: 'Delete an integration; its key stops working.',
    params: integrationParam,
    handler: async ({ params }) => {
      await services.removeIntegration(params.name, params.integration);
      deps.onIntegrationsChanged();
    },
  });
}
