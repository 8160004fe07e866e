import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authorOf } from '../chat/chat.service.ts';
import type { ChatService } from '../chat/chat.types.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import type { FeatureLog } from '../features/module.ts';
import { requirePrincipal } from '../http/principal.ts';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import { roleAtLeast } from '../users/roles.ts';
import { describe } from './builtins.ts';
import type { CommandRegistry } from './command.types.ts';
import { incidentOfChannel } from './registry.ts';

export const commandInfoSchema = z.object({
  name: z.string(),
  aliases: z.array(z.string()),
  summary: z.string(),
  usage: z.string(),
  examples: z.array(z.string()),
  effect: z.enum(['read', 'write', 'destructive']),
  role: z.enum(['viewer', 'responder', 'admin']),
  confirm: z.boolean(),
});

const fileSchema = z.object({ id: z.string(), name: z.string(), content_type: z.string(), size: z.number(), link: z.string().nullish(), alt: z.string().nullish() });

export const commandResultSchema = z.object({
  text: z.string(),
  visibility: z.enum(['channel', 'caller']),
  files: z.array(fileSchema),
  data: z.unknown().optional(),
  /** Whether the result was posted to the given channel (false when it was meant for the caller only). */
  posted: z.boolean(),
});

const BOT = { type: 'bot' as const, id: null, name: 'Firewatch' };
const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,79}$/;

/** The command registry over HTTP: what the caller may run, and running one line (the CLI uses it). */
export function registerCommandsRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { registry: CommandRegistry; chat: ChatService; clock: Clock; log: FeatureLog }) {
  const { registry, chat } = deps;

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/commands', auth: 'viewer', tags: ['commands'],
    summary: 'The commands the caller may run (what /help lists), with usage, examples, effect and the role each needs.',
    response: z.object({ commands: z.array(commandInfoSchema) }),
    handler: async ({ principal }) => ({ commands: registry.list(requirePrincipal(principal)).map(describe) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/commands', auth: 'viewer', tags: ['commands'],
    summary: 'Run one command line (`/ack 12`, `/graph up 1h`) as the caller. With `channel`, it runs in that channel (an incident channel gives the incident) and is posted there as in chat. Destructive commands need `confirm: true`; each command checks its own role.',
    body: z.strictObject({
      line: z.string().min(1).max(4000),
      channel: z.string().regex(CHANNEL_NAME, 'a channel name: lower-case letters, digits, - and _').optional(),
      confirm: z.boolean().default(false),
      via: z.enum(['api', 'cli']).default('api'),
    }),
    response: commandResultSchema,
    handler: async ({ body, principal }) => {
      const p = requirePrincipal(principal);
      const channel = body.channel ?? null;
      const ctx = { principal: p, channel, incidentNumber: incidentOfChannel(channel), via: body.via, now: deps.clock.now() };
      // In a channel, the line itself is posted first, as the war room does (it also checks the channel exists);
      // posting in channels is for responders, as in the war room.
      if (channel) {
        if (!roleAtLeast(p.role, 'responder')) throw new AppError('forbidden', 403, `posting in a channel needs the responder role; you have ${p.role} (leave out "channel" to run it for yourself)`);
        await chat.post({ channel, author: authorOf(p), text: body.line.trim(), kind: 'command' });
      }
      const result = await registry.run(body.line, ctx, { confirmed: body.confirm });
      let posted = false;
      if (channel) {
        if (result.visibility === 'channel' && !result.error) {
          await chat.post({ channel, author: BOT, text: result.text, kind: 'reply', attachments: result.attachments, fileIds: result.files?.map((f) => f.id) });
          posted = true;
        } else {
          chat.ephemeral(channel, p.userId ?? p.id, result.text, { attachments: result.attachments, files: result.files });
        }
      }
      if (result.error) {
        throw new AppError(result.error.code, result.error.status, result.text, result.data === undefined ? undefined : { data: result.data });
      }
      return { text: result.text, visibility: result.visibility, files: result.files ?? [], data: result.data, posted };
    },
  });
}
