import type { Db, Tx } from '../db/database.ts';
import { toIso, toJson } from '../db/codec.ts';
import { newId } from '../ids.ts';
import type { Urgency } from '../alerts/alert-event.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { IncidentStatus } from './incidents.service.ts';
import type { IncidentRow, IncidentsRepo, TimelineRow } from './incidents.repo.ts';

/** Who caused a change, as written on the timeline. */
export interface Actor {
  type: 'user' | 'token' | 'integration' | 'system';
  id: string | null;
  name: string;
}

export const systemActor: Actor = { type: 'system', id: null, name: 'Firewatch' };

/** Timeline entry types (PagerDuty's log-entry names where one exists). */
export type TimelineType =
  | 'trigger' | 'trigger_repeat' | 'alert_added' | 'alert_resolved' | 'acknowledge' | 'resolve'
  | 'annotate' | 'urgency_change' | 'unacknowledge' | 'assign' | 'escalate' | 'escalation_exhausted' | 'notify'
  | 'snooze' | 'suppressed' | 'responder_added';

/** What happened to an incident in a transaction, for on-call to react to (timers, notifications). */
export type LifecycleEventKind = 'opened' | 'acknowledged' | 'unacknowledged' | 'resolved' | 'alert_added' | 'urgency_raised';
export interface LifecycleEvent {
  kind: LifecycleEventKind;
  incident: IncidentRow;
}

/**
 * Called by flush() inside the transaction, before it commits, with the lifecycle events since the last
 * flush; on-call uses it to arm and cancel timers atomically with the change that causes them.
 */
export interface LifecycleHooks {
  onFlush(changes: IncidentChanges, events: LifecycleEvent[]): Promise<void>;
  /**
   * Sees every timeline entry just before it is written, in the same transaction, with the incident as it
   * now is (e.g. the war room posts them to channels). It must not add timeline entries of its own.
   */
  onTimeline?(changes: IncidentChanges, entries: { entry: TimelineRow; incident: IncidentRow }[]): Promise<void>;
}

/** One LifecycleHooks from several (escalation, war room, …), run in the given order. */
export function composeHooks(list: Partial<LifecycleHooks>[]): LifecycleHooks & { add(hooks: Partial<LifecycleHooks>): void } {
  const all = [...list];
  return {
    add(hooks) {
      all.push(hooks);
    },
    async onFlush(changes, events) {
      for (const h of all) if (h.onFlush) await h.onFlush(changes, events);
    },
    async onTimeline(changes, entries) {
      for (const h of all) if (h.onTimeline) await h.onTimeline(changes, entries);
    },
  };
}

/**
 * One transaction's worth of incident changes. Everything that changes an incident goes through it,
 * so the timeline is written in the same transaction and live events go out only after commit.
 */
export class IncidentChanges {
  readonly tx: Tx;
  readonly now: Date;
  readonly repo: IncidentsRepo;
  private readonly changed = new Map<string, { row: IncidentRow; reason: string }>();
  private readonly entries: { incidentNumber: number; id: string; type: string }[] = [];
  private readonly pendingTimeline: { entry: TimelineRow; incident: IncidentRow }[] = [];
  private cachedNowIso: string | undefined;
  private readonly events: LifecycleEvent[] = [];
  private readonly afterCommitSteps: (() => void)[] = [];
  private readonly hooks: LifecycleHooks | undefined;
  /** Incident numbers taken in this transaction: the counter is read once and written back by flush(). */
  private numbers: { next: number; taken: number } | undefined;
  openedCount = 0;

  /**
   * Runs `work` in a transaction with an IncidentChanges, flushing before commit and waiting until the
   * commit is on disk; publish() afterwards. (Intake does the same in its own batches.)
   */
  static async run<T>(
    db: Db, repo: IncidentsRepo, now: () => Date, durable: () => Promise<void>, work: (changes: IncidentChanges) => Promise<T>, hooks?: LifecycleHooks,
  ): Promise<{ result: T; changes: IncidentChanges }> {
    let changes!: IncidentChanges;
    const result = await db.transaction().execute(async (tx) => {
      changes = new IncidentChanges(tx, repo, now(), hooks);
      const value = await work(changes);
      await changes.flush();
      return value;
    });
    await durable();
    return { result, changes };
  }

