import { sql } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { ApplyKind } from '../../config-as-code/apply-kind.ts';
import type { ApplyReport } from '../../config-as-code/config-document.ts';
import { fromJson, toJson } from '../../db/codec.ts';
import type { Db, Tx } from '../../db/database.ts';
import type { HostsTable, InventoryProvidersTable } from './inventory.tables.ts';
import { AppError, badRequest, notFound } from '../../errors.ts';
import type { FeatureLog } from '../../features/module.ts';
import { newId } from '../../ids.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import type { DataSources } from '../metrics/datasource.types.ts';
import { describeEc2Hosts } from './ec2.ts';
import { type DiscoveredHost, type HostView, hostPart, hostsFromTargets, matchesAll, parseSelectors, searchText, type Selector } from './hosts.ts';
import type { InventoryDocument } from './inventory.document.ts';

export interface ProviderView {
  name: string;
  type: string;
  hosts: number;
  refresh_seconds: number | null;
  last_refresh_at: string | null;
  last_error: string | null;
}

/** Default refresh period of discovered providers (prometheus, ec2). */
export const DEFAULT_REFRESH_SECONDS = 300;
const SECRET_FIELD = 'secret_access_key';

type StoredConfig = InventoryDocument & { credentials?: { access_key_id: string; secret_access_key: string; session_token?: string } };

function sealConfig(doc: InventoryDocument, secrets: SecretBox): string {
  if (doc.provider !== 'ec2' || !doc.credentials) return toJson(doc);
  const { session_token, ...rest } = doc.credentials;
  return toJson({ ...doc, credentials: { ...rest, [SECRET_FIELD]: secrets.encrypt(rest.secret_access_key), ...(session_token ? { session_token: secrets.encrypt(session_token) } : {}) } });
}

function openConfig(text: string, secrets: SecretBox): StoredConfig {
  const doc = fromJson<StoredConfig>(text, { name: '', provider: 'static', hosts: [] });
  if (doc.provider !== 'ec2' || !doc.credentials) return doc;
  const c = doc.credentials;
  return { ...doc, credentials: { access_key_id: c.access_key_id, secret_access_key: secrets.decrypt(c.secret_access_key), ...(c.session_token ? { session_token: secrets.decrypt(c.session_token) } : {}) } };
}

