import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { toIso } from '../../db/codec.ts';
import { type Db, isUniqueViolation, type Tx } from '../../db/database.ts';
import { AppError, badRequest, conflict, notFound } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import type { ApplyKind } from '../../config-as-code/apply-kind.ts';
import type { DataSources, MetricsSource } from './datasource.types.ts';
import { createDemoSource } from './demo.source.ts';
import { type DatasourceDocument, datasourceDocumentSchema } from './metrics.document.ts';
import type { DatasourcesTable } from './metrics.tables.ts';
import { createLokiSource, createPrometheusSource, type DatasourceAuth, type LokiSource } from './prometheus.client.ts';

/** The built-in synthetic source, available under this name while no metrics data source is declared. */
export const BUILTIN_DEMO = 'demo';

export const datasourceOutSchema = z.object({
  name: z.string(),
  type: z.string(),
  url: z.string().nullable(),
  auth: z.object({ type: z.enum(['basic', 'bearer']), username: z.string().optional() }).nullable(),
  timeout_seconds: z.number().nullable(),
  default: z.boolean(),
  builtin: z.boolean(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});
export type DatasourceView = z.infer<typeof datasourceOutSchema>;

export const datasourcePatchSchema = z.strictObject({
  url: z.url().optional(),
  auth: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('basic'), username: z.string().min(1).max(200), password: z.string().max(1000) }),
    z.strictObject({ type: z.literal('bearer'), token: z.string().min(1).max(4000) }),
  ]).nullable().optional(),
  timeout_seconds: z.number().positive().max(300).nullable().optional(),
  default: z.boolean().optional(),
});

function checkUrl(url: string | undefined | null): void {
  if (!url) return;
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRequest('invalid_datasource_url', 'the data source URL must be http:// or https://');
}

/** The document in the key order toDocument produces, for comparison. */
function canonical(doc: DatasourceDocument): DatasourceDocument {
  return {
    name: doc.name, type: doc.type,
    ...(doc.url ? { url: doc.url } : {}),
    ...(doc.auth ? { auth: doc.auth.type === 'basic' ? { type: 'basic', username: doc.auth.username, password: doc.auth.password } : { type: 'bearer', token: doc.auth.token } } : {}),
    ...(doc.timeout_seconds !== undefined ? { timeout_seconds: doc.timeout_seconds } : {}),
    ...(doc.default ? { default: true } : {}),
  };
}

