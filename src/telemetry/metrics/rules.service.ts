import { hostname } from 'node:os';
import type { AlertEvent, IntegrationRef } from '../../alerts/alert-event.ts';
import type { IntakeService } from '../../alerts/intake.service.ts';
import type { Clock } from '../../clock.ts';
import type { ApplyKind } from '../../config-as-code/apply-kind.ts';
import { fromJson, toIso, toJson } from '../../db/codec.ts';
import type { Db, Tx } from '../../db/database.ts';
import { AppError, badRequest, notFound } from '../../errors.ts';
import type { FeatureLog } from '../../features/module.ts';
import { newId, sha256Hex } from '../../ids.ts';
import { severityFromLabel } from '../../integrations/sources/alertmanager.ts';
import type { ServicesRepo } from '../../services/services.repo.ts';
import type { ServicesService } from '../../services/services.service.ts';
import type { LogLine, LogStore } from '../logs/log.types.ts';
import type { DataSources, Series } from './datasource.types.ts';
import { BUILTIN_DEMO } from './datasources.service.ts';
import type { RuleGroupDocument } from './metrics.document.ts';
import type { RuleAlertsTable, RuleGroupsTable, RulesTable } from './metrics.tables.ts';
import { expandTemplate, goFloat, parseDuration } from './rule-template.ts';

/** The integration (type webhook, on each rule group's service) that alerts from rules arrive through. */
export const RULES_INTEGRATION = 'firewatch-rules';
/** Prometheus' global default evaluation interval. */
const DEFAULT_INTERVAL_S = 60;
/** Evaluations kept per rule (older ones are pruned). */
export const HISTORY_PER_RULE = 100;
const MAX_RECORDED_SAMPLES = 100;
const LOG_LINES_IN_ALERT = 20;
const CONCURRENT_GROUPS = 16;
/** Queries in flight at once for the rules of one group. */
const RULES_AT_ONCE = 4;

type RuleDoc = RuleGroupDocument['rules'][number];
type AlertState = 'pending' | 'firing';

export interface RuleAlertView {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  value: string;
  active_at: string;
  fired_at: string | null;
  keep_firing_since: string | null;
  lines?: LogLine[];
}

interface WorkingAlert {
  row: RuleAlertsTable | null;
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState | 'inactive';
  value: number;
  activeAt: string;
  firedAt: string | null;
  lastSeenAt: string;
  keepFiringSince: string | null;
  lines: LogLine[] | null;
  changed: boolean;
}

const ruleKind = (r: RuleDoc): 'alert' | 'record' | 'log' => (r.record ? 'record' : r.log ? 'log' : 'alert');
const ruleName = (r: RuleDoc) => r.alert ?? r.record ?? '';
const sortedLabels = (labels: Record<string, string>) => Object.fromEntries(Object.keys(labels).toSorted().map((k) => [k, labels[k]]));
const fingerprintOf = (labels: Record<string, string>) => sha256Hex(Object.keys(labels).toSorted().map((k) => `${k}\u0000${labels[k]}`).join('\u0001')).slice(0, 24);
const finite = (v: number) => (Number.isFinite(v) ? v : null);
const NAME_LABEL = '__name__';

/**
 * A group's first evaluation: the next slot of its interval, offset by a hash of its name (as Prometheus spreads
 * groups over the interval), so a thousand groups created together do not all fall due at the same instant.
 */
export function firstSlot(name: string, intervalSeconds: number, nowIso: string): string {
  const intervalMs = intervalSeconds * 1000;
  const offset = Number.parseInt(sha256Hex(name).slice(0, 8), 16) % intervalMs;
  const now = Date.parse(nowIso);
  const base = Math.floor(now / intervalMs) * intervalMs + offset;
  return toIso(new Date(base < now ? base + intervalMs : base));
}
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