/** Canonical JSON (sorted keys) to tell an unchanged provider from a changed one. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).toSorted().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function staticHosts(doc: Extract<InventoryDocument, { provider: 'static' }>): DiscoveredHost[] {
  return doc.hosts.map((h) => ({ externalId: h.id ?? h.name, name: h.name, addresses: h.addresses, labels: h.labels }));
}

const presentHost = (row: HostsTable & { provider_name: string; provider_type: string }): HostView => ({
  id: row.id,
  provider: row.provider_name,
  provider_type: row.provider_type,
  external_id: row.external_id,
  name: row.name,
  addresses: fromJson<string[]>(row.addresses, []),
  labels: fromJson<Record<string, string>>(row.labels, {}),
  updated_at: row.updated_at,
  seen_at: row.seen_at,
});

/** LIKE pattern for a substring, with %, _ and \ escaped. */
const likeOf = (s: string) => `%${s.toLowerCase().replaceAll(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Replaces a provider's hosts with `hosts` (deduplicated by external id): updates, inserts, deletes the vanished. */
async function replaceHosts(tx: Tx, providerId: string, hosts: DiscoveredHost[], now: string): Promise<void> {
  const byExternal = new Map<string, DiscoveredHost>();
  for (const h of hosts) byExternal.set(h.externalId, h);
  const existing = new Map((await tx.selectFrom('hosts').select(['id', 'external_id', 'name', 'addresses', 'labels']).where('provider_id', '=', providerId).execute())
    .map((r) => [r.external_id, r]));
  const inserts: HostsTable[] = [];
  for (const h of byExternal.values()) {
    const row = existing.get(h.externalId);
    const addresses = toJson(h.addresses);
    const labels = toJson(h.labels);
    if (!row) {
      inserts.push({ id: newId(), provider_id: providerId, external_id: h.externalId, name: h.name, addresses, labels, search_text: searchText(h), updated_at: now, seen_at: now });
    } else if (row.name !== h.name || row.addresses !== addresses || row.labels !== labels) {
      await tx.updateTable('hosts').set({ name: h.name, addresses, labels, search_text: searchText(h), updated_at: now, seen_at: now }).where('id', '=', row.id).execute();
    } else {
      await tx.updateTable('hosts').set({ seen_at: now }).where('id', '=', row.id).execute();
    }
  }
  for (let i = 0; i < inserts.length; i += 500) await tx.insertInto('hosts').values(inserts.slice(i, i + 500)).execute();
  const gone = [...existing.values()].filter((r) => !byExternal.has(r.external_id)).map((r) => r.id);
  for (let i = 0; i < gone.length; i += 500) await tx.deleteFrom('hosts').where('id', 'in', gone.slice(i, i + 500)).execute();
}

export function createInventoryService(deps: { db: Db; clock: Clock; secrets: SecretBox; datasources: DataSources; log: FeatureLog }) {
  const { db, clock, secrets, datasources } = deps;
  const refreshing = new Map<string, Promise<ProviderView>>();

  async function providerRow(name: string): Promise<InventoryProvidersTable> {
    const row = await db.selectFrom('inventory_providers').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound('inventory_provider', `no inventory provider named ${name}`);
    return row;
  }

  async function discover(doc: StoredConfig): Promise<DiscoveredHost[]> {
    switch (doc.provider) {
      case 'static': return staticHosts(doc);
      case 'prometheus': {
        const source = await datasources.metrics(doc.datasource);
        return hostsFromTargets(await source.targets());
      }
      case 'ec2': return describeEc2Hosts({
        region: doc.region,
        ...(doc.filters ? { filters: doc.filters } : {}),
        ...(doc.endpoint ? { endpoint: doc.endpoint } : {}),
        ...(doc.credentials ? { credentials: { accessKeyId: doc.credentials.access_key_id, secretAccessKey: doc.credentials.secret_access_key, ...(doc.credentials.session_token ? { sessionToken: doc.credentials.session_token } : {}) } } : {}),
      });
    }
  }

  async function presentProvider(row: InventoryProvidersTable): Promise<ProviderView> {
    const count = await db.selectFrom('hosts').select((eb) => eb.fn.countAll<number>().as('n')).where('provider_id', '=', row.id).executeTakeFirstOrThrow();
    const doc = fromJson<{ refresh_seconds?: number }>(row.config, {});
    return {
      name: row.name, type: row.type, hosts: Number(count.n),
      refresh_seconds: row.type === 'static' ? null : doc.refresh_seconds ?? DEFAULT_REFRESH_SECONDS,
      last_refresh_at: row.last_refresh_at, last_error: row.last_error,
    };
  }

  async function doRefresh(name: string): Promise<ProviderView> {
    const row = await providerRow(name);
    const doc = openConfig(row.config, secrets);
    const now = clock.now().toISOString();
    try {
      const hosts = await discover(doc);
      await db.transaction().execute(async (tx) => {
        await replaceHosts(tx, row.id, hosts, now);
        await tx.updateTable('inventory_providers').set({ last_refresh_at: now, last_error: null }).where('id', '=', row.id).execute();
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await db.updateTable('inventory_providers').set({ last_refresh_at: now, last_error: message.slice(0, 2000) }).where('id', '=', row.id).execute();
      if (err instanceof AppError) throw new AppError(err.code, err.status >= 500 || err.code === 'datasource_not_found' ? 502 : err.status, `inventory ${name}: ${err.message}`);
      throw new AppError('inventory_provider_error', 502, `inventory ${name}: ${message}`);
    }
    return presentProvider(await providerRow(name));
  }

  const applyKind: ApplyKind<'inventory'> = {
    key: 'inventory',
    async apply(tx: Tx, items: InventoryDocument[] | undefined, report: ApplyReport, now: string) {
      for (const doc of items ?? []) {
        const label = `inventory/${doc.name}`;
        const row = await tx.selectFrom('inventory_providers').selectAll().where('name', '=', doc.name).executeTakeFirst();
        if (row && canonical(openConfig(row.config, secrets)) === canonical(doc)) {
          report.unchanged.push(label);
          continue;
        }
        let id: string;
        if (row) {
          id = row.id;
          // A changed provider type or source invalidates what was discovered: refresh on the next tick.
          await tx.updateTable('inventory_providers').set({ type: doc.provider, config: sealConfig(doc, secrets), updated_at: now, last_refresh_at: null, last_error: null }).where('id', '=', id).execute();
          if (row.type !== doc.provider) await tx.deleteFrom('hosts').where('provider_id', '=', id).execute();
          report.updated.push(label);
        } else {
          id = newId();
          await tx.insertInto('inventory_providers').values({ id, name: doc.name, type: doc.provider, config: sealConfig(doc, secrets), last_refresh_at: null, last_error: null, created_at: now, updated_at: now }).execute();
          report.created.push(label);
        }
        if (doc.provider === 'static') {
          await replaceHosts(tx, id, staticHosts(doc), now);
          await tx.updateTable('inventory_providers').set({ last_refresh_at: now }).where('id', '=', id).execute();
        }
      }
    },
    async export() {
      const rows = await db.selectFrom('inventory_providers').select(['config']).orderBy('name').execute();
      return rows.map((r) => openConfig(r.config, secrets) as InventoryDocument);
    },
  };

  function baseQuery() {
    return db.selectFrom('hosts').innerJoin('inventory_providers as p', 'p.id', 'hosts.provider_id')
      .selectAll('hosts').select(['p.name as provider_name', 'p.type as provider_type']);
  }

  return {
    applyKind,

    async providers(): Promise<ProviderView[]> {
      const rows = await db.selectFrom('inventory_providers').selectAll().orderBy('name').execute();
      return Promise.all(rows.map(presentProvider));
    },

    /** Re-discovers a provider's hosts now (one refresh at a time per provider; a second caller shares it). */
    refresh(name: string): Promise<ProviderView> {
      const running = refreshing.get(name);
      if (running) return running;
      const p = doRefresh(name).finally(() => refreshing.delete(name));
      refreshing.set(name, p);
      return p;
    },

    /** Discovered providers whose refresh period has passed (or that were never refreshed). */
    async dueProviders(): Promise<string[]> {
      const rows = await db.selectFrom('inventory_providers').select(['name', 'type', 'config', 'last_refresh_at']).where('type', '!=', 'static').execute();
      const now = clock.now().getTime();
      return rows.filter((r) => {
        const every = fromJson<{ refresh_seconds?: number }>(r.config, {}).refresh_seconds ?? DEFAULT_REFRESH_SECONDS;
        return r.last_refresh_at === null || Date.parse(r.last_refresh_at) + every * 1000 <= now;
      }).map((r) => r.name);
    },

    /** Hosts whose words contain `q` (substring), with every `label` (k=v) and of `provider`, by name. */
    async list(filter: { q?: string; labels?: string[]; provider?: string; limit?: number }): Promise<{ hosts: HostView[]; total: number }> {
      const selectors: Selector[] = [];
      for (const l of filter.labels ?? []) {
        const i = l.indexOf('=');
        if (i <= 0) throw badRequest('invalid_label_selector', `label must be key=value, got ${JSON.stringify(l)}`);
        selectors.push({ key: l.slice(0, i), value: l.slice(i + 1) });
      }
      let q = baseQuery();
      if (filter.provider) q = q.where('p.name', '=', filter.provider);
      for (const word of (filter.q ?? '').trim().split(/\s+/).filter(Boolean)) q = q.where(sql<boolean>`hosts.search_text like ${likeOf(word)} escape '\\'`);
      for (const s of selectors) if ('value' in s && s.value) q = q.where(sql<boolean>`hosts.search_text like ${likeOf(s.value)} escape '\\'`);
      const rows = (await q.orderBy('hosts.name').orderBy('hosts.id').execute()).map(presentHost).filter((h) => matchesAll(h, selectors));
      const limit = filter.limit ?? 500;
      return { hosts: rows.slice(0, limit), total: rows.length };
    },

    /** `kind=object4`, `name=web-1`, `instance=10.0.0.4:9100`, bare words: hosts matching every term. */
    async find(text: string, limit = 100): Promise<HostView[]> {
      const selectors = parseSelectors(text);
      if (selectors.length === 0) throw badRequest('empty_selector', 'give at least one selector, e.g. kind=object4, name=web-1 or a bare word');
      let q = baseQuery();
      for (const s of selectors) {
        // Addresses match without their port too, so prefilter on the host part.
        const v = 'word' in s ? hostPart(s.word) : ['instance', 'address', 'ip'].includes(s.key) ? hostPart(s.value) : s.value;
        if ('key' in s && s.key === 'provider') q = q.where('p.name', '=', v);
        else if (v) q = q.where(sql<boolean>`hosts.search_text like ${likeOf(v.replaceAll(/\s+/g, '_'))} escape '\\'`);
      }
      const rows = (await q.orderBy('hosts.name').orderBy('hosts.id').execute()).map(presentHost);
      return rows.filter((h) => matchesAll(h, selectors)).slice(0, limit);
    },

    async get(id: string): Promise<HostView> {
      const row = await baseQuery().where('hosts.id', '=', id).executeTakeFirst();
      if (!row) throw notFound('host');
      return presentHost(row);
    },

    /** Hosts named by alert labels (instance, host, hostname…): each value looked up as an address, name or id. */
    async byAlertValues(values: string[]): Promise<{ value: string; hosts: HostView[] }[]> {
      const out: { value: string; hosts: HostView[] }[] = [];
      for (const value of [...new Set(values)].slice(0, 50)) {
        const word = value.replaceAll(/["']/g, '').trim();
        if (word) out.push({ value, hosts: await this.find(`"${word}"`, 20) });
      }
      return out;
    },
  };
}

export type InventoryService = ReturnType<typeof createInventoryService>;