  constructor(tx: Tx, repo: IncidentsRepo, now: Date, hooks?: LifecycleHooks) {
    this.tx = tx;
    this.repo = repo;
    this.now = now;
    this.hooks = hooks;
  }

  /** Records a lifecycle event for the hooks; the latest row of an incident wins within one flush. */
  private emit(kind: LifecycleEventKind, incident: IncidentRow): void {
    if (this.hooks) this.events.push({ kind, incident });
  }

  /** Runs after the commit, when publish() is called (e.g. waking the job runner). */
  afterCommit(step: () => void): void {
    this.afterCommitSteps.push(step);
  }

  get nowIso(): string {
    this.cachedNowIso ??= toIso(this.now);
    return this.cachedNowIso;
  }

  /** Records a timeline entry; entries are written by flush(), in order, in the same transaction. */
  async timeline(incident: IncidentRow, type: TimelineType, actor: Actor, message: string, data: unknown = {}): Promise<void> {
    const id = newId(this.now.getTime());
    this.pendingTimeline.push({
      entry: {
        id,
        incident_id: incident.id,
        type,
        at: this.nowIso,
        actor_type: actor.type,
        actor_id: actor.id,
        actor_name: actor.name,
        message,
        data: toJson(data),
      },
      incident,
    });
    this.entries.push({ incidentNumber: incident.number, id, type });
  }

  /** Writes what is still pending; call before the transaction commits (IncidentChanges.run does). */
  async flush(): Promise<void> {
    // Hooks may add timeline entries and events of their own; run them until nothing new is pending.
    for (let round = 0; this.hooks && this.events.length > 0 && round < 5; round++) {
      await this.hooks.onFlush(this, this.events.splice(0));
    }
    const pending = this.pendingTimeline.splice(0);
    if (pending.length === 0 && !this.numbers?.taken) return;
    if (this.hooks?.onTimeline && pending.length > 0) {
      // The incident as this transaction left it (an entry may have been recorded before a later change).
      await this.hooks.onTimeline(this, pending.map(({ entry, incident }) => ({ entry, incident: this.changed.get(incident.id)?.row ?? incident })));
    }
    await this.repo.insertTimeline(this.tx, pending.map((p) => p.entry));
    if (this.numbers?.taken) {
      await this.repo.setIncidentCounter(this.tx, this.numbers.next + this.numbers.taken);
      this.numbers = { next: this.numbers.next + this.numbers.taken, taken: 0 };
    }
  }

  private async save(incident: IncidentRow, patch: Partial<IncidentRow>, reason: string): Promise<IncidentRow> {
    const updated = { ...incident, ...patch, updated_at: this.nowIso };
    await this.repo.updateIncident(this.tx, incident.id, { ...patch, updated_at: updated.updated_at });
    this.changed.set(updated.id, { row: updated, reason });
    return updated;
  }

  async open(input: {
    title: string; serviceId: string; integrationId: string | null; groupKey: string | null; urgency: Urgency; actor: Actor; data?: unknown;
  }): Promise<IncidentRow> {
    this.numbers ??= { next: await this.repo.lockIncidentCounter(this.tx), taken: 0 };
    const number = this.numbers.next + this.numbers.taken + 1;
    this.numbers.taken += 1;
    const row: IncidentRow = {
      id: newId(this.now.getTime()),
      number,
      title: input.title,
      service_id: input.serviceId,
      integration_id: input.integrationId,
      group_key: input.groupKey,
      status: 'triggered',
      urgency: input.urgency,
      created_at: this.nowIso,
      updated_at: this.nowIso,
      acknowledged_at: null,
      acknowledged_by: null,
      resolved_at: null,
      resolved_by: null,
      open: 1,
    };
    await this.repo.insertIncident(this.tx, row);
    this.changed.set(row.id, { row, reason: 'triggered' });
    this.openedCount += 1;
    await this.timeline(row, 'trigger', input.actor, `Triggered: ${input.title}`, input.data ?? {});
    this.emit('opened', row);
    return row;
  }