/** Checks a group as Prometheus' rule-file loader does (plus Firewatch's keys); throws rule_invalid with every problem. */
export function validateGroup(g: RuleGroupDocument): void {
  const problems: { path: string; message: string }[] = [];
  const at = (i: number, key: string, message: string) => problems.push({ path: `rules.${g.name}.rules.${i}${key ? `.${key}` : ''}`, message });
  g.rules.forEach((r, i) => {
    if (!!r.alert === !!r.record) at(i, '', 'one of alert or record is required');
    if (!!r.expr === !!r.log) at(i, '', 'one of expr or log is required');
    if (r.record && !METRIC_NAME.test(r.record)) at(i, 'record', `invalid recording rule name ${JSON.stringify(r.record)}`);
    if (r.record && (r.for || r.keep_firing_for || r.annotations)) at(i, '', 'for, keep_firing_for and annotations apply to alerting rules only');
    if (r.log && r.record) at(i, 'log', 'log rules are alerting rules (use alert:)');
    if (r.log && (r.log.above === undefined) === (r.log.absent_for === undefined)) at(i, 'log', 'give one of above or absent_for');
    // A zero window or period could never be searched: the rule would be unhealthy forever.
    if (r.log && r.log.absent_for === undefined && parseDuration(r.log.window, 60) < 1) at(i, 'log.window', 'window must be at least 1s');
    if (r.log?.absent_for !== undefined && parseDuration(r.log.absent_for) < 1) at(i, 'log.absent_for', 'absent_for must be at least 1s');
    for (const k of Object.keys(r.labels ?? {})) if (!LABEL_NAME.test(k) || k.startsWith('__')) at(i, `labels.${k}`, `invalid label name ${JSON.stringify(k)}`);
    for (const k of Object.keys(r.annotations ?? {})) if (!LABEL_NAME.test(k)) at(i, `annotations.${k}`, `invalid annotation name ${JSON.stringify(k)}`);
  });
  for (const k of Object.keys(g.labels ?? {})) if (!LABEL_NAME.test(k)) problems.push({ path: `rules.${g.name}.labels.${k}`, message: `invalid label name ${JSON.stringify(k)}` });
  if (g.interval && parseDuration(g.interval) < 1) problems.push({ path: `rules.${g.name}.interval`, message: 'interval must be at least 1s' });
  if (problems.length) throw new AppError('rule_invalid', 400, `rule group ${g.name}: ${problems[0].message}`, problems);
}

interface RuleOutcome {
  rule: RulesTable;
  health: 'ok' | 'err';
  error: string | null;
  ms: number;
  samples: number;
  alerts: WorkingAlert[] | null;
  lastResult: string | null;
  transitions: { fingerprint: string; labels: Record<string, string>; from: string; to: string }[];
}

async function applyGroup(tx: Tx, g: RuleGroupDocument, now: string): Promise<'created' | 'updated' | 'unchanged'> {
  validateGroup(g);
  if (g.service && !(await tx.selectFrom('services').select('id').where('name', '=', g.service).executeTakeFirst())) {
    throw badRequest('service_not_found', `rule group ${g.name}: service ${g.service} not found (declare it under services:)`);
  }
  if (g.datasource && g.datasource !== BUILTIN_DEMO) {
    const ds = await tx.selectFrom('datasources').select(['type']).where('name', '=', g.datasource).executeTakeFirst();
    if (!ds) throw badRequest('datasource_not_found', `rule group ${g.name}: data source ${g.datasource} not found (declare it under datasources:)`);
    if (ds.type === 'loki') throw badRequest('datasource_wrong_type', `rule group ${g.name}: ${g.datasource} is a Loki source; expr rules need a metrics source (log rules use log:)`);
  }
  const document = toJson(g);
  const interval = parseDuration(g.interval, DEFAULT_INTERVAL_S);
  const firstDue = firstSlot(g.name, interval, now);
  const existing = await tx.selectFrom('rule_groups').selectAll().where('name', '=', g.name).executeTakeFirst();
  if (existing && existing.document === document) return 'unchanged';
  let groupId: string;
  if (existing) {
    groupId = existing.id;
    await tx.updateTable('rule_groups').set({ document, interval_seconds: interval, datasource: g.datasource ?? null, service: g.service ?? null, next_eval_at: firstDue, updated_at: now }).where('id', '=', groupId).execute();
  } else {
    groupId = newId();
    await tx.insertInto('rule_groups').values({
      id: groupId, name: g.name, document, interval_seconds: interval, datasource: g.datasource ?? null, service: g.service ?? null,
      next_eval_at: firstDue, lease_owner: null, lease_until: null, last_eval_at: null, last_eval_ms: null, created_at: now, updated_at: now,
    }).execute();
  }
  // Rules that did not change keep their id, alert state and history (as Prometheus keeps them on reload).
  const old = existing ? await tx.selectFrom('rules').selectAll().where('group_id', '=', groupId).where('retired_at', 'is', null).execute() : [];
  const pool = new Map<string, RulesTable[]>();
  for (const r of old) pool.set(`${r.kind}\u0000${r.spec}`, [...(pool.get(`${r.kind}\u0000${r.spec}`) ?? []), r]);
  const keep = new Set<string>();
  for (const [position, r] of g.rules.entries()) {
    const spec = toJson(r);
    const kind = ruleKind(r);
    const reuse = pool.get(`${kind}\u0000${spec}`)?.shift();
    if (reuse) {
      keep.add(reuse.id);
      if (reuse.position !== position) await tx.updateTable('rules').set({ position }).where('id', '=', reuse.id).execute();
    } else {
      await tx.insertInto('rules').values({ id: newId(), group_id: groupId, position, kind, name: ruleName(r), spec, health: 'unknown', last_error: null, last_eval_at: null, last_eval_ms: null, last_result: null, retired_at: null }).execute();
    }
  }
  const drop = old.filter((r) => !keep.has(r.id)).map((r) => r.id);
  if (drop.length) {
    // A removed or changed rule that is firing must not leave its incident open: it is retired, and the group's
    // next evaluation resolves its alerts through the intake and then deletes it. The rest go now.
    const firing = new Set((await tx.selectFrom('rule_alerts').select('rule_id').where('rule_id', 'in', drop).where('state', '=', 'firing').execute()).map((a) => a.rule_id));
    const retire = drop.filter((id) => firing.has(id));
    const gone = drop.filter((id) => !firing.has(id));
    if (retire.length) {
      await tx.updateTable('rules').set({ retired_at: now }).where('id', 'in', retire).execute();
      await tx.deleteFrom('rule_alerts').where('rule_id', 'in', retire).where('state', '!=', 'firing').execute();
    }
    if (gone.length) await tx.deleteFrom('rules').where('id', 'in', gone).execute();
  }
  return existing ? 'updated' : 'created';
}

