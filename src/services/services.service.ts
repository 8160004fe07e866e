import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { fromJson, toIso, toJson } from '../db/codec.ts';
import { isUniqueViolation, type Db, type Tx } from '../db/database.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import { newId, newIntegrationKey, sha256Hex } from '../ids.ts';
import { createPoliciesRepo, type PoliciesRepo } from '../oncall/policies/policies.repo.ts';
import type { SecretBox } from '../security/secret-box.ts';
import { type IntegrationType, parseIntegrationConfig } from './integration-config.ts';
import type { integrationSchema } from './service.schemas.ts';
import { type IntegrationRow, SERVICE_DEFAULTS, type ServiceRow, type ServicesRepo } from './services.repo.ts';

export const serviceNameSchema = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._ -]*$/, 'letters, digits, dot, dash, underscore and space; starting with a letter or digit');
export const integrationKeySchema = z.string().regex(/^[A-Za-z0-9]{32}$/, 'must be 32 letters or digits');
/** Seconds after which an acknowledged incident triggers again (PagerDuty's acknowledgement_timeout); null: never. */
export const ackTimeoutSchema = z.number().int().min(60).max(86400).nullable();

/** A service's on-call settings as the API and the declarative file name them. */
export interface OnCallSettings {
  escalation_policy?: string | null;
  ack_timeout_seconds?: number | null;
  renotify_on_new_alerts?: boolean;
}

export type IntegrationView = z.infer<typeof integrationSchema>;

/** The intake URL each integration type listens on. */
export function integrationUrl(publicUrl: string, type: string, key: string): string {
  switch (type) {
    case 'pagerduty': return `${publicUrl}/v2/enqueue`;
    case 'alertmanager': return `${publicUrl}/integrations/alertmanager/${key}`;
    case 'webhook': return `${publicUrl}/integrations/webhook/${key}`;
    default: return `${publicUrl}/integrations/heartbeat/${key}`;
  }
}

const keyHash = (key: string) => sha256Hex(key);

