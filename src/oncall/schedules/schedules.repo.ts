import type { Db, Tx } from '../../db/database.ts';
import { fromJson, toIso } from '../../db/codec.ts';
import type { CalendarFeedsTable, ScheduleOverridesTable, SchedulesTable, ShiftSwapsTable, UsersTable } from '../../db/schema.ts';
import type { LayerSpec, OverrideSpec, ScheduleSpec } from '../schedule/schedule.ts';

export type ScheduleRow = SchedulesTable;
export type OverrideRow = ScheduleOverridesTable;
export type SwapRow = ShiftSwapsTable;
export type FeedRow = CalendarFeedsTable;

/** The schedule algebra's override, from a stored row: later rows stack on top of earlier ones. */
export const overrideSpecOf = (row: OverrideRow): OverrideSpec => ({
  id: row.id,
  member: row.user_id,
  start: row.starts_at,
  end: row.ends_at,
  replaces: row.replaces_user_id,
});

export const layersOf = (row: ScheduleRow): LayerSpec[] => fromJson<LayerSpec[]>(row.layers, []);

/** Overrides of one schedule (or all) that overlap [from, to), oldest first. */
function overlappingOverrides(window: { from: Date; to: Date }, scheduleId: string | undefined, tx: Db | Tx) {
  let q = tx.selectFrom('schedule_overrides').selectAll()
    .where('ends_at', '>', toIso(window.from)).where('starts_at', '<', toIso(window.to));
  if (scheduleId !== undefined) q = q.where('schedule_id', '=', scheduleId);
  return q.orderBy('created_at').orderBy('id').execute();
}

