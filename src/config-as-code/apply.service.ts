import { SERVICE_DEFAULTS } from '../services/services.repo.ts';
import { isScalar, parseDocument, stringify as stringifyYaml, visit } from 'yaml';
import type { Clock } from '../clock.ts';
import { fromJson, toIso, toJson } from '../db/codec.ts';
import type { Db, Tx } from '../db/database.ts';
import { AppError, badRequest } from '../errors.ts';
import { newId, sha256Hex } from '../ids.ts';
import type { SecretBox } from '../security/secret-box.ts';
import { type IntegrationType, parseIntegrationConfig } from '../services/integration-config.ts';
import type { ServiceRow, ServicesRepo } from '../services/services.repo.ts';
import type { ServicesService } from '../services/services.service.ts';
import type { TeamsRepo } from '../teams/teams.repo.ts';
import type { UsersRepo } from '../users/users.repo.ts';
import { createContactsRepo } from '../oncall/contacts/contacts.repo.ts';
import { createPoliciesRepo } from '../oncall/policies/policies.repo.ts';
import { createPoliciesService } from '../oncall/policies/policies.service.ts';
import { createSilencesRepo } from '../oncall/silences/silences.repo.ts';
import { createOnCallApply } from './apply.oncall.ts';
import type { ScheduleRepo } from '../oncall/schedules/schedules.repo.ts';
import { applySchedules, exportSchedules } from './apply.schedules.ts';
import type { ApplyKind } from './apply-kind.ts';
import { type ApplyReport, type ConfigDocument, type ConfigDocumentInput, configDocumentSchema } from './config-document.ts';

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * YAML reads an unquoted `00000000000000000000000000000000` or `11111111111111111111111111111111` (keys, as in
 * CONTRACTS.md) as a number, losing digits. A number whose text is 16+ characters or has a leading zero cannot be
 * meant as a number here, so it stays the text as written.
 */
function parseConfigText(text: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw doc.errors[0];
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'number' || typeof node.source !== 'string') return;
      const source = node.source.trim();
      if (source.length >= 16 || /^[-+]?0\d/.test(source)) node.value = source;
    },
  });
  return doc.toJS({ maxAliasCount: 100 });
}

