import fs, { mkdirSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  CompiledQuery, type DatabaseConnection, type Driver, Kysely, type LogEvent, Migrator, PostgresDialect, SqliteDialect,
  type SqliteDialectConfig, SqliteDriver, sql, type Transaction,
} from 'kysely';
import pg from 'pg';
import { NodeSqliteDatabase } from './node-sqlite.ts';
import { migrationNames, migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Db;
  dialect: DialectName;
  /** A redacted description for logs: the file, or the host and database name. */
  description: string;
  /** Registers a listener for each query's duration in milliseconds (for /metrics). */
  onQuery?(listener: (ms: number) => void): void;
  /** Hand-written SQL for hot paths (see createRawSql). */
  raw: RawSql;
  /** Resolves once everything committed before the call is on disk. Await it before answering "committed". */
  durable(): Promise<void>;
  close(): Promise<void>;
}

function queryTimer() {
  const listeners: ((ms: number) => void)[] = [];
  return {
    log: (event: LogEvent) => {
      for (const l of listeners) l(event.queryDurationMillis);
    },
    onQuery: (listener: (ms: number) => void) => {
      listeners.push(listener);
    },
  };
}

// int8 (bigint, count(*)) as a JS number: our counters stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

/**
 * SQLite transactions start with BEGIN IMMEDIATE: they take the write lock up front, so another process
 * on the same file (the CLI beside the server) waits on busy_timeout instead of failing mid-transaction.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  private readonly settings: SqliteDialectConfig;
  constructor(settings: SqliteDialectConfig) {
    super(settings);
    this.settings = settings;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

/**
 * fsyncs SQLite's WAL file in libuv's thread pool. Linux flushes a file's dirty pages whichever descriptor
 * asks, so this makes every frame SQLite wrote before the call durable. The descriptor is reopened when
 * the WAL file was replaced (it is recreated after the last connection closes).
 */
const fsyncDescriptor = (descriptor: number) =>
  new Promise<void>((resolve, reject) => fs.fsync(descriptor, (error) => (error ? reject(error) : resolve())));

function createWalSync(walPath: string) {
  let fd: number | undefined;
  let ino: number | undefined;
  let opening: Promise<void> | undefined;
  let checkedAt = 0;
  const reopen = async () => {
    if (fd !== undefined) fs.close(fd, () => {});
    fd = await new Promise<number>((resolve, reject) => fs.open(walPath, 'r', (error, descriptor) => (error ? reject(error) : resolve(descriptor))));
    ino = (await new Promise<fs.Stats>((resolve, reject) => fs.fstat(fd!, (error, stats) => (error ? reject(error) : resolve(stats))))).ino;
  };
  return {
    async sync(): Promise<void> {
      // Whether the WAL file was replaced is checked at most once a second; it only happens when every
      // connection closed, which this process's open connection prevents.
      const now = Date.now();
      if (fd === undefined || now - checkedAt > 1000) {
        checkedAt = now;
        const current = await fsp.stat(walPath).catch(() => undefined);
        if (!current) return; // no WAL yet: nothing was written through it
        if (fd === undefined || current.ino !== ino) {
          opening ??= reopen().finally(() => {
            opening = undefined;
          });
          await opening;
        }
      }
      await fsyncDescriptor(fd!);
    },
    close(): void {
      if (fd !== undefined) fs.close(fd, () => {});
      fd = undefined;
    },
  };
}

/** Opens the database named by a `sqlite:<file>` or `postgres://` URL. Does not migrate. */
export function openDatabase(url: string): DatabaseHandle {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const database = new NodeSqliteDatabase(file);
    // WAL lets readers run beside the one writer; FULL sync makes each commit durable before we answer 2xx.
    // WAL lets readers run beside the one writer. synchronous = NORMAL writes each commit to the WAL without
    // fsync; durable() then fsyncs the WAL off the event loop before a caller is told "committed" (see
    // createWalSync), which is as durable as synchronous = FULL without blocking every request on the disk.
    database.raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;');
    const timer = queryTimer();
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }), log: timer.log });
    const raw = createRawSql('sqlite', database, (ms) => timer.log({ queryDurationMillis: ms } as LogEvent));
    const wal = file === ':memory:' ? undefined : createWalSync(`${path.resolve(file)}-wal`);
    return {
      db, dialect: 'sqlite', description: `sqlite ${path.resolve(file)}`, onQuery: timer.onQuery, raw,
      durable: () => wal?.sync() ?? Promise.resolve(),
      close: async () => {
        await db.destroy();
        wal?.close();
      },
    };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    const timer = queryTimer();
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: timer.log });
    const parsed = new URL(url);
    return {
      db, dialect: 'postgres', description: `postgres ${parsed.host}${parsed.pathname}`, onQuery: timer.onQuery, raw: createRawSql('postgres'),
      // PostgreSQL's COMMIT already waits for its WAL flush (synchronous_commit = on).
      durable: () => Promise.resolve(),
      close: () => db.destroy(),
    };
  }
  throw new Error('database URL must start with sqlite: or postgres://');
}