export function createSchedulesRepo(db: Db) {
  return {
    list(tx: Db | Tx = db): Promise<ScheduleRow[]> {
      return tx.selectFrom('schedules').selectAll().orderBy('name').execute();
    },
    findByName(name: string, tx: Db | Tx = db): Promise<ScheduleRow | undefined> {
      return tx.selectFrom('schedules').selectAll().where('name', '=', name).executeTakeFirst();
    },
    findById(id: string, tx: Db | Tx = db): Promise<ScheduleRow | undefined> {
      return tx.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /**
     * A schedule as the schedule algebra takes it, with the overrides that overlap `window` (members are
     * user ids). Undefined when the schedule does not exist.
     */
    async specFor(scheduleId: string, window: { from: Date; to: Date }, tx: Db | Tx = db): Promise<{ schedule: ScheduleRow; spec: ScheduleSpec } | undefined> {
      const schedule = await tx.selectFrom('schedules').selectAll().where('id', '=', scheduleId).executeTakeFirst();
      if (!schedule) return undefined;
      const overrides = await overlappingOverrides(window, scheduleId, tx);
      return { schedule, spec: specOf(schedule, overrides) };
    },

    /** Every schedule's spec for one window, in two queries (the on-call overview and user feeds). */
    async allSpecs(window: { from: Date; to: Date }, tx: Db | Tx = db): Promise<{ schedule: ScheduleRow; spec: ScheduleSpec }[]> {
      const [schedules, overrides] = await Promise.all([
        tx.selectFrom('schedules').selectAll().orderBy('name').execute(),
        overlappingOverrides(window, undefined, tx),
      ]);
      return schedules.map((schedule) => ({ schedule, spec: specOf(schedule, overrides.filter((o) => o.schedule_id === schedule.id)) }));
    },

    async insert(row: ScheduleRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('schedules').values(row).execute();
    },
    async update(id: string, patch: Partial<Omit<ScheduleRow, 'id' | 'created_at'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('schedules').set(patch).where('id', '=', id).execute();
    },
    /** Deletes a schedule with its overrides and swaps (cascade) and its feed. */
    async delete(id: string, tx: Db | Tx = db): Promise<void> {
      await tx.deleteFrom('calendar_feeds').where('owner_type', '=', 'schedule').where('owner_id', '=', id).execute();
      await tx.deleteFrom('schedules').where('id', '=', id).execute();
    },

    // Members: schedules name users by id; the API and the files name them by email.
    usersByIds(ids: readonly string[], tx: Db | Tx = db): Promise<Pick<UsersTable, 'id' | 'email' | 'name'>[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return tx.selectFrom('users').select(['id', 'email', 'name']).where('id', 'in', [...new Set(ids)]).execute();
    },
    usersByEmails(emails: readonly string[], tx: Db | Tx = db): Promise<Pick<UsersTable, 'id' | 'email' | 'name'>[]> {
      if (emails.length === 0) return Promise.resolve([]);
      return tx.selectFrom('users').select(['id', 'email', 'name']).where('email', 'in', [...new Set(emails.map((e) => e.toLowerCase()))]).execute();
    },

    // Overrides
    listOverrides(scheduleId: string, window?: { from: Date; to: Date }, tx: Db | Tx = db): Promise<OverrideRow[]> {
      if (window) return overlappingOverrides(window, scheduleId, tx);
      return tx.selectFrom('schedule_overrides').selectAll().where('schedule_id', '=', scheduleId).orderBy('created_at').orderBy('id').execute();
    },
    /** Overrides declared as code (with a name), for apply and export. */
    namedOverrides(scheduleId: string, tx: Db | Tx = db): Promise<OverrideRow[]> {
      return tx.selectFrom('schedule_overrides').selectAll().where('schedule_id', '=', scheduleId).where('name', 'is not', null)
        .orderBy('name').execute();
    },
    findOverride(scheduleId: string, id: string, tx: Db | Tx = db): Promise<OverrideRow | undefined> {
      return tx.selectFrom('schedule_overrides').selectAll().where('schedule_id', '=', scheduleId).where('id', '=', id).executeTakeFirst();
    },
    async insertOverride(row: OverrideRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('schedule_overrides').values(row).execute();
    },
    async updateOverride(id: string, patch: Partial<Omit<OverrideRow, 'id' | 'schedule_id' | 'created_at' | 'created_by'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('schedule_overrides').set(patch).where('id', '=', id).execute();
    },
    async deleteOverride(id: string, tx: Db | Tx = db): Promise<void> {
      await tx.deleteFrom('schedule_overrides').where('id', '=', id).execute();
    },

    // Shift swaps
    listSwaps(scheduleId: string, tx: Db | Tx = db): Promise<SwapRow[]> {
      return tx.selectFrom('shift_swaps').selectAll().where('schedule_id', '=', scheduleId).orderBy('starts_at').orderBy('id').execute();
    },
    findSwap(scheduleId: string, id: string, tx: Db | Tx = db): Promise<SwapRow | undefined> {
      return tx.selectFrom('shift_swaps').selectAll().where('schedule_id', '=', scheduleId).where('id', '=', id).executeTakeFirst();
    },
    async insertSwap(row: SwapRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('shift_swaps').values(row).execute();
    },
    /** Moves an open swap on; false when it was no longer open (someone else took or cancelled it first). */
    async settleSwap(id: string, patch: Pick<SwapRow, 'status' | 'updated_at'> & Partial<Pick<SwapRow, 'taker_id' | 'override_id'>>, tx: Db | Tx = db): Promise<boolean> {
      const result = await tx.updateTable('shift_swaps').set(patch).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    // Calendar feeds
    findFeed(ownerType: 'schedule' | 'user', ownerId: string, tx: Db | Tx = db): Promise<FeedRow | undefined> {
      return tx.selectFrom('calendar_feeds').selectAll().where('owner_type', '=', ownerType).where('owner_id', '=', ownerId).executeTakeFirst();
    },
    findFeedByKeyHash(keyHash: string, tx: Db | Tx = db): Promise<FeedRow | undefined> {
      return tx.selectFrom('calendar_feeds').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    },
    /** Creates the owner's feed or replaces its key (the old URL stops working). */
    async replaceFeed(row: FeedRow, tx: Db | Tx = db): Promise<void> {
      await tx.deleteFrom('calendar_feeds').where('owner_type', '=', row.owner_type).where('owner_id', '=', row.owner_id).execute();
      await tx.insertInto('calendar_feeds').values(row).execute();
    },
  };
}

function specOf(schedule: ScheduleRow, overrides: OverrideRow[]): ScheduleSpec {
  return { timeZone: schedule.time_zone, layers: layersOf(schedule), overrides: overrides.map(overrideSpecOf) };
}

export type ScheduleRepo = ReturnType<typeof createSchedulesRepo>;
