/** Table shapes of the central log store (conventions in db/schema.ts). */
import type { Generated } from 'kysely';

export interface LogLinesTable {
  /** Arrival order: integer rowid (SQLite) / identity (PostgreSQL); the FTS index keys on it. */
  id: Generated<number>;
  /** The line's own time (ISO-8601 UTC with ms), from the sender's timestamp or the arrival time. */
  time: string;
  host: string | null;
  app: string | null;
  service: string | null;
  /** Syslog keyword (emerg … debug), or null when unknown. */
  severity: string | null;
  /** Syslog severity number 0–7 (lower is worse); 6 (info) when unknown. */
  sev: number;
  message: string;
  /** UTF-8 bytes of message, for size-based retention. */
  size: number;
}

/** Lines and message bytes per hour of `time`, kept with every batch; size retention reads these, not the lines. */
export interface LogBucketsTable {
  /** `YYYY-MM-DDTHH`. */
  bucket: string;
  lines: number;
  bytes: number;
}

export interface LogsTables {
  log_lines: LogLinesTable;
  log_buckets: LogBucketsTable;
}