function alertsFromSeries(doc: RuleDoc, groupLabels: Record<string, string>, series: Series[]): { labels: Record<string, string>; annotations: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; annotations: Record<string, string>; value: number }[] = [];
  const seen = new Set<string>();
  for (const s of series) {
    const value = s.points.at(-1)?.[1] ?? Number.NaN;
    const data = { labels: s.labels, value };
    const labels: Record<string, string> = { ...s.labels };
    delete labels[NAME_LABEL];
    for (const [k, v] of Object.entries({ ...groupLabels, ...doc.labels })) {
      const expanded = expandTemplate(v, data);
      if (expanded === '') delete labels[k];
      else labels[k] = expanded;
    }
    labels.alertname = doc.alert!;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.annotations ?? {})) annotations[k] = expandTemplate(v, data);
    const fp = fingerprintOf(labels);
    if (seen.has(fp)) throw new AppError('rule_eval_failed', 500, 'vector contains metrics with the same labelset after applying alert labels');
    seen.add(fp);
    out.push({ labels: sortedLabels(labels), annotations, value });
  }
  return out;
}

/** Prometheus' alerting state machine for one rule at `ts`. */
function advance(doc: RuleDoc, current: RuleAlertsTable[], results: { labels: Record<string, string>; annotations: Record<string, string>; value: number; lines?: LogLine[] }[], ts: Date, limit: number): { alerts: WorkingAlert[]; transitions: RuleOutcome['transitions'] } {
  const nowIso = toIso(ts);
  const hold = parseDuration(doc.for) * 1000;
  const keepFor = parseDuration(doc.keep_firing_for) * 1000;
  const active = new Map<string, WorkingAlert>(current.map((row) => [row.fingerprint, {
    row, fingerprint: row.fingerprint, labels: fromJson(row.labels, {}), annotations: fromJson(row.annotations, {}), state: row.state as AlertState,
    value: row.value ?? Number.NaN, activeAt: row.active_at, firedAt: row.fired_at, lastSeenAt: row.last_seen_at, keepFiringSince: row.keep_firing_since, lines: null, changed: false,
  }]));
  const before = new Map([...active].map(([fp, a]) => [fp, a.state as string]));
  const present = new Set<string>();
  for (const r of results) {
    const fp = fingerprintOf(r.labels);
    present.add(fp);
    const a = active.get(fp);
    if (a) {
      a.value = r.value;
      a.annotations = r.annotations;
      a.lastSeenAt = nowIso;
      a.lines = r.lines ?? null;
      a.changed = true;
    } else {
      active.set(fp, { row: null, fingerprint: fp, labels: r.labels, annotations: r.annotations, state: 'pending', value: r.value, activeAt: nowIso, firedAt: null, lastSeenAt: nowIso, keepFiringSince: null, lines: r.lines ?? null, changed: true });
    }
  }
  if (limit > 0 && present.size > limit) throw new AppError('rule_eval_failed', 500, `exceeded limit of ${limit} with ${present.size} alerts`);
  for (const a of active.values()) {
    if (!present.has(a.fingerprint)) {
      let keepFiring = false;
      if (a.state === 'firing' && keepFor > 0) {
        if (!a.keepFiringSince) {
          a.keepFiringSince = nowIso;
          a.changed = true;
        }
        if (ts.getTime() - Date.parse(a.keepFiringSince) < keepFor) keepFiring = true;
      }
      if (!keepFiring) {
        a.state = 'inactive';
        a.changed = true;
        continue;
      }
    } else if (a.keepFiringSince) {
      a.keepFiringSince = null;
    }
    if (a.state === 'pending' && ts.getTime() - Date.parse(a.activeAt) >= hold) {
      a.state = 'firing';
      a.firedAt = nowIso;
      a.changed = true;
    }
  }
  const transitions: RuleOutcome['transitions'] = [];
  for (const a of active.values()) {
    const from = before.get(a.fingerprint) ?? 'inactive';
    if (from !== a.state) transitions.push({ fingerprint: a.fingerprint, labels: a.labels, from, to: a.state });
  }
  return { alerts: [...active.values()], transitions };
}

