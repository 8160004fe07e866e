import { createGunzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authorOf } from '../../chat/chat.service.ts';
import type { ChatService } from '../../chat/chat.types.ts';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import { roleAtLeast } from '../../users/roles.ts';
import type { UsersService } from '../../users/users.service.ts';
import type { LogIngest } from './log.ingest.ts';
import { decodeJsonLines, decodeLokiJson, decodeLokiProtobuf } from './log.formats.ts';
import { DEFAULT_LIMIT, type LogStoreImpl, MAX_LIMIT, type TailCatchUp } from './log.store.ts';
import { parseLogQuery } from './log.query.ts';
import type { LogLine } from './log.types.ts';

const INGEST_BODY_LIMIT = 16 * 1024 * 1024;
const TAIL_POLL_MS = 1000;
const TAIL_BATCH = 500;
/** A resuming tail replays at most this many missed lines (the newest), then a `gap` event says older ones were left out. */
export const TAIL_CATCH_UP = 1000;
/** Each tail polls the store every second: a person (or token) may hold this many at once. */
export const MAX_TAILS_PER_PRINCIPAL = 5;
const KEEPALIVE_MS = 20_000;
const DEFAULT_RANGE_MS = 60 * 60_000;
/** The dashboard link shows this much either side of a line. */
const DASHBOARD_WINDOW_MS = 15 * 60_000;
const SHARE_MAX_LINES = 50;
const SHARE_MAX_CHARS = 3500;

const timeParam = z.string().max(40).optional().describe('RFC 3339 time, Unix seconds/ms, or relative like now-15m');

/** `now`, `now-15m`, RFC 3339 or epoch seconds/ms. */
export function parseTimeParam(value: string | undefined, fallback: Date, now: Date, name: string): Date {
  if (value === undefined || value === '') return fallback;
  const rel = /^now(?:-(\d+)([smhdw]))?$/.exec(value);
  if (rel) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2] ?? 's'] ?? 1000;
    return new Date(now.getTime() - Number(rel[1] ?? 0) * unit);
  }
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    return new Date(n < 1e11 ? n * 1000 : n);
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new AppError('bad_log_query', 400, `${name} must be an RFC 3339 time, a Unix timestamp or now-<n><s|m|h|d|w>`);
  return new Date(t);
}

const lineOut = z.object({
  id: z.string(), time: z.string(), host: z.string().nullable(), app: z.string().nullable(), service: z.string().nullable(),
  severity: z.string().nullable(), message: z.string(),
  /** The service's dashboard around this line's time (null without a service). */
  dashboard_url: z.string().nullable(),
});
export type LogLineOut = z.infer<typeof lineOut>;

