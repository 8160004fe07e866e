import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertEvent, Severity } from '../../alerts/alert-event.ts';
import { toIso } from '../../db/codec.ts';
import { apiErrorHandler } from '../../http/errors.ts';
import type { IntegrationRef } from '../../alerts/alert-event.ts';
import { sendUnavailable, type IntakeContext } from '../intake-context.ts';

/**
 * Heartbeats: a job pings `POST /integrations/heartbeat/{key}`; when no ping arrives within the
 * integration's interval an incident opens, and the next ping resolves it. Monitoring starts with the
 * first ping. State lives in the database (due time per heartbeat), so a restart loses nothing.
 */

const keyParam = z.object({ key: z.string().regex(/^[A-Za-z0-9]{32}$/) });
const DEDUP_KEY = 'heartbeat';

function missedEvent(integration: IntegrationRef, intervalSeconds: number, severity: Severity, lastPing: string | null): AlertEvent {
  return {
    action: 'trigger',
    integration,
    dedupKey: DEDUP_KEY,
    groupKey: DEDUP_KEY,
    summary: `Heartbeat ${integration.name} missed: no ping for ${intervalSeconds} s`,
    severity,
    source: integration.name,
    class: 'heartbeat',
    customDetails: { interval_seconds: intervalSeconds, last_ping_at: lastPing },
    client: 'Firewatch heartbeat',
  };
}

export function registerHeartbeatRoutes(app: FastifyInstance, ctx: IntakeContext): void {
  void app.register(async (scope) => {
    // A ping's body is ignored, so any body is fine: `curl -d ''` sends a form, cron jobs send nothing.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
    registerPing(scope, ctx);
  });
}

function registerPing(app: FastifyInstance, ctx: IntakeContext): void {
  app.post('/integrations/heartbeat/:key', { bodyLimit: 64 * 1024, errorHandler: apiErrorHandler }, async (request, reply) => {
    const params = keyParam.safeParse(request.params);
    const integration = params.success ? await ctx.integrations.byKey(params.data.key) : null;
    if (!integration || integration.type !== 'heartbeat') {
      ctx.metrics.eventsRejected.inc({ source: 'heartbeat', reason: 'unknown_key' });
      return reply.code(404).send({ error: { code: 'integration_not_found', message: 'no heartbeat integration has this key' } });
    }
    const now = ctx.clock.now();
    const interval = Number(integration.config.interval_seconds ?? 300);
    const resolve: AlertEvent = { ...missedEvent(integration, interval, 'info', null), action: 'resolve' };
    try {
      const [outcome] = await ctx.intake.submit({
        source: 'heartbeat',
        events: [resolve],
        extra: async (changes) => {
          await ctx.servicesRepo.upsertHeartbeat(integration.id, interval, changes.tx);
          await ctx.servicesRepo.recordPing(integration.id, toIso(now), toIso(new Date(now.getTime() + interval * 1000)), changes.tx);
        },
      });
      return reply.code(200).send({ status: 'ok', next_due_at: toIso(new Date(now.getTime() + interval * 1000)), resolved_incident: outcome.result === 'resolved' ? outcome.incidentNumber : null });
    } catch (error) {
      request.log.error({ err: error }, 'heartbeat not committed');
      return sendUnavailable(reply, { error: { code: 'unavailable', message: 'could not commit; retry' } });
    }
  });
}

/** Opens incidents for heartbeats whose due time has passed. Safe to run in several processes at once. */
export async function checkHeartbeats(ctx: IntakeContext): Promise<number> {
  const now = ctx.clock.now();
  const overdue = await ctx.servicesRepo.overdueHeartbeats(toIso(now));
  let opened = 0;
  for (const hb of overdue) {
    const row = await ctx.servicesRepo.findIntegrationById(hb.integration_id);
    if (!row || !hb.due_at) continue;
    const integration: IntegrationRef = { id: row.id, serviceId: row.service_id, name: row.name, type: row.type };
    const config = JSON.parse(row.config) as { severity?: Severity };
    const due = hb.due_at;
    const outcomes = await ctx.intake.submit({
      source: 'heartbeat',
      guard: (changes) => ctx.servicesRepo.claimOverdueHeartbeat(hb.integration_id, due, changes.tx),
      events: [missedEvent(integration, hb.interval_seconds, config.severity ?? 'critical', hb.last_ping_at)],
    });
    if (outcomes.some((o) => o.result === 'created')) opened += 1;
  }
  return opened;
}

/** Runs checkHeartbeats every `everyMs` until stopped; errors are logged, never thrown. */
export function startHeartbeatMonitor(ctx: IntakeContext, everyMs: number, log: (error: unknown) => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await checkHeartbeats(ctx);
    } catch (error) {
      log(error);
    }
    if (!stopped) timer = setTimeout(tick, everyMs);
  };
  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
