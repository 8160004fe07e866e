import { DatabaseSync, type StatementSync, type SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Presents node:sqlite's DatabaseSync with the better-sqlite3 surface Kysely's SqliteDialect expects,
 * so Firewatch needs no native addon (better-sqlite3 would compile or download at install).
 * Prepared statements are cached by SQL text: Kysely re-prepares every query otherwise.
 */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  private readonly cache = new Map<string, SqliteStatement>();
  private static readonly cacheLimit = 500;

  constructor(file: string) {
    this.raw = new DatabaseSync(file);
  }

  close(): void {
    this.cache.clear();
    this.raw.close();
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.cache.get(sql);
    if (cached) return cached;
    const statement = wrapStatement(this.raw.prepare(sql));
    if (this.cache.size >= NodeSqliteDatabase.cacheLimit) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(sql, statement);
    return statement;
  }
}

function toInputs(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  // Repositories pass only strings, numbers and nulls; convert only when something else slipped in.
  if (parameters.every((p) => typeof p !== 'boolean' && !(p instanceof Date))) return parameters as SQLInputValue[];
  return parameters.map((p) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p instanceof Date) return p.toISOString();
    return p as SQLInputValue;
  });
}

function wrapStatement(statement: StatementSync): SqliteStatement {
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...toInputs(parameters)) as unknown[],
    run: (parameters) => {
      const { changes, lastInsertRowid } = statement.run(...toInputs(parameters));
      return { changes, lastInsertRowid };
    },
    iterate: (parameters) => statement.iterate(...toInputs(parameters)) as IterableIterator<unknown>,
  };
}