function presentAlert(row: RuleAlertsTable): RuleAlertView {
  const lines = row.extra ? fromJson<LogLine[]>(row.extra, []) : undefined;
  return {
    labels: fromJson(row.labels, {}), annotations: fromJson(row.annotations, {}), state: row.state as AlertState,
    value: row.value === null ? 'NaN' : goFloat(row.value), active_at: row.active_at, fired_at: row.fired_at, keep_firing_since: row.keep_firing_since,
    ...(lines ? { lines } : {}),
  };
}

/** A stored firing alert as it is when its rule goes away: inactive, to be resolved. */
function retiredAlert(row: RuleAlertsTable): WorkingAlert {
  return { row, fingerprint: row.fingerprint, labels: fromJson(row.labels, {}), annotations: fromJson(row.annotations, {}), state: 'inactive', value: row.value ?? Number.NaN, activeAt: row.active_at, firedAt: row.fired_at, lastSeenAt: row.last_seen_at, keepFiringSince: null, lines: null, changed: true };
}

async function write(tx: Tx, group: RuleGroupsTable, ts: Date, outcomes: RuleOutcome[], ms: number, retired: string[] = []): Promise<void> {
  const nowIso = toIso(ts);
  // Retired rules' alerts were resolved in this transaction (when the group has a service): the rules go now.
  if (retired.length) await tx.deleteFrom('rules').where('id', 'in', retired).execute();
  for (const o of outcomes) {
    await tx.updateTable('rules').set({
      health: o.health, last_error: o.error, last_eval_at: nowIso, last_eval_ms: o.ms,
      ...(o.lastResult !== null ? { last_result: o.lastResult } : {}),
    }).where('id', '=', o.rule.id).execute();
    for (const a of o.alerts ?? []) {
      if (a.state === 'inactive') {
        if (a.row) await tx.deleteFrom('rule_alerts').where('id', '=', a.row.id).execute();
        continue;
      }
      const columns = {
        labels: toJson(a.labels), annotations: toJson(a.annotations), state: a.state, value: finite(a.value), active_at: a.activeAt, fired_at: a.firedAt,
        last_seen_at: a.lastSeenAt, keep_firing_since: a.keepFiringSince, extra: a.lines ? toJson(a.lines) : null,
      };
      if (a.row) await tx.updateTable('rule_alerts').set(columns).where('id', '=', a.row.id).execute();
      else await tx.insertInto('rule_alerts').values({ id: newId(ts.getTime()), rule_id: o.rule.id, fingerprint: a.fingerprint, ...columns }).execute();
    }
  }
  if (outcomes.length) {
    await tx.insertInto('rule_evaluations').values(outcomes.map((o) => ({
      id: newId(ts.getTime()), rule_id: o.rule.id, at: nowIso, duration_ms: Math.round(o.ms * 1000) / 1000, health: o.health, error: o.error,
      pending: (o.alerts ?? []).filter((a) => a.state === 'pending').length, firing: (o.alerts ?? []).filter((a) => a.state === 'firing').length,
      samples: o.samples, transitions: o.transitions.length ? toJson(o.transitions) : null,
    }))).execute();
    const cutoff = toIso(new Date(ts.getTime() - HISTORY_PER_RULE * group.interval_seconds * 1000));
    await tx.deleteFrom('rule_evaluations').where('rule_id', 'in', outcomes.map((o) => o.rule.id)).where('at', '<', cutoff).execute();
  }
  await tx.updateTable('rule_groups').set({ last_eval_at: nowIso, last_eval_ms: ms }).where('id', '=', group.id).execute();
}

