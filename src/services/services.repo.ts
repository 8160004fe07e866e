import type { Db, Tx } from '../db/database.ts';
import type { IntegrationsTable, ServicesTable, HeartbeatsTable } from '../db/schema.ts';

export type ServiceRow = ServicesTable;
export type IntegrationRow = IntegrationsTable;
export type HeartbeatRow = HeartbeatsTable;

/** On-call settings of a new service: no policy, acknowledgements never time out, new alerts notify again. */
export const SERVICE_DEFAULTS = { escalation_policy_id: null, ack_timeout_seconds: null, renotify_on_new_alerts: 1 } as const;

export function createServicesRepo(db: Db) {
  return {
    list(): Promise<ServiceRow[]> {
      return db.selectFrom('services').selectAll().orderBy('name').execute();
    },
    findByName(name: string, tx: Db | Tx = db): Promise<ServiceRow | undefined> {
      return tx.selectFrom('services').selectAll().where('name', '=', name).executeTakeFirst();
    },
    findById(id: string): Promise<ServiceRow | undefined> {
      return db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async insert(row: ServiceRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('services').values(row).execute();
    },
    async update(id: string, patch: Partial<Omit<ServiceRow, 'id'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('services').set(patch).where('id', '=', id).execute();
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('services').where('id', '=', id).execute();
    },
    async hasIncidents(serviceId: string): Promise<boolean> {
      const row = await db.selectFrom('incidents').select('id').where('service_id', '=', serviceId).limit(1).executeTakeFirst();
      return !!row;
    },
    listIntegrations(serviceId?: string): Promise<IntegrationRow[]> {
      let q = db.selectFrom('integrations').selectAll().orderBy('name');
      if (serviceId) q = q.where('service_id', '=', serviceId);
      return q.execute();
    },
    findIntegration(serviceId: string, name: string, tx: Db | Tx = db): Promise<IntegrationRow | undefined> {
      return tx.selectFrom('integrations').selectAll().where('service_id', '=', serviceId).where('name', '=', name).executeTakeFirst();
    },
    findIntegrationById(id: string): Promise<IntegrationRow | undefined> {
      return db.selectFrom('integrations').selectAll().where('id', '=', id).executeTakeFirst();
    },
    findIntegrationByKeyHash(keyHash: string): Promise<IntegrationRow | undefined> {
      return db.selectFrom('integrations').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    },
    async insertIntegration(row: IntegrationRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('integrations').values(row).execute();
    },
    async updateIntegration(id: string, patch: Partial<Omit<IntegrationRow, 'id'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('integrations').set(patch).where('id', '=', id).execute();
    },
    async deleteIntegration(id: string): Promise<void> {
      await db.deleteFrom('integrations').where('id', '=', id).execute();
    },
    async upsertHeartbeat(integrationId: string, intervalSeconds: number, tx: Db | Tx = db): Promise<void> {
      const existing = await tx.selectFrom('heartbeats').select('integration_id').where('integration_id', '=', integrationId).executeTakeFirst();
      if (existing) {
        await tx.updateTable('heartbeats').set({ interval_seconds: intervalSeconds }).where('integration_id', '=', integrationId).execute();
      } else {
        await tx.insertInto('heartbeats').values({ integration_id: integrationId, interval_seconds: intervalSeconds, last_ping_at: null, due_at: null }).execute();
      }
    },
    findHeartbeat(integrationId: string, tx: Db | Tx = db): Promise<HeartbeatRow | undefined> {
      return tx.selectFrom('heartbeats').selectAll().where('integration_id', '=', integrationId).executeTakeFirst();
    },
    async recordPing(integrationId: string, atIso: string, dueIso: string, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('heartbeats').set({ last_ping_at: atIso, due_at: dueIso }).where('integration_id', '=', integrationId).execute();
    },
    overdueHeartbeats(nowIso: string, limit = 100): Promise<HeartbeatRow[]> {
      return db.selectFrom('heartbeats').selectAll().where('due_at', '<=', nowIso).orderBy('due_at').limit(limit).execute();
    },
    /** Disarms an overdue heartbeat; true only for the one caller that won it (several processes may race). */
    async claimOverdueHeartbeat(integrationId: string, dueIso: string, tx: Db | Tx = db): Promise<boolean> {
      const result = await tx.updateTable('heartbeats').set({ due_at: null })
        .where('integration_id', '=', integrationId).where('due_at', '=', dueIso).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

export type ServicesRepo = ReturnType<typeof createServicesRepo>;
