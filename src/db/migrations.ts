import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import { chatMigration } from '../chat/chat.migration.ts';
import { inventoryMigration } from '../telemetry/inventory/inventory.migration.ts';
import { logsMigration } from '../telemetry/logs/logs.migration.ts';
import { metricsMigration } from '../telemetry/metrics/metrics.migration.ts';

/**
 * The one ordered list of migrations. Each runs unchanged on SQLite and PostgreSQL: only portable
 * types (text, integer, bigint) and constraints; nothing dialect-specific. Append; never edit a
 * migration that has shipped.
 */
const migrations: Record<string, Migration> = {
  '2026-11-21-001-core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema
        .createTable('teams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('team_members')
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema
        .createTable('services')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('integrations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service_id', 'text', (c) => c.notNull().references('services.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_encrypted', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('last_event_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('integrations_service_name_uq', ['service_id', 'name'])
        .execute();
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('number', 'integer', (c) => c.notNull().unique())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('service_id', 'text', (c) => c.notNull().references('services.id'))
        .addColumn('integration_id', 'text', (c) => c.references('integrations.id').onDelete('set null'))
        .addColumn('group_key', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('urgency', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('acknowledged_at', 'text')
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', 'text')
        .addColumn('resolved_by', 'text')
        .addColumn('open', 'integer')
        // One open incident per integration and group key; NULLs (closed, or manual) never collide.
        .addUniqueConstraint('incidents_open_group_uq', ['integration_id', 'group_key', 'open'])
        .execute();
      await db.schema.createIndex('incidents_status_idx').on('incidents').columns(['status', 'created_at']).execute();
      await db.schema.createIndex('incidents_service_idx').on('incidents').columns(['service_id', 'created_at']).execute();
      await db.schema.createIndex('incidents_created_idx').on('incidents').column('created_at').execute();
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service_id', 'text', (c) => c.notNull().references('services.id'))
        .addColumn('integration_id', 'text', (c) => c.references('integrations.id').onDelete('set null'))
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('dedup_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('component', 'text')
        .addColumn('group_name', 'text')
        .addColumn('class', 'text')
        .addColumn('custom_details', 'text', (c) => c.notNull())
        .addColumn('links', 'text', (c) => c.notNull())
        .addColumn('images', 'text', (c) => c.notNull())
        .addColumn('client', 'text')
        .addColumn('client_url', 'text')
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('resolved_at', 'text')
        .addColumn('trigger_count', 'integer', (c) => c.notNull())
        .addColumn('open', 'integer')
        // One open alert per integration and dedup key.
        .addUniqueConstraint('alerts_open_dedup_uq', ['integration_id', 'dedup_key', 'open'])
        .execute();
      await db.schema.createIndex('alerts_incident_idx').on('alerts').column('incident_id').execute();
      await db.schema
        .createTable('timeline_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('actor_name', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('timeline_incident_idx').on('timeline_entries').columns(['incident_id', 'id']).execute();
      await db.schema
        .createTable('change_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service_id', 'text', (c) => c.notNull().references('services.id').onDelete('cascade'))
        .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('source', 'text')
        .addColumn('timestamp', 'text', (c) => c.notNull())
        .addColumn('custom_details', 'text', (c) => c.notNull())
        .addColumn('links', 'text', (c) => c.notNull())
        .addColumn('images', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into counters (name, value) values ('incident_number', 0)`.execute(db);
      await db.schema
        .createTable('heartbeats')
        .addColumn('integration_id', 'text', (c) => c.primaryKey().references('integrations.id').onDelete('cascade'))
        .addColumn('interval_seconds', 'integer', (c) => c.notNull())
        .addColumn('last_ping_at', 'text')
        .addColumn('due_at', 'text')
        .execute();
      await db.schema.createIndex('heartbeats_due_idx').on('heartbeats').column('due_at').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        'heartbeats', 'counters', 'change_events', 'timeline_entries', 'alerts', 'incidents',
        'integrations', 'services', 'team_members', 'teams', 'api_tokens', 'sessions', 'users',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  },
  '2026-11-21-002-oncall': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('schedules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull())
        // Ordered layers (bottom to top) as JSON: see oncall/schedule/schedule.ts LayerSpec, members as user ids.
        .addColumn('layers', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('schedule_overrides')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id').onDelete('cascade'))
        // Stable name when declared as code; NULL for overrides made in the UI or API.
        .addColumn('name', 'text')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('replaces_user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('schedule_overrides_name_uq', ['schedule_id', 'name'])
        .execute();
      await db.schema.createIndex('schedule_overrides_range_idx').on('schedule_overrides').columns(['schedule_id', 'ends_at']).execute();
      await db.schema
        .createTable('shift_swaps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id').onDelete('cascade'))
        .addColumn('requester_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('taker_id', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('override_id', 'text', (c) => c.references('schedule_overrides.id').onDelete('set null'))
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // Secret iCal feed URLs, per schedule or per user; the key is shown again, so it is encrypted, found by hash.
      await db.schema
        .createTable('calendar_feeds')
        .addColumn('key_hash', 'text', (c) => c.primaryKey())
        .addColumn('owner_type', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('key_encrypted', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('calendar_feeds_owner_uq', ['owner_type', 'owner_id'])
        .execute();
      await db.schema
        .createTable('escalation_policies')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull())
        // How many times the whole policy runs again after its last level (PagerDuty's num_loops).
        .addColumn('repeat', 'integer', (c) => c.notNull())
        // Ordered levels as JSON: [{delay_minutes, strategy: all|round_robin, targets: [{type: user|schedule, id}]}].
        .addColumn('levels', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // No foreign key: SQLite cannot drop a column that has one. The services code keeps it consistent.
      await db.schema.alterTable('services').addColumn('escalation_policy_id', 'text').execute();
      await db.schema.alterTable('services').addColumn('ack_timeout_seconds', 'integer').execute();
      // 1: notify the assignees again when a new alert joins an open incident (alertmanager#1587).
      await db.schema.alterTable('services').addColumn('renotify_on_new_alerts', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      // Escalation state of an incident: where it is in its policy and who is assigned.
      await db.schema
        .createTable('incident_escalations')
        .addColumn('incident_id', 'text', (c) => c.primaryKey().references('incidents.id').onDelete('cascade'))
        .addColumn('policy_id', 'text', (c) => c.references('escalation_policies.id').onDelete('set null'))
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('loop', 'integer', (c) => c.notNull())
        .addColumn('assignees', 'text', (c) => c.notNull())
        .addColumn('next_at', 'text')
        .addColumn('snoozed_until', 'text')
        .addColumn('suppressed_by', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('contact_methods')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        // Webhook signing secret, encrypted (secret-box); NULL for other types.
        .addColumn('secret_encrypted', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('contact_methods_user_label_uq', ['user_id', 'label'])
        .execute();
      await db.schema
        .createTable('notification_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('urgency', 'text', (c) => c.notNull())
        .addColumn('contact_method_id', 'text', (c) => c.notNull().references('contact_methods.id').onDelete('cascade'))
        .addColumn('delay_minutes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('notification_rules_user_idx').on('notification_rules').column('user_id').execute();
      // Every notification and its delivery state; status 'dead' is the dead-letter list.
      await db.schema
        .createTable('notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.references('incidents.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('contact_method_id', 'text', (c) => c.references('contact_methods.id').onDelete('set null'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('due_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addColumn('read_at', 'text')
        .execute();
      await db.schema.createIndex('notifications_incident_idx').on('notifications').columns(['incident_id', 'created_at']).execute();
      await db.schema.createIndex('notifications_user_idx').on('notifications').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('notifications_status_idx').on('notifications').columns(['status', 'created_at']).execute();
      // Durable timers: escalations, acknowledgement timeouts, snoozes, deliveries, hand-off notices.
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('due_at', 'text', (c) => c.notNull())
        .addColumn('incident_id', 'text', (c) => c.references('incidents.id').onDelete('cascade'))
        .addColumn('ref', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        // At most one pending job per key (e.g. one hand-off timer per schedule).
        .addColumn('unique_key', 'text', (c) => c.unique())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('locked_until', 'text')
        .addColumn('locked_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_due_idx').on('jobs').column('due_at').execute();
      await db.schema.createIndex('jobs_incident_idx').on('jobs').columns(['incident_id', 'kind']).execute();
      await db.schema
        .createTable('silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.unique())
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text')
        // Recurring windows as JSON ({time_zone, windows: [{days, from, to}]}); NULL for a one-off window.
        .addColumn('recurrence', 'text')
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        'silences', 'jobs', 'notifications', 'notification_rules', 'contact_methods', 'incident_escalations',
      ]) {
        await db.schema.dropTable(table).execute();
      }
      await db.schema.alterTable('services').dropColumn('renotify_on_new_alerts').execute();
      await db.schema.alterTable('services').dropColumn('ack_timeout_seconds').execute();
      await db.schema.alterTable('services').dropColumn('escalation_policy_id').execute();
      for (const table of ['escalation_policies', 'calendar_feeds', 'shift_swaps', 'schedule_overrides', 'schedules']) {
        await db.schema.dropTable(table).execute();
      }
    },
  },
  // Feature migrations live beside their features.
  '2026-11-21-003-chat': chatMigration,
  '2026-11-21-004-logs': logsMigration,
  '2026-11-21-005-metrics': metricsMigration,
  '2026-11-21-006-inventory': inventoryMigration,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export const migrationNames = Object.keys(migrations);
