import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';

const isPostgres = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof PostgresAdapter;

/**
 * Migration 004-logs: central log store. The table is portable; the full-text index is not and cannot be:
 * SQLite gets an FTS5 table keyed on the line's rowid (contentless, so the text is stored once; deletes by
 * rowid need `contentless_delete`), PostgreSQL a generated `tsvector` (the 'simple' configuration over
 * alphanumeric runs, the same tokens FTS5's unicode61 tokenizer makes) with a GIN index.
 */
export const logsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    const pgsql = isPostgres(db);
    if (pgsql) {
      await sql`create table log_lines (
        id bigint generated always as identity primary key,
        time text not null,
        host text, app text, service text, severity text,
        sev integer not null,
        message text not null,
        size integer not null,
        tsv tsvector generated always as (to_tsvector('simple', regexp_replace(message, '[^[:alnum:]]+', ' ', 'g'))) stored
      )`.execute(db);
      await sql`create index log_lines_tsv_idx on log_lines using gin (tsv)`.execute(db);
    } else {
      await sql`create table log_lines (
        id integer primary key,
        time text not null,
        host text, app text, service text, severity text,
        sev integer not null,
        message text not null,
        size integer not null
      )`.execute(db);
      await sql`create virtual table log_fts using fts5(message, content='', contentless_delete=1, detail=full)`.execute(db);
      // Per-word document counts, for choosing a search plan.
      await sql`create virtual table log_fts_vocab using fts5vocab(log_fts, 'row')`.execute(db);
    }
    await db.schema.createIndex('log_lines_time_idx').on('log_lines').columns(['time']).execute();
    await db.schema.createIndex('log_lines_host_idx').on('log_lines').columns(['host', 'time']).execute();
    await db.schema.createIndex('log_lines_app_idx').on('log_lines').columns(['app', 'time']).execute();
    await db.schema.createIndex('log_lines_service_idx').on('log_lines').columns(['service', 'time']).execute();
    await db.schema
      .createTable('log_buckets')
      .addColumn('bucket', 'text', (c) => c.primaryKey())
      .addColumn('lines', 'bigint', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('log_buckets').ifExists().execute();
    if (!isPostgres(db)) {
      await sql`drop table if exists log_fts_vocab`.execute(db);
      await sql`drop table if exists log_fts`.execute(db);
    }
    await db.schema.dropTable('log_lines').ifExists().execute();
  },
};
