import type { Clock } from '../../clock.ts';
import { fromJson, toIso, toJson } from '../../db/codec.ts';
import { notFound } from '../../errors.ts';
import type { Db, Tx } from '../../db/database.ts';
import type { IncidentEscalationsTable } from '../../db/schema.ts';
import type { EventBus } from '../../events/event-bus.ts';
import { type Actor, composeHooks, IncidentChanges, type LifecycleEvent, type LifecycleHooks, systemActor } from '../../incidents/lifecycle.ts';
import type { IncidentRow, IncidentsRepo } from '../../incidents/incidents.repo.ts';
import type { JobQueue, TxJobHandler } from '../../jobs/jobs.ts';
import type { NotificationKind } from '../../notify/channels/messages.ts';
import { DELIVER_JOB, type Notifier } from '../notifications/notifier.ts';
import type { EscalationPolicy, PoliciesRepo } from '../policies/policies.repo.ts';
import { onCallAt } from '../schedule/schedule.ts';
import type { ScheduleRepo } from '../schedules/schedules.repo.ts';
import { activeWindowEnd, silenceMatches, type AlertFacts, type SilenceRecord } from '../silences/silence.ts';
import type { SilencesRepo } from '../silences/silences.repo.ts';

/**
 * Escalation: who is paged for an incident, and when the next level is.
 *
 * A new incident gets an `escalate` job due at once. Each run notifies one level of the service's policy
 * and arms the next run after that level's delay, looping `repeat` times. An acknowledgement cancels the
 * pending runs and notifications (and arms the acknowledgement timeout, when the service has one);
 * un-acknowledging (timeout, snooze over) resumes at the current level; resolving cancels everything.
 * Low-urgency incidents notify the first level with low-urgency rules and never escalate (PagerDuty).
 * Everything is a durable job written in the same transaction as its cause.
 */

export const ESCALATE_JOB = 'escalate';
export const ACK_TIMEOUT_JOB = 'ack_timeout';
export const SNOOZE_END_JOB = 'snooze_end';
export const RENOTIFY_JOB = 'renotify';
const ESCALATION_JOBS = [ESCALATE_JOB, RENOTIFY_JOB];
const ALL_INCIDENT_JOBS = [ESCALATE_JOB, ACK_TIMEOUT_JOB, SNOOZE_END_JOB, RENOTIFY_JOB];

type EscalationRow = IncidentEscalationsTable;

interface EscalatePayload {
  /** `resume`: notify the current level again, then carry on (acknowledgement timed out, snooze ended). */
  mode?: 'next' | 'resume' | 'now';
}

export interface EscalationState {
  policy: { id: string; name: string } | null;
  level: number | null;
  loop: number;
  levels: number;
  repeat: number;
  assignees: { id: string; name: string; email: string }[];
  next: { level: number; due_at: string } | null;
  snoozed_until: string | null;
  suppressed_by: string | null;
  pending: { kind: string; due_at: string }[];
}

async function getState(tx: Db | Tx, incidentId: string): Promise<EscalationRow | undefined> {
  return tx.selectFrom('incident_escalations').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
}

const freshState = (incidentId: string, nowIso: string): EscalationRow => ({
  incident_id: incidentId, policy_id: null, level: -1, loop: 0, assignees: '[]', next_at: null, snoozed_until: null, suppressed_by: null, updated_at: nowIso,
});

async function serviceSettings(tx: Tx, serviceId: string) {
  return tx.selectFrom('services').select(['name', 'escalation_policy_id', 'ack_timeout_seconds', 'renotify_on_new_alerts']).where('id', '=', serviceId).executeTakeFirst();
}

async function userNames(tx: Tx, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tx.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r.name]));
  return ids.map((id) => byId.get(id) ?? 'unknown user');
}

