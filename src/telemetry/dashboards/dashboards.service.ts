import type { Clock } from '../../clock.ts';
import type { ChatService } from '../../chat/chat.types.ts';
import { fromJson, toJson } from '../../db/codec.ts';
import type { Db } from '../../db/database.ts';
import { AppError, badRequest, notFound } from '../../errors.ts';
import { renderChartPng } from '../../graphs/render.ts';
import type { IncidentsService } from '../../incidents/incidents.service.ts';
import type { DataSources, MetricsSource, Series } from '../metrics/datasource.types.ts';
import { HOST_LABELS, type HostView } from '../inventory/hosts.ts';
import type { InventoryService } from '../inventory/inventory.service.ts';
import { analyzeOutliers, type OutlierAnalysis } from './outliers.ts';
import { type DashboardConfig, DEFAULT_SELECTOR, expandQuery, type PanelSpec, type Preset, presetPanels } from './panels.ts';

/** Instances drawn per panel; more are dropped with a warning (the outlier analysis uses them all). */
export const MAX_INSTANCES_DRAWN = 100;
/** Longest window a dashboard or snapshot may span. */
export const MAX_WINDOW_SECONDS = 31 * 86_400;
/** The incident window: this long before the incident started … */
export const INCIDENT_LEAD_SECONDS = 3600;
/** … to this long after it was resolved (or now). */
export const INCIDENT_TAIL_SECONDS = 900;

export interface PanelError {
  code: string;
  message: string;
}

export interface NamedSeries {
  name: string;
  labels: Record<string, string>;
  points: [number, number][];
}

export interface PanelData {
  id: string;
  title: string;
  unit: string | null;
  queries: { per_instance: string; aggregate: { label: string; query: string }[] };
  aggregate: NamedSeries[];
  per_instance: NamedSeries[];
  outliers: OutlierAnalysis | null;
  step: number | null;
  warnings: string[];
  error: PanelError | null;
}

export interface DashboardData {
  service: string;
  datasource: string | null;
  preset: Preset | null;
  from: number;
  to: number;
  panels: PanelData[];
  /** Every flagged instance across the panels, highest score first. */
  outliers: { panel: string; panel_title: string; instance: string; score: number; reason: string }[];
  /** The instance flagged by the most panels (ties: the highest score), or null. */
  top_outlier: { instance: string; panels: string[]; score: number } | null;
  error: PanelError | null;
}

const errorOf = (err: unknown): PanelError => {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  return { code: 'datasource_error', message: err instanceof Error ? err.message : String(err) };
};

const seriesName = (labels: Record<string, string>): string => {
  const metric = labels['__name__'];
  const entries = Object.entries(labels).filter(([k]) => k !== '__name__');
  return entries.length === 0 ? (metric ?? 'value') : entries.map(([k, v]) => `${k}="${v}"`).join(', ');
};

/** Validates a window; `from`/`to` as unix seconds. */
export function checkWindow(from: number, to: number): void {
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw badRequest('invalid_time_range', 'from and to must be times (ISO 8601 or unix seconds)');
  // Times a date can hold; beyond that, float seconds cannot step through the window.
  if (Math.abs(from) > 8.64e12 || Math.abs(to) > 8.64e12) throw badRequest('invalid_time_range', 'from and to are out of range');
  if (to <= from) throw badRequest('invalid_time_range', 'from must be before to');
  if (to - from > MAX_WINDOW_SECONDS) throw badRequest('invalid_time_range', 'the window may span at most 31 days');
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** ISO 8601, unix seconds, `now` or `now-15m` → unix seconds (NaN when none of these); `fallback` when empty. */
export function parseTime(value: string | undefined, now: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'now') return now;
  const rel = /^now-(\d+)([smhd])$/.exec(value);
  if (rel) return now - Number(rel[1]) * UNIT_SECONDS[rel[2]!]!;
  return Date.parse(value) / 1000;
}

