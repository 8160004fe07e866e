import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.ts';
import type { FeatureLog } from '../../features/module.ts';
import type { ChatService } from '../chat.types.ts';
import { convertIncomingPayload, decodeIncomingBody } from './incoming-payload.ts';
import { verifySlackSignature } from './signature.ts';
import type { SlackAdapter } from './slack-adapter.ts';
import { blockActionsSchema, eventEnvelopeSchema, slashCommandSchema } from './slack-payloads.ts';

/** Incoming hooks carry chat messages, not files: Slack's own limit is far below this. */
const HOOK_BODY_LIMIT = 512 * 1024;
const SLACK_BODY_LIMIT = 256 * 1024;
const HOOK_KEY = /^[0-9a-f]{32}$/;

function plain(reply: FastifyReply, status: number, text: string) {
  return reply.code(status).type('text/plain; charset=utf-8').send(text);
}

/** Every body arrives as raw bytes in these routes: signatures are computed over them, and Slack-style errors are ours. */
function rawBodies(app: FastifyInstance, limit: number) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_request, body, done) => done(null, body));
}

function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

/** `POST /hooks/chat/{key}`: Slack-compatible incoming webhooks into the key's channel; answers like Slack. */
export async function registerIncomingHookRoutes(app: FastifyInstance, deps: { chat: ChatService; log: FeatureLog }): Promise<void> {
  await app.register(async (hooks) => {
    rawBodies(hooks, HOOK_BODY_LIMIT);
    hooks.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode ?? 500;
      if (status === 413) return plain(reply, 413, 'payload_too_large');
      if (status >= 500) deps.log.error({ err: error }, 'incoming chat hook failed');
      return plain(reply, status >= 500 ? 500 : 400, status >= 500 ? 'rollup_error' : 'invalid_payload');
    });
    hooks.post('/hooks/chat/:key', { config: { auth: 'public' } }, async (request, reply) => {
      const { key } = request.params as { key: string };
      const hook = HOOK_KEY.test(key) ? await deps.chat.hookByKey(key) : null;
      if (!hook) return plain(reply, 404, 'no_service');
      const body = decodeIncomingBody(request.headers['content-type'], rawBody(request));
      if (body === undefined) return plain(reply, 400, 'invalid_payload');
      const result = convertIncomingPayload(body);
      if (!result.ok) return plain(reply, result.status, result.error);
      const { message } = result;
      await deps.chat.post({
        channel: hook.channel,
        author: { type: 'integration', id: hook.id, name: message.username ?? hook.name },
        text: message.text,
        attachments: message.attachments,
        blocks: message.blocks,
      });
      return plain(reply, 200, 'ok');
    });
  });
}

async function handleSlackRequest(deps: SlackRouteDeps, request: FastifyRequest, reply: FastifyReply) {
  const { signingSecret, adapter } = deps;
  if (!signingSecret || !adapter) {
    return reply.code(404).send({ error: { code: 'slack_not_configured', message: 'the Slack app is not configured (FIREWATCH_SLACK_SIGNING_SECRET and FIREWATCH_SLACK_BOT_TOKEN)' } });
  }
  const raw = rawBody(request);
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const form = type === 'application/x-www-form-urlencoded' ? new URLSearchParams(raw.toString('utf8')) : null;
  // Slack's certificate probe is unsigned; it only needs a 200.
  if (form?.get('ssl_check') === '1' && !form.has('command')) return reply.code(200).send();
  const check = verifySlackSignature(signingSecret, {
    signature: request.headers['x-slack-signature'],
    timestamp: request.headers['x-slack-request-timestamp'],
  }, raw, Math.floor(deps.clock.now().getTime() / 1000));
  if (!check.ok) {
    deps.log.warn({ reason: check.reason, url: request.url }, 'slack request refused');
    return reply.code(401).header('x-slack-no-retry', '1').send({ error: { code: check.reason === 'stale_timestamp' ? 'stale_request' : 'invalid_signature', message: `the Slack signature check failed: ${check.reason}` } });
  }

  if (form?.has('command')) {
    const command = slashCommandSchema.safeParse(Object.fromEntries(form));
    if (!command.success) return reply.code(400).send({ error: { code: 'invalid_command', message: 'malformed slash command' } });
    const answer = await adapter.handleCommand(command.data);
    return answer ? reply.code(200).send(answer) : reply.code(200).send();
  }
  if (form?.has('payload')) {
    let payload: unknown;
    try {
      payload = JSON.parse(form.get('payload') as string);
    } catch {
      return reply.code(400).send({ error: { code: 'invalid_payload', message: 'payload is not JSON' } });
    }
    const payloadType = (payload as { type?: unknown } | null)?.type;
    if (payloadType !== 'block_actions') return reply.code(200).send(); // shortcuts, view_closed …: nothing to do
    const actions = blockActionsSchema.safeParse(payload);
    if (!actions.success) return reply.code(400).send({ error: { code: 'invalid_payload', message: 'malformed block_actions payload' } });
    // Ack at once; the command's answer follows through response_url.
    void adapter.handleActions(actions.data).catch((error: unknown) => deps.log.error({ err: error }, 'slack action failed'));
    return reply.code(200).send();
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return reply.code(400).send({ error: { code: 'invalid_payload', message: 'the body is neither JSON nor a Slack form' } });
  }
  const envelope = eventEnvelopeSchema.safeParse(body);
  if (!envelope.success) return reply.code(400).send({ error: { code: 'invalid_payload', message: 'not a Slack Events API envelope' } });
  if (envelope.data.type === 'url_verification') return reply.code(200).type('text/plain').send(envelope.data.challenge);
  const { event_id: eventId, event } = envelope.data;
  void adapter.handleEvent(eventId, event).catch((error: unknown) => deps.log.error({ err: error, eventId }, 'slack event failed'));
  return reply.code(200).send();
}

export interface SlackRouteDeps {
  signingSecret: string | null;
  adapter: SlackAdapter | null;
  clock: Clock;
  log: FeatureLog;
}

/**
 * Slack app, HTTP mode: `/slack/events`, `/slack/commands` and `/slack/interactions` (each also accepts
 * the others' payloads, so one Request URL in the manifest is enough). Every request must carry a valid
 * signature made with the signing secret within five minutes of our clock; `ssl_check` probes are answered.
 */
export async function registerSlackRoutes(app: FastifyInstance, deps: SlackRouteDeps): Promise<void> {
  await app.register(async (slack) => {
    rawBodies(slack, SLACK_BODY_LIMIT);
    slack.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode ?? 500;
      if (status >= 500) deps.log.error({ err: error }, 'slack request failed');
      return reply.code(status >= 500 ? 500 : status).send({ error: { code: status === 413 ? 'payload_too_large' : status >= 500 ? 'internal_error' : 'invalid_request', message: status >= 500 ? 'internal error' : error.message } });
    });

    for (const url of ['/slack/events', '/slack/commands', '/slack/interactions']) slack.post(url, { config: { auth: 'public' } }, (request, reply) => handleSlackRequest(deps, request, reply));
  });
}
