import type { Kysely, Migration } from 'kysely';

/**
 * Migration 006-inventory: host inventory (providers, hosts) and per-service dashboard settings.
 * Same rules as migrations.ts: portable types only, runs on SQLite and PostgreSQL.
 */
export const inventoryMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('inventory_providers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('last_refresh_at', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('hosts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('provider_id', 'text', (c) => c.notNull().references('inventory_providers.id').onDelete('cascade'))
      .addColumn('external_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('addresses', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('search_text', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('seen_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('hosts_provider_external_uq', ['provider_id', 'external_id'])
      .execute();
    await db.schema.createIndex('hosts_name_idx').on('hosts').column('name').execute();
    await db.schema
      .createTable('service_dashboards')
      .addColumn('service_id', 'text', (c) => c.primaryKey().references('services.id').onDelete('cascade'))
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('service_dashboards').execute();
    await db.schema.dropTable('hosts').execute();
    await db.schema.dropTable('inventory_providers').execute();
  },
};