async function alertFacts(tx: Tx, incident: IncidentRow, serviceName: string): Promise<AlertFacts[]> {
  const alerts = await tx.selectFrom('alerts')
    .leftJoin('integrations', 'integrations.id', 'alerts.integration_id')
    .select(['alerts.source', 'alerts.severity', 'alerts.summary', 'alerts.component', 'alerts.group_name', 'alerts.class', 'alerts.custom_details', 'integrations.name as integration'])
    .where('alerts.incident_id', '=', incident.id).where('alerts.open', '=', 1).limit(100).execute();
  if (alerts.length === 0) {
    return [{ service: serviceName, integration: null, source: '', severity: incident.urgency === 'high' ? 'critical' : 'info', summary: incident.title, component: null, group: null, class: null, details: {} }];
  }
  return alerts.map((a) => ({
    service: serviceName, integration: a.integration ?? null, source: a.source, severity: a.severity, summary: a.summary,
    component: a.component, group: a.group_name, class: a.class, details: fromJson<unknown>(a.custom_details, {}),
  }));
}

async function saveState(tx: Tx, row: EscalationRow): Promise<void> {
  // Usually the row exists (written when the incident opened): one update, and an insert only when it did not.
  const updated = await tx.updateTable('incident_escalations').set(row).where('incident_id', '=', row.incident_id).executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) await tx.insertInto('incident_escalations').values(row).execute();
}

