import type { Db, Tx } from '../../db/database.ts';
import type { ContactMethodsTable, NotificationRulesTable } from '../../db/schema.ts';

export type ContactMethodRow = ContactMethodsTable;
export type NotificationRuleRow = NotificationRulesTable;
export type ContactMethodType = 'email' | 'webhook' | 'in_app';
export type Urgency = 'high' | 'low';

/** Where a notification goes. `id` is null for the implicit defaults (account email, in-app). */
export interface ResolvedContactMethod {
  id: string | null;
  type: ContactMethodType;
  label: string;
  address: string;
  secret_encrypted: string | null;
}

/** One notification to send a user: through `method`, `delayMinutes` after the user is paged. */
export interface ResolvedRule {
  user: { id: string; name: string; email: string };
  delayMinutes: number;
  method: ResolvedContactMethod;
}

/** What a user with no rules for an urgency gets: an immediate email to the account address and an in-app notice. */
export function defaultRulesFor(user: { id: string; name: string; email: string }): ResolvedRule[] {
  return [
    { user, delayMinutes: 0, method: { id: null, type: 'email', label: 'account email', address: user.email, secret_encrypted: null } },
    { user, delayMinutes: 0, method: { id: null, type: 'in_app', label: 'in-app', address: user.id, secret_encrypted: null } },
  ];
}

export function createContactsRepo(db: Db) {
  return {
    /**
     * The notifications each user wants for an urgency, ordered by user then delay. A user without any rule
     * for that urgency gets `defaultRulesFor(user)`, so nobody is unreachable by default. Unknown ids are skipped.
     */
    async rulesFor(userIds: string[], urgency: Urgency, tx: Db | Tx = db): Promise<ResolvedRule[]> {
      const ids = [...new Set(userIds)];
      if (ids.length === 0) return [];
      const users = await tx.selectFrom('users').select(['id', 'name', 'email']).where('id', 'in', ids).execute();
      const rules = await tx.selectFrom('notification_rules')
        .innerJoin('contact_methods', 'contact_methods.id', 'notification_rules.contact_method_id')
        .select([
          'notification_rules.user_id as user_id', 'notification_rules.delay_minutes as delay_minutes',
          'contact_methods.id as method_id', 'contact_methods.type as type', 'contact_methods.label as label',
          'contact_methods.address as address', 'contact_methods.secret_encrypted as secret_encrypted',
        ])
        .where('notification_rules.user_id', 'in', ids)
        .where('notification_rules.urgency', '=', urgency)
        .orderBy('notification_rules.delay_minutes').orderBy('contact_methods.label')
        .execute();
      const byId = new Map(users.map((u) => [u.id, u]));
      const out: ResolvedRule[] = [];
      for (const id of ids) {
        const user = byId.get(id);
        if (!user) continue;
        const own = rules.filter((r) => r.user_id === id);
        if (own.length === 0) {
          out.push(...defaultRulesFor(user));
          continue;
        }
        for (const r of own) {
          out.push({
            user,
            delayMinutes: Number(r.delay_minutes),
            method: { id: r.method_id, type: r.type as ContactMethodType, label: r.label, address: r.address, secret_encrypted: r.secret_encrypted },
          });
        }
      }
      return out;
    },

    listMethods(userId: string, tx: Db | Tx = db): Promise<ContactMethodRow[]> {
      return tx.selectFrom('contact_methods').selectAll().where('user_id', '=', userId).orderBy('label').execute();
    },
    findMethod(id: string, tx: Db | Tx = db): Promise<ContactMethodRow | undefined> {
      return tx.selectFrom('contact_methods').selectAll().where('id', '=', id).executeTakeFirst();
    },
    findMethodByLabel(userId: string, label: string, tx: Db | Tx = db): Promise<ContactMethodRow | undefined> {
      return tx.selectFrom('contact_methods').selectAll().where('user_id', '=', userId).where('label', '=', label).executeTakeFirst();
    },
    async insertMethod(row: ContactMethodRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('contact_methods').values(row).execute();
    },
    async updateMethod(id: string, patch: Partial<Omit<ContactMethodRow, 'id' | 'user_id' | 'created_at'>>, tx: Db | Tx = db): Promise<void> {
      await tx.updateTable('contact_methods').set(patch).where('id', '=', id).execute();
    },
    /** Deletes a method; its notification rules go with it (foreign key cascade). */
    async deleteMethod(id: string, tx: Db | Tx = db): Promise<void> {
      // Deleted explicitly as well: the cascade needs PRAGMA foreign_keys on SQLite.
      await tx.deleteFrom('notification_rules').where('contact_method_id', '=', id).execute();
      await tx.deleteFrom('contact_methods').where('id', '=', id).execute();
    },

    listRules(userId: string, tx: Db | Tx = db): Promise<NotificationRuleRow[]> {
      return tx.selectFrom('notification_rules').selectAll().where('user_id', '=', userId)
        .orderBy('urgency').orderBy('delay_minutes').orderBy('created_at').execute();
    },
    findRule(id: string, tx: Db | Tx = db): Promise<NotificationRuleRow | undefined> {
      return tx.selectFrom('notification_rules').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async insertRule(row: NotificationRuleRow, tx: Db | Tx = db): Promise<void> {
      await tx.insertInto('notification_rules').values(row).execute();
    },
    async deleteRule(id: string, tx: Db | Tx = db): Promise<void> {
      await tx.deleteFrom('notification_rules').where('id', '=', id).execute();
    },
    async deleteRules(ids: string[], tx: Db | Tx = db): Promise<void> {
      if (ids.length) await tx.deleteFrom('notification_rules').where('id', 'in', ids).execute();
    },
  };
}

export type ContactsRepo = ReturnType<typeof createContactsRepo>;
