import type { Db, Tx } from '../db/database.ts';
import type { TeamsTable } from '../db/schema.ts';

export type TeamRow = TeamsTable;

export function createTeamsRepo(db: Db) {
  return {
    list(tx: Db | Tx = db): Promise<TeamRow[]> {
      return tx.selectFrom('teams').selectAll().orderBy('name').execute();
    },
    findByName(name: string, tx: Db | Tx = db): Promise<TeamRow | undefined> {
      return tx.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
    },
    async insert(row: TeamRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('teams').values(row).execute();
    },
    async updateDescription(id: string, description: string, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('teams').set({ description }).where('id', '=', id).execute();
    },
    async memberEmails(teamId: string, tx: Db | Tx = db): Promise<string[]> {
      const rows = await tx.selectFrom('team_members').innerJoin('users', 'users.id', 'team_members.user_id')
        .select('users.email').where('team_members.team_id', '=', teamId).orderBy('users.email').execute();
      return rows.map((r) => r.email);
    },
    async setMembers(teamId: string, userIds: string[], tx: Db | Tx = db): Promise<void> {
      await tx.deleteFrom('team_members').where('team_id', '=', teamId).execute();
      if (userIds.length) await tx.insertInto('team_members').values(userIds.map((user_id) => ({ team_id: teamId, user_id }))).execute();
    },
  };
}

export type TeamsRepo = ReturnType<typeof createTeamsRepo>;
