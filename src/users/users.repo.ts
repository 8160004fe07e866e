import type { Db, Tx } from '../db/database.ts';
import type { UsersTable, ApiTokensTable, SessionsTable } from '../db/schema.ts';

export type UserRow = UsersTable;
export type ApiTokenRow = ApiTokensTable;
export type SessionRow = SessionsTable;

export function createUsersRepo(db: Db) {
  return {
    async count(): Promise<number> {
      const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    findByEmail(email: string, tx: Db | Tx = db): Promise<UserRow | undefined> {
      return tx.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
    },
    findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    list(): Promise<UserRow[]> {
      return db.selectFrom('users').selectAll().orderBy('email').execute();
    },
    async insert(row: UserRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('users').values(row).execute();
    },
    async update(id: string, patch: Partial<Omit<UserRow, 'id'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('users').set(patch).where('id', '=', id).execute();
    },
    async insertSession(row: SessionRow): Promise<void> {
      await db.insertInto('sessions').values(row).execute();
    },
    findSession(idHash: string): Promise<SessionRow | undefined> {
      return db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    },
    async deleteSession(idHash: string): Promise<void> {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteExpiredSessions(nowIso: string): Promise<void> {
      await db.deleteFrom('sessions').where('expires_at', '<', nowIso).execute();
    },
    async insertToken(row: ApiTokenRow): Promise<void> {
      await db.insertInto('api_tokens').values(row).execute();
    },
    findTokenByHash(hash: string): Promise<ApiTokenRow | undefined> {
      return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    },
    async touchToken(id: string, atIso: string): Promise<void> {
      await db.updateTable('api_tokens').set({ last_used_at: atIso }).where('id', '=', id).execute();
    },
    listTokens(): Promise<ApiTokenRow[]> {
      return db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
    },
    async deleteUser(id: string): Promise<number> {
      const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async deleteToken(id: string): Promise<number> {
      const result = await db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type UsersRepo = ReturnType<typeof createUsersRepo>;
