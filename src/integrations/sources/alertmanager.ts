import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AlertEvent, Severity } from '../../alerts/alert-event.ts';
import { sha256Hex } from '../../ids.ts';
import { apiErrorHandler, normaliseError } from '../../http/errors.ts';
import { sendUnavailable, type IntakeContext } from '../intake-context.ts';

/**
 * Alertmanager webhook v4 (`webhook_configs`). One incident per groupKey, one alert per fingerprint.
 * Messages are snapshots of the whole group and may repeat (at-least-once), so handling is idempotent.
 * A failed commit answers 503: Alertmanager retries 5xx but treats every 4xx as final.
 */

const labels = z.record(z.string(), z.string().max(16_384));

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: z.string().max(64).optional(),
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().max(255).optional(),
});

const webhookSchema = z.object({
  version: z.string().max(16),
  groupKey: z.string().min(1).max(16_384),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1024).optional(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().max(4096).optional(),
  alerts: z.array(alertSchema).max(10_000),
});

const keyParam = z.object({ key: z.string().regex(/^[A-Za-z0-9]{32}$/) });

/** Maps the free-form `severity` label to PagerDuty's four levels; unknown values page (error). */
export function severityFromLabel(value: string | undefined): Severity {
  switch ((value ?? '').toLowerCase()) {
    case 'critical': case 'crit': case 'page': case 'high': case 'p1': case 'emergency': case 'fatal':
      return 'critical';
    case 'warning': case 'warn': case 'medium': case 'p3':
      return 'warning';
    case 'info': case 'informational': case 'low': case 'none': case 'p4': case 'p5':
      return 'info';
    default:
      return 'error';
  }
}

/** Older senders omit the fingerprint; the sorted label set identifies the alert just as well. */
function fingerprintOf(alert: z.infer<typeof alertSchema>): string {
  if (alert.fingerprint) return alert.fingerprint;
  const sorted = Object.keys(alert.labels).toSorted().map((k) => `${k}=${alert.labels[k]}`).join('\u0000');
  return sha256Hex(sorted).slice(0, 16);
}

function incidentTitle(body: z.infer<typeof webhookSchema>): string {
  const summary = body.commonAnnotations.summary ?? body.commonAnnotations.title;
  if (summary) return summary.slice(0, 1024);
  const name = body.groupLabels.alertname ?? body.commonLabels.alertname;
  const rest = Object.entries(body.groupLabels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`);
  const title = [name ?? 'Alertmanager alert', rest.length ? `(${rest.join(', ')})` : ''].join(' ').trim();
  return title.slice(0, 1024);
}

function alertSummary(alert: z.infer<typeof alertSchema>): string {
  const text = alert.annotations.summary ?? alert.annotations.description ?? alert.annotations.message;
  if (text) return text.slice(0, 1024);
  const name = alert.labels.alertname ?? 'alert';
  const where = alert.labels.instance ?? alert.labels.job ?? '';
  return `${name}${where ? ` on ${where}` : ''}`.slice(0, 1024);
}

export function registerAlertmanagerRoutes(app: FastifyInstance, ctx: IntakeContext): void {
  app.post('/integrations/alertmanager/:key', { bodyLimit: ctx.maxEventBytes * 4, errorHandler: amErrorHandler }, async (request, reply) => {
    const params = keyParam.safeParse(request.params);
    const integration = params.success ? await ctx.integrations.byKey(params.data.key) : null;
    if (!integration || integration.type !== 'alertmanager') {
      ctx.metrics.eventsRejected.inc({ source: 'alertmanager', reason: 'unknown_key' });
      return reply.code(404).send({ error: { code: 'integration_not_found', message: 'no Alertmanager integration has this key' } });
    }
    const parsed = webhookSchema.safeParse(request.body);
    if (!parsed.success) {
      ctx.metrics.eventsRejected.inc({ source: 'alertmanager', reason: 'invalid' });
      return reply.code(400).send({
        error: {
          code: 'invalid_alertmanager_payload',
          message: 'not an Alertmanager webhook v4 body',
          details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
      });
    }
    const body = parsed.data;
    const title = incidentTitle(body);
    // Firing before resolved: when one alert replaces another in a group, the incident must not resolve in between.
    const ordered = body.alerts.toSorted((a, b) => (a.status === b.status ? 0 : a.status === 'firing' ? -1 : 1));
    const events: AlertEvent[] = ordered.map((alert) => {
      const links = alert.generatorURL ? [{ href: alert.generatorURL, text: 'Source' }] : [];
      if (alert.annotations.runbook_url) links.push({ href: alert.annotations.runbook_url, text: 'Runbook' });
      if (alert.annotations.dashboard_url) links.push({ href: alert.annotations.dashboard_url, text: 'Dashboard' });
      return {
        action: alert.status === 'firing' ? 'trigger' : 'resolve',
        integration,
        dedupKey: fingerprintOf(alert),
        groupKey: body.groupKey,
        summary: alertSummary(alert),
        severity: severityFromLabel(alert.labels.severity ?? body.commonLabels.severity),
        source: alert.labels.instance ?? alert.labels.job ?? body.receiver ?? 'alertmanager',
        component: alert.labels.job ?? null,
        group: alert.labels.cluster ?? alert.labels.namespace ?? null,
        class: alert.labels.alertname ?? null,
        customDetails: { labels: alert.labels, annotations: alert.annotations, startsAt: alert.startsAt, endsAt: alert.endsAt },
        links,
        client: 'Alertmanager',
        clientUrl: body.externalURL ?? null,
        incidentTitle: title,
        snapshot: true,
      };
    });
    try {
      const outcomes = await ctx.intake.submit({ source: 'alertmanager', events });
      return reply.code(200).send({
        status: 'success',
        incidents: [...new Set(outcomes.map((o) => o.incidentNumber).filter((n) => n !== null))],
      });
    } catch (error) {
      request.log.error({ err: error }, 'alertmanager notification not committed');
      return sendUnavailable(reply, { error: { code: 'unavailable', message: 'could not commit; Alertmanager will retry' } });
    }
  });
}

/** Parse errors are the sender's fault (4xx, final); anything internal becomes 503 so Alertmanager retries. */
function amErrorHandler(error: unknown, request: Parameters<typeof apiErrorHandler>[1], reply: FastifyReply): void {
  if (normaliseError(error).internal) {
    request.log.error({ err: error }, 'alertmanager intake failed');
    void sendUnavailable(reply, { error: { code: 'unavailable', message: 'could not commit; Alertmanager will retry' } });
    return;
  }
  apiErrorHandler(error, request, reply);
}
