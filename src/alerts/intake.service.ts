import type { Clock } from '../clock.ts';
import { storableText, toJson } from '../db/codec.ts';
import { type Db, type DialectName, isRetryableConflict } from '../db/database.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Metrics } from '../http/metrics.ts';
import { newId, sha256Hex } from '../ids.ts';
import type { IncidentsRepo } from '../incidents/incidents.repo.ts';
import type { ServicesRepo } from '../services/services.repo.ts';
import { type Actor, IncidentChanges, type LifecycleHooks } from '../incidents/lifecycle.ts';
import { type AlertEvent, type EventOutcome, urgencyFromSeverity } from './alert-event.ts';

/** A unit the intake commits atomically: all events of one request. */
export interface IntakeRequest {
  source: string;
  events: AlertEvent[];
  /** Runs first in the same transaction; returning false skips the events (a claim another process won). */
  guard?: (changes: IncidentChanges) => Promise<boolean>;
  /** Runs inside the same transaction, after the events; for source-specific state (heartbeats). */
  extra?: (changes: IncidentChanges) => Promise<void>;
}

interface Pending {
  request: IntakeRequest;
  resolve: (outcomes: EventOutcome[]) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 256;
const MAX_RETRIES = 5;
const LAST_EVENT_WRITE_MS = 30_000;

const integrationActor = (event: AlertEvent): Actor => ({ type: 'integration', id: event.integration.id, name: event.integration.name });

/** Longer group keys (Alertmanager allows 16 KB) are stored as their hash: PostgreSQL indexes at most ~2.7 KB per entry. */
const MAX_STORED_GROUP_KEY = 512;

const storableOptional = (text: string | null | undefined) => (typeof text === 'string' ? storableText(text) : text);

/**
 * The event as it can be stored on either database. Without this, a NUL in a summary or a long group key
 * fails the commit on PostgreSQL, and senders would retry a 503 that can never succeed.
 */
function storableEvent(event: AlertEvent): AlertEvent {
  const groupKey = storableText(event.groupKey);
  return {
    ...event,
    dedupKey: storableText(event.dedupKey),
    groupKey: groupKey.length > MAX_STORED_GROUP_KEY ? `sha256:${sha256Hex(groupKey)}` : groupKey,
    summary: storableText(event.summary),
    source: storableText(event.source),
    component: storableOptional(event.component),
    group: storableOptional(event.group),
    class: storableOptional(event.class),
    client: storableOptional(event.client),
    clientUrl: storableOptional(event.clientUrl),
    incidentTitle: event.incidentTitle === undefined ? undefined : storableText(event.incidentTitle),
  };
}

/**
 * Turns alert events into alerts and incidents. Requests that arrive together are committed in one
 * transaction (group commit): a caller's promise settles only after its events are durable, so an HTTP
 * 2xx always means committed, while one fsync serves many requests.
 */
export function createIntakeService(deps: {
  db: Db; dialect: DialectName; repo: IncidentsRepo; durable: () => Promise<void>; servicesRepo: Pick<ServicesRepo, 'updateIntegration'>; clock: Clock; bus: EventBus; metrics: Metrics;
  /** On-call's reaction to lifecycle changes (timers), run inside each commit. */
  hooks?: LifecycleHooks;
}) {
  const { db, repo, clock, bus, metrics } = deps;
  // When each integration's last_event_at was last written; refreshed at most every LAST_EVENT_WRITE_MS.
  const lastEventWritten = new Map<string, number>();
  const queue: Pending[] = [];
  // SQLite has one writer; PostgreSQL takes a few transactions at once.
  const maxConcurrent = deps.dialect === 'sqlite' ? 1 : 4;
  let running = 0;

  async function applyEvent(changes: IncidentChanges, event: AlertEvent): Promise<EventOutcome> {
    const { tx, nowIso } = changes;
    const actor = integrationActor(event);
    const found = await repo.findOpenAlertWithIncident(tx, event.integration.id, event.dedupKey);
    const existing = found?.alert;

    if (event.action !== 'trigger') {
      // PagerDuty drops acknowledge/resolve for keys with no open alert (unknown, or already resolved).
      if (!found || !existing) return { dedupKey: event.dedupKey, result: 'dropped', incidentNumber: null };
      const { incident } = found;
      if (event.action === 'acknowledge') {
        await repo.updateAlert(tx, existing.id, { status: 'acknowledged', last_seen_at: nowIso });
        await changes.acknowledge(incident, actor, event.integration.type);
        return { dedupKey: event.dedupKey, result: 'acknowledged', incidentNumber: incident.number };
      }
      await repo.updateAlert(tx, existing.id, { status: 'resolved', resolved_at: nowIso, last_seen_at: nowIso, open: null });
      const remaining = await repo.countOpenAlerts(tx, incident.id);
      if (remaining === 0) {
        await changes.resolve(incident, actor, event.integration.type);
      } else {
        await changes.timeline(incident, 'alert_resolved', actor, `Alert resolved: ${existing.summary}`, { alert_id: existing.id, dedup_key: existing.dedup_key });
        changes.touch(incident, 'alert_resolved');
      }
      return { dedupKey: event.dedupKey, result: 'resolved', incidentNumber: incident.number };
    }

    const details = {
      summary: event.summary,
      severity: event.severity,
      source: event.source,
      component: event.component ?? null,
      group_name: event.group ?? null,
      class: event.class ?? null,
      custom_details: toJson(event.customDetails ?? {}),
      links: toJson(event.links ?? []),
      images: toJson(event.images ?? []),
      client: event.client ?? null,
      client_url: event.clientUrl ?? null,
    };

    if (existing) {
      await repo.updateAlert(tx, existing.id, { ...details, last_seen_at: nowIso, trigger_count: existing.trigger_count + 1 });
      let incident = found!.incident;
      if (incident && urgencyFromSeverity(event.severity) === 'high' && incident.urgency === 'low') {
        incident = await changes.raiseUrgency(incident, actor);
      }
      if (incident && !event.snapshot) {
        await changes.timeline(incident, 'trigger_repeat', actor, `Triggered again: ${event.summary}`, { alert_id: existing.id, dedup_key: event.dedupKey, trigger_count: existing.trigger_count + 1 });
        changes.touch(incident, 'trigger_repeat');
      }
      return { dedupKey: event.dedupKey, result: 'repeated', incidentNumber: incident?.number ?? null };
    }

    let incident = await repo.findOpenIncidentByGroup(tx, event.integration.id, event.groupKey);
    const alertId = newId(changes.now.getTime());
    let result: EventOutcome['result'];
    if (incident) {
      result = 'appended';
    } else {
      result = 'created';
      incident = await changes.open({
        title: event.incidentTitle ?? event.summary,
        serviceId: event.integration.serviceId,
        integrationId: event.integration.id,
        groupKey: event.groupKey,
        urgency: urgencyFromSeverity(event.severity),
        actor,
        data: { alert_id: alertId, dedup_key: event.dedupKey, severity: event.severity, source: event.source },
      });
    }
    await repo.insertAlert(tx, {
      id: alertId,
      service_id: event.integration.serviceId,
      integration_id: event.integration.id,
      incident_id: incident.id,
      dedup_key: event.dedupKey,
      status: incident.status === 'acknowledged' ? 'acknowledged' : 'triggered',
      ...details,
      first_seen_at: nowIso,
      last_seen_at: nowIso,
      resolved_at: null,
      trigger_count: 1,
      open: 1,
    });
    if (result === 'appended') {
      await changes.timeline(incident, 'alert_added', actor, `Alert added: ${event.summary}`, { alert_id: alertId, dedup_key: event.dedupKey, severity: event.severity });
      if (urgencyFromSeverity(event.severity) === 'high' && incident.urgency === 'low') incident = await changes.raiseUrgency(incident, actor);
      changes.touch(incident, 'alert_added');
    }
    return { dedupKey: event.dedupKey, result, incidentNumber: incident.number };
  }

  async function applyRequest(changes: IncidentChanges, request: IntakeRequest): Promise<EventOutcome[]> {
    const outcomes: EventOutcome[] = [];
    if (request.guard && !(await request.guard(changes))) return outcomes;
    for (const event of request.events) outcomes.push(await applyEvent(changes, event));
    if (request.extra) await request.extra(changes);
    return outcomes;
  }

  /** Keeps integrations' last_event_at roughly current without a write per event. */
  async function recordLastEvent(changes: IncidentChanges, batch: Pending[]): Promise<void> {
    const now = changes.now.getTime();
    const ids = new Set(batch.flatMap((p) => p.request.events.map((e) => e.integration.id)));
    for (const id of ids) {
      if (now - (lastEventWritten.get(id) ?? 0) < LAST_EVENT_WRITE_MS) continue;
      await deps.servicesRepo.updateIntegration(id, { last_event_at: changes.nowIso }, changes.tx);
      lastEventWritten.set(id, now);
    }
  }

  /** Commits a batch in one transaction. Returns the outcomes per request, or throws. */
  async function commit(batch: Pending[]): Promise<{ outcomes: EventOutcome[][]; changes: IncidentChanges }> {
    const { result: outcomes, changes } = await IncidentChanges.run(db, repo, () => clock.now(), async () => {}, async (c) => {
      const all: EventOutcome[][] = [];
      for (const p of batch) all.push(await applyRequest(c, p.request));
      await recordLastEvent(c, batch);
      return all;
    }, deps.hooks);
    return { outcomes, changes };
  }

  function settle(batch: Pending[], outcomes: EventOutcome[][], changes: IncidentChanges): void {
    metrics.intakeBatchSize.observe(batch.length);
    if (changes.openedCount) metrics.incidentsOpened.inc(changes.openedCount);
    batch.forEach((p, i) => {
      for (const o of outcomes[i]) metrics.eventsAccepted.inc({ source: p.request.source, outcome: o.result });
      p.resolve(outcomes[i]);
    });
    changes.publish(bus);
  }

  async function commitWithRetry(batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { outcomes, changes } = await commit(batch);
        // On disk before anyone hears "committed"; the next batch need not wait for this flush.
        void deps.durable().then(
          () => settle(batch, outcomes, changes),
          (error: unknown) => batch.forEach((p) => p.reject(error)),
        );
        return;
      } catch (error) {
        if (batch.length > 1) {
          // One bad request must not fail its neighbours: commit each alone.
          for (const p of batch) await commitWithRetry([p]);
          return;
        }
        if (isRetryableConflict(error) && attempt < MAX_RETRIES) continue;
        batch[0].reject(error);
        return;
      }
    }
  }

  async function drain(): Promise<void> {
    running += 1;
    try {
      while (queue.length > 0) {
        // node:sqlite is synchronous: without a turn of the event loop here, no other request would be read
        // while a transaction runs, and every batch would hold one request.
        await new Promise((resolve) => setImmediate(resolve));
        const batch = queue.splice(0, MAX_BATCH);
        await commitWithRetry(batch);
      }
    } finally {
      running -= 1;
    }
  }

  return {
    /** Commits the request's events; resolves once they are durable. */
    submit(request: IntakeRequest): Promise<EventOutcome[]> {
      return new Promise((resolve, reject) => {
        queue.push({ request: { ...request, events: request.events.map(storableEvent) }, resolve, reject });
        if (running < maxConcurrent) void drain();
      });
    },
  };
}

export type IntakeService = ReturnType<typeof createIntakeService>;