export function createServicesService(deps: {
  db: Db; repo: ServicesRepo; clock: Clock; secrets: SecretBox; publicUrl: string;
  policies?: Pick<PoliciesRepo, 'findByName' | 'findById' | 'list'>;
}) {
  const { db, repo, clock, secrets, publicUrl } = deps;
  const policies = deps.policies ?? createPoliciesRepo(db);

  const presentIntegration = (row: IntegrationRow): IntegrationView => {
    const key = secrets.decrypt(row.key_encrypted);
    return {
      id: row.id,
      service_id: row.service_id,
      name: row.name,
      type: row.type as IntegrationType,
      key,
      config: fromJson<Record<string, unknown>>(row.config, {}),
      url: integrationUrl(publicUrl, row.type, key),
      last_event_at: row.last_event_at,
      created_at: row.created_at,
    };
  };

  const presentService = (row: ServiceRow, integrations: IntegrationRow[], policyName: string | null) => ({
    id: row.id,
    name: row.name,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
    integrations: integrations.map(presentIntegration),
    escalation_policy: policyName,
    ack_timeout_seconds: row.ack_timeout_seconds === null ? null : Number(row.ack_timeout_seconds),
    renotify_on_new_alerts: Number(row.renotify_on_new_alerts) === 1,
  });

  const policyNameOf = async (row: ServiceRow, tx: Db | Tx = db) =>
    (row.escalation_policy_id ? (await policies.findById(row.escalation_policy_id, tx))?.name ?? null : null);

  /**
   * The column values for on-call settings; only the settings given. An unknown policy name is a 400
   * `unknown_escalation_policy` (reported at `path`).
   */
  async function onCallColumns(settings: OnCallSettings, tx: Db | Tx, path: string): Promise<Partial<ServiceRow>> {
    const columns: Partial<ServiceRow> = {};
    if (settings.escalation_policy !== undefined) {
      if (settings.escalation_policy === null) {
        columns.escalation_policy_id = null;
      } else {
        const policy = await policies.findByName(settings.escalation_policy, tx);
        if (!policy) {
          throw badRequest('unknown_escalation_policy', `no escalation policy ${settings.escalation_policy}`, [{ path, message: `no escalation policy ${settings.escalation_policy}` }]);
        }
        columns.escalation_policy_id = policy.id;
      }
    }
    if (settings.ack_timeout_seconds !== undefined) columns.ack_timeout_seconds = settings.ack_timeout_seconds;
    if (settings.renotify_on_new_alerts !== undefined) columns.renotify_on_new_alerts = settings.renotify_on_new_alerts ? 1 : 0;
    return columns;
  }

  async function requireService(name: string): Promise<ServiceRow> {
    const row = await repo.findByName(name);
    if (!row) throw notFound('service', `service ${name} not found`);
    return row;
  }

  async function insertIntegration(service: ServiceRow, input: { name: string; type: IntegrationType; key?: string; config?: unknown }, tx: Db | Tx): Promise<IntegrationRow> {
    const key = input.key ?? newIntegrationKey();
    const config = parseIntegrationConfig(input.type, input.config);
    const now = toIso(clock.now());
    const row: IntegrationRow = {
      id: newId(),
      service_id: service.id,
      name: input.name,
      type: input.type,
      key_hash: keyHash(key),
      key_encrypted: secrets.encrypt(key),
      config: toJson(config),
      last_event_at: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await repo.insertIntegration(row, tx);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw conflict('integration_exists', `an integration named ${input.name} already exists on ${service.name}, or that key is in use`);
      }
      throw error;
    }
    if (input.type === 'heartbeat') await repo.upsertHeartbeat(row.id, Number(config.interval_seconds), tx);
    return row;
  }

  return {
    presentIntegration,
    keyHash,

    async list() {
      const [services, integrations, allPolicies] = await Promise.all([repo.list(), repo.listIntegrations(), policies.list()]);
      const policyNames = new Map(allPolicies.map((p) => [p.id, p.name]));
      return services.map((s) => presentService(s, integrations.filter((i) => i.service_id === s.id), s.escalation_policy_id ? policyNames.get(s.escalation_policy_id) ?? null : null));
    },

    async get(name: string) {
      const service = await requireService(name);
      return presentService(service, await repo.listIntegrations(service.id), await policyNameOf(service));
    },

    async create(input: { name: string; description?: string }) {
      const now = toIso(clock.now());
      const row: ServiceRow = { id: newId(), name: input.name, description: input.description ?? '', created_at: now, updated_at: now, ...SERVICE_DEFAULTS };
      try {
        await repo.insert(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('service_exists', `a service named ${input.name} already exists`);
        throw error;
      }
      return presentService(row, [], null);
    },

    async update(name: string, patch: { name?: string; description?: string } & OnCallSettings) {
      const service = await requireService(name);
      const { escalation_policy, ack_timeout_seconds, renotify_on_new_alerts, ...plain } = patch;
      const onCall = await onCallColumns({ escalation_policy, ack_timeout_seconds, renotify_on_new_alerts }, db, 'body.escalation_policy');
      try {
        await repo.update(service.id, { ...plain, ...onCall, updated_at: toIso(clock.now()) });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('service_exists', `a service named ${patch.name} already exists`);
        throw error;
      }
      return this.get(patch.name ?? name);
    },

    async remove(name: string) {
      const service = await requireService(name);
      if (await repo.hasIncidents(service.id)) {
        throw new AppError('service_has_incidents', 409, `service ${name} has incidents; their history would be lost`);
      }
      await repo.delete(service.id);
    },

    async addIntegration(serviceName: string, input: { name: string; type: IntegrationType; key?: string; config?: unknown }) {
      const service = await requireService(serviceName);
      return presentIntegration(await insertIntegration(service, input, db));
    },

    async updateIntegration(serviceName: string, integrationName: string, patch: { name?: string; config?: unknown }) {
      const service = await requireService(serviceName);
      const row = await repo.findIntegration(service.id, integrationName);
      if (!row) throw notFound('integration', `integration ${integrationName} not found on ${serviceName}`);
      const config = patch.config === undefined ? fromJson<Record<string, unknown>>(row.config, {}) : parseIntegrationConfig(row.type as IntegrationType, patch.config);
      try {
        await repo.updateIntegration(row.id, { name: patch.name ?? row.name, config: toJson(config), updated_at: toIso(clock.now()) });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('integration_exists', `an integration named ${patch.name} already exists on ${serviceName}`);
        throw error;
      }
      if (row.type === 'heartbeat') await repo.upsertHeartbeat(row.id, Number(config.interval_seconds));
      return presentIntegration((await repo.findIntegrationById(row.id))!);
    },

    async removeIntegration(serviceName: string, integrationName: string) {
      const service = await requireService(serviceName);
      const row = await repo.findIntegration(service.id, integrationName);
      if (!row) throw notFound('integration', `integration ${integrationName} not found on ${serviceName}`);
      await repo.deleteIntegration(row.id);
    },

    /** The integration an intake key belongs to, or undefined. Keys are looked up by their SHA-256. */
    findIntegrationByKey(key: string): Promise<IntegrationRow | undefined> {
      return repo.findIntegrationByKeyHash(keyHash(key));
    },

    insertIntegration,
    onCallColumns,
    policyNameOf,
  };
}

export type ServicesService = ReturnType<typeof createServicesService>;
