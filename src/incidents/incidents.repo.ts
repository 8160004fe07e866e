import type { Db, RawSql, Tx } from '../db/database.ts';
import type { AlertsTable, ChangeEventsTable, IncidentsTable, TimelineEntriesTable } from '../db/schema.ts';

export type IncidentRow = IncidentsTable;
export type AlertRow = AlertsTable;
export type TimelineRow = TimelineEntriesTable;
export type ChangeEventRow = ChangeEventsTable;
/** The parts of an open alert the intake reads. */
export type OpenAlert = Pick<AlertRow, 'id' | 'summary' | 'trigger_count' | 'dedup_key'>;
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
export function createIncidentsRepo(db: Db, raw: RawSql) {
  const lock = raw.forUpdate !== '';
  // The intake's per-event statements are hand-written (see createRawSql); the rest use the query builder.
  const first = async <R>(tx: Q, text: string, params: unknown[]) => (await raw.query<R>(tx, text, params)).rows[0];
  return {
    /**
     * The last incident number handed out. On PostgreSQL the counter row stays locked until the transaction
     * ends, so numbers are never taken twice by concurrent transactions; SQLite has a single writer.
     */
    async lockIncidentCounter(tx: Q): Promise<number> {
      const row = await first<{ value: number }>(tx, `select value from counters where name = 'incident_number'${raw.forUpdate}`, []);
      return Number(row!.value);
    },
    async setIncidentCounter(tx: Q, value: number): Promise<void> {
      await raw.query(tx, "update counters set value = ? where name = 'incident_number'", [value]);
    },
    async insertIncident(tx: Q, row: IncidentRow): Promise<void> {
      await raw.insert(tx, 'incidents', [row]);
    },
    async updateIncident(tx: Q, id: string, patch: Partial<Omit<IncidentRow, 'id'>>): Promise<void> {
      await raw.updateById(tx, 'incidents', id, patch);
    },
    findOpenIncidentByGroup(tx: Q, integrationId: string, groupKey: string): Promise<IncidentRow | undefined> {
      return first<IncidentRow>(tx, `select * from incidents where integration_id = ? and group_key = ? and open = 1${raw.forUpdate}`, [integrationId, groupKey]);
    },
    findIncidentByNumber(number: number, tx?: Tx): Promise<IncidentRow | undefined> {
      return (tx ?? db).selectFrom('incidents').selectAll().where('number', '=', number).$if(lock && !!tx, (q) => q.forUpdate()).executeTakeFirst();
    },
    /** By id, locked for the transaction on PostgreSQL (timers and deliveries change incidents concurrently). */
    findIncidentById(tx: Tx, id: string): Promise<IncidentRow | undefined> {
      return tx.selectFrom('incidents').selectAll().where('id', '=', id).$if(lock, (q) => q.forUpdate()).executeTakeFirst();
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
      await raw.insert(tx, 'alerts', [row]);
    },
    async updateAlert(tx: Q, id: string, patch: Partial<Omit<AlertRow, 'id'>>): Promise<void> {
      await raw.updateById(tx, 'alerts', id, patch);
    },
    /**
     * The open alert for a key together with its incident, in one statement (and, on PostgreSQL, with both
     * rows locked): the intake needs both for every repeat, acknowledge and resolve.
     */
    async findOpenAlertWithIncident(tx: Q, integrationId: string, dedupKey: string): Promise<{ alert: OpenAlert; incident: IncidentRow } | undefined> {
      const row = await first<IncidentRow & { alert_id: string; alert_summary: string; alert_trigger_count: number }>(
        tx,
        `select a.id as alert_id, a.summary as alert_summary, a.trigger_count as alert_trigger_count, i.*
         from alerts a join incidents i on i.id = a.incident_id
         where a.integration_id = ? and a.dedup_key = ? and a.open = 1${raw.forUpdate}`,
        [integrationId, dedupKey],
      );
      if (!row) return undefined;
      const { alert_id, alert_summary, alert_trigger_count, ...incident } = row;
      return { alert: { id: alert_id, summary: alert_summary, trigger_count: Number(alert_trigger_count), dedup_key: dedupKey }, incident };
    },
    listAlerts(incidentId: string, tx: Q = db): Promise<AlertRow[]> {
      return tx.selectFrom('alerts').selectAll().where('incident_id', '=', incidentId).orderBy('first_seen_at').orderBy('id').execute();
    },
    async countOpenAlerts(tx: Q, incidentId: string): Promise<number> {
      const row = await first<{ n: number }>(tx, 'select count(*) as n from alerts where incident_id = ? and open = 1', [incidentId]);
      return Number(row?.n ?? 0);
    },
    /** Closes every open alert of an incident; returns how many. */
    async resolveOpenAlerts(tx: Q, incidentId: string, atIso: string): Promise<number> {
      return (await raw.query(tx, "update alerts set status = 'resolved', resolved_at = ?, open = null where incident_id = ? and open = 1", [atIso, incidentId])).affected;
    },
    async acknowledgeOpenAlerts(tx: Q, incidentId: string): Promise<void> {
      await raw.query(tx, "update alerts set status = 'acknowledged' where incident_id = ? and status = 'triggered'", [incidentId]);
    },
    /** Appends timeline entries; a transaction's entries are written together, in order, before it commits. */
    async insertTimeline(tx: Q, rows: TimelineRow[]): Promise<void> {
      // Chunks of 64, 16, 4 and 1 rows: few distinct statements to prepare, and far under SQLite's parameter limit.
      let i = 0;
      for (const size of [64, 16, 4, 1]) {
        while (rows.length - i >= size) {
          await raw.insert(tx, 'timeline_entries', rows.slice(i, i + size));
          i += size;
        }
      }
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
