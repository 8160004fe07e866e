import type { Tx } from '../db/database.ts';
import { badRequest } from '../errors.ts';
import { newId } from '../ids.ts';
import type { ContactMethodRow, ContactsRepo } from '../oncall/contacts/contacts.repo.ts';
import { newWebhookSecret, storedAddress } from '../oncall/contacts/contacts.service.ts';
import type { ContactMethodDocument, NotificationRuleDocument } from '../oncall/contacts/contact.schemas.ts';
import type { EscalationPolicy, PoliciesRepo } from '../oncall/policies/policies.repo.ts';
import type { PoliciesService } from '../oncall/policies/policies.service.ts';
import type { PolicyDocument, PolicyDocumentInput } from '../oncall/policies/policy.schemas.ts';
import type { SilenceDocument } from '../oncall/silences/silence.schemas.ts';
import type { SilencesRepo, StoredSilence } from '../oncall/silences/silences.repo.ts';
import type { SecretBox } from '../security/secret-box.ts';
import type { ApplyReport } from './config-document.ts';

/**
 * The on-call kinds of the declarative file: users' contact methods and notification rules, escalation
 * policies and silences. Each step runs inside apply's one transaction; references resolve against the
 * database as the transaction sees it, so resources declared earlier in the same file count.
 */

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const ruleKey = (r: { urgency: string; contact_method_id: string; delay_minutes: number }) => `${r.urgency}|${r.contact_method_id}|${Number(r.delay_minutes)}`;

/** Moves a label reported unchanged to updated (a resource whose parts changed later in the same apply). */
export function markUpdated(report: ApplyReport, label: string): void {
  if (report.created.includes(label) || report.updated.includes(label)) return;
  const i = report.unchanged.indexOf(label);
  if (i >= 0) report.unchanged.splice(i, 1);
  report.updated.push(label);
}

export interface UserContactsDocument {
  contact_methods?: ContactMethodDocument[];
  notification_rules?: NotificationRuleDocument[];
}