export function createEscalation(deps: {
  db: Db;
  jobs: JobQueue;
  notifier: Notifier;
  incidentsRepo: IncidentsRepo;
  policies: PoliciesRepo;
  schedules: ScheduleRepo;
  silences: SilencesRepo;
  bus: EventBus;
  clock: Clock;
  /** PostgreSQL: lock rows read for update (SQLite's single writer needs no row locks). */
  lockRows: boolean;
  /** Called after a commit that scheduled jobs, so the runner looks at once. */
  wake: () => void;
}) {
  const { db, jobs, notifier, incidentsRepo, policies, schedules, silences } = deps;

  /** The users a level pages now: direct users, and whoever is on call for its schedules. */
  async function levelUsers(tx: Tx, policy: EscalationPolicy, levelIndex: number, now: Date): Promise<{ users: string[]; notes: string[] }> {
    const level = policy.levels[levelIndex];
    const users: string[] = [];
    const notes: string[] = [];
    for (const target of level.targets) {
      if (target.type === 'user') {
        users.push(target.id);
        continue;
      }
      const found = await schedules.specFor(target.id, { from: now, to: new Date(now.getTime() + 1) }, tx);
      if (!found) {
        notes.push('a schedule of this level no longer exists');
        continue;
      }
      const { members } = onCallAt(found.spec, now);
      if (members.length === 0) notes.push(`nobody is on call for schedule ${found.schedule.name}`);
      users.push(...members);
    }
    const unique = [...new Set(users)];
    if (level.strategy !== 'round_robin' || unique.length <= 1) return { users: unique, notes };
    // Round robin: one target per incident, taking turns across incidents (a counter per policy level).
    const counterName = `rr:${policy.id}:${levelIndex}`;
    await tx.insertInto('counters').values({ name: counterName, value: 0 }).onConflict((oc) => oc.column('name').doNothing()).execute();
    const counter = await tx.selectFrom('counters').select('value').where('name', '=', counterName).$if(deps.lockRows, (q) => q.forUpdate()).executeTakeFirst();
    const turn = Number(counter?.value ?? 0);
    await tx.updateTable('counters').set({ value: turn + 1 }).where('name', '=', counterName).execute();
    return { users: [unique[turn % unique.length]], notes };
  }

  /** The silence holding this incident's notifications back now (every open alert matched), if any. */
  async function activeSilence(tx: Tx, incident: IncidentRow, serviceName: string, now: Date): Promise<{ silence: SilenceRecord; until: Date | null } | null> {
    const candidates = await silences.activeAt(now, tx);
    if (candidates.length === 0) return null;
    const facts = await alertFacts(tx, incident, serviceName);
    for (const silence of candidates) {
      if (facts.every((f) => silenceMatches(silence, f, now))) return { silence, until: activeWindowEnd(silence, now) };
    }
    return null;
  }

  /**
   * Notifies the next level (or the current one again, for `resume`). Levels with nobody to page are skipped
   * at once, so a gap in a schedule escalates instead of stalling.
   */
  async function escalate(changes: IncidentChanges, incident: IncidentRow, mode: 'next' | 'resume' | 'now', actor: Actor): Promise<void> {
    const { tx, now, nowIso } = changes;
    if (incident.status !== 'triggered') return;
    const state = (await getState(tx, incident.id)) ?? freshState(incident.id, nowIso);
    const service = await serviceSettings(tx, incident.service_id);
    if (!service) return;

    if (state.level < 0 && state.loop === 0) {
      const held = await activeSilence(tx, incident, service.name, now);
      if (held) {
        const label = held.silence.name ?? held.silence.comment ?? held.silence.id;
        state.suppressed_by = held.silence.id;
        state.updated_at = nowIso;
        await saveState(tx, state);
        const until = held.until ?? new Date(now.getTime() + 86_400_000);
        await changes.timeline(incident, 'suppressed', systemActor, `Notifications held by silence "${label}" until ${toIso(until)}`, { silence_id: held.silence.id, until: toIso(until) });
        await jobs.schedule(tx, { kind: ESCALATE_JOB, dueAt: until, incidentId: incident.id, uniqueKey: `escalate:${incident.id}` }, now);
        return;
      }
      if (state.suppressed_by) {
        await changes.timeline(incident, 'suppressed', systemActor, 'Silence over and the incident is still open: notifying', { silence_id: state.suppressed_by, ended: true });
        state.suppressed_by = null;
      }
    }

    const policy = service.escalation_policy_id ? await policies.findById(service.escalation_policy_id, tx) : undefined;
    if (!policy || policy.levels.length === 0) {
      if (state.level < 0 && mode !== 'resume') {
        state.updated_at = nowIso;
        await saveState(tx, state);
        await changes.timeline(incident, 'escalate', systemActor, `Service ${service.name} has no escalation policy: nobody was paged`, { policy: null });
      }
      return;
    }
    const urgency = incident.urgency === 'low' ? 'low' : 'high';
    let level = state.level;
    let loop = state.loop;
    if (mode === 'resume' && level >= 0) level -= 1;
    for (let guard = 0; guard < policy.levels.length * (policy.repeat + 1) + 1; guard++) {
      level += 1;
      if (level >= policy.levels.length) {
        if (loop >= policy.repeat || urgency === 'low') {
          state.next_at = null;
          state.updated_at = nowIso;
          await saveState(tx, state);
          await changes.timeline(incident, 'escalation_exhausted', systemActor,
            `Escalation policy ${policy.name} exhausted after ${policy.repeat + 1} pass${policy.repeat === 0 ? '' : 'es'}; nobody acknowledged`, { policy_id: policy.id, loops: loop + 1 });
          return;
        }
        loop += 1;
        level = 0;
      }
      const { users, notes } = await levelUsers(tx, policy, level, now);
      if (users.length === 0) {
        await changes.timeline(incident, 'escalate', systemActor, `Level ${level + 1} of ${policy.name} has nobody to page (${notes.join('; ') || 'no targets'}); moving on`, { policy_id: policy.id, level: level + 1, loop, skipped: true });
        if (urgency === 'low') {
          state.level = level;
          state.loop = loop;
          state.updated_at = nowIso;
          await saveState(tx, state);
          return;
        }
        continue;
      }
      const first = state.level < 0 && loop === 0;
      const kind: NotificationKind = first ? 'triggered' : 'escalated';
      const names = await userNames(tx, users);
      const plans = await notifier.notifyUsers(changes, incident.id, users, urgency, {
        kind, level, reason: `you are on level ${level + 1} of escalation policy ${policy.name}${loop > 0 ? ` (pass ${loop + 1})` : ''}`,
      });
      const delay = policy.levels[level].delay_minutes;
      const escalates = urgency === 'high';
      const nextAt = escalates ? new Date(now.getTime() + delay * 60_000) : null;
      const entryType = first ? 'assign' : 'escalate';
      const how = mode === 'now' ? ` by ${actor.name}` : mode === 'resume' ? ' again' : '';
      const message = `${first ? 'Assigned to' : `Escalated${how} to level ${level + 1}:`} ${names.join(', ')}${first ? ` (level 1 of ${policy.name})` : ''}`
        + (notes.length > 0 ? `; ${notes.join('; ')}` : '');
      await changes.timeline(incident, entryType, mode === 'now' ? actor : systemActor, message, {
        policy_id: policy.id, policy: policy.name, level: level + 1, loop, assignees: users, plans, next_at: nextAt ? toIso(nextAt) : null, urgency,
      });
      Object.assign(state, { policy_id: policy.id, level, loop, assignees: toJson(users), next_at: nextAt ? toIso(nextAt) : null, updated_at: nowIso });
      await saveState(tx, state);
      if (nextAt) await jobs.schedule(tx, { kind: ESCALATE_JOB, dueAt: nextAt, incidentId: incident.id, uniqueKey: `escalate:${incident.id}` }, now);
      changes.changedFor(incident, first ? 'assigned' : 'escalated');
      return;
    }
  }

  const escalationHooks: LifecycleHooks = {
    async onFlush(changes: IncidentChanges, events: LifecycleEvent[]): Promise<void> {
      const { tx, now, nowIso } = changes;
      let scheduled = false;
      const services = new Map<string, Awaited<ReturnType<typeof serviceSettings>>>();
      for (const { kind, incident } of events) {
        if (kind === 'opened') {
          // Most alert storms hit services without a policy: no timer for those, just the fact on the timeline.
          let service = services.get(incident.service_id);
          if (!service) services.set(incident.service_id, (service = await serviceSettings(tx, incident.service_id)));
          if (!service?.escalation_policy_id) {
            await changes.timeline(incident, 'escalate', systemActor, `Service ${service?.name ?? ''} has no escalation policy: nobody was paged`, { policy: null });
            continue;
          }
          await tx.insertInto('incident_escalations').values(freshState(incident.id, nowIso)).execute();
          await jobs.schedule(tx, { kind: ESCALATE_JOB, dueAt: now, incidentId: incident.id, uniqueKey: `escalate:${incident.id}` }, now);
          scheduled = true;
        } else if (kind === 'acknowledged') {
          await jobs.cancelForIncident(tx, incident.id, ESCALATION_JOBS);
          await notifier.cancelPending(tx, incident.id);
          await tx.updateTable('incident_escalations').set({ next_at: null, updated_at: nowIso }).where('incident_id', '=', incident.id).execute();
          const service = await serviceSettings(tx, incident.service_id);
          if (service?.ack_timeout_seconds) {
            await jobs.schedule(tx, {
              kind: ACK_TIMEOUT_JOB, dueAt: new Date(now.getTime() + Number(service.ack_timeout_seconds) * 1000), incidentId: incident.id,
              uniqueKey: `ack_timeout:${incident.id}`, payload: { acknowledged_at: incident.acknowledged_at },
            }, now);
            scheduled = true;
          }
        } else if (kind === 'unacknowledged') {
          await jobs.cancelForIncident(tx, incident.id, [ACK_TIMEOUT_JOB, SNOOZE_END_JOB]);
          await tx.updateTable('incident_escalations').set({ snoozed_until: null, updated_at: nowIso }).where('incident_id', '=', incident.id).execute();
          await jobs.schedule(tx, { kind: ESCALATE_JOB, dueAt: now, incidentId: incident.id, uniqueKey: `escalate:${incident.id}`, payload: { mode: 'resume' } }, now);
          scheduled = true;
        } else if (kind === 'resolved') {
          await jobs.cancelForIncident(tx, incident.id, ALL_INCIDENT_JOBS);
          await notifier.cancelPending(tx, incident.id);
          await tx.updateTable('incident_escalations').set({ next_at: null, snoozed_until: null, updated_at: nowIso }).where('incident_id', '=', incident.id).execute();
        } else if (kind === 'alert_added' && incident.status !== 'resolved') {
          await jobs.schedule(tx, { kind: RENOTIFY_JOB, dueAt: now, incidentId: incident.id, uniqueKey: `renotify:${incident.id}` }, now);
          scheduled = true;
        } else if (kind === 'urgency_raised' && incident.status === 'triggered') {
          // Low urgency stopped at level 1; high urgency escalates from there.
          const state = await getState(tx, incident.id);
          if (state && state.level >= 0) {
            await jobs.schedule(tx, { kind: ESCALATE_JOB, dueAt: now, incidentId: incident.id, uniqueKey: `escalate:${incident.id}`, payload: { mode: 'resume' } }, now);
            scheduled = true;
          }
        }
      }
      if (scheduled) changes.afterCommit(deps.wake);
    },
  };
  // Every incident change runs these; other features (the war room) add theirs with hooks.add().
  const hooks = composeHooks([escalationHooks]);

  /** A tx job handler that runs `work` on the job's incident with an IncidentChanges, publishing after commit. */
  function incidentJob(work: (changes: IncidentChanges, incident: IncidentRow, payload: Record<string, unknown>) => Promise<void>): TxJobHandler {
    return {
      mode: 'tx',
      async run(tx, job, now) {
        if (!job.incident_id) return;
        const incident = await incidentsRepo.findIncidentById(tx, job.incident_id);
        if (!incident) return;
        const changes = new IncidentChanges(tx, incidentsRepo, now, hooks);
        await work(changes, incident, fromJson<Record<string, unknown>>(job.payload, {}));
        await changes.flush();
        return () => changes.publish(deps.bus);
      },
    };
  }

  const handlers: Record<string, TxJobHandler> = {
    [ESCALATE_JOB]: incidentJob(async (changes, incident, payload) => {
      const mode = (payload as EscalatePayload).mode ?? 'next';
      await escalate(changes, incident, mode, systemActor);
      changes.afterCommit(deps.wake);
    }),
    [ACK_TIMEOUT_JOB]: incidentJob(async (changes, incident, payload) => {
      // Only the acknowledgement that armed this timer: a later re-acknowledgement has its own.
      if (incident.status !== 'acknowledged' || incident.acknowledged_at !== payload.acknowledged_at) return;
      await changes.unacknowledge(incident, systemActor, 'the acknowledgement timed out');
    }),
    [SNOOZE_END_JOB]: incidentJob(async (changes, incident) => {
      if (incident.status !== 'acknowledged') return;
      await changes.unacknowledge(incident, systemActor, 'the snooze ended');
    }),
    [RENOTIFY_JOB]: incidentJob(async (changes, incident) => {
      if (incident.status === 'resolved') return;
      const service = await serviceSettings(changes.tx, incident.service_id);
      const state = await getState(changes.tx, incident.id);
      const assignees = fromJson<string[]>(state?.assignees, []);
      if (!service || !Number(service.renotify_on_new_alerts) || assignees.length === 0 || state?.suppressed_by) return;
      const urgency = incident.urgency === 'low' ? 'low' : 'high';
      const plans = await notifier.notifyUsers(changes, incident.id, assignees, urgency, {
        kind: 'renotify', level: state?.level ?? null, reason: 'a new alert joined an incident assigned to you',
      });
      const names = await userNames(changes.tx, assignees);
      await changes.timeline(incident, 'notify', systemActor, `New alert: notifying ${names.join(', ')} again`, { renotify: true, plans });
      changes.afterCommit(deps.wake);
    }),
  };

  /** Runs a manual on-call action on an incident by number, in one transaction. */
  async function manual<T>(number: number, durable: () => Promise<void>, work: (changes: IncidentChanges, incident: IncidentRow) => Promise<T>): Promise<T> {
    const { result, changes } = await IncidentChanges.run(db, incidentsRepo, () => deps.clock.now(), durable, async (c) => {
      const found = await incidentsRepo.findIncidentByNumber(number, c.tx);
      if (!found) throw notFound('incident', `incident ${number} not found`);
      return work(c, found);
    }, hooks);
    changes.publish(deps.bus);
    return result;
  }

  return {
    hooks,
    handlers,
    wakeRunner: deps.wake,
    escalate,
    manual,
    getState,
    userNames,
    /** The pending on-call timers of an incident and who is assigned, for the incident page. */
    async describe(incident: IncidentRow): Promise<EscalationState> {
      const state = await getState(db, incident.id);
      const policy = state?.policy_id ? await policies.findById(state.policy_id) : undefined;
      const assigneeIds = fromJson<string[]>(state?.assignees, []);
      const assignees = assigneeIds.length > 0 ? await db.selectFrom('users').select(['id', 'name', 'email']).where('id', 'in', assigneeIds).execute() : [];
      const pending = (await jobs.pendingForIncident(db, incident.id)).filter((j) => j.kind !== DELIVER_JOB);
      const escalateJob = pending.find((j) => j.kind === ESCALATE_JOB);
      let next: EscalationState['next'] = null;
      if (escalateJob && policy && state) {
        const nextLevel = state.level + 1 >= policy.levels.length ? 1 : state.level + 2;
        next = { level: state.level < 0 ? 1 : nextLevel, due_at: escalateJob.due_at };
      }
      return {
        policy: policy ? { id: policy.id, name: policy.name } : null,
        level: state && state.level >= 0 ? state.level + 1 : null,
        loop: state?.loop ?? 0,
        levels: policy?.levels.length ?? 0,
        repeat: policy?.repeat ?? 0,
        assignees,
        next,
        snoozed_until: state?.snoozed_until ?? null,
        suppressed_by: state?.suppressed_by ?? null,
        pending: pending.map((j) => ({ kind: j.kind, due_at: j.due_at })),
      };
    },
    /** Snoozes: acknowledged now, back to triggered (and paging) after `seconds`. */
    async snooze(changes: IncidentChanges, incident: IncidentRow, seconds: number, actor: Actor): Promise<IncidentRow> {
      let row = incident;
      if (row.status === 'triggered') row = (await changes.acknowledge(row, actor, 'snooze')) ?? row;
      await changes.flush();
      await jobs.cancelForIncident(changes.tx, row.id, [ACK_TIMEOUT_JOB]);
      const until = new Date(changes.now.getTime() + seconds * 1000);
      await jobs.schedule(changes.tx, { kind: SNOOZE_END_JOB, dueAt: until, incidentId: row.id, uniqueKey: `snooze:${row.id}` }, changes.now);
      await changes.tx.updateTable('incident_escalations').set({ snoozed_until: toIso(until), updated_at: changes.nowIso }).where('incident_id', '=', row.id).execute();
      await changes.timeline(row, 'snooze', actor, `Snoozed by ${actor.name} until ${toIso(until)}`, { until: toIso(until), seconds });
      changes.changedFor(row, 'snoozed');
      return row;
    },
    /** Pages extra people now, without changing the escalation (PagerDuty's responder request). */
    async addResponders(changes: IncidentChanges, incident: IncidentRow, userIds: string[], actor: Actor, message: string): Promise<string[]> {
      const urgency = incident.urgency === 'low' ? 'low' : 'high';
      const plans = await notifier.notifyUsers(changes, incident.id, userIds, urgency, { kind: 'triggered', level: null, reason: `${actor.name} asked for your help${message ? `: ${message}` : ''}` });
      const names = await userNames(changes.tx, userIds);
      await changes.timeline(incident, 'responder_added', actor, `${actor.name} paged ${names.join(', ')}${message ? `: ${message}` : ''}`, { users: userIds, plans });
      changes.afterCommit(deps.wake);
      return names;
    },
    /** Reassigns to the given users: they are paged; escalation carries on from the current level. */
    async reassign(changes: IncidentChanges, incident: IncidentRow, userIds: string[], actor: Actor): Promise<string[]> {
      const state = (await getState(changes.tx, incident.id)) ?? freshState(incident.id, changes.nowIso);
      const urgency = incident.urgency === 'low' ? 'low' : 'high';
      const plans = await notifier.notifyUsers(changes, incident.id, userIds, urgency, { kind: 'triggered', level: state.level, reason: `${actor.name} assigned the incident to you` });
      const names = await userNames(changes.tx, userIds);
      state.assignees = toJson(userIds);
      state.updated_at = changes.nowIso;
      await saveState(changes.tx, state);
      await changes.timeline(incident, 'assign', actor, `Reassigned by ${actor.name} to ${names.join(', ')}`, { assignees: userIds, plans, manual: true });
      changes.changedFor(incident, 'assigned');
      changes.afterCommit(deps.wake);
      return names;
    },
  };
}

export type Escalation = ReturnType<typeof createEscalation>;
