import { createHmac, timingSafeEqual } from 'node:crypto';
import { fromJson, toIso, toJson } from '../../db/codec.ts';
import type { Db, Tx } from '../../db/database.ts';
import type { NotificationsTable } from '../../db/schema.ts';
import { newId } from '../../ids.ts';
import type { IncidentsRepo } from '../../incidents/incidents.repo.ts';
import { type Actor, IncidentChanges, type LifecycleHooks, systemActor } from '../../incidents/lifecycle.ts';
import type { Mailer } from '../../notify/channels/email.ts';
import { buildWebhookEnvelope, type IncidentSummary, type NotificationKind, renderHandoffEmail, renderIncidentEmail, renderMentionEmail } from '../../notify/channels/messages.ts';
import { type DeliveryResult, MAX_ATTEMPTS, nextAttemptDelayMs } from '../../notify/channels/retry.ts';
import type { AddressPolicy } from '../../notify/channels/ssrf.ts';
import { deliverWebhook } from '../../notify/channels/webhook.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import type { JobQueue, LeaseJobHandler } from '../../jobs/jobs.ts';
import type { ContactsRepo, ResolvedRule } from '../contacts/contacts.repo.ts';
import type { EventBus } from '../../events/event-bus.ts';

export type NotificationRow = NotificationsTable;

export const DELIVER_JOB = 'deliver';

/** What a notification is about; stored with it so a retry sends the same thing. */
interface NotificationPayload {
  kind: NotificationKind | 'handoff' | 'mention';
  reason: string;
  level: number | null;
  /** Hand-off notices: the schedule and shift. */
  handoff?: { scheduleName: string; scheduleUrl: string; starts: boolean; at: string; until: string | null };
  /** Mentions: where and by whom (the in-app inbox links to `channel` at `seq`). */
  mention?: MentionNotice;
  channel?: string;
  message_id?: string;
  seq?: number;
}

/** A chat message that mentions someone. */
export interface MentionNotice {
  authorName: string;
  channel: string;
  messageId: string;
  seq: number;
  excerpt: string;
  /** The incident whose channel it is, or null for a team channel. */
  incidentId: string | null;
}

const CHANNEL_LABEL: Record<string, string> = { email: 'Email', webhook: 'Webhook', in_app: 'In-app notification' };

/** Human wording of a wait, for the timeline: "now", "in 5 min". */
export function inMinutes(minutes: number): string {
  if (minutes <= 0) return 'now';
  if (minutes < 60) return `in ${minutes} min`;
  return `in ${Math.round((minutes / 60) * 10) / 10} h`;
}

