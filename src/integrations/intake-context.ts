import type { FastifyReply } from 'fastify';
import type { IntakeService } from '../alerts/intake.service.ts';
import type { IntegrationRef } from '../alerts/alert-event.ts';
import type { Clock } from '../clock.ts';
import type { Metrics } from '../http/metrics.ts';
import type { ServicesService } from '../services/services.service.ts';
import type { ServicesRepo } from '../services/services.repo.ts';
import type { IncidentsRepo } from '../incidents/incidents.repo.ts';
import { fromJson } from '../db/codec.ts';
import type { Db } from '../db/database.ts';

/** What every intake source needs. */
export interface IntakeContext {
  db: Db;
  /** Resolves once earlier commits are on disk (see DatabaseHandle.durable). */
  durable: () => Promise<void>;
  intake: IntakeService;
  integrations: IntegrationLookup;
  servicesRepo: ServicesRepo;
  incidentsRepo: IncidentsRepo;
  clock: Clock;
  metrics: Metrics;
  maxEventBytes: number;
}

export interface ResolvedIntegration extends IntegrationRef {
  config: Record<string, unknown>;
}

export interface IntegrationLookup {
  byKey(key: string): Promise<ResolvedIntegration | null>;
  forget(): void;
}

const CACHE_MS = 5000;

/**
 * Intake keys resolved to integrations, remembered for a few seconds so a burst of events does not
 * queue a read behind every write. A deleted or changed integration is noticed within CACHE_MS.
 */
export function createIntegrationLookup(services: ServicesService, clock: Clock): IntegrationLookup {
  const cache = new Map<string, { value: ResolvedIntegration; until: number }>();
  return {
    async byKey(key) {
      const now = clock.now().getTime();
      const hit = cache.get(key);
      if (hit && hit.until > now) return hit.value;
      const row = await services.findIntegrationByKey(key);
      if (!row) return null; // Unknown keys are not remembered: a key created a moment ago must work at once.
      const value = { id: row.id, serviceId: row.service_id, name: row.name, type: row.type, config: fromJson<Record<string, unknown>>(row.config, {}) };
      if (cache.size > 10_000) cache.clear();
      cache.set(key, { value, until: now + CACHE_MS });
      return value;
    },
    forget() {
      cache.clear();
    },
  };
}

/** True when an error means the database could not take the write (so senders should retry). */
export function sendUnavailable(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.code(503).header('retry-after', '5').send(body);
}
