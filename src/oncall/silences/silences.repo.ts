import { fromJson, toJson } from '../../db/codec.ts';
import type { Db, Tx } from '../../db/database.ts';
import type { SilencesTable } from '../../db/schema.ts';
import type { Matcher, Recurrence, SilenceRecord } from './silence.ts';

export type SilenceRow = SilencesTable;

/** A stored silence with who made it and when. */
export interface StoredSilence extends SilenceRecord {
  created_by: string;
  created_at: string;
  updated_at: string;
}

const parseSilence = (row: SilenceRow): StoredSilence => ({
  id: row.id,
  name: row.name,
  matchers: fromJson<Matcher[]>(row.matchers, []),
  starts_at: row.starts_at,
  ends_at: row.ends_at,
  recurrence: fromJson<Recurrence | null>(row.recurrence, null),
  comment: row.comment,
  created_by: row.created_by,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

const toRow = (s: Partial<StoredSilence>): Partial<SilenceRow> => {
  const { matchers, recurrence, ...rest } = s;
  const row: Partial<SilenceRow> = { ...rest };
  if (matchers !== undefined) row.matchers = toJson(matchers);
  if (recurrence !== undefined) row.recurrence = recurrence === null ? null : toJson(recurrence);
  return row;
};

export function createSilencesRepo(db: Db) {
  return {
    /**
     * Silences whose overall range contains `at` (starts_at <= at < ends_at, or no end). Recurring windows
     * are not checked here: `silenceMatches` does that.
     */
    async activeAt(at: Date, tx: Db | Tx = db): Promise<StoredSilence[]> {
      const iso = at.toISOString();
      const rows = await tx.selectFrom('silences').selectAll()
        .where('starts_at', '<=', iso)
        .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', iso)]))
        .orderBy('starts_at').orderBy('id')
        .execute();
      return rows.map(parseSilence);
    },
    /** Every silence, newest start first. */
    async list(tx: Db | Tx = db): Promise<StoredSilence[]> {
      const rows = await tx.selectFrom('silences').selectAll().orderBy('starts_at', 'desc').orderBy('id').execute();
      return rows.map(parseSilence);
    },
    async findById(id: string, tx: Db | Tx = db): Promise<StoredSilence | undefined> {
      const row = await tx.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst();
      return row && parseSilence(row);
    },
    async findByName(name: string, tx: Db | Tx = db): Promise<StoredSilence | undefined> {
      const row = await tx.selectFrom('silences').selectAll().where('name', '=', name).executeTakeFirst();
      return row && parseSilence(row);
    },
    /** Silences declared with a name (the ones config-as-code manages), by name. */
    async listNamed(tx: Db | Tx = db): Promise<StoredSilence[]> {
      const rows = await tx.selectFrom('silences').selectAll().where('name', 'is not', null).orderBy('name').execute();
      return rows.map(parseSilence);
    },
    async insert(s: StoredSilence, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('silences').values(toRow(s) as SilenceRow).execute();
    },
    async update(id: string, patch: Partial<Omit<StoredSilence, 'id' | 'created_at' | 'created_by'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('silences').set(toRow(patch)).where('id', '=', id).execute();
    },
    async delete(id: string, tx: Db | Tx = db): Promise<number> {
      const result = await tx.deleteFrom('silences').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type SilencesRepo = ReturnType<typeof createSilencesRepo>;