async function panelData(source: MetricsSource, panel: PanelSpec, vars: { service: string; selector: string | null; instance: string | null }, from: number, to: number): Promise<PanelData> {
  // One step for every query of the panel, so the aggregate and the instances line up.
  const step = Math.max(1, Math.round((to - from) / 300));
  const expand = (q: string) => expandQuery(q, { ...vars, step });
  const queries = {
    per_instance: expand(panel.per_instance),
    aggregate: (panel.aggregate ?? []).map((a) => ({ label: a.label, query: expand(a.query) })),
  };
  const out: PanelData = { id: panel.id, title: panel.title, unit: panel.unit ?? null, queries, aggregate: [], per_instance: [], outliers: null, step, warnings: [], error: null };
  try {
    const [perInstance, ...aggregates] = await Promise.all([
      source.queryRange(queries.per_instance, { start: from, end: to, step }),
      ...queries.aggregate.map((a) => source.queryRange(a.query, { start: from, end: to, step })),
    ]);
    out.step = perInstance!.step;
    out.warnings.push(...perInstance!.warnings, ...aggregates.flatMap((a) => a.warnings));
    const label = panel.instance_label ?? 'instance';
    const instances: NamedSeries[] = perInstance!.series.map((s: Series) => ({ name: s.labels[label] ?? seriesName(s.labels), labels: s.labels, points: s.points }));
    instances.sort((a, b) => a.name.localeCompare(b.name));
    out.outliers = analyzeOutliers(instances.map((s) => ({ instance: s.name, points: s.points })));
    if (instances.length > MAX_INSTANCES_DRAWN) {
      out.warnings.push(`${instances.length} instances; the ${MAX_INSTANCES_DRAWN} drawn include every outlier`);
      const flagged = new Set(out.outliers.instances.filter((i) => i.outlier).map((i) => i.instance));
      out.per_instance = [...instances.filter((s) => flagged.has(s.name)), ...instances.filter((s) => !flagged.has(s.name))].slice(0, MAX_INSTANCES_DRAWN);
    } else {
      out.per_instance = instances;
    }
    if (queries.aggregate.length > 0) {
      out.aggregate = aggregates.flatMap((r, i) => r.series.map((s) => ({ name: r.series.length === 1 ? queries.aggregate[i]!.label : `${queries.aggregate[i]!.label} ${seriesName(s.labels)}`, labels: s.labels, points: s.points })));
    } else {
      out.aggregate = [averageSeries(instances)];
    }
  } catch (err) {
    out.error = errorOf(err);
  }
  return out;
}

/** The per-timestamp mean of the instances' series (the aggregated view when a panel names no aggregate query). */
function averageSeries(instances: NamedSeries[]): NamedSeries {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const s of instances) {
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) continue;
      const e = sums.get(t) ?? { sum: 0, n: 0 };
      e.sum += v;
      e.n += 1;
      sums.set(t, e);
    }
  }
  return { name: 'average', labels: {}, points: [...sums.entries()].toSorted((a, b) => a[0] - b[0]).map(([t, e]) => [t, e.sum / e.n]) };
}

function summarize(panels: PanelData[]): Pick<DashboardData, 'outliers' | 'top_outlier'> {
  const outliers = panels.flatMap((p) => (p.outliers?.instances ?? []).filter((i) => i.outlier)
    .map((i) => ({ panel: p.id, panel_title: p.title, instance: i.instance, score: Math.max(i.score, i.amplitude_score), reason: i.reason ?? 'high' })))
    .toSorted((a, b) => b.score - a.score);
  const byInstance = new Map<string, { panels: string[]; score: number }>();
  for (const o of outliers) {
    const e = byInstance.get(o.instance) ?? { panels: [], score: 0 };
    e.panels.push(o.panel);
    e.score = Math.max(e.score, o.score);
    byInstance.set(o.instance, e);
  }
  let top: DashboardData['top_outlier'] = null;
  for (const [instance, e] of byInstance) {
    if (!top || e.panels.length > top.panels.length || (e.panels.length === top.panels.length && e.score > top.score)) top = { instance, ...e };
  }
  return { outliers, top_outlier: top };
}

