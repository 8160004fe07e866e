import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { toIso } from '../../db/codec.ts';
import { isUniqueViolation, type Db, type Tx } from '../../db/database.ts';
import { AppError, badRequest, conflict, notFound } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import { roleAtLeast } from '../../users/roles.ts';
import type { Principal } from '../../users/users.service.ts';
import type { ContactMethodRow, ContactsRepo, Urgency } from './contacts.repo.ts';
import type { ContactMethodCreate, contactMethodOutSchema, contactMethodPatchSchema, notificationRuleOutSchema } from './contact.schemas.ts';
import { webhookUrlSchema } from './contact.schemas.ts';

export type ContactMethodView = z.infer<typeof contactMethodOutSchema>;
export type NotificationRuleView = z.infer<typeof notificationRuleOutSchema>;
type ContactMethodPatch = z.output<typeof contactMethodPatchSchema>;

export interface ContactOwner {
  id: string;
  email: string;
  name: string;
}

export const MAX_METHODS_PER_USER = 50;
export const MAX_RULES_PER_USER = 50;
const MASKED_SECRET = '•'.repeat(12);

/** A webhook signing secret, in the `whsec_` form common to webhook senders. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;

/** The stored address of a method: in-app notifications are addressed to the user. */
export const storedAddress = (type: ContactMethodRow['type'], address: string | undefined, userId: string): string =>
  (type === 'in_app' ? userId : address ?? '');

const emailAddress = z.email().max(320);

/** A method as the API shows it: the webhook secret in full only when `plainSecret` is given. */
export const presentMethod = (row: ContactMethodRow, plainSecret?: string): ContactMethodView => ({
  id: row.id,
  type: row.type as ContactMethodView['type'],
  label: row.label,
  address: row.type === 'in_app' ? null : row.address,
  secret: row.secret_encrypted ? plainSecret ?? MASKED_SECRET : null,
  created_at: row.created_at,
});

function checkAddress(type: string, address: string | undefined): void {
  const ok = type === 'email' ? emailAddress.safeParse(address).success : type === 'webhook' ? webhookUrlSchema.safeParse(address).success : address === undefined;
  if (!ok) {
    const message = type === 'email' ? 'an email address' : type === 'webhook' ? 'an http:// or https:// URL without credentials' : 'in-app notifications have no address';
    throw badRequest('validation_failed', `invalid address: ${message}`, [{ path: 'body.address', message }]);
  }
}

const labelTaken = (label: string) => conflict('contact_method_exists', `a contact method labelled ${label} already exists`);