export function createOnCallApply(deps: {
  secrets: SecretBox;
  contactsRepo: ContactsRepo;
  policiesRepo: PoliciesRepo;
  policies: Pick<PoliciesService, 'resolveLevels' | 'presentMany'>;
  silencesRepo: SilencesRepo;
}) {
  const { secrets, contactsRepo, policiesRepo, policies, silencesRepo } = deps;

  /**
   * A user's contact methods (by label: created or updated; methods not listed are kept, since users add
   * their own) and, when `notification_rules` is given, exactly those rules.
   */
  async function applyUserContacts(tx: Tx, user: { id: string; email: string }, u: UserContactsDocument, at: string, report: ApplyReport, now: string) {
    for (const m of u.contact_methods ?? []) {
      const label = `user/${user.email}/contact_method/${m.label}`;
      const existing = await contactsRepo.findMethodByLabel(user.id, m.label, tx);
      const address = storedAddress(m.type, m.address, user.id);
      if (!existing) {
        const secret = m.type === 'webhook' ? m.secret ?? newWebhookSecret() : undefined;
        const row: ContactMethodRow = { id: newId(), user_id: user.id, type: m.type, label: m.label, address, secret_encrypted: secret ? secrets.encrypt(secret) : null, created_at: now };
        await contactsRepo.insertMethod(row, tx);
        report.created.push(label);
        continue;
      }
      const patch: Partial<ContactMethodRow> = {};
      if (existing.type !== m.type) patch.type = m.type;
      if (existing.address !== address) patch.address = address;
      if (m.type !== 'webhook') {
        if (existing.secret_encrypted !== null) patch.secret_encrypted = null;
      } else if (m.secret !== undefined) {
        // A secret given in the file wins; an absent one keeps the stored secret (export leaves secrets out).
        if (!existing.secret_encrypted || secrets.decrypt(existing.secret_encrypted) !== m.secret) patch.secret_encrypted = secrets.encrypt(m.secret);
      } else if (!existing.secret_encrypted) {
        patch.secret_encrypted = secrets.encrypt(newWebhookSecret());
      }
      if (Object.keys(patch).length === 0) {
        report.unchanged.push(label);
        continue;
      }
      await contactsRepo.updateMethod(existing.id, patch, tx);
      report.updated.push(label);
    }

    if (u.notification_rules === undefined) return;
    const label = `user/${user.email}/notification_rules`;
    const methods = new Map((await contactsRepo.listMethods(user.id, tx)).map((m) => [m.label, m.id]));
    const problems: { path: string; message: string }[] = [];
    const wanted = u.notification_rules.map((r, ri) => {
      const methodId = methods.get(r.contact);
      if (!methodId) problems.push({ path: `${at}.notification_rules.${ri}.contact`, message: `${user.email} has no contact method labelled ${r.contact}` });
      return { urgency: r.urgency, contact_method_id: methodId ?? '', delay_minutes: r.delay_minutes };
    });
    if (problems.length) throw badRequest('unknown_reference', problems.map((p) => p.message).join('; '), problems);
    const existing = await contactsRepo.listRules(user.id, tx);
    if (sameJson(existing.map(ruleKey).toSorted(), wanted.map(ruleKey).toSorted())) {
      report.unchanged.push(label);
      return;
    }
    await contactsRepo.deleteRules(existing.map((r) => r.id), tx);
    for (const r of wanted) await contactsRepo.insertRule({ id: newId(), user_id: user.id, ...r, created_at: now }, tx);
    (existing.length === 0 ? report.created : report.updated).push(label);
  }

  async function applyPolicies(tx: Tx, docs: PolicyDocument[], report: ApplyReport, now: string) {
    for (const [pi, p] of docs.entries()) {
      const label = `escalation_policy/${p.name}`;
      const levels = await policies.resolveLevels(p.levels, tx, `escalation_policies.${pi}`);
      const existing = await policiesRepo.findByName(p.name, tx);
      if (!existing) {
        await policiesRepo.insert({ id: newId(), name: p.name, description: p.description ?? '', repeat: p.repeat, levels, created_at: now, updated_at: now }, tx);
        report.created.push(label);
        continue;
      }
      const patch: Partial<EscalationPolicy> = {};
      if (p.description !== undefined && p.description !== existing.description) patch.description = p.description;
      if (p.repeat !== existing.repeat) patch.repeat = p.repeat;
      if (!sameJson(levels, existing.levels)) patch.levels = levels;
      if (Object.keys(patch).length === 0) {
        report.unchanged.push(label);
        continue;
      }
      await policiesRepo.update(existing.id, { ...patch, updated_at: now }, tx);
      report.updated.push(label);
    }
  }

  async function applySilences(tx: Tx, docs: SilenceDocument[], report: ApplyReport, now: string) {
    for (const s of docs) {
      const label = `silence/${s.name}`;
      const wanted = { matchers: s.matchers, starts_at: s.starts_at, ends_at: s.ends_at ?? null, recurrence: s.recurrence ?? null, comment: s.comment };
      const existing = await silencesRepo.findByName(s.name, tx);
      if (!existing) {
        await silencesRepo.insert({ id: newId(), name: s.name, ...wanted, created_by: 'firewatch apply', created_at: now, updated_at: now }, tx);
        report.created.push(label);
        continue;
      }
      const current = { matchers: existing.matchers, starts_at: existing.starts_at, ends_at: existing.ends_at, recurrence: existing.recurrence, comment: existing.comment };
      if (sameJson(current, wanted)) {
        report.unchanged.push(label);
        continue;
      }
      await silencesRepo.update(existing.id, { ...wanted, updated_at: now }, tx);
      report.updated.push(label);
    }
  }

  return {
    applyUserContacts,
    applyPolicies,
    applySilences,

    /** Policies as the file writes them: targets by email and schedule name. Targets deleted since are left out. */
    async exportPolicies(): Promise<PolicyDocumentInput[]> {
      const views = await policies.presentMany(await policiesRepo.list());
      return views.map((p) => ({
        name: p.name,
        description: p.description,
        repeat: p.repeat,
        levels: p.levels.map((l) => ({
          delay_minutes: l.delay_minutes,
          strategy: l.strategy,
          targets: l.targets.flatMap((t): ({ user: string } | { schedule: string })[] => {
            if (t.type === 'user') return t.email ? [{ user: t.email }] : [];
            return t.name ? [{ schedule: t.name }] : [];
          }),
        })),
      }));
    },

    /** A user's contact methods and rules as the file writes them (webhook secrets left out); {} when they have none. */
    async exportUserContacts(userId: string): Promise<UserContactsDocument> {
      const [methods, rules] = await Promise.all([contactsRepo.listMethods(userId), contactsRepo.listRules(userId)]);
      const out: UserContactsDocument = {};
      if (methods.length) {
        out.contact_methods = methods.map((m) => ({ label: m.label, type: m.type as ContactMethodDocument['type'], ...(m.type === 'in_app' ? {} : { address: m.address }) }));
      }
      const labels = new Map(methods.map((m) => [m.id, m.label]));
      if (rules.length) {
        out.notification_rules = rules.flatMap((r) => {
          const contact = labels.get(r.contact_method_id);
          return contact ? [{ urgency: r.urgency as NotificationRuleDocument['urgency'], contact, delay_minutes: Number(r.delay_minutes) }] : [];
        });
      }
      return out;
    },

    /** Named silences (those made in the UI without a name are not part of the file). */
    async exportSilences(): Promise<SilenceDocument[]> {
      const named: StoredSilence[] = await silencesRepo.listNamed();
      return named.map((s) => ({
        name: s.name!,
        matchers: s.matchers,
        starts_at: s.starts_at,
        ...(s.ends_at ? { ends_at: s.ends_at } : {}),
        ...(s.recurrence ? { recurrence: s.recurrence } : {}),
        comment: s.comment,
      }));
    },
  };
}

export type OnCallApply = ReturnType<typeof createOnCallApply>;
