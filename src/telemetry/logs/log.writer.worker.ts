/* oxlint-disable unicorn/require-post-message-target-origin -- worker_threads messages, not window.postMessage: there is no origin */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * The SQLite log writer, on its own thread: batches of lines arrive from the ingest buffer and are written in one
 * transaction each (rows, full-text index, hourly buckets), so parsing and the API keep the main thread while
 * SQLite's B-tree work uses another core. Its own connection to the same WAL database; SQLite serialises it with
 * the main connection's writes (busy_timeout).
 */

export interface WriteRequest {
  id: number;
  /** time, host, app, service, severity, sev, message, size */
  rows: SQLInputValue[][];
  buckets: [string, number, number][];
}
export type WriteResult = { id: number; ok: true } | { id: number; ok: false; message: string };

const CHUNK = 400;
const db = new DatabaseSync((workerData as { file: string }).file);
// A large page cache keeps the hot leaf pages of the text and field indexes (one per host, app, …) in memory.
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -131072;');
type Statement = ReturnType<DatabaseSync['prepare']>;
let statements: { maxId: Statement; insertChunk: Statement; insertOne: Statement; index: Statement; bucket: Statement } | null = null;
/** Prepared on first use: the tables exist by then (the server migrates before it takes lines). */
const prepared = () => statements ??= {
  maxId: db.prepare('select coalesce(max(id), 0) as n from log_lines'),
  insertChunk: db.prepare(`insert into log_lines (time, host, app, service, severity, sev, message, size) values ${Array.from({ length: CHUNK }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`),
  insertOne: db.prepare('insert into log_lines (time, host, app, service, severity, sev, message, size) values (?, ?, ?, ?, ?, ?, ?, ?)'),
  index: db.prepare('insert into log_fts (rowid, message) select id, message from log_lines where id > ?'),
  bucket: db.prepare('insert into log_buckets (bucket, lines, bytes) values (?, ?, ?) on conflict (bucket) do update set lines = log_buckets.lines + excluded.lines, bytes = log_buckets.bytes + excluded.bytes'),
};

function write(request: WriteRequest): void {
  const { maxId, insertChunk, insertOne, index, bucket } = prepared();
  db.exec('begin immediate');
  try {
    const first = Number((maxId.get() as { n: number }).n);
    const { rows } = request;
    let i = 0;
    for (; i + CHUNK <= rows.length; i += CHUNK) insertChunk.run(...rows.slice(i, i + CHUNK).flat());
    for (; i < rows.length; i++) insertOne.run(...rows[i]);
    index.run(first);
    for (const [b, lines, bytes] of request.buckets) bucket.run(b, lines, bytes);
    db.exec('commit');
  } catch (error) {
    db.exec('rollback');
    throw error;
  }
}

parentPort!.on('message', (request: WriteRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    write(request);
    parentPort!.postMessage({ id: request.id, ok: true } satisfies WriteResult);
  } catch (error) {
    parentPort!.postMessage({ id: request.id, ok: false, message: (error as Error).message } satisfies WriteResult);
  }
});