/** Parses YAML text into a validated document; every problem is listed with its path. */
export function parseConfigYaml(text: string): ConfigDocument {
  let raw: unknown;
  try {
    raw = parseConfigText(text) ?? {};
  } catch (error) {
    throw badRequest('invalid_yaml', `the file is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = configDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    throw badRequest('invalid_config', 'the configuration has problems', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return parsed.data;
}

export function createApplyService(deps: {
  db: Db; durable: () => Promise<void>; clock: Clock; secrets: SecretBox; servicesRepo: ServicesRepo; services: ServicesService; usersRepo: UsersRepo; teamsRepo: TeamsRepo; schedulesRepo: ScheduleRepo; onChange?: () => void;
  /** Kinds owned by feature modules, applied after the core kinds in this order (filled as modules are created). */
  kinds?: ApplyKind[];
}) {
  const { db, clock, secrets, servicesRepo, services, usersRepo, teamsRepo } = deps;
  const policiesRepo = createPoliciesRepo(db);
  const onCall = createOnCallApply({
    secrets, contactsRepo: createContactsRepo(db), policiesRepo, policies: createPoliciesService({ db, repo: policiesRepo, clock }), silencesRepo: createSilencesRepo(db),
  });

  async function applyServices(tx: Tx, doc: ConfigDocument, report: ApplyReport, now: string) {
    for (const [si, s] of doc.services.entries()) {
      let service = await servicesRepo.findByName(s.name, tx);
      const onCallColumns = await services.onCallColumns(s, tx, `services.${si}.escalation_policy`);
      if (!service) {
        service = { id: newId(), name: s.name, description: s.description ?? '', created_at: now, updated_at: now, ...SERVICE_DEFAULTS, ...onCallColumns };
        await servicesRepo.insert(service, tx);
        report.created.push(`service/${s.name}`);
      } else {
        const wanted: Partial<ServiceRow> = { ...(s.description !== undefined ? { description: s.description } : {}), ...onCallColumns };
        const current = service;
        const patch = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k as keyof ServiceRow] !== v));
        if (Object.keys(patch).length) {
          await servicesRepo.update(service.id, { ...patch, updated_at: now }, tx);
          report.updated.push(`service/${s.name}`);
        } else {
          report.unchanged.push(`service/${s.name}`);
        }
      }
      for (const i of s.integrations) {
        const label = `service/${s.name}/integration/${i.name}`;
        const existing = await servicesRepo.findIntegration(service.id, i.name, tx);
        if (!existing) {
          await services.insertIntegration(service, { name: i.name, type: i.type as IntegrationType, key: i.key, config: i.config }, tx);
          report.created.push(label);
          continue;
        }
        if (existing.type !== i.type) {
          throw badRequest('integration_type_change', `${label} is of type ${existing.type}; delete it to change its type to ${i.type}`);
        }
        const config = parseIntegrationConfig(i.type as IntegrationType, i.config ?? {});
        const patch: Record<string, string> = {};
        if (!sameJson(config, fromJson(existing.config, {}))) patch.config = toJson(config);
        if (i.key && sha256Hex(i.key) !== existing.key_hash) {
          patch.key_hash = sha256Hex(i.key);
          patch.key_encrypted = secrets.encrypt(i.key);
        }
        if (Object.keys(patch).length === 0) {
          report.unchanged.push(label);
          continue;
        }
        await servicesRepo.updateIntegration(existing.id, { ...patch, updated_at: now }, tx);
        if (i.type === 'heartbeat') await servicesRepo.upsertHeartbeat(existing.id, Number(config.interval_seconds), tx);
        report.updated.push(label);
      }
    }
  }

  async function applyUsers(tx: Tx, doc: ConfigDocument, report: ApplyReport, now: string) {
    for (const [ui, u] of doc.users.entries()) {
      const email = u.email.toLowerCase();
      const existing = await usersRepo.findByEmail(email, tx);
      const name = u.name ?? existing?.name ?? email.split('@')[0];
      let id = existing?.id;
      if (!existing) {
        id = newId();
        await usersRepo.insert({ id, email, name, role: u.role, password_hash: null, created_at: now, updated_at: now }, tx);
        report.created.push(`user/${email}`);
      } else if (existing.name !== name || existing.role !== u.role) {
        await usersRepo.update(existing.id, { name, role: u.role, updated_at: now }, tx);
        report.updated.push(`user/${email}`);
      } else {
        report.unchanged.push(`user/${email}`);
      }
      await onCall.applyUserContacts(tx, { id: id!, email }, u, `users.${ui}`, report, now);
    }
  }

  async function applyTeams(tx: Tx, doc: ConfigDocument, report: ApplyReport, now: string) {
    for (const t of doc.teams) {
      const userIds: string[] = [];
      for (const email of t.members) {
        const user = await usersRepo.findByEmail(email.toLowerCase(), tx);
        if (!user) throw badRequest('unknown_team_member', `team ${t.name}: no user ${email} (declare it under users)`);
        userIds.push(user.id);
      }
      let team = await teamsRepo.findByName(t.name, tx);
      let changed = false;
      if (!team) {
        team = { id: newId(), name: t.name, description: t.description ?? '', created_at: now };
        await teamsRepo.insert(team, tx);
        report.created.push(`team/${t.name}`);
      } else if (t.description !== undefined && t.description !== team.description) {
        await teamsRepo.updateDescription(team.id, t.description, tx);
        changed = true;
      }
      const current = await teamsRepo.memberEmails(team.id, tx);
      const wanted = [...new Set(t.members.map((m) => m.toLowerCase()))].toSorted();
      if (!sameJson(current, wanted)) {
        await teamsRepo.setMembers(team.id, [...new Set(userIds)], tx);
        changed = true;
      }
      if (report.created.includes(`team/${t.name}`)) continue;
      (changed ? report.updated : report.unchanged).push(`team/${t.name}`);
    }
  }

  return {
    /** Creates or updates every resource in the document in one transaction: all or nothing. */
    async apply(doc: ConfigDocument): Promise<ApplyReport> {
      const report: ApplyReport = { created: [], updated: [], unchanged: [] };
      const now = toIso(clock.now());
      try {
        await db.transaction().execute(async (tx) => {
          // Referenced kinds first: users → teams → policies → services → silences.
          await applyUsers(tx, doc, report, now);
          await applyTeams(tx, doc, report, now);
          // Schedules after users (their members), before escalation policies (which may target them).
          await applySchedules(tx, doc.schedules, report, now, deps.schedulesRepo);
          await onCall.applyPolicies(tx, doc.escalation_policies, report, now);
          await applyServices(tx, doc, report, now);
          await onCall.applySilences(tx, doc.silences, report, now);
          for (const kind of deps.kinds ?? []) await kind.apply(tx, doc[kind.key] as never, report, now);
        });
        await deps.durable();
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError('apply_failed', 500, `nothing was applied: ${(error as Error).message}`, undefined, false);
      }
      deps.onChange?.();
      return report;
    },

    /** The current resources as a document `apply` accepts (integration keys included: keep it private). */
    async exportDocument(): Promise<ConfigDocumentInput> {
      const list = await services.list();
      const users = await usersRepo.list();
      const teams = await teamsRepo.list();
      return {
        services: list.map((s) => ({
          name: s.name,
          description: s.description,
          integrations: s.integrations.map((i) => ({ name: i.name, type: i.type as IntegrationType, key: i.key, config: i.config })),
          escalation_policy: s.escalation_policy,
          ack_timeout_seconds: s.ack_timeout_seconds,
          renotify_on_new_alerts: s.renotify_on_new_alerts,
        })),
        users: await Promise.all(users.map(async (u) => ({ email: u.email, name: u.name, role: u.role as 'admin' | 'responder' | 'viewer', ...(await onCall.exportUserContacts(u.id)) }))),
        teams: await Promise.all(teams.map(async (t) => ({ name: t.name, description: t.description, members: await teamsRepo.memberEmails(t.id) }))),
        schedules: await exportSchedules(deps.schedulesRepo),
        escalation_policies: await onCall.exportPolicies(),
        silences: await onCall.exportSilences(),
        ...Object.fromEntries(await Promise.all((deps.kinds ?? []).map(async (kind) => [kind.key, await kind.export()] as const))),
      };
    },

    exportYaml(doc: ConfigDocumentInput): string {
      return stringifyYaml(doc);
    },
  };
}

export type ApplyService = ReturnType<typeof createApplyService>;
