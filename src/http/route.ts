import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Role } from '../users/roles.ts';
import type { Principal } from '../users/users.service.ts';

/** `public` routes skip authentication; only those CONTRACTS.md lists as unauthenticated may use it. */
export type RouteAuth = 'public' | Role;

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteSpec<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, RS extends z.ZodType> {
  method: HTTPMethods;
  url: string;
  summary: string;
  tags?: string[];
  auth: RouteAuth;
  params?: PS;
  query?: QS;
  body?: BS;
  /** Allow-list of what the route may return; anything else is stripped. */
  response?: RS;
  successStatus?: number;
  handler: (ctx: RouteContext<z.output<PS>, z.output<QS>, z.output<BS>>) => Promise<z.input<RS> | undefined | void>;
}

/** Every API route registered through `apiRoute`, for the OpenAPI document and the auth-coverage test. */
export interface RegisteredRoute {
  method: string;
  url: string;
  summary: string;
  tags: string[];
  auth: RouteAuth;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  successStatus: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

function parseOrThrow<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError('validation_failed', 400, `invalid ${where}`, result.error.issues.map((i) => ({
      path: [where, ...i.path.map(String)].join('.'),
      message: i.message,
      code: i.code,
    })));
  }
  return result.data;
}

/**
 * Registers a JSON API route: validates params, query and body with zod, enforces the route's role
 * (authentication happens in the app's onRequest hook), runs the handler and filters the response.
 */
export function apiRoute<PS extends z.ZodType = z.ZodUndefined, QS extends z.ZodType = z.ZodUndefined, BS extends z.ZodType = z.ZodUndefined, RS extends z.ZodType = z.ZodUnknown>(
  app: FastifyInstance,
  registry: RegisteredRoute[],
  spec: RouteSpec<PS, QS, BS, RS>,
): void {
  registry.push({
    method: spec.method as string,
    url: spec.url,
    summary: spec.summary,
    tags: spec.tags ?? [],
    auth: spec.auth,
    params: spec.params,
    query: spec.query,
    body: spec.body,
    response: spec.response,
    successStatus: spec.successStatus ?? 200,
  });
  app.route({
    method: spec.method,
    url: spec.url,
    config: { auth: spec.auth },
    handler: async (request, reply) => {
      const params = parseOrThrow(spec.params, request.params, 'params');
      const query = parseOrThrow(spec.query, request.query, 'query');
      const body = parseOrThrow(spec.body, request.body, 'body');
      const result = await spec.handler({ params, query, body, principal: request.principal, request, reply });
      if (reply.sent) return reply;
      reply.code(spec.successStatus ?? 200);
      if (result === undefined) return reply.code(spec.successStatus ?? 204).send();
      return spec.response ? spec.response.parse(result) : result;
    },
  });
}

const toSchema = (s: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;

/** The OpenAPI 3.0 document, generated from the same zod schemas that validate requests. */
export function buildOpenApi(routes: RegisteredRoute[], info: { version: string; publicUrl: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const json = toSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, prop] of Object.entries(json.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: prop });
      }
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: r.tags,
      security: r.auth === 'public' ? [] : [{ bearerAuth: [] }, { sessionCookie: [] }],
      'x-firewatch-role': r.auth,
      parameters,
      responses: {
        [String(r.successStatus)]: r.response
          ? { description: 'OK', content: { 'application/json': { schema: toSchema(r.response, 'output') } } }
          : { description: 'OK' },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(r.body, 'input') } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Firewatch API', version: info.version },
    servers: [{ url: info.publicUrl }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'fw_session' },
      },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
              required: ['code', 'message'],
            },
          },
        },
      },
    },
  };
}