export function createContactsService(deps: {
  db: Db;
  repo: ContactsRepo;
  users: { findByEmail(email: string): Promise<ContactOwner | undefined>; findById(id: string): Promise<ContactOwner | undefined> };
  secrets: SecretBox;
  clock: Clock;
}) {
  const { db, repo, users, secrets, clock } = deps;

  /** By id, or by label among the user's methods. */
  async function requireMethod(owner: ContactOwner, ref: string, tx: Db | Tx = db): Promise<ContactMethodRow> {
    const byId = await repo.findMethod(ref, tx);
    const found = byId && byId.user_id === owner.id ? byId : await repo.findMethodByLabel(owner.id, ref, tx);
    if (!found) throw notFound('contact_method', `${owner.email} has no contact method ${ref}`);
    return found;
  }

  return {
    presentMethod,

    /**
     * The user a request is about: `me` (the signed-in user, or the token's user) or an email. Anyone may
     * manage their own contact methods and rules; only admins may manage someone else's.
     */
    async resolveOwner(principal: Principal | null, ref: string): Promise<ContactOwner> {
      if (!principal) throw new AppError('authentication_required', 401, 'sign in or send Authorization: Bearer <token>');
      if (ref === 'me') {
        if (!principal.userId) throw badRequest('no_user', 'this API token belongs to no user; use /api/v1/users/{email}/… instead of me');
        const me = await users.findById(principal.userId);
        if (!me) throw notFound('user', 'your user no longer exists');
        return { id: me.id, email: me.email, name: me.name };
      }
      const user = await users.findByEmail(ref.toLowerCase());
      const isSelf = user !== undefined && user.id === principal.userId;
      if (!isSelf && !roleAtLeast(principal.role, 'admin')) {
        throw new AppError('forbidden', 403, "only admins may manage another user's contact methods and notification rules");
      }
      if (!user) throw notFound('user', `no user ${ref}`);
      return { id: user.id, email: user.email, name: user.name };
    },

    async listMethods(owner: ContactOwner): Promise<ContactMethodView[]> {
      return (await repo.listMethods(owner.id)).map((m) => presentMethod(m));
    },

    /** Creates a method; a webhook gets a signing secret (generated unless given), returned in full this once. */
    async createMethod(owner: ContactOwner, input: ContactMethodCreate): Promise<ContactMethodView> {
      if ((await repo.listMethods(owner.id)).length >= MAX_METHODS_PER_USER) {
        throw badRequest('too_many_contact_methods', `a user may have at most ${MAX_METHODS_PER_USER} contact methods`);
      }
      const secret = input.type === 'webhook' ? input.secret ?? newWebhookSecret() : undefined;
      const row: ContactMethodRow = {
        id: newId(),
        user_id: owner.id,
        type: input.type,
        label: input.label,
        address: storedAddress(input.type, input.type === 'in_app' ? undefined : input.address, owner.id),
        secret_encrypted: secret ? secrets.encrypt(secret) : null,
        created_at: toIso(clock.now()),
      };
      try {
        await repo.insertMethod(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw labelTaken(input.label);
        throw error;
      }
      return presentMethod(row, secret);
    },

    async updateMethod(owner: ContactOwner, ref: string, patch: ContactMethodPatch): Promise<ContactMethodView> {
      const row = await requireMethod(owner, ref);
      const changes: Partial<ContactMethodRow> = {};
      if (patch.label !== undefined) changes.label = patch.label;
      if (patch.address !== undefined) {
        checkAddress(row.type, patch.address);
        changes.address = patch.address;
      }
      let secret: string | undefined;
      if (patch.secret !== undefined || patch.rotate_secret) {
        if (row.type !== 'webhook') throw badRequest('validation_failed', 'only webhooks have a signing secret', [{ path: 'body.secret', message: 'only webhooks have a signing secret' }]);
        secret = patch.secret ?? newWebhookSecret();
        changes.secret_encrypted = secrets.encrypt(secret);
      }
      if (Object.keys(changes).length) {
        try {
          await repo.updateMethod(row.id, changes);
        } catch (error) {
          if (isUniqueViolation(error)) throw labelTaken(patch.label ?? row.label);
          throw error;
        }
      }
      return presentMethod({ ...row, ...changes }, secret);
    },

    /** Deletes a method and the notification rules that use it. */
    async removeMethod(owner: ContactOwner, ref: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const row = await requireMethod(owner, ref, tx);
        await repo.deleteMethod(row.id, tx);
      });
    },

    /** The user's rules, and for which urgencies the defaults apply (no rule: account email and in-app, at once). */
    async listRules(owner: ContactOwner): Promise<{ rules: NotificationRuleView[]; defaults: Record<Urgency, boolean> }> {
      const [rules, methods] = await Promise.all([repo.listRules(owner.id), repo.listMethods(owner.id)]);
      const byId = new Map(methods.map((m) => [m.id, m]));
      const views = rules.flatMap((r) => {
        const m = byId.get(r.contact_method_id);
        if (!m) return [];
        return [{
          id: r.id,
          urgency: r.urgency as Urgency,
          delay_minutes: Number(r.delay_minutes),
          contact_method: { id: m.id, label: m.label, type: m.type as ContactMethodView['type'] },
          created_at: r.created_at,
        }];
      });
      return { rules: views, defaults: { high: !views.some((r) => r.urgency === 'high'), low: !views.some((r) => r.urgency === 'low') } };
    },

    async createRule(owner: ContactOwner, input: { urgency: Urgency; contact_method: string; delay_minutes: number }): Promise<NotificationRuleView> {
      const method = await requireMethod(owner, input.contact_method);
      const existing = await repo.listRules(owner.id);
      if (existing.length >= MAX_RULES_PER_USER) throw badRequest('too_many_notification_rules', `a user may have at most ${MAX_RULES_PER_USER} notification rules`);
      if (existing.some((r) => r.urgency === input.urgency && r.contact_method_id === method.id && Number(r.delay_minutes) === input.delay_minutes)) {
        throw conflict('notification_rule_exists', `a ${input.urgency}-urgency rule for ${method.label} after ${input.delay_minutes} min already exists`);
      }
      const row = { id: newId(), user_id: owner.id, urgency: input.urgency, contact_method_id: method.id, delay_minutes: input.delay_minutes, created_at: toIso(clock.now()) };
      await repo.insertRule(row);
      return { ...row, contact_method: { id: method.id, label: method.label, type: method.type as ContactMethodView['type'] } };
    },

    async removeRule(owner: ContactOwner, id: string): Promise<void> {
      const rule = await repo.findRule(id);
      if (!rule || rule.user_id !== owner.id) throw notFound('notification_rule', `${owner.email} has no notification rule ${id}`);
      await repo.deleteRule(id);
    },
  };
}

export type ContactsService = ReturnType<typeof createContactsService>;