export function createDashboardsService(deps: { db: Db; clock: Clock; datasources: DataSources; chat: ChatService; incidents: IncidentsService; inventory: InventoryService }) {
  const { db, clock, datasources, chat, incidents, inventory } = deps;

  async function serviceRow(name: string) {
    const row = await db.selectFrom('services').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound('service');
    return row;
  }

  async function storedConfig(serviceId: string) {
    const row = await db.selectFrom('service_dashboards').selectAll().where('service_id', '=', serviceId).executeTakeFirst();
    return row ? { config: fromJson<DashboardConfig>(row.config, {}), updated_at: row.updated_at, updated_by: row.updated_by } : { config: {} as DashboardConfig, updated_at: null, updated_by: null };
  }

  /** The configuration with defaults filled in: which source, preset, selector and panels the dashboard uses. */
  async function effective(config: DashboardConfig): Promise<{ source: MetricsSource | null; sourceError: PanelError | null; preset: Preset; selector: string; panels: PanelSpec[] }> {
    let source: MetricsSource | null = null;
    let sourceError: PanelError | null = null;
    try {
      source = await datasources.metrics(config.datasource ?? null);
    } catch (err) {
      sourceError = errorOf(err);
    }
    const preset: Preset = config.preset ?? (source?.type === 'demo' ? 'demo' : 'prometheus');
    return { source, sourceError, preset, selector: config.selector ?? DEFAULT_SELECTOR, panels: config.panels ?? presetPanels(preset) };
  }

  async function data(serviceName: string, window: { from: number; to: number; instance?: string | null }): Promise<DashboardData> {
    checkWindow(window.from, window.to);
    const service = await serviceRow(serviceName);
    const { config } = await storedConfig(service.id);
    const eff = await effective(config);
    const vars = { service: service.name, selector: eff.selector, instance: window.instance ?? null };
    if (!eff.source) {
      const error = eff.sourceError!;
      const step = Math.max(1, Math.round((window.to - window.from) / 300));
      return {
        service: service.name, datasource: config.datasource ?? null, preset: eff.preset, from: window.from, to: window.to, error, outliers: [], top_outlier: null,
        panels: eff.panels.map((p) => ({ id: p.id, title: p.title, unit: p.unit ?? null,
          queries: { per_instance: expandQuery(p.per_instance, { ...vars, step }), aggregate: (p.aggregate ?? []).map((a) => ({ label: a.label, query: expandQuery(a.query, { ...vars, step }) })) },
          aggregate: [], per_instance: [], outliers: null, step: null, warnings: [], error })),
      };
    }
    const source = eff.source;
    const panels = await Promise.all(eff.panels.map((p) => panelData(source, p, vars, window.from, window.to)));
    return { service: service.name, datasource: source.name, preset: eff.preset, from: window.from, to: window.to, panels, ...summarize(panels), error: null };
  }

  return {
    data,

    async getConfig(serviceName: string) {
      const service = await serviceRow(serviceName);
      const stored = await storedConfig(service.id);
      const eff = await effective(stored.config);
      return {
        service: service.name,
        config: stored.config,
        effective: { datasource: eff.source?.name ?? stored.config.datasource ?? null, preset: eff.preset, selector: eff.selector, panels: eff.panels },
        datasource_error: eff.sourceError,
        updated_at: stored.updated_at,
        updated_by: stored.updated_by,
      };
    },

    async putConfig(serviceName: string, config: DashboardConfig, actorName: string) {
      const service = await serviceRow(serviceName);
      const now = clock.now().toISOString();
      const text = toJson(config);
      await db.transaction().execute(async (tx) => {
        const updated = await tx.updateTable('service_dashboards').set({ config: text, updated_at: now, updated_by: actorName }).where('service_id', '=', service.id).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) await tx.insertInto('service_dashboards').values({ service_id: service.id, config: text, updated_at: now, updated_by: actorName }).execute();
      });
      return this.getConfig(serviceName);
    },

    /** Renders a query's chart and posts it into a war-room channel, linked to its live view. */
    async snapshot(input: { datasource?: string | null; query: string; from: number; to: number; channel: string; title?: string | null; highlight?: string[] }, author: { id: string | null; name: string; userId: string | null }) {
      checkWindow(input.from, input.to);
      const source = await datasources.metrics(input.datasource ?? null);
      const result = await source.queryRange(input.query, { start: input.from, end: input.to });
      if (result.series.length === 0) throw badRequest('empty_result', 'the query returned no series in this window: nothing to draw');
      const title = input.title?.trim() || input.query;
      const png = await renderChartPng({ title, series: result.series, from: input.from, to: input.to, ...(input.highlight?.length ? { highlight: input.highlight } : {}) });
      const link = `/explore?${new URLSearchParams({ datasource: source.name, query: input.query, from: String(input.from), to: String(input.to) }).toString()}`;
      const file = await chat.storeFile({ name: 'chart.png', contentType: 'image/png', data: png, link, alt: title, uploadedBy: author.userId });
      const range = `${new Date(input.from * 1000).toISOString()} – ${new Date(input.to * 1000).toISOString()}`;
      const message = await chat.post({ channel: input.channel, author: { type: author.userId ? 'user' : 'integration', id: author.userId ?? author.id, name: author.name }, text: `Chart: ${title} (${range})`, fileIds: [file.id] });
      return { message_id: message.id, channel: message.channel, file, link };
    },

    /** The incident's service dashboard at its window, its outliers, and the hosts its alerts name. */
    async incidentTelemetry(number: number) {
      const incident = await incidents.get(number);
      const alerts = await incidents.alerts(number);
      // A loop, not Math.min(...spread): an incident may hold more alerts than a call can take arguments.
      let startedMs = Date.parse(incident.created_at);
      for (const a of alerts) {
        const at = Date.parse(a.first_seen_at);
        if (at < startedMs) startedMs = at;
      }
      const started = startedMs / 1000;
      const nowS = clock.now().getTime() / 1000;
      const ended = incident.resolved_at ? Date.parse(incident.resolved_at) / 1000 : nowS;
      const from = Math.floor(started - INCIDENT_LEAD_SECONDS);
      const to = Math.ceil(Math.min(nowS, ended + INCIDENT_TAIL_SECONDS));
      const values: { value: string; label: string }[] = [];
      for (const a of alerts) {
        const labels = ((a.custom_details as { labels?: Record<string, unknown> } | null)?.labels ?? {}) as Record<string, unknown>;
        for (const key of HOST_LABELS) {
          const v = labels[key];
          if (typeof v === 'string' && v && !values.some((x) => x.value === v)) values.push({ value: v, label: key });
        }
        if (a.source && !values.some((x) => x.value === a.source)) values.push({ value: a.source, label: 'source' });
      }
      const found = await inventory.byAlertValues(values.map((v) => v.value));
      const hosts: { value: string; label: string; hosts: HostView[] }[] = found.map((f) => ({ ...f, label: values.find((v) => v.value === f.value)?.label ?? 'source' }));
      const dashboard = await data(incident.service.name, { from, to: Math.max(to, from + 60) });
      return {
        incident: { number: incident.number, title: incident.title, service: incident.service.name, created_at: incident.created_at, resolved_at: incident.resolved_at },
        window: { from, to: Math.max(to, from + 60) },
        dashboard_url: `/services/${encodeURIComponent(incident.service.name)}/dashboard?from=${from}&to=${Math.max(to, from + 60)}`,
        dashboard,
        affected_hosts: hosts,
      };
    },
  };
}

export type DashboardsService = ReturnType<typeof createDashboardsService>;
