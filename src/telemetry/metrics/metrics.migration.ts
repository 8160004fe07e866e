import type { Kysely, Migration } from 'kysely';

/** Migration 005-metrics: data sources, alert rules and their state. Same rules as migrations.ts: portable types only, runs on SQLite and PostgreSQL. */
export const metricsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('datasources')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('auth_encrypted', 'text')
      .addColumn('timeout_seconds', 'double precision')
      .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema.createTable('rule_groups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('interval_seconds', 'double precision', (c) => c.notNull())
      .addColumn('datasource', 'text')
      .addColumn('service', 'text')
      .addColumn('next_eval_at', 'text', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('last_eval_at', 'text')
      .addColumn('last_eval_ms', 'double precision')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rule_groups_due_idx').on('rule_groups').column('next_eval_at').execute();

    await db.schema.createTable('rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('group_id', 'text', (c) => c.notNull().references('rule_groups.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('health', 'text', (c) => c.notNull().defaultTo('unknown'))
      .addColumn('last_error', 'text')
      .addColumn('last_eval_at', 'text')
      .addColumn('last_eval_ms', 'double precision')
      .addColumn('last_result', 'text')
      .addColumn('retired_at', 'text')
      .execute();
    await db.schema.createIndex('rules_group_idx').on('rules').columns(['group_id', 'position']).execute();

    await db.schema.createTable('rule_alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('rule_id', 'text', (c) => c.notNull().references('rules.id').onDelete('cascade'))
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('annotations', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('value', 'double precision')
      .addColumn('active_at', 'text', (c) => c.notNull())
      .addColumn('fired_at', 'text')
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('keep_firing_since', 'text')
      .addColumn('extra', 'text')
      .addUniqueConstraint('rule_alerts_rule_fp_uq', ['rule_id', 'fingerprint'])
      .execute();

    await db.schema.createTable('rule_evaluations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('rule_id', 'text', (c) => c.notNull().references('rules.id').onDelete('cascade'))
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('duration_ms', 'double precision', (c) => c.notNull())
      .addColumn('health', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('pending', 'integer', (c) => c.notNull())
      .addColumn('firing', 'integer', (c) => c.notNull())
      .addColumn('samples', 'integer', (c) => c.notNull())
      .addColumn('transitions', 'text')
      .execute();
    await db.schema.createIndex('rule_evaluations_rule_at_idx').on('rule_evaluations').columns(['rule_id', 'at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('rule_evaluations').execute();
    await db.schema.dropTable('rule_alerts').execute();
    await db.schema.dropTable('rules').execute();
    await db.schema.dropTable('rule_groups').execute();
    await db.schema.dropTable('datasources').execute();
  },
};
