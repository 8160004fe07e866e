import { sql } from 'kysely';
import type { Db, DialectName, Tx } from '../db/database.ts';
import type { AlertsTable, ChangeEventsTable, IncidentsTable, TimelineEntriesTable } from '../db/schema.ts';

export type IncidentRow = IncidentsTable;
export type AlertRow = AlertsTable;
export type TimelineRow = TimelineEntriesTable;
export type ChangeEventRow = ChangeEventsTable;
type Q = Db | Tx;

export interface IncidentFilter {
  statuses?: string[];
  serviceId?: string;
  urgency?: string;
  since?: string;
  until?: string;
  /** Keyset pagination: incidents with a number below this. */
  beforeNumber?: number;
  limit: number;
}

export interface IncidentListRow extends IncidentRow {
  service_name: string;
  alert_count: number;
}

/**
 * Reads that precede a change lock the row on PostgreSQL (SELECT … FOR UPDATE), so concurrent
 * transactions in several processes serialise per alert and incident. SQLite has a single writer.
 */
export function createIncidentsRepo(db: Db, dialect: DialectName) {
  const lock = dialect === 'postgres';
  return {
    /** The next per-installation incident number; takes a row lock on PostgreSQL until the transaction ends. */
    async nextIncidentNumber(tx: Q): Promise<number> {
      const row = await sql<{ value: number }>`update counters set value = value + 1 where name = 'incident_number' returning value`.execute(tx);
      return Number(row.rows[0].value);
    },
    async insertIncident(tx: Q, row: IncidentRow): Promise<void> {
      await tx.insertInto('incidents').values(row).execute();
    },
    async updateIncident(tx: Q, id: string, patch: Partial<Omit<IncidentRow, 'id'>>): Promise<void> {
      await tx.updateTable('incidents').set(patch).where('id', '=', id).execute();
    },
    findOpenIncidentByGroup(tx: Q, integrationId: string, groupKey: string): Promise<IncidentRow | undefined> {
      return tx.selectFrom('incidents').selectAll()
        .where('integration_id', '=', integrationId).where('group_key', '=', groupKey).where('open', '=', 1)
        .$if(lock, (q) => q.forUpdate())
        .executeTakeFirst();
    },
    findIncidentById(tx: Q, id: string): Promise<IncidentRow | undefined> {
      return tx.selectFrom('incidents').selectAll().where('id', '=', id).$if(lock, (q) => q.forUpdate()).executeTakeFirst();
    },
    findIncidentByNumber(number: number, tx?: Tx): Promise<IncidentRow | undefined> {
      return (tx ?? db).selectFrom('incidents').selectAll().where('number', '=', number).$if(lock && !!tx, (q) => q.forUpdate()).executeTakeFirst();
    },
    async listIncidents(filter: IncidentFilter): Promise<IncidentListRow[]> {
      let q = db.selectFrom('incidents')
        .innerJoin('services', 'services.id', 'incidents.service_id')
        .selectAll('incidents')
        .select('services.name as service_name')
        .select((eb) => eb.selectFrom('alerts').whereRef('alerts.incident_id', '=', 'incidents.id')
          .select((e) => e.fn.countAll<number>().as('n')).as('alert_count'));
      if (filter.statuses?.length) q = q.where('incidents.status', 'in', filter.statuses);
      if (filter.serviceId) q = q.where('incidents.service_id', '=', filter.serviceId);
      if (filter.urgency) q = q.where('incidents.urgency', '=', filter.urgency);
      if (filter.since) q = q.where('incidents.created_at', '>=', filter.since);
      if (filter.until) q = q.where('incidents.created_at', '<', filter.until);
      if (filter.beforeNumber !== undefined) q = q.where('incidents.number', '<', filter.beforeNumber);
      const rows = await q.orderBy('incidents.number', 'desc').limit(filter.limit).execute();
      return rows.map((r) => ({ ...r, alert_count: Number(r.alert_count ?? 0) }));
    },
    async insertAlert(tx: Q, row: AlertRow): Promise<void> {
      await tx.insertInto('alerts').values(row).execute();
    },
    async updateAlert(tx: Q, id: string, patch: Partial<Omit<AlertRow, 'id'>>): Promise<void> {
      await tx.updateTable('alerts').set(patch).where('id', '=', id).execute();
    },
    findOpenAlert(tx: Q, integrationId: string, dedupKey: string): Promise<AlertRow | undefined> {
      return tx.selectFrom('alerts').selectAll()
        .where('integration_id', '=', integrationId).where('dedup_key', '=', dedupKey).where('open', '=', 1)
        .$if(lock, (q) => q.forUpdate())
        .executeTakeFirst();
    },
    listAlerts(incidentId: string, tx: Q = db): Promise<AlertRow[]> {
      return tx.selectFrom('alerts').selectAll().where('incident_id', '=', incidentId).orderBy('first_seen_at').orderBy('id').execute();
    },
    async countOpenAlerts(tx: Q, incidentId: string): Promise<number> {
      const row = await tx.selectFrom('alerts').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('incident_id', '=', incidentId).where('open', '=', 1).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    /** Closes every open alert of an incident; returns how many. */
    async resolveOpenAlerts(tx: Q, incidentId: string, atIso: string): Promise<number> {
      const result = await tx.updateTable('alerts')
        .set({ status: 'resolved', resolved_at: atIso, open: null })
        .where('incident_id', '=', incidentId).where('open', '=', 1).executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async acknowledgeOpenAlerts(tx: Q, incidentId: string): Promise<void> {
      await tx.updateTable('alerts').set({ status: 'acknowledged' })
        .where('incident_id', '=', incidentId).where('status', '=', 'triggered').execute();
    },
    async insertTimeline(tx: Q, row: TimelineRow): Promise<void> {
      await tx.insertInto('timeline_entries').values(row).execute();
    },
    listTimeline(incidentId: string, tx: Q = db): Promise<TimelineRow[]> {
      return tx.selectFrom('timeline_entries').selectAll().where('incident_id', '=', incidentId).orderBy('at').orderBy('id').execute();
    },
    async insertChangeEvent(tx: Q, row: ChangeEventRow): Promise<void> {
      await tx.insertInto('change_events').values(row).execute();
    },
    listChangeEvents(serviceId: string | undefined, limit: number): Promise<ChangeEventRow[]> {
      let q = db.selectFrom('change_events').selectAll().orderBy('timestamp', 'desc').limit(limit);
      if (serviceId) q = q.where('service_id', '=', serviceId);
      return q.execute();
    },
  };
}

export type IncidentsRepo = ReturnType<typeof createIncidentsRepo>;
