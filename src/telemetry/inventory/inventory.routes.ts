import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import type { InventoryService } from './inventory.service.ts';

export const hostOutSchema = z.object({
  id: z.string(),
  provider: z.string(),
  provider_type: z.string(),
  external_id: z.string(),
  name: z.string(),
  addresses: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  updated_at: z.string(),
  seen_at: z.string(),
});

export const providerOutSchema = z.object({
  name: z.string(),
  type: z.string(),
  hosts: z.number(),
  refresh_seconds: z.number().nullable(),
  last_refresh_at: z.string().nullable(),
  last_error: z.string().nullable(),
});

const stringOrList = z.union([z.string().max(1000), z.array(z.string().max(1000)).max(50)]);
const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Host inventory: search, look-ups by selector, providers and their refresh. */
export function registerInventoryRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { inventory: InventoryService }) {
  const { inventory } = deps;

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/hosts', auth: 'viewer', tags: ['inventory'],
    summary: 'Hosts of every inventory provider; q matches words of names, ids, addresses and labels; label=k=v (repeatable) filters exactly.',
    query: z.object({
      q: z.string().max(500).optional(),
      label: stringOrList.optional(),
      provider: z.string().max(100).optional(),
      limit: z.coerce.number().int().min(1).max(5000).default(500),
    }),
    response: z.object({ hosts: z.array(hostOutSchema), total: z.number() }),
    handler: async ({ query }) => inventory.list({ q: query.q, labels: asList(query.label), provider: query.provider, limit: query.limit }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/hosts/find', auth: 'viewer', tags: ['inventory'],
    summary: 'Which host is it? q holds selectors (kind=object4, name=web-1, instance=10.0.0.4:9100, provider=aws, bare words); other query parameters are key=value selectors too. Every selector must match.',
    query: z.record(z.string(), stringOrList),
    response: z.object({ hosts: z.array(hostOutSchema), selectors: z.string() }),
    handler: async ({ query }) => {
      const terms: string[] = [];
      for (const [key, value] of Object.entries(query)) {
        for (const v of asList(value)) terms.push(key === 'q' ? v : `${key}="${v.replaceAll('"', '')}"`);
      }
      const text = terms.join(' ');
      return { hosts: await inventory.find(text), selectors: text };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/hosts/:id', auth: 'viewer', tags: ['inventory'],
    summary: 'One host by its Firewatch id.',
    params: z.object({ id: z.string().min(1).max(100) }),
    response: z.object({ host: hostOutSchema }),
    handler: async ({ params }) => ({ host: await inventory.get(params.id) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/inventory', auth: 'viewer', tags: ['inventory'],
    summary: 'Inventory providers with their host counts and last refresh.',
    response: z.object({ providers: z.array(providerOutSchema) }),
    handler: async () => ({ providers: await inventory.providers() }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/inventory/:name/refresh', auth: 'responder', tags: ['inventory'],
    summary: 'Re-discover a provider\'s hosts now (Prometheus targets, EC2 DescribeInstances; static hosts are re-read from the applied file).',
    params: z.object({ name: z.string().min(1).max(100) }),
    response: z.object({ provider: providerOutSchema }),
    handler: async ({ params }) => ({ provider: await inventory.refresh(params.name) }),
  });
}
