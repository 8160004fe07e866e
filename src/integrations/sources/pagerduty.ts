import type { FastifyInstance, FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SEVERITIES, type AlertEvent } from '../../alerts/alert-event.ts';
import { storableText, toIso, toJson } from '../../db/codec.ts';
import { newId } from '../../ids.ts';
import { normaliseError } from '../../http/errors.ts';
import type { IntakeContext } from '../intake-context.ts';

/**
 * PagerDuty Events API v2 (`/v2/enqueue`) and change events (`/v2/change/enqueue`): the same request,
 * responses and semantics as events.pagerduty.com, so anything that speaks PagerDuty can point here.
 */

const routingKey = z.string({ error: "'routing_key' is missing or blank" })
  .length(32, "Length of 'routing_key' is incorrect (should be 32 characters)")
  .regex(/^[A-Za-z0-9]*$/, "'routing_key' cannot contain non-alphanumeric characters.");

const link = z.object({ href: z.string().min(1).max(2048), text: z.string().max(1024).optional() });
const image = z.object({ src: z.string().min(1).max(2048), href: z.string().max(2048).optional(), alt: z.string().max(1024).optional() });

const triggerPayload = z.object({
  summary: z.string({ error: "'payload.summary' is missing or blank" }).min(1, "'payload.summary' is missing or blank").max(1024, "'payload.summary' must be at most 1024 characters"),
  source: z.string({ error: "'payload.source' is missing or blank" }).min(1, "'payload.source' is missing or blank").max(1024),
  severity: z.enum(SEVERITIES, { error: "'payload.severity' must be one of critical, error, warning or info" }),
  timestamp: z.string().max(64).refine((v) => !Number.isNaN(Date.parse(v)), "'payload.timestamp' is not a valid ISO-8601 timestamp").optional(),
  component: z.string().max(1024).optional(),
  group: z.string().max(1024).optional(),
  class: z.string().max(1024).optional(),
  custom_details: z.unknown().optional(),
});

const eventSchema = z.object({
  routing_key: routingKey,
  event_action: z.enum(['trigger', 'acknowledge', 'resolve'], { error: "'event_action' must be one of trigger, acknowledge or resolve" }),
  dedup_key: z.string().min(1, "'dedup_key' is blank").max(255, "'dedup_key' must be at most 255 characters").optional(),
  payload: z.unknown().optional(),
  images: z.array(image).max(100).optional(),
  links: z.array(link).max(100).optional(),
  client: z.string().max(1024).optional(),
  client_url: z.string().max(2048).optional(),
});

const changeSchema = z.object({
  routing_key: routingKey,
  payload: z.object({
    summary: z.string({ error: "'payload.summary' is missing or blank" }).min(1, "'payload.summary' is missing or blank").max(1024, "'payload.summary' must be at most 1024 characters"),
    source: z.string().max(1024).optional(),
    timestamp: z.string().max(64).refine((v) => !Number.isNaN(Date.parse(v)), "'payload.timestamp' is not a valid ISO-8601 timestamp").optional(),
    custom_details: z.unknown().optional(),
  }, { error: "'payload' is missing" }),
  links: z.array(link).max(100).optional(),
  images: z.array(image).max(100).optional(),
});

const messages = (error: z.ZodError): string[] =>
  error.issues.map((i) => (i.message.startsWith("'") || i.message.startsWith('Length') ? i.message : `'${i.path.join('.')}' ${i.message}`));

function invalid(reply: FastifyReply, errors: string[], message = 'Event object is invalid'): FastifyReply {
  return reply.code(400).send({ status: 'invalid event', message, errors });
}

/** PagerDuty answers errors in its own shape; so do we, including for bodies we cannot parse. */
function pagerDutyErrorHandler(error: unknown, _request: unknown, reply: FastifyReply): void {
  const e = normaliseError(error);
  if (e.internal) {
    void reply.code(503).header('retry-after', '5').send({ status: 'unavailable', message: 'Event could not be committed; retry', errors: [] });
    return;
  }
  const status = e.status === 413 ? 'request too large' : e.status === 415 ? 'unsupported media type' : 'invalid event';
  void reply.code(e.status).send({ status, message: e.message, errors: [e.message] });
}

