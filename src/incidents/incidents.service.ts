import type { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { INCIDENT_STATUSES, incidentSchema } from './incident.schemas.ts';
import { fromJson } from '../db/codec.ts';
import type { Db } from '../db/database.ts';
import { AppError, notFound } from '../errors.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Metrics } from '../http/metrics.ts';
import type { ServicesRepo } from '../services/services.repo.ts';
import type { AlertRow, IncidentFilter, IncidentRow, IncidentsRepo, TimelineRow } from './incidents.repo.ts';
import { type Actor, IncidentChanges, type LifecycleHooks } from './lifecycle.ts';
import type { Urgency } from '../alerts/alert-event.ts';

export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export type IncidentView = z.infer<typeof incidentSchema>;

export const presentAlert = (a: AlertRow) => ({
  id: a.id,
  dedup_key: a.dedup_key,
  status: a.status,
  summary: a.summary,
  severity: a.severity,
  source: a.source,
  component: a.component,
  group: a.group_name,
  class: a.class,
  custom_details: fromJson<unknown>(a.custom_details, {}),
  links: fromJson<unknown[]>(a.links, []),
  images: fromJson<unknown[]>(a.images, []),
  client: a.client,
  client_url: a.client_url,
  first_seen_at: a.first_seen_at,
  last_seen_at: a.last_seen_at,
  resolved_at: a.resolved_at,
  trigger_count: a.trigger_count,
});

export const presentTimelineEntry = (t: TimelineRow) => ({
  id: t.id,
  type: t.type,
  at: t.at,
  actor: { type: t.actor_type, id: t.actor_id, name: t.actor_name },
  message: t.message,
  data: fromJson<unknown>(t.data, {}),
});

export function createIncidentsService(deps: {
  db: Db; durable: () => Promise<void>; repo: IncidentsRepo; servicesRepo: ServicesRepo; clock: Clock; bus: EventBus; metrics: Metrics; publicUrl: string; hooks?: LifecycleHooks;
}) {
  const { db, repo, servicesRepo, clock, bus, metrics, publicUrl } = deps;

  const present = (row: IncidentRow, serviceName: string, alertCount: number): IncidentView => ({
    id: row.id,
    number: row.number,
    title: row.title,
    status: row.status as IncidentStatus,
    urgency: row.urgency as Urgency,
    service: { id: row.service_id, name: serviceName },
    created_at: row.created_at,
    updated_at: row.updated_at,
    acknowledged_at: row.acknowledged_at,
    acknowledged_by: row.acknowledged_by,
    resolved_at: row.resolved_at,
    resolved_by: row.resolved_by,
    alert_count: alertCount,
    html_url: `${publicUrl}/incidents/${row.number}`,
  });

  async function view(row: IncidentRow): Promise<IncidentView> {
    const service = await servicesRepo.findById(row.service_id);
    const alerts = await repo.listAlerts(row.id);
    return present(row, service?.name ?? '', alerts.length);
  }

  async function getRow(number: number): Promise<IncidentRow> {
    const row = await repo.findIncidentByNumber(number);
    if (!row) throw notFound('incident', `incident ${number} not found`);
    return row;
  }

  /** Runs a change to one incident in a transaction, then publishes it. */
  async function change(number: number, apply: (changes: IncidentChanges, incident: IncidentRow) => Promise<IncidentRow | null>): Promise<IncidentView> {
    const { result: row, changes } = await IncidentChanges.run(db, repo, () => clock.now(), deps.durable, async (c) => {
      const incident = await repo.findIncidentByNumber(number, c.tx);
      if (!incident) throw notFound('incident', `incident ${number} not found`);
      return (await apply(c, incident)) ?? incident;
    }, deps.hooks);
    changes.publish(bus);
    return view(row);
  }

  return {
    async list(filter: IncidentFilter): Promise<IncidentView[]> {
      const rows = await repo.listIncidents(filter);
      return rows.map((r) => present(r, r.service_name, r.alert_count));
    },

    async get(number: number): Promise<IncidentView> {
      return view(await getRow(number));
    },

    async alerts(number: number) {
      const row = await getRow(number);
      return (await repo.listAlerts(row.id)).map(presentAlert);
    },

    async timeline(number: number) {
      const row = await getRow(number);
      return (await repo.listTimeline(row.id)).map(presentTimelineEntry);
    },

    acknowledge(number: number, actor: Actor): Promise<IncidentView> {
      return change(number, async (c, incident) => {
        if (incident.status === 'resolved') throw new AppError('incident_resolved', 409, `incident ${number} is already resolved`);
        return c.acknowledge(incident, actor, 'api');
      });
    },

    resolve(number: number, actor: Actor): Promise<IncidentView> {
      return change(number, (c, incident) => c.resolve(incident, actor, 'api'));
    },

    addNote(number: number, actor: Actor, text: string): Promise<IncidentView> {
      return change(number, async (c, incident) => {
        await c.timeline(incident, 'annotate', actor, text, {});
        c.touch(incident, 'annotated');
        return incident;
      });
    },

    /** Opens an incident by hand (no alert), e.g. from the UI or CLI. */
    async create(input: { title: string; serviceName: string; urgency: Urgency }, actor: Actor): Promise<IncidentView> {
      const service = await servicesRepo.findByName(input.serviceName);
      if (!service) throw notFound('service', `service ${input.serviceName} not found`);
      const { result: row, changes } = await IncidentChanges.run(db, repo, () => clock.now(), deps.durable, (c) =>
        c.open({ title: input.title, serviceId: service.id, integrationId: null, groupKey: null, urgency: input.urgency, actor }), deps.hooks);
      metrics.incidentsOpened.inc();
      changes.publish(bus);
      return view(row);
    },
  };
}

export type IncidentsService = ReturnType<typeof createIncidentsService>;
