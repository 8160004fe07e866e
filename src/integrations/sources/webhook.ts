import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SEVERITIES, type AlertEvent, type Severity } from '../../alerts/alert-event.ts';
import { sha256Hex } from '../../ids.ts';
import { apiErrorHandler } from '../../http/errors.ts';
import type { WebhookMapping } from '../../services/integration-config.ts';
import { sendUnavailable, type IntakeContext } from '../intake-context.ts';

/**
 * Generic JSON webhooks: each integration maps paths in the sender's body onto an alert.
 * Without a mapping, common names are tried (title/summary/message, id/dedup_key, severity, status).
 */

const keyParam = z.object({ key: z.string().regex(/^[A-Za-z0-9]{32}$/) });

/** Reads `a.b[0].c` or `a.b.0.c` from a parsed JSON value; undefined when any step is missing. */
export function readPath(value: unknown, path: string): unknown {
  const steps = path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
  let current: unknown = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

const DEFAULT_PATHS = {
  title: ['title', 'summary', 'message', 'name', 'alert'],
  dedup_key: ['dedup_key', 'id', 'alert_id', 'fingerprint'],
  severity: ['severity', 'level', 'priority'],
  status: ['status', 'state', 'event_action', 'action'],
  source: ['source', 'host', 'hostname', 'instance'],
  component: ['component', 'service'],
  link: ['url', 'link', 'html_url'],
};

const DEFAULT_RESOLVED = ['resolved', 'resolve', 'ok', 'closed', 'recovered', 'normal', 'green', 'up'];
const DEFAULT_ACKNOWLEDGED = ['acknowledged', 'acknowledge', 'ack'];

function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function pick(body: unknown, configured: string | undefined, defaults: string[]): string | undefined {
  if (configured) return asText(readPath(body, configured));
  for (const path of defaults) {
    const found = asText(readPath(body, path));
    if (found !== undefined && found !== '') return found;
  }
  return undefined;
}

function mapSeverity(raw: string | undefined, mapping: WebhookMapping): Severity {
  if (!raw) return 'error';
  const lower = raw.toLowerCase();
  for (const [severity, words] of Object.entries(mapping.severity_values ?? {})) {
    if (words.some((w) => w.toLowerCase() === lower)) return severity as Severity;
  }
  if ((SEVERITIES as readonly string[]).includes(lower)) return lower as Severity;
  if (['crit', 'fatal', 'emergency', 'p1', 'high', 'page'].includes(lower)) return 'critical';
  if (['warn', 'medium', 'p3'].includes(lower)) return 'warning';
  if (['low', 'informational', 'notice', 'p4', 'p5'].includes(lower)) return 'info';
  return 'error';
}

/** Translates a body into an alert event with the integration's mapping; returns the problems otherwise. */
export function mapWebhookBody(body: unknown, mapping: WebhookMapping): { ok: true; value: Omit<AlertEvent, 'integration'> } | { ok: false; errors: string[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, errors: ['the body must be a JSON object'] };
  const title = pick(body, mapping.title, DEFAULT_PATHS.title);
  if (!title) {
    return { ok: false, errors: [mapping.title ? `no text at the mapped title path "${mapping.title}"` : 'no title: send "title" or "summary", or set a mapping'] };
  }
  const statusRaw = (pick(body, mapping.status, DEFAULT_PATHS.status) ?? '').toLowerCase();
  const resolvedWords = (mapping.resolved_values ?? DEFAULT_RESOLVED).map((w) => w.toLowerCase());
  const ackWords = (mapping.acknowledged_values ?? DEFAULT_ACKNOWLEDGED).map((w) => w.toLowerCase());
  const action: AlertEvent['action'] = resolvedWords.includes(statusRaw) ? 'resolve' : ackWords.includes(statusRaw) ? 'acknowledge' : 'trigger';
  // Without a key, the title identifies the alert: repeats of the same text deduplicate.
  const dedupKey = (pick(body, mapping.dedup_key, DEFAULT_PATHS.dedup_key) ?? `title:${sha256Hex(title).slice(0, 32)}`).slice(0, 255);
  const link = pick(body, mapping.link, DEFAULT_PATHS.link);
  const details = mapping.details ? readPath(body, mapping.details) : body;
  return {
    ok: true,
    value: {
      action,
      dedupKey,
      groupKey: dedupKey,
      summary: title.slice(0, 1024),
      severity: mapSeverity(pick(body, mapping.severity, DEFAULT_PATHS.severity), mapping),
      source: (pick(body, mapping.source, DEFAULT_PATHS.source) ?? 'webhook').slice(0, 1024),
      component: pick(body, mapping.component, DEFAULT_PATHS.component)?.slice(0, 1024) ?? null,
      customDetails: details ?? {},
      links: link && /^https?:\/\//i.test(link) ? [{ href: link.slice(0, 2048) }] : [],
      client: 'webhook',
    },
  };
}

export function registerWebhookRoutes(app: FastifyInstance, ctx: IntakeContext): void {
  app.post('/integrations/webhook/:key', { bodyLimit: ctx.maxEventBytes, errorHandler: apiErrorHandler }, async (request, reply) => {
    const params = keyParam.safeParse(request.params);
    const integration = params.success ? await ctx.integrations.byKey(params.data.key) : null;
    if (!integration || integration.type !== 'webhook') {
      ctx.metrics.eventsRejected.inc({ source: 'webhook', reason: 'unknown_key' });
      return reply.code(404).send({ error: { code: 'integration_not_found', message: 'no webhook integration has this key' } });
    }
    const mapping = ((integration.config.mapping ?? {}) as WebhookMapping);
    const mapped = mapWebhookBody(request.body, mapping);
    if (!mapped.ok) {
      ctx.metrics.eventsRejected.inc({ source: 'webhook', reason: 'invalid' });
      return reply.code(400).send({ error: { code: 'unmappable_payload', message: mapped.errors[0], details: mapped.errors } });
    }
    try {
      const [outcome] = await ctx.intake.submit({ source: 'webhook', events: [{ ...mapped.value, integration }] });
      return reply.code(202).send({ status: 'success', result: outcome.result, dedup_key: outcome.dedupKey, incident_number: outcome.incidentNumber });
    } catch (error) {
      request.log.error({ err: error }, 'webhook event not committed');
      return sendUnavailable(reply, { error: { code: 'unavailable', message: 'could not commit; retry' } });
    }
  });
}
