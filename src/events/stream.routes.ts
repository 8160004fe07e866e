import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import type { EventBus } from './event-bus.ts';

const KEEPALIVE_MS = 20_000;

/**
 * `GET /api/v1/stream`: Server-Sent Events carrying live changes (incident.changed, timeline.appended)
 * after they commit. The browser's EventSource reconnects by itself; a client refetches on reconnect.
 */
export function registerStreamRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { bus: EventBus }) {
  // Streams never finish by themselves; end them on shutdown so the server can close.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/stream', auth: 'viewer', tags: ['live'],
    summary: 'Live changes as text/event-stream.',
    query: z.strictObject({}).optional(),
    handler: async ({ request, reply }) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n: connected\n\n`);
      const unsubscribe = deps.bus.subscribe((event) => {
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      const close = () => {
        clearInterval(keepalive);
        unsubscribe();
        open.delete(end);
      };
      const end = () => {
        close();
        res.end();
      };
      open.add(end);
      request.raw.on('close', close);
      res.on('error', close);
    },
  });
}