export interface RawSql {
  /** Runs SQL written with `?` placeholders on either dialect; returns the rows and the affected count. */
  query<R>(executor: Db | Tx, text: string, params: readonly unknown[]): Promise<{ rows: R[]; affected: number }>;
  /** `insert into table (…) values (…), (…)` for rows of one shape (column names come from code, never input). */
  insert(executor: Db | Tx, table: string, rows: readonly object[]): Promise<void>;
  /** `update table set … where id = ?`. */
  updateById(executor: Db | Tx, table: string, id: string, patch: object): Promise<number>;
  /** ` for update` on PostgreSQL (row locks); nothing on SQLite, which has a single writer. */
  readonly forUpdate: string;
}

/**
 * Hand-written SQL for the intake's hot path. The query builder costs tens of microseconds a query;
 * with fixed SQL text the statement is prepared once (SQLite) and nothing is rebuilt per event.
 */
export function createRawSql(dialect: DialectName, sqlite?: NodeSqliteDatabase, onQuery?: (ms: number) => void): RawSql {
  const pgText = new Map<string, string>();
  const textFor = (text: string) => {
    if (dialect !== 'postgres') return text;
    let converted = pgText.get(text);
    if (converted === undefined) {
      let i = 0;
      converted = text.replace(/\?/g, () => `$${++i}`);
      if (pgText.size > 1000) pgText.clear();
      pgText.set(text, converted);
    }
    return converted;
  };
  const query = async <R>(executor: Db | Tx, text: string, params: readonly unknown[]) => {
    if (sqlite && executor.isTransaction) {
      // Inside a SQLite transaction this code holds the only connection, so the statement can run on it
      // directly, without the executor's promise chain.
      const started = performance.now();
      const statement = sqlite.prepare(text);
      const result = statement.reader
        ? { rows: statement.all(params) as R[], affected: 0 }
        : { rows: [] as R[], affected: Number(statement.run(params).changes) };
      onQuery?.(performance.now() - started);
      return result;
    }
    const result = await executor.executeQuery<R>(CompiledQuery.raw(textFor(text), params as unknown[]));
    return { rows: result.rows, affected: Number(result.numAffectedRows ?? 0n) };
  };
  return {
    query,
    async insert(executor, table, rows) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0]);
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      const params = rows.flatMap((row) => columns.map((c) => (row as Record<string, unknown>)[c]));
      await query(executor, `insert into ${table} (${columns.join(', ')}) values ${rows.map(() => tuple).join(', ')}`, params);
    },
    async updateById(executor, table, id, patch) {
      const columns = Object.keys(patch);
      const params = [...columns.map((c) => (patch as Record<string, unknown>)[c]), id];
      return (await query(executor, `update ${table} set ${columns.map((c) => `${c} = ?`).join(', ')} where id = ?`, params)).affected;
    },
    forUpdate: dialect === 'postgres' ? ' for update' : '',
  };
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Steps back one migration; for migration tests and emergencies. */
export async function migrateDown(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error } = await migrator.migrateDown();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

/** True when the database answers and every known migration has been applied. */
export async function isReady(db: Db): Promise<boolean> {
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    const applied = new Set(rows.rows.map((r) => r.name));
    return migrationNames.every((name) => applied.has(name));
  } catch {
    return false;
  }
}

/** Unique-constraint violations look different per driver; this is the one place that knows both. */
export function isUniqueViolation(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: string; errcode?: number; message?: string };
  if (e.code === '23505') return true;
  return e.code === 'ERR_SQLITE_ERROR' && /UNIQUE constraint failed/.test(e.message ?? '');
}

/** Serialisation and deadlock failures on PostgreSQL that are safe to retry as a whole transaction. */
export function isRetryableConflict(error: unknown): boolean {
  if (isUniqueViolation(error)) return true;
  const code = (error as { code?: string } | null)?.code;
  return code === '40001' || code === '40P01';
}
