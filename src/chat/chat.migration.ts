import { type Kysely, type Migration, sql } from 'kysely';

/** Migration 003-chat: war room (channels, messages, attachments, reads, Slack message links). Same rules as migrations.ts: portable types only, runs on SQLite and PostgreSQL. */
export const chatMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('chat_channels')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('incident_id', 'text', (c) => c.unique().references('incidents.id').onDelete('cascade'))
      .addColumn('incident_number', 'integer')
      .addColumn('services', 'text', (c) => c.notNull())
      .addColumn('slack_channel', 'text')
      .addColumn('outbound_encrypted', 'text')
      .addColumn('last_seq', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('chat_messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel_id', 'text', (c) => c.notNull().references('chat_channels.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('version_seq', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('author_type', 'text', (c) => c.notNull())
      .addColumn('author_id', 'text')
      .addColumn('author_name', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('attachments', 'text', (c) => c.notNull())
      .addColumn('blocks', 'text', (c) => c.notNull())
      .addColumn('files', 'text', (c) => c.notNull())
      .addColumn('mentions', 'text', (c) => c.notNull())
      .addColumn('timeline_entry_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('edited_at', 'text')
      .addColumn('deleted_at', 'text')
      .addUniqueConstraint('chat_messages_seq_uq', ['channel_id', 'seq'])
      .addUniqueConstraint('chat_messages_version_uq', ['channel_id', 'version_seq'])
      .execute();
    await db.schema
      .createTable('chat_revisions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('message_id', 'text', (c) => c.notNull().references('chat_messages.id').onDelete('cascade'))
      .addColumn('version_seq', 'integer', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('change', 'text', (c) => c.notNull())
      .addColumn('changed_by', 'text', (c) => c.notNull())
      .addColumn('changed_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('chat_revisions_message_idx').on('chat_revisions').columns(['message_id', 'version_seq']).execute();
    await db.schema
      .createTable('chat_files')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      // bytea on PostgreSQL; SQLite gives the declared type "bytea" BLOB affinity.
      .addColumn('data', sql`bytea`, (c) => c.notNull())
      .addColumn('link', 'text')
      .addColumn('alt', 'text')
      .addColumn('uploaded_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    // The unattached-file sweep (chat.files-gc.ts) looks only at files older than its cut-off.
    await db.schema.createIndex('chat_files_created_idx').on('chat_files').column('created_at').execute();
    await db.schema
      .createTable('chat_reads')
      .addColumn('channel_id', 'text', (c) => c.notNull().references('chat_channels.id').onDelete('cascade'))
      .addColumn('reader_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('chat_reads_pk', ['channel_id', 'reader_id'])
      .execute();
    await db.schema
      .createTable('chat_hooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel_id', 'text', (c) => c.notNull().references('chat_channels.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('key_encrypted', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('chat_hooks_channel_name_uq', ['channel_id', 'name'])
      .execute();
    // Which Slack message (channel + ts) mirrors which war-room message, in either direction.
    await db.schema
      .createTable('chat_slack_messages')
      .addColumn('message_id', 'text', (c) => c.primaryKey().references('chat_messages.id').onDelete('cascade'))
      .addColumn('slack_channel', 'text', (c) => c.notNull())
      .addColumn('slack_ts', 'text')
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      // NULLs are distinct on both dialects, so any number of posts may be on their way at once.
      .addUniqueConstraint('chat_slack_messages_ts_uq', ['slack_channel', 'slack_ts'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['chat_slack_messages', 'chat_hooks', 'chat_reads', 'chat_files', 'chat_revisions', 'chat_messages', 'chat_channels']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
