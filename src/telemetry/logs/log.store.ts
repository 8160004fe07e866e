/* oxlint-disable unicorn/require-post-message-target-origin -- worker_threads messages, not window.postMessage: there is no origin */
import { Worker } from 'node:worker_threads';
import type { DatabaseHandle } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import type { LogLine, LogSearchInput, LogStore } from './log.types.ts';
import type { WriteResult } from './log.writer.worker.ts';
import { type FieldFilter, ftsAny, ftsExpression, type LogQuery, parseLogQuery, SEVERITIES, tsQueryText } from './log.query.ts';

/** A line as ingested, before it has an id. */
export interface NewLogLine {
  time: string;
  host: string | null;
  app: string | null;
  service: string | null;
  /** 0 (emerg) … 7 (debug); null when the sender said nothing. */
  sev: number | null;
  message: string;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const FIELD_COUNT_CAP = 200_000;
const ESTIMATE_TTL_MS = 60_000;
/** Newest arrivals a text search looks at first, then more, then all. */
const SEARCH_SPANS = [50_000, 1_000_000];
/** Collecting one matching rowid costs about this fraction of visiting a line. */
const MATERIALIZE_COST = 0.2;
const INSERT_CHUNK = 400;
/**
 * One live-tail read examines at most this many line ids. Its cost is bounded by the lines that arrived, never by
 * how many older lines match (a common word may be in millions of them); a busier range takes several reads.
 */
export const TAIL_SCAN_WINDOW = 100_000;

interface Row {
  id: number;
  time: string;
  host: string | null;
  app: string | null;
  service: string | null;
  severity: string | null;
  message: string;
}

const toLine = (r: Row): LogLine & { seq: number } => ({
  id: String(r.id), seq: Number(r.id), time: r.time, host: r.host, app: r.app, service: r.service, severity: r.severity, message: r.message,
});

const bucketOf = (iso: string) => iso.slice(0, 13);
const likePrefix = (v: string) => `${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** WHERE fragments for the non-text filters (columns of alias l). */
function filters(q: LogQuery, where: string[], params: unknown[]) {
  for (const f of q.fields) {
    const col = `l.${f.field}`;
    if (f.prefix) {
      where.push(f.negate ? `(${col} is null or ${col} not like ? escape '\\')` : `${col} like ? escape '\\'`);
      params.push(likePrefix(f.value));
    } else {
      where.push(f.negate ? `(${col} is null or ${col} <> ?)` : `${col} = ?`);
      params.push(f.value);
    }
  }
  for (const s of q.severities) {
    where.push(`l.sev ${s.negate ? 'not in' : 'in'} (${s.levels.map(() => '?').join(', ')})`);
    params.push(...s.levels);
  }
}


const checkRange = (from: Date, to: Date) => {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new AppError('bad_log_query', 400, 'from and to must be valid times');
  if (from.getTime() >= to.getTime()) throw new AppError('bad_log_query', 400, 'from must be before to');
};

/** One read of the live tail: the matching lines among a bounded range of lines newer than a seq. */
export interface TailSlice {
  /** Matching lines, oldest first. */
  lines: (LogLine & { seq: number })[];
  /** Every line up to this seq was examined: the next read starts after it (also with no match, so quiet tails stay cheap). */
  seq: number;
  /** Lines after `seq` are already stored: read again at once. */
  more: boolean;
}

/** The catch-up after a reconnect: the newest matches since the client's last seq. */
export interface TailCatchUp extends TailSlice {
  /**
   * Set when lines with afterSeq < seq < beforeSeq may have matched but are not in `lines`: more matched than the
   * limit (the oldest are left out), or the gap is wider than TAIL_SCAN_WINDOW lines (the older ones were not read).
   */
  skipped: { afterSeq: number; beforeSeq: number } | null;
}

export interface LogStoreImpl extends LogStore {
  /**
   * Live tail: matches among the lines after `afterSeq`, oldest first, at most `limit`, examining at most
   * TAIL_SCAN_WINDOW lines. Driven by the line ids (SQLite: the FTS rowid range; PostgreSQL: the primary key range),
   * so a poll touches new lines only.
   */
  tailAfter(query: string, afterSeq: number, limit: number): Promise<TailSlice>;
  /** Catch-up for a tail that resumes after `afterSeq`: the newest `limit` matches up to the newest line, oldest first. */
  tailCatchUp(query: string, afterSeq: number, limit: number): Promise<TailCatchUp>;
  /** The id of the newest line (0 when empty). */
  newestSeq(): Promise<number>;
  /** Writes lines in one transaction (the ingest buffer's batch). */
  insertBatch(lines: NewLogLine[]): Promise<void>;
  /** Deletes lines older than `before`, then the oldest lines while message bytes exceed `maxBytes`. */
  retain(before: Date, maxBytes: number, chunk?: number): Promise<{ deleted: number }>;
  stats(): Promise<{ lines: number; bytes: number }>;
  /** Stops the writer thread (after the ingest buffer was flushed). */
  close(): Promise<void>;
}

interface WorkerWriter {
  write(rows: unknown[][], buckets: [string, number, number][]): Promise<void>;
  close(): Promise<void>;
}

function createWorkerWriter(file: string): WorkerWriter {
  // Started on the first write: most processes (CLI commands) never ingest.
  let worker: Worker | null = null;
  const waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  let next = 0;
  let failed: Error | null = null;
  const failAll = (error: Error) => {
    failed = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  const start = () => {
    const w = new Worker(new URL('./log.writer.worker.ts', import.meta.url), { workerData: { file } });
    // Idle, the thread must not keep the process alive; while a batch is out it is referenced.
    w.unref();
    w.on('message', (result: WriteResult) => {
      const waiter = waiting.get(result.id);
      waiting.delete(result.id);
      if (waiting.size === 0) w.unref();
      if (result.ok) waiter?.resolve();
      else waiter?.reject(new Error(`storing log lines failed: ${result.message}`));
    });
    w.on('error', (error) => failAll(error));
    w.on('exit', () => failAll(new Error('the log writer thread stopped')));
    return w;
  };
  return {
    write(rows, buckets) {
      if (failed) return Promise.reject(failed);
      worker ??= start();
      const id = ++next;
      const w = worker;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, rows, buckets });
      });
    },
    async close() {
      if (!worker || failed) return;
      const w = worker;
      w.ref();
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.postMessage('close');
      await exited;
    },
  };
}

/**
 * The store. On a SQLite file, `sqliteFile` moves batch writes to a worker thread (log.writer.worker.ts) so that
 * the B-tree and full-text work runs beside parsing instead of after it. `tailScanWindow` replaces TAIL_SCAN_WINDOW
 * (tests use a small one).
 */
export function createLogStore(handle: DatabaseHandle, options: { sqliteFile?: string; tailScanWindow?: number } = {}): LogStoreImpl {
  const tailWindow = options.tailScanWindow ?? TAIL_SCAN_WINDOW;
  const writer = handle.dialect === 'sqlite' && options.sqliteFile ? createWorkerWriter(options.sqliteFile) : null;
  const { db, raw } = handle;
  const pgsql = handle.dialect === 'postgres';
  /**
   * A number bound as an SQLite INTEGER. node:sqlite binds JS numbers as REAL, and FTS5 ignores a rowid bound that
   * is not an INTEGER (it then reads the word's whole list from the start and SQLite filters the rows after):
   * a tail read of a word in 300k lines took 10 ms instead of 0.02 ms.
   */
  const int = (n: number): number | bigint => (pgsql ? n : BigInt(n));

  async function stats() {
    const r = await raw.query<{ lines: number | null; bytes: number | null }>(db, 'select sum(lines) as lines, sum(bytes) as bytes from log_buckets', []);
    return { lines: Number(r.rows[0]?.lines ?? 0), bytes: Number(r.rows[0]?.bytes ?? 0) };
  }

  /** Lines in [from, to) per the hourly buckets: an estimate (whole hours) to choose a plan. */
  async function linesInRange(from: Date, to: Date): Promise<number> {
    const r = await raw.query<{ n: number | null }>(db, 'select sum(lines) as n from log_buckets where bucket >= ? and bucket <= ?',
      [bucketOf(from.toISOString()), bucketOf(to.toISOString())]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Lines holding the word (documents in the FTS index), for planning. */
  // Planning estimates change slowly; a log rule asks the same search every interval.
  const estimates = new Map<string, { n: number; at: number }>();
  async function estimate(key: string, count: () => Promise<number>): Promise<number> {
    const hit = estimates.get(key);
    if (hit && Date.now() - hit.at < ESTIMATE_TTL_MS) return hit.n;
    const n = await count();
    if (estimates.size >= 10_000) estimates.clear();
    estimates.set(key, { n, at: Date.now() });
    return n;
  }

  async function wordCount(word: string): Promise<number> {
    const r = await raw.query<{ doc: number }>(db, 'select doc from log_fts_vocab where term = ?', [word]);
    return Number(r.rows[0]?.doc ?? 0);
  }

  /** Lines with this field value, counted up to a cap (an index range count). */
  async function fieldCount(f: FieldFilter): Promise<number> {
    const r = await raw.query<{ n: number }>(db, `select count(*) as n from (select 1 from log_lines where ${f.field} = ? limit ${FIELD_COUNT_CAP})`, [f.value]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * SQLite: whether to walk the text matches (newest first, filtering the rest) or walk an index of the other
   * filters (field value or time range) checking each line against the set of text matches. Estimates the work of
   * each plan to find `limit` results (all of them for counts), assuming the filters are independent.
   */
  async function textDrivesPlan(q: LogQuery, from: Date | undefined, to: Date | undefined, limit: number | undefined): Promise<boolean> {
    const total = Math.max(1, (await stats()).lines);
    let otherCount = total;
    if (from && to) otherCount = Math.min(otherCount, await linesInRange(from, to));
    for (const f of q.fields) {
      if (!f.negate && !f.prefix) otherCount = Math.min(otherCount, await estimate(`${f.field}:${f.value}`, () => fieldCount(f)));
    }
    // Nothing narrower than the text itself: no need to count words (which reads their lists).
    if (otherCount >= total) return true;
    let textCount = total;
    for (const t of q.terms) {
      if (t.negate) continue;
      for (const [i, w] of t.words.entries()) {
        if (t.prefix && i === t.words.length - 1) continue;
        textCount = Math.min(textCount, await estimate(`word:${w}`, () => wordCount(w)));
      }
    }
    const want = limit ?? Number.POSITIVE_INFINITY;
    // Text first: visit matches newest first until `want` pass the other filters.
    const costText = Math.min(textCount, (want * total) / Math.max(otherCount, 1));
    // Index first: collect the matching rowids once (cheap per id), then walk the index until `want` are in that set.
    const costOther = textCount * MATERIALIZE_COST + Math.min(otherCount, (want * total) / Math.max(textCount, 1));
    return costText <= costOther;
  }

  const COLS = 'l.id, l.time, l.host, l.app, l.service, l.severity, l.message';

  /** Builds the SELECT for a parsed query. `select` is the column list (or count(*)). */
  async function build(q: LogQuery, opts: { from?: Date; to?: Date; minSeq?: number; select: string; limit?: number; order: boolean }) {
    const where: string[] = [];
    const params: unknown[] = [];
    let fromClause = 'log_lines l';
    const prefixParams: unknown[] = [];
    if (pgsql) {
      const tq = tsQueryText(q.terms);
      if (tq) {
        where.push(`l.tsv @@ to_tsquery('simple', ?)`);
        params.push(tq);
      }
    } else if (q.terms.length > 0) {
      const expr = ftsExpression(q.terms);
      const driveByText = expr !== null && await textDrivesPlan(q, opts.from, opts.to, opts.limit);
      if (expr && driveByText) {
        // CROSS JOIN keeps the FTS table as the outer loop: matches come newest-first by rowid.
        fromClause = 'log_fts f cross join log_lines l on l.id = f.rowid';
        where.push('log_fts match ?');
        prefixParams.push(expr);
        if (opts.minSeq !== undefined) {
          where.push('f.rowid > ?');
          params.push(int(opts.minSeq));
        }
      } else if (expr) {
        where.push('l.id in (select rowid from log_fts where log_fts match ?)');
        params.push(expr);
      } else {
        where.push('not exists (select 1 from log_fts f where log_fts match ? and f.rowid = l.id)');
        params.push(ftsAny(q.terms));
      }
    }
    if (opts.from) {
      where.push('l.time >= ?');
      params.push(opts.from.toISOString());
    }
    if (opts.to) {
      where.push('l.time < ?');
      params.push(opts.to.toISOString());
    }
    filters(q, where, params);
    let text = `select ${opts.select} from ${fromClause}${where.length ? ` where ${where.join(' and ')}` : ''}`;
    if (opts.order) {
      // Text-driven plans stream in arrival order; the others use the time indexes.
      text += fromClause.startsWith('log_fts') ? ' order by f.rowid desc' : ' order by l.time desc, l.id desc';
    }
    if (opts.limit !== undefined) {
      text += ' limit ?';
      params.push(opts.limit);
    }
    return { text, params: [...prefixParams, ...params], textDriven: fromClause.startsWith('log_fts') };
  }

  /**
   * The live tail's SELECT: matches with lo < id <= hi, in id order. The id range drives every plan, so the work is
   * the lines in the range, not every line the words are in. SQLite walks the FTS index from a rowid (FTS5 seeks
   * its lists to it) or the rowid range with NOT INDEXED (no field index walking all of a host's old lines);
   * PostgreSQL reads the range by primary key inside an OFFSET 0 fence, which the planner cannot look through
   * (it would otherwise AND in the GIN index's whole list for a common word when statistics are stale).
   */
  function tailSql(q: LogQuery, lo: number, hi: number, limit: number, newestFirst: boolean) {
    const dir = newestFirst ? 'desc' : 'asc';
    const where: string[] = [];
    const params: unknown[] = [];
    let fromClause: string;
    let order: string;
    if (pgsql) {
      fromClause = `(select * from log_lines where id > ? and id <= ? order by id ${dir} offset 0) l`;
      params.push(lo, hi);
      order = `l.id ${dir}`;
      const tq = tsQueryText(q.terms);
      if (tq) {
        where.push(`l.tsv @@ to_tsquery('simple', ?)`);
        params.push(tq);
      }
    } else {
      const expr = q.terms.length > 0 ? ftsExpression(q.terms) : null;
      if (expr) {
        fromClause = 'log_fts f cross join log_lines l not indexed on l.id = f.rowid';
        where.push('log_fts match ?', 'f.rowid > ?', 'f.rowid <= ?');
        params.push(expr, int(lo), int(hi));
        order = `f.rowid ${dir}`;
      } else {
        fromClause = 'log_lines l not indexed';
        where.push('l.id > ?', 'l.id <= ?');
        params.push(int(lo), int(hi));
        order = `l.id ${dir}`;
        if (q.terms.length > 0) {
          where.push('not exists (select 1 from log_fts f where log_fts match ? and f.rowid = l.id)');
          params.push(ftsAny(q.terms));
        }
      }
    }
    filters(q, where, params);
    params.push(int(limit));
    return { text: `select ${COLS} from ${fromClause}${where.length ? ` where ${where.join(' and ')}` : ''} order by ${order} limit ?`, params };
  }

  async function tailRows(q: LogQuery, lo: number, hi: number, limit: number, newestFirst: boolean) {
    const { text, params } = tailSql(q, lo, hi, limit, newestFirst);
    return (await raw.query<Row>(db, text, params)).rows.map(toLine);
  }

  async function newestSeq() {
    return Number((await raw.query<{ n: number | null }>(db, 'select max(id) as n from log_lines', [])).rows[0]?.n ?? 0);
  }


  return {
    async search(input: LogSearchInput) {
      checkRange(input.from, input.to);
      const q = parseLogQuery(input.query);
      const limit = Math.min(Math.max(1, input.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
      // Walking text matches newest first, look at the newest arrivals before all of them: FTS5 reads a word's
      // whole list in reverse order otherwise (tens of ms for a word in millions of lines).
      const newest = pgsql ? 0 : await newestSeq();
      let rows: Row[] = [];
      for (const span of [...SEARCH_SPANS, Number.POSITIVE_INFINITY]) {
        const minSeq = Number.isFinite(span) && newest > span ? newest - span : undefined;
        const { text, params, textDriven } = await build(q, { from: input.from, to: input.to, minSeq, select: COLS, limit: limit + 1, order: true });
        rows = (await raw.query<Row>(db, text, params)).rows;
        if (!textDriven || minSeq === undefined || rows.length > limit) break;
      }
      const truncated = rows.length > limit;
      const lines = rows.slice(0, limit).map(toLine);
      // Newest first by the line's own time (text matches arrive in arrival order).
      lines.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.seq - a.seq));
      return { lines, truncated };
    },
    async count(query, from, to) {
      checkRange(from, to);
      const { text, params } = await build(parseLogQuery(query), { from, to, select: 'count(*) as n', order: false });
      return Number((await raw.query<{ n: number }>(db, text, params)).rows[0]?.n ?? 0);
    },
    async lastMatch(query, before, notBefore) {
      checkRange(notBefore, before);
      const { text, params } = await build(parseLogQuery(query), { from: notBefore, to: before, select: 'max(l.time) as t', order: false });
      const t = (await raw.query<{ t: string | null }>(db, text, params)).rows[0]?.t;
      return t ? new Date(t) : null;
    },
    async tailAfter(query, afterSeq, limit) {
      const q = parseLogQuery(query);
      const newest = await newestSeq();
      // Ids went back (every line deleted, SQLite reuses them): continue from the newest.
      if (newest <= afterSeq) return { lines: [], seq: newest, more: false };
      const hi = Math.min(newest, afterSeq + tailWindow);
      const lines = await tailRows(q, afterSeq, hi, limit, false);
      if (lines.length >= limit) return { lines, seq: lines.at(-1)!.seq, more: true };
      return { lines, seq: hi, more: hi < newest };
    },
    async tailCatchUp(query, afterSeq, limit) {
      const q = parseLogQuery(query);
      const newest = await newestSeq();
      if (newest <= afterSeq) return { lines: [], seq: newest, more: false, skipped: null };
      const lo = Math.max(afterSeq, newest - tailWindow);
      const rows = await tailRows(q, lo, newest, limit + 1, true);
      const lines = rows.slice(0, limit).toReversed();
      let skipped: TailCatchUp['skipped'] = null;
      if (rows.length > limit) skipped = { afterSeq, beforeSeq: lines[0].seq };
      else if (lo > afterSeq) skipped = { afterSeq, beforeSeq: lo + 1 };
      return { lines, seq: newest, more: false, skipped };
    },
    newestSeq,
    async insertBatch(lines) {
      if (lines.length === 0) return;
      const buckets = new Map<string, { lines: number; bytes: number }>();
      const rows = lines.map((l) => {
        const size = Buffer.byteLength(l.message);
        const key = bucketOf(l.time);
        const b = buckets.get(key) ?? { lines: 0, bytes: 0 };
        b.lines++;
        b.bytes += size;
        buckets.set(key, b);
        return [l.time, l.host, l.app, l.service, l.sev === null ? null : SEVERITIES[l.sev], l.sev ?? 6, l.message, size];
      });
      if (writer) {
        await writer.write(rows, [...buckets].map(([k, b]) => [k, b.lines, b.bytes]));
        await handle.durable();
        return;
      }
      await db.transaction().execute(async (tx) => {
        let firstId = 0;
        if (!pgsql) firstId = Number((await raw.query<{ n: number | null }>(tx, 'select max(id) as n from log_lines', [])).rows[0]?.n ?? 0);
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          const chunk = rows.slice(i, i + INSERT_CHUNK);
          await raw.query(tx, `insert into log_lines (time, host, app, service, severity, sev, message, size) values ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`, chunk.flat());
        }
        // SQLite hands out rowids above the current maximum, and this transaction is the only writer.
        if (!pgsql) await raw.query(tx, 'insert into log_fts (rowid, message) select id, message from log_lines where id > ?', [firstId]);
        for (const [bucket, b] of buckets) {
          await raw.query(tx, 'insert into log_buckets (bucket, lines, bytes) values (?, ?, ?) on conflict (bucket) do update set lines = log_buckets.lines + excluded.lines, bytes = log_buckets.bytes + excluded.bytes',
            [bucket, b.lines, b.bytes]);
        }
      });
      await handle.durable();
    },
    async close() {
      await writer?.close();
    },
    async retain(before, maxBytes, chunk = 5000) {
      let deleted = 0;
      const deleteChunk = async (condition: string, params: unknown[]) => db.transaction().execute(async (tx) => {
        const victims = (await raw.query<{ id: number; time: string; size: number }>(tx,
          `select id, time, size from log_lines ${condition} order by time asc, id asc limit ?${raw.forUpdate}`, [...params, chunk])).rows;
        if (victims.length === 0) return 0;
        const ids = victims.map((v) => v.id);
        const marks = ids.map(() => '?').join(', ');
        await raw.query(tx, `delete from log_lines where id in (${marks})`, ids);
        if (!pgsql) await raw.query(tx, `delete from log_fts where rowid in (${marks})`, ids);
        const buckets = new Map<string, { lines: number; bytes: number }>();
        for (const v of victims) {
          const b = buckets.get(bucketOf(v.time)) ?? { lines: 0, bytes: 0 };
          b.lines++;
          b.bytes += Number(v.size);
          buckets.set(bucketOf(v.time), b);
        }
        for (const [bucket, b] of buckets) {
          await raw.query(tx, 'update log_buckets set lines = lines - ?, bytes = bytes - ? where bucket = ?', [b.lines, b.bytes, bucket]);
        }
        await raw.query(tx, 'delete from log_buckets where lines <= 0', []);
        return victims.length;
      });
      const cutoff = before.toISOString();
      for (;;) {
        const n = await deleteChunk('where time < ?', [cutoff]);
        deleted += n;
        if (n < chunk) break;
      }
      for (;;) {
        const { bytes } = await stats();
        if (bytes <= maxBytes) break;
        const n = await deleteChunk('', []);
        deleted += n;
        if (n === 0) break;
      }
      return { deleted };
    },
    stats,
  };
}
