import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, badRequest } from '../errors.ts';
import { requirePrincipal } from '../http/principal.ts';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import { renderHtml, renderMarkdown } from './chat.export.ts';
import { channelNameSchema } from './chat.document.ts';
import {
  channelOutSchema, channelParams, chatFileSchema, chatMessageSchema, messageParams, messagesQuery, postBody, summarySchema,
} from './chat.schemas.ts';
import { authorOf, type ChatServiceImpl, MAX_FILE_BYTES } from './chat.service.ts';
import type { ChatMessage } from './chat.types.ts';
import type { Principal } from '../users/users.service.ts';

/** The caller's line: a `/command` goes to the command runner; anything else is a message. */
export async function postLine(chat: ChatServiceImpl, channel: string, principal: Principal, text: string, fileIds: string[] = [], via = 'web'): Promise<{ message: ChatMessage; reply?: ChatMessage }> {
  const trimmed = text.trim();
  if (!trimmed.startsWith('/') || trimmed.startsWith('//')) {
    return { message: await chat.post({ channel, author: authorOf(principal), text, fileIds }) };
  }
  const runner = chat.commandRunner;
  if (!runner) throw badRequest('commands_unavailable', 'chat commands are not available on this server');
  const row = await chat.channelByName(channel);
  const message = await chat.post({ channel, author: authorOf(principal), text: trimmed, kind: 'command', fileIds });
  let result: Awaited<ReturnType<typeof runner>>;
  try {
    result = await runner(trimmed, { principal, channel, incidentNumber: row.incident_number === null ? null : Number(row.incident_number), via });
  } catch (error) {
    const failure = error instanceof AppError && error.expose ? `${error.message} (${error.code})` : 'the command failed; see the server log';
    if (!(error instanceof AppError) || error.status >= 500) chat.log.error({ err: error, channel }, 'chat command failed');
    result = { text: failure, visibility: 'caller' };
  }
  const userId = principal.userId ?? principal.id;
  if (result.visibility === 'channel') {
    const reply = await chat.post({
      channel, author: { type: 'bot', id: null, name: 'Firewatch' }, text: result.text, kind: 'reply',
      attachments: result.attachments, fileIds: (result.files ?? []).map((f) => f.id),
    });
    return { message, reply };
  }
  const reply = chat.ephemeralMessage(channel, userId, result.text, { attachments: result.attachments, files: result.files });
  chat.ephemeral(channel, userId, result.text, { attachments: result.attachments, files: result.files });
  return { message, reply };
}