export function dashboardUrl(line: LogLine): string | null {
  if (!line.service) return null;
  const t = Date.parse(line.time);
  const from = new Date(t - DASHBOARD_WINDOW_MS).toISOString();
  const to = new Date(t + DASHBOARD_WINDOW_MS).toISOString();
  return `/services/${encodeURIComponent(line.service)}/dashboard?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
}

const present = (l: LogLine): LogLineOut => ({ id: l.id, time: l.time, host: l.host, app: l.app, service: l.service, severity: l.severity, message: l.message, dashboard_url: dashboardUrl(l) });

/**
 * Where a tail resumes: the Last-Event-ID the browser's EventSource sends when it reconnects by itself (the seq in
 * the stream's last `id:`), else `?after_seq=` (a client reconnecting by hand); undefined starts at the newest line.
 */
function resumePoint(header: string | string[] | undefined, afterSeq: number | undefined): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') return afterSeq;
  if (!/^\d{1,15}$/.test(value)) throw new AppError('bad_last_event_id', 400, 'Last-Event-ID must be the id of an event this stream sent (a line seq)');
  return Number(value);
}

const linesEvent = (seq: number, lines: LogLine[]) => `id: ${seq}\nevent: lines\ndata: ${JSON.stringify({ lines: lines.map(present) })}\n\n`;
const gapEvent = (skipped: NonNullable<TailCatchUp['skipped']>) =>
  `event: gap\ndata: ${JSON.stringify({ after_seq: skipped.afterSeq, before_seq: skipped.beforeSeq, max_lines: TAIL_CATCH_UP })}\n\n`;

export interface LogsRouteDeps {
  store: LogStoreImpl;
  ingest: LogIngest;
  clock: Clock;
  users: UsersService;
  publicUrl: string;
  chat: () => ChatService | undefined;
  retention: { days: number; maxBytes: number };
  onIngested?(count: number, transport: 'http' | 'loki'): void;
}

/** Search, live tail, share, stats: in the authenticated API context. */
export function registerLogsApi(app: FastifyInstance, routes: RegisteredRoute[], deps: LogsRouteDeps) {
  const { store, clock } = deps;
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });
  /** Open tails per user (or per token without a user). */
  const tails = new Map<string, number>();

  const range = (q: { from?: string; to?: string }) => {
    const now = clock.now();
    const to = parseTimeParam(q.to, new Date(now.getTime() + 1000), now, 'to');
    const from = parseTimeParam(q.from, new Date(to.getTime() - DEFAULT_RANGE_MS), now, 'from');
    return { from, to };
  };

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/logs/search', auth: 'viewer', tags: ['logs'],
    summary: 'Search stored log lines: terms, "phrases", -negation, host:/app:/service:/severity: filters; newest first.',
    query: z.object({ q: z.string().max(2000).default(''), from: timeParam, to: timeParam, limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT) }),
    response: z.object({ lines: z.array(lineOut), truncated: z.boolean(), from: z.string(), to: z.string() }),
    handler: async ({ query }) => {
      const { from, to } = range(query);
      const result = await store.search({ query: query.q, from, to, limit: query.limit });
      return { lines: result.lines.map(present), truncated: result.truncated, from: from.toISOString(), to: to.toISOString() };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/logs/stats', auth: 'viewer', tags: ['logs'],
    summary: 'How many lines and message bytes the store holds, and its retention.',
    response: z.object({ lines: z.number(), bytes: z.number(), retention_days: z.number(), max_bytes: z.number() }),
    handler: async () => ({ ...(await store.stats()), retention_days: deps.retention.days, max_bytes: deps.retention.maxBytes }),
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/logs/tail', auth: 'viewer', tags: ['logs', 'live'],
    summary: 'Live tail as text/event-stream: `lines` events (id: the seq read up to) with new matching lines (time filters do not apply). '
      + `A reconnect with Last-Event-ID (or ?after_seq=) first replays what was missed, at most ${TAIL_CATCH_UP} lines, then a \`gap\` event if more were; `
      + `at most ${MAX_TAILS_PER_PRINCIPAL} tails per user (429 too_many_tails).`,
    query: z.object({
      q: z.string().max(2000).default(''),
      after_seq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('resume after this line seq (a Last-Event-ID header wins)'),
    }),
    handler: async ({ query, request, reply, principal }) => {
      parseLogQuery(query.q); // a bad query answers 400 before the stream starts
      const resume = resumePoint(request.headers['last-event-id'], query.after_seq);
      const who = principal?.userId ?? principal?.id ?? '';
      const held = tails.get(who) ?? 0;
      if (held >= MAX_TAILS_PER_PRINCIPAL) {
        throw new AppError('too_many_tails', 429, `at most ${MAX_TAILS_PER_PRINCIPAL} live tails may be open at once; close one (another tab?) first`);
      }
      // Counted before the first await, so concurrent requests cannot all pass the check.
      tails.set(who, held + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const n = (tails.get(who) ?? 1) - 1;
        if (n > 0) tails.set(who, n);
        else tails.delete(who);
      };
      let start: TailCatchUp;
      try {
        start = resume === undefined
          ? { lines: [], seq: await store.newestSeq(), more: false, skipped: null }
          : await store.tailCatchUp(query.q, resume, TAIL_CATCH_UP);
      } catch (error) {
        release();
        throw error;
      }
      let seq = start.seq;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no',
      });
      // The id from the start: a reconnect before the first line still resumes here rather than at "now".
      res.write(`retry: 2000\nid: ${seq}\n: connected\n\n`);
      if (start.skipped) res.write(gapEvent(start.skipped));
      if (start.lines.length > 0) res.write(linesEvent(seq, start.lines));
      let closed = false;
      let timer: NodeJS.Timeout | undefined;
      const poll = async () => {
        try {
          for (;;) {
            const slice = await store.tailAfter(query.q, seq, TAIL_BATCH);
            if (closed) break;
            if (slice.lines.length > 0) res.write(linesEvent(slice.seq, slice.lines));
            seq = slice.seq;
            if (!slice.more) break;
          }
        } catch (error) {
          if (!closed) res.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
        }
        if (!closed) timer = setTimeout(() => void poll(), TAIL_POLL_MS);
      };
      timer = setTimeout(() => void poll(), TAIL_POLL_MS);
      // An id without data moves the client's Last-Event-ID past lines read without a match.
      const keepalive = setInterval(() => res.write(`id: ${seq}\n: keepalive\n\n`), KEEPALIVE_MS);
      const close = () => {
        closed = true;
        clearTimeout(timer);
        clearInterval(keepalive);
        open.delete(end);
        release();
      };
      const end = () => {
        close();
        res.end();
      };
      open.add(end);
      request.raw.on('close', close);
      res.on('close', close);
      res.on('error', close);
      // The client may have gone while the catch-up was read.
      if (res.destroyed || request.raw.socket.destroyed) close();
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/logs/share', auth: 'responder', tags: ['logs'],
    summary: 'Post a search result (the newest lines as a code block, and a link to the search) into a war-room channel.',
    body: z.strictObject({
      q: z.string().max(2000).default(''), from: timeParam, to: timeParam,
      channel: z.string().min(1).max(200), limit: z.number().int().min(1).max(SHARE_MAX_LINES).default(20),
    }),
    response: z.object({ message_id: z.string(), channel: z.string(), lines: z.number(), url: z.string() }),
    handler: async ({ body, principal }) => {
      if (!principal) throw new AppError('authentication_required', 401, 'sign in or send an API token');
      const chat = deps.chat();
      if (!chat) throw new AppError('chat_unavailable', 503, 'the war room is not available');
      const { from, to } = range(body);
      const result = await store.search({ query: body.q, from, to, limit: body.limit });
      const params = new URLSearchParams({ q: body.q, from: from.toISOString(), to: to.toISOString() });
      const url = `${deps.publicUrl.replace(/\/$/, '')}/logs?${params.toString()}`;
      let block = '';
      for (const l of result.lines.toReversed()) {
        const row = `${l.time} ${l.host ?? '-'} ${l.app ?? '-'}${l.severity ? ` ${l.severity}` : ''}: ${l.message.replace(/\n/g, ' ')}`.replace(/```/g, "'''");
        if (block.length + row.length > SHARE_MAX_CHARS) break;
        block += `${row}\n`;
      }
      const shown = block.split('\n').length - 1;
      const title = `Log search \`${body.q.replace(/`/g, "'") || '(everything)'}\` from ${from.toISOString()} to ${to.toISOString()}: `
        + `${result.lines.length}${result.truncated ? '+' : ''} line${result.lines.length === 1 ? '' : 's'}${shown < result.lines.length ? ` (${shown} shown)` : ''}`;
      const text = `${title}\n${block ? `\`\`\`\n${block}\`\`\`\n` : ''}${url}`;
      const message = await chat.post({
        channel: body.channel,
        // A token without a user posts as an integration, like the chat routes: never as a user with no id.
        author: authorOf(principal),
        text,
      });
      return { message_id: message.id, channel: message.channel, lines: result.lines.length, url };
    },
  });
}

/** Machine ingest: JSON lines and Loki push, authenticated by an API token (Bearer, or Basic with the token as password). */
export async function registerLogsIngest(app: FastifyInstance, deps: LogsRouteDeps) {
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (!header) throw new AppError('authentication_required', 401, 'send Authorization: Bearer <token> (or Basic with the token as password)');
      let token: string | undefined;
      const bearer = /^Bearer\s+(\S+)$/i.exec(header);
      const basic = /^Basic\s+(\S+)$/i.exec(header);
      if (bearer) token = bearer[1];
      else if (basic) {
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        token = colon >= 0 ? decoded.slice(colon + 1) || decoded.slice(0, colon) : decoded;
      }
      if (!token) throw new AppError('authentication_required', 401, 'use Authorization: Bearer <token> (or Basic with the token as password)');
      const principal = await deps.users.principalFromToken(token);
      if (!principal) throw new AppError('invalid_token', 401, 'the API token is unknown or revoked');
      if (!roleAtLeast(principal.role, 'responder')) throw new AppError('forbidden', 403, `this needs the responder role; you have ${principal.role}`);
      request.principal = principal;
    });
    scope.addHook('preParsing', async (request, _reply, payload) => {
      const encoding = request.headers['content-encoding'];
      if (!encoding || encoding === 'identity') return payload;
      if (encoding === 'gzip') {
        const gunzip = Object.assign(createGunzip(), { receivedEncodedLength: 0 });
        // Fastify compares Content-Length with the compressed bytes received, not the inflated ones.
        payload.on('data', (chunk: Buffer) => {
          gunzip.receivedEncodedLength += chunk.length;
        });
        payload.on('error', (e) => gunzip.destroy(e));
        return payload.pipe(gunzip);
      }
      throw new AppError('unsupported_encoding', 415, `Content-Encoding ${encoding} is not supported (use gzip or none)`);
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: INGEST_BODY_LIMIT }, (_request, body, done) => done(null, body));

    scope.post('/api/v1/logs', { config: { auth: 'responder' }, bodyLimit: INGEST_BODY_LIMIT }, async (request, reply) => {
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      const lines = decodeJsonLines(body.toString('utf8'), deps.clock.now());
      await deps.ingest.write(lines);
      deps.onIngested?.(lines.length, 'http');
      return reply.code(204).send();
    });

    scope.post('/loki/api/v1/push', { config: { auth: 'responder' }, bodyLimit: INGEST_BODY_LIMIT }, async (request, reply) => {
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      const type = String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const now = deps.clock.now();
      let lines;
      if (type === 'application/x-protobuf' || type === 'application/protobuf') {
        lines = decodeLokiProtobuf(body, now, 8 * INGEST_BODY_LIMIT);
      } else if (type === 'application/json' || type === '') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch (error) {
          throw new AppError('invalid_json', 400, `the body is not valid JSON: ${(error as Error).message}`);
        }
        lines = decodeLokiJson(parsed, now);
      } else {
        throw new AppError('unsupported_media_type', 415, `Content-Type ${type} is not a Loki push format (application/json or application/x-protobuf)`);
      }
      if (lines.length > 0) await deps.ingest.write(lines);
      deps.onIngested?.(lines.length, 'loki');
      return reply.code(204).send();
    });
  });
}