  /** Acknowledges a triggered incident; a no-op (false) when it is already acknowledged or resolved. */
  async acknowledge(incident: IncidentRow, actor: Actor, via: string): Promise<IncidentRow | null> {
    if (incident.status !== 'triggered') return null;
    await this.repo.acknowledgeOpenAlerts(this.tx, incident.id);
    const row = await this.save(incident, { status: 'acknowledged', acknowledged_at: this.nowIso, acknowledged_by: actor.name }, 'acknowledged');
    await this.timeline(row, 'acknowledge', actor, `Acknowledged by ${actor.name}`, { via });
    this.emit('acknowledged', row);
    return row;
  }

  /** Returns an acknowledged incident to triggered (acknowledgement timeout, snooze ended); escalation resumes. */
  async unacknowledge(incident: IncidentRow, actor: Actor, reason: string): Promise<IncidentRow | null> {
    if (incident.status !== 'acknowledged') return null;
    const row = await this.save(incident, { status: 'triggered', acknowledged_at: null, acknowledged_by: null }, 'unacknowledged');
    await this.timeline(row, 'unacknowledge', actor, `Back to triggered: ${reason}`, { reason });
    this.emit('unacknowledged', row);
    return row;
  }

  /** Resolves an open incident and every alert still open in it; null when already resolved. */
  async resolve(incident: IncidentRow, actor: Actor, via: string): Promise<IncidentRow | null> {
    if (incident.status === 'resolved') return null;
    const closedAlerts = await this.repo.resolveOpenAlerts(this.tx, incident.id, this.nowIso);
    const row = await this.save(incident, { status: 'resolved', resolved_at: this.nowIso, resolved_by: actor.name, open: null }, 'resolved');
    await this.timeline(row, 'resolve', actor, `Resolved by ${actor.name}`, { via, alerts_resolved: closedAlerts });
    this.emit('resolved', row);
    return row;
  }

  async raiseUrgency(incident: IncidentRow, actor: Actor): Promise<IncidentRow> {
    if (incident.urgency === 'high') return incident;
    const row = await this.save(incident, { urgency: 'high' }, 'urgency_changed');
    await this.timeline(row, 'urgency_change', actor, 'Urgency raised to high by a higher-severity alert', { from: 'low', to: 'high' });
    this.emit('urgency_raised', row);
    return row;
  }

  /** Marks an incident as changed for live views without altering it (e.g. an alert joined). */
  touch(incident: IncidentRow, reason: string): void {
    if (!this.changed.has(incident.id)) this.changed.set(incident.id, { row: incident, reason });
    if (reason === 'alert_added') this.emit('alert_added', incident);
  }

  /** Marks an incident as changed with a reason, replacing an earlier reason (e.g. escalated). */
  changedFor(incident: IncidentRow, reason: string): void {
    this.changed.set(incident.id, { row: incident, reason });
  }

  /** Sends the live events; call only after the transaction committed. */
  publish(bus: EventBus): void {
    for (const step of this.afterCommitSteps.splice(0)) step();
    for (const { row, reason } of this.changed.values()) {
      bus.publish({
        type: 'incident.changed',
        reason,
        incident: { id: row.id, number: row.number, status: row.status as IncidentStatus, title: row.title, urgency: row.urgency as Urgency, service_id: row.service_id, updated_at: row.updated_at },
      });
    }
    for (const e of this.entries) {
      bus.publish({ type: 'timeline.appended', incident_number: e.incidentNumber, entry_id: e.id, entry_type: e.type });
    }
  }
}