/** One timeline line for a delivery attempt. */
const describeAttempt = (n: NotificationRow, result: DeliveryResult, attempt: number, retryInMs: number | null): string => {
  const what = `${CHANNEL_LABEL[n.channel] ?? n.channel} to ${n.channel === 'in_app' ? 'user' : n.address}`;
  if (result.ok) return `${what}: ${result.detail ?? 'sent'}`;
  const why = result.detail ?? result.error ?? 'failed';
  if (retryInMs !== null) return `${what} failed (attempt ${attempt} of ${MAX_ATTEMPTS}): ${why}; retrying in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
  return `${what} failed for good after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${why}`;
};

/**
 * Creates notifications (one per user and contact method, due after the rule's delay) and delivers them
 * through durable `deliver` jobs: email over SMTP, outbound webhooks, in-app. Every attempt is written to
 * the incident's timeline; after the last failed attempt the notification is `dead` (the dead-letter list).
 */
export function createNotifier(deps: {
  db: Db;
  /** Incident hooks for the timeline entries of delivery attempts (bound late: escalation is created after). */
  hooks?: () => LifecycleHooks | undefined;
  jobs: JobQueue;
  contacts: ContactsRepo;
  incidentsRepo: IncidentsRepo;
  mailer: Mailer;
  secrets: SecretBox;
  secretKey: string;
  publicUrl: string;
  webhookPolicy: AddressPolicy;
  bus: EventBus;
  /** False when no SMTP server is configured: the implicit account-e-mail default is skipped. */
  emailConfigured: boolean;
  random?: () => number;
}) {
  const { db, jobs, contacts, incidentsRepo, mailer, secrets, publicUrl } = deps;

  /** A signed one-click acknowledge token for a notification: `<id>.<mac>`. */
  function ackToken(notificationId: string): string {
    const mac = createHmac('sha256', `firewatch:ack:${deps.secretKey}`).update(notificationId).digest('base64url').slice(0, 32);
    return `${notificationId}.${mac}`;
  }

  function verifyAckToken(token: string): string | null {
    const [id, mac] = token.split('.');
    if (!id || !mac || !/^[0-9a-f-]{36}$/.test(id)) return null;
    const expected = ackToken(id).split('.')[1];
    const a = Buffer.from(mac);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b) ? id : null;
  }

  async function insertNotification(tx: Tx, input: {
    incidentId: string | null; rule: ResolvedRule; payload: NotificationPayload; now: Date;
  }): Promise<NotificationRow> {
    const { rule, now } = input;
    const due = new Date(now.getTime() + rule.delayMinutes * 60_000);
    const row: NotificationRow = {
      id: newId(now.getTime()),
      incident_id: input.incidentId,
      user_id: rule.user.id,
      contact_method_id: rule.method.id,
      channel: rule.method.type,
      address: rule.method.address,
      kind: input.payload.kind,
      status: 'pending',
      attempts: 0,
      last_error: null,
      payload: toJson(input.payload),
      created_at: toIso(now),
      due_at: toIso(due),
      sent_at: null,
      read_at: null,
    };
    // An immediate in-app notice is delivered by writing it: no job to run.
    if (rule.method.type === 'in_app' && rule.delayMinutes <= 0) Object.assign(row, { status: 'sent', attempts: 1, sent_at: row.created_at });
    await tx.insertInto('notifications').values(row).execute();
    if (row.status === 'pending') await jobs.schedule(tx, { kind: DELIVER_JOB, dueAt: due, incidentId: input.incidentId, ref: row.id }, now);
    return row;
  }

  /**
   * Notifies users about an incident through their rules for its urgency. Returns one line per user
   * describing the plan ("Ana: email now, webhook in 5 min") for the timeline.
   */
  async function notifyUsers(changes: IncidentChanges, incidentId: string, userIds: string[], urgency: 'high' | 'low', payload: NotificationPayload): Promise<string[]> {
    const rules = await contacts.rulesFor(userIds, urgency, changes.tx);
    const plans = new Map<string, string[]>();
    for (const rule of rules) {
      // Without SMTP the implicit account e-mail would only fill the dead-letter list; in-app still reaches them.
      if (!deps.emailConfigured && rule.method.id === null && rule.method.type === 'email') continue;
      await insertNotification(changes.tx, { incidentId, rule, payload, now: changes.now });
      const plan = plans.get(rule.user.name) ?? [];
      plan.push(`${rule.method.type === 'in_app' ? 'in-app' : rule.method.type} ${inMinutes(rule.delayMinutes)}`);
      plans.set(rule.user.name, plan);
    }
    return [...plans].map(([name, plan]) => `${name}: ${plan.join(', ')}`);
  }

  /** Hand-off notices go by email and in-app, at once, whatever the paging rules say. */
  async function notifyHandoff(tx: Tx, userId: string, handoff: NonNullable<NotificationPayload['handoff']>, now: Date): Promise<void> {
    const rules = (await contacts.rulesFor([userId], 'low', tx))
      .filter((r) => r.method.type !== 'webhook' && (deps.emailConfigured || r.method.type !== 'email'));
    const seen = new Set<string>();
    for (const rule of rules) {
      const key = `${rule.method.type}:${rule.method.address}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await insertNotification(tx, {
        incidentId: null,
        rule: { ...rule, delayMinutes: 0 },
        payload: { kind: 'handoff', reason: handoff.starts ? 'your on-call shift starts' : 'your on-call shift ends', level: null, handoff },
        now,
      });
    }
  }

  /**
   * A chat mention reaches the user at once through their low-urgency contact methods other than webhooks
   * (webhook receivers expect incident events): in-app always, e-mail when they have it and SMTP is set.
   * It is not tied to the incident's paging, so acknowledging the incident does not cancel it.
   */
  async function notifyMention(tx: Tx, userId: string, mention: MentionNotice, now: Date): Promise<number> {
    const rules = (await contacts.rulesFor([userId], 'low', tx))
      .filter((r) => r.method.type !== 'webhook' && (deps.emailConfigured || r.method.type !== 'email'));
    // The inbox always shows a mention, even for someone whose rules have no in-app step.
    if (!rules.some((r) => r.method.type === 'in_app')) {
      const user = await tx.selectFrom('users').select(['id', 'name', 'email']).where('id', '=', userId).executeTakeFirst();
      if (!user) return 0;
      rules.push({ user, delayMinutes: 0, method: { id: null, type: 'in_app', label: 'in-app', address: user.id, secret_encrypted: null } });
    }
    const seen = new Set<string>();
    const reason = `${mention.authorName} mentioned you in #${mention.channel}: ${mention.excerpt}`;
    for (const rule of rules) {
      const key = `${rule.method.type}:${rule.method.address}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await insertNotification(tx, {
        // The in-app notice names its incident for the inbox; deliveries stay out of the incident's cancellable paging.
        incidentId: rule.method.type === 'in_app' ? mention.incidentId : null,
        rule: { ...rule, delayMinutes: 0 },
        payload: { kind: 'mention', reason, level: null, mention, channel: mention.channel, message_id: mention.messageId, seq: mention.seq },
        now,
      });
    }
    return seen.size;
  }

  /** Stops notifications not yet sent (acknowledged or resolved: nobody else needs waking). */
  async function cancelPending(tx: Tx, incidentId: string): Promise<number> {
    const result = await tx.updateTable('notifications').set({ status: 'cancelled' })
      .where('incident_id', '=', incidentId).where('status', 'in', ['pending', 'failed']).executeTakeFirst();
    await jobs.cancelForIncident(tx, incidentId, [DELIVER_JOB]);
    return Number(result.numUpdatedRows);
  }

  async function incidentSummary(tx: Db | Tx, incidentId: string): Promise<IncidentSummary | null> {
    const row = await tx.selectFrom('incidents')
      .innerJoin('services', 'services.id', 'incidents.service_id')
      .leftJoin('incident_escalations', 'incident_escalations.incident_id', 'incidents.id')
      .select([
        'incidents.id as id', 'incidents.number as number', 'incidents.title as title', 'incidents.status as status', 'incidents.urgency as urgency',
        'incidents.created_at as created_at', 'services.id as service_id', 'services.name as service_name',
        'incident_escalations.assignees as assignees', 'incident_escalations.level as level',
      ])
      .where('incidents.id', '=', incidentId)
      .executeTakeFirst();
    if (!row) return null;
    const assigneeIds = fromJson<string[]>(row.assignees, []);
    const assignees = assigneeIds.length > 0
      ? await tx.selectFrom('users').select(['id', 'name', 'email']).where('id', 'in', assigneeIds).execute()
      : [];
    const alerts = await tx.selectFrom('alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('incident_id', '=', incidentId).executeTakeFirst();
    return {
      id: row.id,
      number: Number(row.number),
      title: row.title,
      status: row.status,
      urgency: row.urgency,
      service: { id: row.service_id, name: row.service_name },
      created_at: row.created_at,
      html_url: `${publicUrl}/incidents/${row.number}`,
      alert_count: Number(alerts?.n ?? 0),
      assignees,
      escalation_level: row.level === null || row.level === undefined || Number(row.level) < 0 ? null : Number(row.level) + 1,
    };
  }

  async function send(notification: NotificationRow, payload: NotificationPayload, summary: IncidentSummary | null, now: Date): Promise<DeliveryResult> {
    let incident = summary;
    const recipient = notification.user_id
      ? await db.selectFrom('users').select(['name', 'email']).where('id', '=', notification.user_id).executeTakeFirst()
      : undefined;
    const recipientName = recipient?.name ?? notification.address;
    if (notification.channel === 'in_app') return { ok: true, retryable: false, detail: 'shown in Firewatch' };
    if (payload.kind === 'test') incident = testIncident(notification, now);
    if (notification.channel === 'email') {
      let message;
      if (payload.kind === 'handoff' && payload.handoff) {
        message = renderHandoffEmail({ recipientName, ...payload.handoff });
      } else if (payload.kind === 'mention' && payload.mention) {
        const m = payload.mention;
        message = renderMentionEmail({ recipientName, authorName: m.authorName, channelName: m.channel, excerpt: m.excerpt, url: `${publicUrl}/channels/${encodeURIComponent(m.channel)}` });
      } else if (incident) {
        const ackUrl = incident.status === 'triggered' && payload.kind !== 'test' ? `${publicUrl}/ack/${ackToken(notification.id)}` : null;
        message = renderIncidentEmail({ kind: payload.kind as NotificationKind, incident, recipientName, ackUrl, reason: payload.reason });
      } else {
        return { ok: false, retryable: false, error: 'incident_gone', detail: 'the incident no longer exists' };
      }
      return mailer.send({ to: notification.address, ...message, headers: { 'X-Firewatch-Notification': notification.id } });
    }
    if (notification.channel === 'webhook') {
      if (!incident) return { ok: false, retryable: false, error: 'incident_gone', detail: 'the incident no longer exists' };
      const method = notification.contact_method_id
        ? await db.selectFrom('contact_methods').select(['secret_encrypted']).where('id', '=', notification.contact_method_id).executeTakeFirst()
        : undefined;
      const envelope = buildWebhookEnvelope({
        id: notification.id,
        eventType: `incident.${payload.kind === 'renotify' ? 'alert_added' : payload.kind}`,
        occurredAt: notification.created_at,
        agent: null,
        incident,
      });
      return deliverWebhook(
        { url: notification.address, secret: method?.secret_encrypted ? secrets.decrypt(method.secret_encrypted) : null },
        JSON.stringify(envelope),
        { webhookId: notification.id, timestampSeconds: Math.floor(now.getTime() / 1000), allow: deps.webhookPolicy },
      );
    }
    return { ok: false, retryable: false, error: 'unknown_channel', detail: `no channel ${notification.channel}` };
  }

  /** What a test notification shows: a made-up incident, clearly labelled. */
  const testIncident = (n: NotificationRow, now: Date): IncidentSummary => ({
    id: n.id, number: 0, title: 'Test notification from Firewatch: this contact method works', status: 'triggered', urgency: 'high',
    service: { id: 'test', name: 'Firewatch test' }, created_at: toIso(now), html_url: `${publicUrl}/account`, alert_count: 0, assignees: [], escalation_level: null,
  });

  const deliverHandler: LeaseJobHandler = {
    mode: 'lease',
    // Longer than the slowest channel (SMTP's 30 s timeout), so a claim never expires under a live send.
    leaseMs: 120_000,
    async run(job, now) {
      const notification = await db.selectFrom('notifications').selectAll().where('id', '=', job.ref ?? '').executeTakeFirst();
      if (!notification || notification.status === 'cancelled' || notification.status === 'sent' || notification.status === 'dead') return { done: true };
      const payload = fromJson<NotificationPayload>(notification.payload, { kind: 'triggered', reason: '', level: null });
      const incident = notification.incident_id ? await incidentSummary(db, notification.incident_id) : null;
      const attempt = job.attempts;
      let result: DeliveryResult;
      try {
        result = await send(notification, payload, incident, now);
      } catch (error) {
        result = { ok: false, retryable: true, error: 'send_failed', detail: error instanceof Error ? error.message : String(error) };
      }
      const retryIn = nextAttemptDelayMs(result, attempt, deps.random);
      const status = result.ok ? 'sent' : retryIn === null ? 'dead' : 'failed';
      let published: IncidentChanges | undefined;
      const record = async (tx: Tx, at: Date) => {
        const current = await tx.selectFrom('notifications').select('status').where('id', '=', notification.id).executeTakeFirst();
        // Cancelled while we were sending (acknowledged): record the attempt, but do not retry.
        const cancelled = current?.status === 'cancelled';
        await tx.updateTable('notifications').set({
          status: cancelled && !result.ok ? 'cancelled' : status,
          attempts: attempt,
          last_error: result.ok ? null : (result.detail ?? result.error ?? 'failed'),
          sent_at: result.ok ? toIso(at) : null,
        }).where('id', '=', notification.id).execute();
        if (notification.incident_id && notification.channel !== 'in_app') {
          const row = await incidentsRepo.findIncidentById(tx, notification.incident_id);
          if (row) {
            const changes = new IncidentChanges(tx, incidentsRepo, at, deps.hooks?.());
            const actor: Actor = systemActor;
            await changes.timeline(row, 'notify', actor, describeAttempt(notification, result, attempt, cancelled ? null : retryIn), {
              notification_id: notification.id, channel: notification.channel, address: notification.address, user_id: notification.user_id,
              attempt, result: result.ok ? 'sent' : status, status: result.status ?? null, error: result.error ?? null, detail: result.detail ?? null,
            });
            await changes.flush();
            published = changes;
          }
        }
      };
      const afterCommit = () => published?.publish(deps.bus);
      if (result.ok || retryIn === null) return { done: true, record, afterCommit };
      return { done: false, retryAt: new Date(now.getTime() + retryIn), record, afterCommit };
    },
  };

  return {
    db,
    ackToken,
    verifyAckToken,
    notifyUsers,
    notifyHandoff,
    notifyMention,
    cancelPending,
    incidentSummary,
    deliverHandler,
    /** A user's in-app notifications, newest first. */
    inbox(userId: string, limit: number) {
      return db.selectFrom('notifications').leftJoin('incidents', 'incidents.id', 'notifications.incident_id')
        .selectAll('notifications').select('incidents.number as incident_number')
        .where('notifications.user_id', '=', userId).where('notifications.channel', '=', 'in_app')
        .orderBy('notifications.created_at', 'desc').limit(limit).execute();
    },
    async markRead(userId: string, ids: string[], now: Date): Promise<void> {
      if (ids.length === 0) return;
      await db.updateTable('notifications').set({ read_at: toIso(now) }).where('user_id', '=', userId).where('id', 'in', ids).where('read_at', 'is', null).execute();
    },
    forIncident(incidentId: string) {
      return db.selectFrom('notifications').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
    },
    /** The dead-letter list: notifications that failed for good, newest first, with their incident's number. */
    deadLetters(limit: number) {
      return db.selectFrom('notifications').leftJoin('incidents', 'incidents.id', 'notifications.incident_id')
        .selectAll('notifications').select('incidents.number as incident_number')
        .where('notifications.status', '=', 'dead').orderBy('notifications.created_at', 'desc').limit(limit).execute();
    },
    /** A notification's incident and recipient, for the acknowledge link. */
    async notificationWithIncident(id: string) {
      const n = await db.selectFrom('notifications').select(['id', 'incident_id', 'user_id']).where('id', '=', id).executeTakeFirst();
      if (!n?.incident_id) return null;
      const incident = await db.selectFrom('incidents').select(['id', 'number', 'title', 'status']).where('id', '=', n.incident_id).executeTakeFirst();
      if (!incident) return null;
      const user = n.user_id ? await db.selectFrom('users').select(['id', 'name']).where('id', '=', n.user_id).executeTakeFirst() : undefined;
      return { incident: { ...incident, number: Number(incident.number) }, user: user ?? null };
    },
    /** Sends a test notification through one of a user's contact methods, now; returns its id. */
    async sendTest(userId: string, method: { id: string; type: string; address: string }, now: Date): Promise<string> {
      const user = await db.selectFrom('users').select(['id', 'name', 'email']).where('id', '=', userId).executeTakeFirstOrThrow();
      return db.transaction().execute(async (tx) => {
        const row = await insertNotification(tx, {
          incidentId: null,
          rule: { user, delayMinutes: 0, method: { id: method.id, type: method.type as 'email' | 'webhook' | 'in_app', label: 'test', address: method.address, secret_encrypted: null } },
          payload: { kind: 'test', reason: 'you asked for a test notification', level: null },
          now,
        });
        return row.id;
      });
    },
    /** One notification by id (its delivery state), for the owner. */
    findNotification(id: string) {
      return db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** Tries a dead notification again from the first attempt. */
    async retry(id: string, now: Date): Promise<boolean> {
      return db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('notifications').select(['id', 'status', 'incident_id']).where('id', '=', id).executeTakeFirst();
        if (!row || row.status !== 'dead') return false;
        await tx.updateTable('notifications').set({ status: 'pending', attempts: 0, last_error: null, due_at: toIso(now) }).where('id', '=', id).execute();
        await jobs.schedule(tx, { kind: DELIVER_JOB, dueAt: now, incidentId: row.incident_id, ref: id }, now);
        return true;
      });
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