export function registerPagerDutyRoutes(app: FastifyInstance, ctx: IntakeContext): void {
  app.post('/v2/enqueue', { bodyLimit: ctx.maxEventBytes, errorHandler: pagerDutyErrorHandler }, async (request, reply) => {
    const parsed = eventSchema.safeParse(request.body);
    if (!parsed.success) {
      ctx.metrics.eventsRejected.inc({ source: 'pagerduty', reason: 'invalid' });
      return invalid(reply, messages(parsed.error));
    }
    const body = parsed.data;
    let payload: z.infer<typeof triggerPayload> | undefined;
    if (body.event_action === 'trigger') {
      const p = triggerPayload.safeParse(body.payload ?? {});
      if (!p.success || body.payload === undefined) {
        ctx.metrics.eventsRejected.inc({ source: 'pagerduty', reason: 'invalid' });
        return invalid(reply, body.payload === undefined ? ["'payload' is missing"] : messages(p.error!));
      }
      payload = p.data;
    } else if (!body.dedup_key) {
      ctx.metrics.eventsRejected.inc({ source: 'pagerduty', reason: 'invalid' });
      return invalid(reply, [`'dedup_key' is required for ${body.event_action} events`]);
    }
    const integration = await ctx.integrations.byKey(body.routing_key);
    if (!integration || integration.type !== 'pagerduty') {
      ctx.metrics.eventsRejected.inc({ source: 'pagerduty', reason: 'unknown_key' });
      return invalid(reply, ['Invalid routing key'], 'Invalid routing key');
    }
    const dedupKey = body.dedup_key ?? randomUUID().replace(/-/g, '');
    const event: AlertEvent = {
      action: body.event_action,
      integration,
      dedupKey,
      // PagerDuty keeps one alert per incident: the dedup key groups, too.
      groupKey: dedupKey,
      summary: payload?.summary ?? '',
      severity: payload?.severity ?? 'error',
      source: payload?.source ?? '',
      component: payload?.component,
      group: payload?.group,
      class: payload?.class,
      customDetails: payload?.custom_details,
      links: body.links,
      images: body.images,
      client: body.client,
      clientUrl: body.client_url,
    };
    try {
      await ctx.intake.submit({ source: 'pagerduty', events: [event] });
    } catch (error) {
      request.log.error({ err: error }, 'pagerduty event not committed');
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', message: 'Event could not be committed; retry', errors: [] });
    }
    return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
  });

  app.post('/v2/change/enqueue', { bodyLimit: ctx.maxEventBytes, errorHandler: pagerDutyErrorHandler }, async (request, reply) => {
    const parsed = changeSchema.safeParse(request.body);
    if (!parsed.success) {
      ctx.metrics.eventsRejected.inc({ source: 'pagerduty_change', reason: 'invalid' });
      return invalid(reply, messages(parsed.error));
    }
    const body = parsed.data;
    const integration = await ctx.integrations.byKey(body.routing_key);
    if (!integration || integration.type !== 'pagerduty') {
      ctx.metrics.eventsRejected.inc({ source: 'pagerduty_change', reason: 'unknown_key' });
      return invalid(reply, ['Invalid routing key'], 'Invalid routing key');
    }
    const now = ctx.clock.now();
    try {
      await ctx.incidentsRepo.insertChangeEvent(ctx.db, {
        id: newId(),
        service_id: integration.serviceId,
        integration_id: integration.id,
        summary: storableText(body.payload.summary),
        source: body.payload.source === undefined ? null : storableText(body.payload.source),
        timestamp: body.payload.timestamp ? toIso(new Date(body.payload.timestamp)) : toIso(now),
        custom_details: toJson(body.payload.custom_details ?? {}),
        links: toJson(body.links ?? []),
        images: toJson(body.images ?? []),
        created_at: toIso(now),
      });
      await ctx.durable();
    } catch (error) {
      request.log.error({ err: error }, 'change event not committed');
      return reply.code(503).header('retry-after', '5').send({ status: 'unavailable', message: 'Event could not be committed; retry', errors: [] });
    }
    ctx.metrics.eventsAccepted.inc({ source: 'pagerduty_change', outcome: 'created' });
    return reply.code(202).send({ status: 'success', message: 'Change event processed' });
  });
}