export function createDatasourcesService(deps: { db: Db; clock: Clock; secrets: SecretBox }) {
  const { db, clock, secrets } = deps;
  const demo = createDemoSource({ name: BUILTIN_DEMO, clock });
  const demos = new Map<string, MetricsSource>();

  const authOf = (row: DatasourcesTable): DatasourceAuth | null => (row.auth_encrypted ? JSON.parse(secrets.decrypt(row.auth_encrypted)) as DatasourceAuth : null);

  function present(row: DatasourcesTable): DatasourceView {
    const auth = authOf(row);
    return {
      name: row.name, type: row.type, url: row.url,
      auth: auth ? { type: auth.type, ...(auth.type === 'basic' ? { username: auth.username } : {}) } : null,
      timeout_seconds: row.timeout_seconds, default: row.is_default === 1, builtin: false, created_at: row.created_at, updated_at: row.updated_at,
    };
  }

  const builtinView = (): DatasourceView => ({ name: BUILTIN_DEMO, type: 'demo', url: null, auth: null, timeout_seconds: null, default: true, builtin: true, created_at: null, updated_at: null });

  function toDocument(row: DatasourcesTable): DatasourceDocument {
    const auth = authOf(row);
    return {
      name: row.name, type: row.type as DatasourceDocument['type'],
      ...(row.url ? { url: row.url } : {}),
      ...(auth ? { auth } : {}),
      ...(row.timeout_seconds !== null ? { timeout_seconds: row.timeout_seconds } : {}),
      ...(row.is_default ? { default: true } : {}),
    };
  }


  function sourceOf(row: DatasourcesTable): MetricsSource | LokiSource {
    const options = { name: row.name, url: row.url ?? '', auth: authOf(row), timeoutSeconds: row.timeout_seconds };
    if (row.type === 'prometheus') return createPrometheusSource(options);
    if (row.type === 'loki') return createLokiSource(options);
    let d = demos.get(row.name);
    if (!d) {
      d = createDemoSource({ name: row.name, clock });
      demos.set(row.name, d);
    }
    return d;
  }

  const rows = () => db.selectFrom('datasources').selectAll().orderBy('name').execute();

  /** Writes one declared source (create or replace); returns whether anything changed. */
  async function upsert(tx: Db | Tx, doc: DatasourceDocument, now: string): Promise<'created' | 'updated' | 'unchanged'> {
    checkUrl(doc.url);
    const existing = await tx.selectFrom('datasources').selectAll().where('name', '=', doc.name).executeTakeFirst();
    if (doc.default) await tx.updateTable('datasources').set({ is_default: 0 }).where('name', '!=', doc.name).where('is_default', '=', 1).execute();
    if (!existing) {
      await tx.insertInto('datasources').values({
        id: newId(), name: doc.name, type: doc.type, url: doc.url ?? null, auth_encrypted: doc.auth ? secrets.encrypt(JSON.stringify(doc.auth)) : null,
        timeout_seconds: doc.timeout_seconds ?? null, is_default: doc.default ? 1 : 0, created_at: now, updated_at: now,
      }).execute();
      return 'created';
    }
    if (JSON.stringify(toDocument(existing)) === JSON.stringify(canonical(doc))) return 'unchanged';
    await tx.updateTable('datasources').set({
      type: doc.type, url: doc.url ?? null, auth_encrypted: doc.auth ? secrets.encrypt(JSON.stringify(doc.auth)) : null,
      timeout_seconds: doc.timeout_seconds ?? null, is_default: doc.default ? 1 : 0, updated_at: now,
    }).where('id', '=', existing.id).execute();
    demos.delete(doc.name);
    return 'updated';
  }

  async function requireRow(name: string): Promise<DatasourcesTable> {
    const row = await db.selectFrom('datasources').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound('datasource', `data source ${name} not found`);
    return row;
  }

  const datasources: DataSources & { logs(name: string): Promise<LokiSource> } = {
    async metrics(name) {
      const all = (await rows()).filter((r) => r.type !== 'loki');
      if (name) {
        const row = all.find((r) => r.name === name);
        if (row) return sourceOf(row) as MetricsSource;
        if (name === BUILTIN_DEMO && all.length === 0) return demo;
        const loki = await db.selectFrom('datasources').select('name').where('name', '=', name).where('type', '=', 'loki').executeTakeFirst();
        if (loki) throw new AppError('datasource_wrong_type', 400, `data source ${name} is a Loki (log) source, not a metrics source`);
        throw notFound('datasource', `data source ${name} not found`);
      }
      const chosen = all.find((r) => r.is_default === 1) ?? all[0];
      return chosen ? sourceOf(chosen) as MetricsSource : demo;
    },
    async list() {
      const all = await rows();
      const out = all.map((r) => ({ name: r.name, type: r.type, url: r.url, default: r.is_default === 1 }));
      if (!all.some((r) => r.type !== 'loki')) out.unshift({ name: BUILTIN_DEMO, type: 'demo', url: null, default: true });
      else if (!all.some((r) => r.is_default === 1)) {
        const first = out.find((r) => r.type !== 'loki');
        if (first) first.default = true;
      }
      return out;
    },
    async logs(name) {
      const row = await requireRow(name);
      if (row.type !== 'loki') throw new AppError('datasource_wrong_type', 400, `data source ${name} is not a Loki source`);
      return sourceOf(row) as LokiSource;
    },
  };

  const applyKind: ApplyKind<'datasources'> = {
    key: 'datasources',
    async apply(tx, items, report, now) {
      if ((items ?? []).filter((d) => d.default).length > 1) throw badRequest('validation_failed', 'only one data source may be the default');
      for (const doc of items ?? []) {
        const outcome = await upsert(tx, doc, now);
        report[outcome].push(`datasource/${doc.name}`);
      }
    },
    async export() {
      return (await rows()).map(toDocument);
    },
  };

  return {
    datasources,
    applyKind,
    async list(): Promise<DatasourceView[]> {
      const all = await rows();
      const views = all.map(present);
      if (!all.some((r) => r.type !== 'loki')) views.unshift(builtinView());
      else if (!views.some((v) => v.default)) {
        const first = views.find((v) => v.type !== 'loki');
        if (first) first.default = true;
      }
      return views;
    },
    async get(name: string): Promise<DatasourceView> {
      const row = await db.selectFrom('datasources').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row && name === BUILTIN_DEMO && !(await rows()).some((r) => r.type !== 'loki')) return builtinView();
      if (!row) throw notFound('datasource', `data source ${name} not found`);
      return present(row);
    },
    async create(input: unknown): Promise<DatasourceView> {
      const parsed = datasourceDocumentSchema.safeParse(input);
      if (!parsed.success) throw new AppError('validation_failed', 400, 'invalid body', parsed.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message, code: i.code })));
      const doc = parsed.data;
      try {
        await db.transaction().execute(async (tx) => {
          if (await tx.selectFrom('datasources').select('id').where('name', '=', doc.name).executeTakeFirst()) throw conflict('datasource_exists', `a data source named ${doc.name} already exists`);
          await upsert(tx, doc, toIso(clock.now()));
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('datasource_exists', `a data source named ${doc.name} already exists`);
        throw error;
      }
      return present(await requireRow(doc.name));
    },
    async update(name: string, patch: z.infer<typeof datasourcePatchSchema>): Promise<DatasourceView> {
      const row = await requireRow(name);
      const doc = toDocument(row);
      const next: Record<string, unknown> = { ...doc };
      if (patch.url !== undefined) next.url = patch.url;
      if (patch.auth !== undefined) next.auth = patch.auth ?? undefined;
      if (patch.timeout_seconds !== undefined) next.timeout_seconds = patch.timeout_seconds ?? undefined;
      if (patch.default !== undefined) next.default = patch.default;
      const parsed = datasourceDocumentSchema.safeParse(next);
      if (!parsed.success) throw new AppError('validation_failed', 400, parsed.error.issues[0]?.message ?? 'invalid data source');
      await db.transaction().execute((tx) => upsert(tx, parsed.data, toIso(clock.now())));
      return present(await requireRow(name));
    },
    async remove(name: string): Promise<void> {
      const row = await requireRow(name);
      const used = await db.selectFrom('rule_groups').select('name').where('datasource', '=', name).execute();
      if (used.length) throw conflict('datasource_in_use', `rule groups ${used.map((g) => g.name).join(', ')} query ${name}; change them first`);
      await db.deleteFrom('datasources').where('id', '=', row.id).execute();
      demos.delete(name);
    },
    /** Checks that the source answers (build info or labels); returns the latency or throws the source's error. */
    async test(name: string): Promise<{ ok: true; latency_ms: number; detail: string }> {
      const started = performance.now();
      const row = await db.selectFrom('datasources').selectAll().where('name', '=', name).executeTakeFirst();
      if (row?.type === 'loki') {
        const labels = await (sourceOf(row) as LokiSource).labels();
        return { ok: true, latency_ms: Math.round(performance.now() - started), detail: `Loki answered with ${labels.length} labels` };
      }
      const source = await datasources.metrics(name);
      const result = await source.query(source.type === 'demo' ? 'up' : 'vector(1)', clock.now());
      return { ok: true, latency_ms: Math.round(performance.now() - started), detail: source.type === 'demo' ? `synthetic fleet: ${result.series.length} instances` : 'query vector(1) answered' };
    },
  };
}

export type DatasourcesService = ReturnType<typeof createDatasourcesService>;