export function createRulesService(deps: {
  db: Db;
  clock: Clock;
  publicUrl: string;
  datasources: DataSources;
  logs: LogStore;
  intake: IntakeService;
  services: ServicesService;
  servicesRepo: ServicesRepo;
  log: FeatureLog;
}) {
  const { db, clock } = deps;
  const owner = `${hostname()}:${process.pid}:${newId().slice(-8)}`;
  const inFlight = new Set<string>();
  const integrations = new Map<string, IntegrationRef>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = true;
  /** Evaluation lag of each group run (ms after its scheduled time that the evaluation finished), for the benchmark. */
  const lagSamples: number[] = [];

  const ruleUrl = (group: string, rule: string) => `${deps.publicUrl}/rules?group=${encodeURIComponent(group)}&rule=${encodeURIComponent(rule)}`;
  const logsUrl = (q: string, from: Date, to: Date) => `${deps.publicUrl}/logs?q=${encodeURIComponent(q)}&from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;

  /** The rules integration on a service, created on first use (type webhook, so no new integration type is needed). */
  async function integrationFor(serviceName: string): Promise<IntegrationRef> {
    const cached = integrations.get(serviceName);
    if (cached) return cached;
    const service = await deps.servicesRepo.findByName(serviceName);
    if (!service) throw notFound('service', `service ${serviceName} not found`);
    let row = await deps.servicesRepo.findIntegration(service.id, RULES_INTEGRATION);
    if (!row) {
      try {
        await deps.services.addIntegration(serviceName, { name: RULES_INTEGRATION, type: 'webhook' });
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'integration_exists')) throw error;
      }
      row = await deps.servicesRepo.findIntegration(service.id, RULES_INTEGRATION);
      if (!row) throw new AppError('internal', 500, 'rules integration vanished', undefined, false);
    }
    const ref = { id: row.id, serviceId: row.service_id, name: row.name, type: row.type };
    integrations.set(serviceName, ref);
    return ref;
  }

  // ---------------------------------------------------------------- apply / export


  const applyKind: ApplyKind<'rules'> = {
    key: 'rules',
    async apply(tx, items, report, now) {
      for (const g of items ?? []) report[await applyGroup(tx, g, now)].push(`rule_group/${g.name}`);
    },
    async export() {
      const rows = await db.selectFrom('rule_groups').select('document').orderBy('name').execute();
      return rows.map((r) => fromJson<RuleGroupDocument>(r.document, { name: '', rules: [] }));
    },
  };

  // ---------------------------------------------------------------- evaluation




  async function evaluateLog(doc: RuleDoc, ts: Date, groupCreated: string): Promise<{ results: { labels: Record<string, string>; annotations: Record<string, string>; value: number; lines?: LogLine[] }[]; samples: number }> {
    const spec = doc.log!;
    const windowMs = parseDuration(spec.window, 60) * 1000;
    let value: number;
    let condition: boolean;
    let from = new Date(ts.getTime() - windowMs);
    if (spec.absent_for !== undefined) {
      const absentMs = parseDuration(spec.absent_for) * 1000;
      from = new Date(ts.getTime() - absentMs);
      const last = await deps.logs.lastMatch(spec.search, ts, from);
      // A rule created a moment ago has not yet watched for the whole period.
      condition = last === null && ts.getTime() - Date.parse(groupCreated) >= absentMs;
      value = last === null ? absentMs / 1000 : (ts.getTime() - last.getTime()) / 1000;
    } else {
      value = await deps.logs.count(spec.search, from, ts);
      condition = value > spec.above!;
    }
    if (!condition) return { results: [], samples: 0 };
    const lines = spec.absent_for !== undefined ? [] : (await deps.logs.search({ query: spec.search, from, to: ts, limit: LOG_LINES_IN_ALERT })).lines;
    const labels: Record<string, string> = {};
    const data = { labels: {}, value };
    for (const [k, v] of Object.entries(doc.labels ?? {})) {
      const expanded = expandTemplate(v, data);
      if (expanded) labels[k] = expanded;
    }
    labels.alertname = doc.alert!;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.annotations ?? {})) annotations[k] = expandTemplate(v, { labels, value });
    annotations.search_url ??= logsUrl(spec.search, from, ts);
    return { results: [{ labels: sortedLabels(labels), annotations, value, lines }], samples: spec.absent_for !== undefined ? 0 : value };
  }

  async function evaluateRule(group: RuleGroupsTable, gdoc: RuleGroupDocument, rule: RulesTable, current: RuleAlertsTable[], ts: Date): Promise<RuleOutcome> {
    const started = performance.now();
    const doc = fromJson<RuleDoc>(rule.spec, { rules: [] } as unknown as RuleDoc);
    const queryAt = new Date(ts.getTime() - parseDuration(gdoc.query_offset) * 1000);
    const outcome: RuleOutcome = { rule, health: 'ok', error: null, ms: 0, samples: 0, alerts: null, lastResult: null, transitions: [] };
    try {
      if (doc.log) {
        const { results, samples } = await evaluateLog(doc, queryAt, group.created_at);
        outcome.samples = samples;
        Object.assign(outcome, advance(doc, current, results, ts, gdoc.limit ?? 0));
      } else {
        const source = await deps.datasources.metrics(group.datasource);
        const result = await source.query(doc.expr!, queryAt);
        if (result.resultType === 'matrix' || result.resultType === 'string') throw new AppError('rule_eval_failed', 500, `rule result is not a vector or scalar (got ${result.resultType})`);
        outcome.samples = result.series.length;
        if (doc.record) {
          const samples = result.series.slice(0, MAX_RECORDED_SAMPLES).map((s) => {
            const labels: Record<string, string> = { ...s.labels, ...gdoc.labels, ...doc.labels, [NAME_LABEL]: doc.record! };
            return { labels: sortedLabels(labels), value: goFloat(s.points.at(-1)?.[1] ?? Number.NaN) };
          });
          outcome.lastResult = toJson({ samples, total: result.series.length });
        } else {
          Object.assign(outcome, advance(doc, current, alertsFromSeries(doc, gdoc.labels ?? {}, result.series), ts, gdoc.limit ?? 0));
        }
      }
    } catch (error) {
      outcome.health = 'err';
      outcome.error = error instanceof Error ? error.message : String(error);
      outcome.alerts = null; // Prometheus keeps the previous state when an evaluation fails.
      outcome.transitions = [];
    }
    outcome.ms = performance.now() - started;
    return outcome;
  }

  function eventFor(group: RuleGroupsTable, rule: RulesTable, a: WorkingAlert, integration: IntegrationRef, action: 'trigger' | 'resolve'): AlertEvent {
    const link = ruleUrl(group.name, rule.name);
    const links = [{ href: link, text: 'Rule' }];
    for (const [key, text] of [['runbook_url', 'Runbook'], ['dashboard_url', 'Dashboard'], ['search_url', 'Log search']] as const) {
      const href = a.annotations[key];
      if (href && /^https?:\/\//i.test(href)) links.push({ href, text });
    }
    const summary = a.annotations.summary ?? a.annotations.description ?? `${a.labels.alertname}${a.labels.instance ? ` on ${a.labels.instance}` : ''}`;
    return {
      action,
      integration,
      dedupKey: `${rule.id}:${a.fingerprint}`,
      groupKey: `rule:${rule.id}`,
      summary: summary.slice(0, 1024),
      severity: severityFromLabel(a.labels.severity),
      source: a.labels.instance ?? a.labels.job ?? RULES_INTEGRATION,
      component: a.labels.job ?? null,
      group: a.labels.cluster ?? a.labels.namespace ?? null,
      class: a.labels.alertname ?? null,
      customDetails: {
        labels: a.labels, annotations: a.annotations, value: goFloat(a.value), active_at: a.activeAt, rule_group: group.name, rule: rule.name,
        ...(a.lines ? { lines: a.lines.map((l) => ({ time: l.time, host: l.host, app: l.app, message: l.message })) } : {}),
      },
      links,
      client: 'Firewatch rules',
      clientUrl: link,
      incidentTitle: (a.annotations.summary ?? a.labels.alertname ?? rule.name).slice(0, 1024),
      snapshot: true,
    };
  }


  /** Evaluates every rule of a group at `ts`, in order, and commits state, history and alert events together. */
  async function evaluateGroup(group: RuleGroupsTable, ts: Date, leaseGuard?: (tx: Tx) => Promise<boolean>): Promise<void> {
    const started = performance.now();
    const gdoc = fromJson<RuleGroupDocument>(group.document, { name: group.name, rules: [] });
    const all = await db.selectFrom('rules').selectAll().where('group_id', '=', group.id).orderBy('position').execute();
    const rules = all.filter((r) => r.retired_at === null);
    const retired = all.filter((r) => r.retired_at !== null);
    const alertRows = all.length ? await db.selectFrom('rule_alerts').selectAll().where('rule_id', 'in', all.map((r) => r.id)).execute() : [];
    // Rules of a group are independent here (recorded series are not written back for later rules to read), so their
    // queries run a few at a time; outcomes keep the rules' order.
    const outcomes: RuleOutcome[] = Array.from({ length: rules.length });
    let next = 0;
    const worker = async () => {
      while (next < rules.length) {
        const i = next++;
        outcomes[i] = await evaluateRule(group, gdoc, rules[i]!, alertRows.filter((a) => a.rule_id === rules[i]!.id), ts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(RULES_AT_ONCE, rules.length) }, worker));
    const ms = performance.now() - started;

    const events: AlertEvent[] = [];
    if (group.service) {
      let integration: IntegrationRef | null = null;
      // First the alerts of rules that apply removed or changed: resolved, so their incidents can close.
      for (const rule of retired) {
        for (const row of alertRows.filter((a) => a.rule_id === rule.id && a.state === 'firing')) {
          integration ??= await integrationFor(group.service);
          events.push(eventFor(group, rule, retiredAlert(row), integration, 'resolve'));
        }
      }
      for (const o of outcomes) {
        for (const a of o.alerts ?? []) {
          const was = a.row?.state ?? 'inactive';
          const action = a.state === 'firing' && was !== 'firing' ? 'trigger' : a.state === 'inactive' && was === 'firing' ? 'resolve' : null;
          if (!action) continue;
          integration ??= await integrationFor(group.service);
          events.push(eventFor(group, o.rule, a, integration, action));
        }
      }
    }
    if (events.length) {
      // State and alerts in one transaction: a crash cannot leave an alert firing here and absent from its incident.
      try {
        await deps.intake.submit({
          source: 'rules', events,
          guard: leaseGuard ? (changes) => leaseGuard(changes.tx) : undefined,
          extra: (changes) => write(changes.tx, group, ts, outcomes, ms, retired.map((r) => r.id)),
        });
      } catch (error) {
        // The integration may have been deleted by hand: look it up (or create it) again next time.
        if (group.service) integrations.delete(group.service);
        throw error;
      }
    } else {
      await db.transaction().execute(async (tx) => {
        if (leaseGuard && !(await leaseGuard(tx))) return;
        await write(tx, group, ts, outcomes, ms, retired.map((r) => r.id));
      });
    }
  }

  /** Claims and evaluates one due group (skipping missed slots, as Prometheus does); false when another process holds it. */
  async function runGroup(group: RuleGroupsTable, now: Date): Promise<boolean> {
    const intervalMs = group.interval_seconds * 1000;
    const scheduled = Date.parse(group.next_eval_at);
    const missed = Math.max(0, Math.floor((now.getTime() - scheduled) / intervalMs));
    const slot = new Date(scheduled + missed * intervalMs);
    const nowIso = toIso(now);
    const claim = await db.updateTable('rule_groups')
      .set({ lease_owner: owner, lease_until: toIso(new Date(now.getTime() + intervalMs + 120_000)), next_eval_at: toIso(new Date(slot.getTime() + intervalMs)) })
      .where('id', '=', group.id).where('next_eval_at', '=', group.next_eval_at)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', nowIso), eb('lease_owner', '=', owner)]))
      .executeTakeFirst();
    if (Number(claim.numUpdatedRows) !== 1) return false;
    const guard = async (tx: Tx) => !!(await tx.selectFrom('rule_groups').select('id').where('id', '=', group.id).where('lease_owner', '=', owner).executeTakeFirst());
    try {
      await evaluateGroup(group, slot, guard);
      lagSamples.push(clock.now().getTime() - slot.getTime());
      if (lagSamples.length > 100_000) lagSamples.splice(0, 50_000);
    } finally {
      await db.updateTable('rule_groups').set({ lease_owner: null, lease_until: null }).where('id', '=', group.id).where('lease_owner', '=', owner).execute();
    }
    return true;
  }

  /** Evaluates every group due at `now` (at most CONCURRENT_GROUPS at once); resolves when they are done. */
  async function evaluateDue(now: Date = clock.now()): Promise<number> {
    const due = await db.selectFrom('rule_groups').selectAll().where('next_eval_at', '<=', toIso(now)).orderBy('next_eval_at').execute();
    const todo = due.filter((g) => !inFlight.has(g.id));
    let ran = 0;
    const worker = async () => {
      for (let g = todo.shift(); g; g = todo.shift()) {
        inFlight.add(g.id);
        try {
          if (await runGroup(g, now)) ran++;
        } catch (error) {
          deps.log.error({ err: error, group: g.name }, 'rule group evaluation failed');
        } finally {
          inFlight.delete(g.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_GROUPS, todo.length) }, worker));
    return ran;
  }

  /** Starts the due groups, then sleeps until the next one is due (at most 1 s, so new and changed groups are noticed). */
  async function tick(): Promise<void> {
    if (stopped) return;
    let wait = 1000;
    try {
      void evaluateDue(clock.now()).catch((error: unknown) => deps.log.error({ err: error }, 'rule evaluation loop failed'));
      const next = await db.selectFrom('rule_groups').select('next_eval_at').where('next_eval_at', '>', toIso(clock.now())).orderBy('next_eval_at').limit(1).executeTakeFirst();
      if (next) wait = Math.min(wait, Math.max(5, Date.parse(next.next_eval_at) - clock.now().getTime()));
    } catch (error) {
      deps.log.error({ err: error }, 'rule evaluation loop failed');
    }
    if (stopped) return;
    timer = setTimeout(() => void tick(), wait);
    timer.unref?.();
  }

  // ---------------------------------------------------------------- views


  async function listGroups() {
    const groups = await db.selectFrom('rule_groups').selectAll().orderBy('name').execute();
    const rules = await db.selectFrom('rules').selectAll().where('retired_at', 'is', null).orderBy('position').execute();
    const alerts = await db.selectFrom('rule_alerts').selectAll().orderBy('active_at').execute();
    return groups.map((g) => {
      const gdoc = fromJson<RuleGroupDocument>(g.document, { name: g.name, rules: [] });
      return {
        name: g.name, interval_seconds: g.interval_seconds, datasource: g.datasource, service: g.service, labels: gdoc.labels ?? {},
        last_evaluation: g.last_eval_at, evaluation_ms: g.last_eval_ms, next_evaluation: g.next_eval_at,
        rules: rules.filter((r) => r.group_id === g.id).map((r) => {
          const doc = fromJson<RuleDoc>(r.spec, { rules: [] } as unknown as RuleDoc);
          const own = alerts.filter((a) => a.rule_id === r.id).map(presentAlert);
          const state: 'firing' | 'pending' | 'inactive' | null = r.kind === 'record' ? null : own.some((a) => a.state === 'firing') ? 'firing' : own.length ? 'pending' : 'inactive';
          return {
            id: r.id, name: r.name, type: r.kind === 'record' ? 'recording' as const : r.kind === 'log' ? 'log' as const : 'alerting' as const,
            query: doc.expr ?? doc.log?.search ?? '', log: doc.log ?? null, for: doc.for ?? null, keep_firing_for: doc.keep_firing_for ?? null,
            labels: doc.labels ?? {}, annotations: doc.annotations ?? {}, state, health: r.health, last_error: r.last_error,
            last_evaluation: r.last_eval_at, evaluation_ms: r.last_eval_ms,
            last_result: r.last_result ? fromJson<{ samples: { labels: Record<string, string>; value: string }[]; total: number }>(r.last_result, { samples: [], total: 0 }) : null,
            alerts: own,
          };
        }),
      };
    });
  }

  async function findRules(groupName: string, ruleRef: string): Promise<RulesTable[]> {
    const group = await db.selectFrom('rule_groups').select('id').where('name', '=', groupName).executeTakeFirst();
    if (!group) throw notFound('rule_group', `rule group ${groupName} not found`);
    const rules = await db.selectFrom('rules').selectAll().where('group_id', '=', group.id).where('retired_at', 'is', null).where((eb) => eb.or([eb('id', '=', ruleRef), eb('name', '=', ruleRef)])).orderBy('position').execute();
    if (!rules.length) throw notFound('rule', `rule ${ruleRef} not found in group ${groupName}`);
    return rules;
  }

  return {
    applyKind,
    evaluateGroup,
    evaluateDue,
    /** Evaluates the named group now (ignoring its schedule); for tests and the "evaluate now" button. */
    async evaluateNow(groupName: string, at: Date = clock.now()): Promise<void> {
      const group = await db.selectFrom('rule_groups').selectAll().where('name', '=', groupName).executeTakeFirst();
      if (!group) throw notFound('rule_group', `rule group ${groupName} not found`);
      await evaluateGroup(group, at);
    },
    listGroups,
    /** Active (pending and firing) alerts of every alerting rule, like Prometheus' /api/v1/alerts. */
    async activeAlerts() {
      const rows = await db.selectFrom('rule_alerts').innerJoin('rules', 'rules.id', 'rule_alerts.rule_id').innerJoin('rule_groups', 'rule_groups.id', 'rules.group_id')
        .selectAll('rule_alerts').select(['rules.name as rule_name', 'rule_groups.name as group_name']).where('rules.retired_at', 'is', null).orderBy('rule_alerts.active_at').execute();
      return rows.map((r) => ({ group: r.group_name, rule: r.rule_name, ...presentAlert(r) }));
    },
    async history(groupName: string, ruleRef: string, limit = HISTORY_PER_RULE) {
      const rules = await findRules(groupName, ruleRef);
      const rows = await db.selectFrom('rule_evaluations').selectAll().where('rule_id', 'in', rules.map((r) => r.id)).orderBy('at', 'desc').limit(limit).execute();
      return rows.map((e) => ({
        rule_id: e.rule_id, at: e.at, duration_ms: e.duration_ms, health: e.health, error: e.error, pending: e.pending, firing: e.firing, samples: e.samples,
        transitions: e.transitions ? fromJson<RuleOutcome['transitions']>(e.transitions, []) : [],
      }));
    },
    /** Deletes a group; its firing alerts are resolved first, so no incident stays open for a rule that is gone. */
    async removeGroup(name: string): Promise<void> {
      const group = await db.selectFrom('rule_groups').selectAll().where('name', '=', name).executeTakeFirst();
      if (!group) throw notFound('rule_group', `rule group ${name} not found`);
      const rules = await db.selectFrom('rules').selectAll().where('group_id', '=', group.id).execute();
      const firing = rules.length ? await db.selectFrom('rule_alerts').selectAll().where('rule_id', 'in', rules.map((r) => r.id)).where('state', '=', 'firing').execute() : [];
      const remove = async (tx: Tx) => {
        await tx.deleteFrom('rule_groups').where('id', '=', group.id).execute();
      };
      if (group.service && firing.length) {
        const integration = await integrationFor(group.service);
        const events = firing.map((row) => {
          const rule = rules.find((r) => r.id === row.rule_id)!;
          return eventFor(group, rule, retiredAlert(row), integration, 'resolve');
        });
        await deps.intake.submit({ source: 'rules', events, extra: (changes) => remove(changes.tx) });
      } else {
        await db.transaction().execute(remove);
      }
    },
    /** Evaluation lag samples (ms) since the last call; for the benchmark. */
    takeLagSamples(): number[] {
      return lagSamples.splice(0);
    },
    start() {
      if (!stopped) return;
      stopped = false;
      void tick();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

export type RulesService = ReturnType<typeof createRulesService>;