/** Content-Disposition with an ASCII fallback and the UTF-8 name. */
function disposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\;]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function registerChatRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { chat: ChatServiceImpl; onlineIn: (channel: string) => { id: string; name: string }[] }) {
  const { chat } = deps;
  const messageOut = z.object({ message: chatMessageSchema });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/channels', auth: 'viewer', tags: ['chat'],
    summary: 'Channels (team channels first, then incident channels, newest first), with your unread count.',
    query: z.object({ kind: z.enum(['team', 'incident']).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) }),
    response: z.object({ channels: z.array(channelOutSchema) }),
    handler: async ({ query, principal }) => ({ channels: await chat.listChannels(requirePrincipal(principal), query) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/channels', auth: 'responder', tags: ['chat'], successStatus: 201,
    summary: 'Create a team channel.',
    body: z.strictObject({ name: channelNameSchema, topic: z.string().max(500).optional() }),
    response: channelOutSchema,
    handler: async ({ body }) => chat.createTeamChannel(body),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/channels/:name', auth: 'viewer', tags: ['chat'],
    summary: 'One channel, its pinned incident summary (incident channels) and who is in the room now.',
    params: channelParams,
    response: z.object({ channel: channelOutSchema, summary: summarySchema.nullable(), members_online: z.array(z.object({ id: z.string(), name: z.string() })) }),
    handler: async ({ params, principal }) => ({
      channel: await chat.getChannel(params.name, requirePrincipal(principal)),
      summary: await chat.summary(params.name),
      members_online: deps.onlineIn(params.name),
    }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/channels/:name/messages', auth: 'viewer', tags: ['chat'],
    summary: 'Messages, ascending. after_seq=N returns everything created, edited or deleted after N (resume); otherwise the newest (before before_seq).',
    params: channelParams,
    query: messagesQuery,
    response: z.object({ messages: z.array(chatMessageSchema), has_more: z.boolean(), last_seq: z.number() }),
    handler: async ({ params, query }) => chat.messages(params.name, { afterSeq: query.after_seq, beforeSeq: query.before_seq, limit: query.limit, kind: query.kind }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/channels/:name/messages', auth: 'responder', tags: ['chat'], successStatus: 201,
    summary: 'Post Markdown text (and files stored with POST /api/v1/files); a line starting with / runs a chat command.',
    params: channelParams,
    body: postBody,
    response: z.object({ message: chatMessageSchema, reply: chatMessageSchema.optional() }),
    handler: async ({ params, body, principal }) => postLine(chat, params.name, requirePrincipal(principal), body.text, body.file_ids ?? [], 'api'),
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/channels/:name/messages/:id', auth: 'responder', tags: ['chat'],
    summary: 'Edit your own message; the earlier text stays in its history.',
    params: messageParams,
    body: z.strictObject({ text: z.string().max(40_000) }),
    response: messageOut,
    handler: async ({ params, body, principal }) => ({ message: await chat.edit(params.name, params.id, requirePrincipal(principal), body.text) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/channels/:name/messages/:id', auth: 'responder', tags: ['chat'],
    summary: 'Delete a message (its author, or an admin); the text stays in its history.',
    params: messageParams,
    response: messageOut,
    handler: async ({ params, principal }) => ({ message: await chat.remove(params.name, params.id, requirePrincipal(principal)) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/channels/:name/messages/:id/history', auth: 'viewer', tags: ['chat'],
    summary: 'A message and its earlier texts (edits and deletion), oldest first.',
    params: messageParams,
    response: z.object({
      message: chatMessageSchema,
      revisions: z.array(z.object({ version_seq: z.number(), text: z.string(), change: z.enum(['edited', 'deleted']), changed_by: z.string(), changed_at: z.string() })),
    }),
    handler: async ({ params, principal }) => chat.history(params.name, params.id, requirePrincipal(principal)),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/channels/:name/read', auth: 'viewer', tags: ['chat'],
    summary: 'Mark the channel read up to seq (the marker never moves back).',
    params: channelParams,
    body: z.strictObject({ seq: z.number().int().min(0) }),
    response: z.object({ channel: z.string(), seq: z.number(), unread: z.number() }),
    handler: async ({ params, body, principal }) => chat.markRead(params.name, requirePrincipal(principal), body.seq),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/messages/search', auth: 'viewer', tags: ['chat'],
    summary: 'Messages containing the text (case-insensitive), newest first, in one channel or all.',
    query: z.object({ q: z.string().trim().min(1).max(200), channel: channelNameSchema.optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    response: z.object({ results: z.array(z.object({ message: chatMessageSchema, channel: channelOutSchema })) }),
    handler: async ({ query }) => ({ results: await chat.search(query) }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/files/:id', auth: 'viewer', tags: ['chat'],
    summary: 'A stored file; images inline, other types as a download, always sandboxed.',
    params: z.object({ id: z.string().min(1).max(100) }),
    handler: async ({ params, reply }) => {
      const { file, data } = await chat.file(params.id);
      const image = file.content_type.startsWith('image/');
      return reply
        .header('content-type', file.content_type === 'text/plain' ? 'text/plain; charset=utf-8' : file.content_type)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', 'sandbox')
        .header('cache-control', 'private, max-age=86400, immutable')
        .header('content-disposition', disposition(image ? 'inline' : 'attachment', file.name))
        .send(data);
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/channels/:name/export', auth: 'viewer', tags: ['chat'],
    summary: 'The whole channel (messages, bot events, images) as Markdown or one self-contained offline HTML file.',
    params: channelParams,
    query: z.object({ format: z.enum(['markdown', 'html']).default('markdown') }),
    handler: async ({ params, query, reply }) => {
      const data = await chat.exportData(params.name);
      const html = query.format === 'html';
      const body = html ? renderHtml(data) : renderMarkdown(data);
      return reply
        .header('content-type', html ? 'text/html; charset=utf-8' : 'text/markdown; charset=utf-8')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', 'sandbox')
        .header('content-disposition', disposition('attachment', `${params.name}.${html ? 'html' : 'md'}`))
        .send(body);
    },
  });

  // Uploads: the raw body, whatever its type (checked against the allowed list), up to 5 MB.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_FILE_BYTES }, (_request, body, done) => done(null, body));
    apiRoute(raw, routes, {
      method: 'POST', url: '/api/v1/files', auth: 'responder', tags: ['chat'], successStatus: 201,
      summary: 'Store a file (PNG, JPEG, GIF, WebP, plain text or PDF, at most 5 MB) to attach to a message; send the bytes with their Content-Type.',
      query: z.object({ name: z.string().trim().min(1).max(200).default('file'), alt: z.string().max(500).optional() }),
      response: chatFileSchema,
      handler: async ({ query, request, principal }) => {
        const body = request.body;
        if (!Buffer.isBuffer(body)) throw badRequest('empty_file', 'send the file as the request body');
        const contentType = request.headers['content-type'] ?? '';
        return chat.storeFile({ name: query.name, contentType, data: body, alt: query.alt ?? null, uploadedBy: requirePrincipal(principal).userId });
      },
    });
  });
}
