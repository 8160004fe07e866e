import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import { fromJson } from '../../db/codec.ts';
import { AppError, badRequest, notFound } from '../../errors.ts';
import type { EventBus } from '../../events/event-bus.ts';
import { actorOf, requirePrincipal } from '../../http/principal.ts';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import type { IncidentsRepo } from '../../incidents/incidents.repo.ts';
import { type Actor, IncidentChanges } from '../../incidents/lifecycle.ts';
import { escapeHtml } from '../../notify/channels/messages.ts';
import { roleAtLeast } from '../../users/roles.ts';
import type { UsersRepo } from '../../users/users.repo.ts';
import type { NotificationRow, Notifier } from '../notifications/notifier.ts';
import type { Escalation } from './escalation.ts';
import { escalationStateSchema, notificationSchema } from './escalation.schemas.ts';

const numberParam = z.object({ number: z.coerce.number().int().positive().max(2 ** 31) });

function requireOpen(status: string, number: number): void {
  if (status === 'resolved') throw new AppError('incident_resolved', 409, `incident ${number} is already resolved`);
}

const emails = z.array(z.email().max(320)).min(1).max(50);

export function registerOnCallIncidentRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: {
  escalation: Escalation; notifier: Notifier; incidentsRepo: IncidentsRepo; usersRepo: UsersRepo; durable: () => Promise<void>; clock: Clock;
}) {
  const { escalation, notifier, incidentsRepo, usersRepo } = deps;

  async function present(rows: NotificationRow[]) {
    const userIds = [...new Set(rows.map((r) => r.user_id).filter((id): id is string => !!id))];
    const users = new Map<string, { id: string; name: string; email: string }>();
    for (const id of userIds) {
      const u = await usersRepo.findById(id);
      if (u) users.set(id, { id: u.id, name: u.name, email: u.email });
    }
    return rows.map((r) => ({
      id: r.id,
      user: r.user_id ? users.get(r.user_id) ?? null : null,
      channel: r.channel,
      address: r.address,
      kind: r.kind,
      status: r.status as z.infer<typeof notificationSchema>['status'],
      attempts: r.attempts,
      last_error: r.last_error,
      reason: fromJson<{ reason?: string }>(r.payload, {}).reason ?? '',
      created_at: r.created_at,
      due_at: r.due_at,
      sent_at: r.sent_at,
      read_at: r.read_at,
    }));
  }

  async function userIdsFor(list: string[]): Promise<string[]> {
    const ids: string[] = [];
    const unknown: string[] = [];
    for (const email of list) {
      const user = await usersRepo.findByEmail(email.toLowerCase());
      if (user) ids.push(user.id);
      else unknown.push(email);
    }
    if (unknown.length > 0) throw badRequest('unknown_user', `no user ${unknown.join(', ')}`);
    return [...new Set(ids)];
  }

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/incidents/:number/oncall', auth: 'viewer', tags: ['incidents', 'on-call'],
    summary: 'Who is assigned, the escalation policy and level, the next escalation step with its due time, and every notification.',
    params: numberParam,
    response: z.object({ escalation: escalationStateSchema, notifications: z.array(notificationSchema) }),
    handler: async ({ params }) => {
      const incident = await incidentsRepo.findIncidentByNumber(params.number);
      if (!incident) throw notFound('incident', `incident ${params.number} not found`);
      return { escalation: await escalation.describe(incident), notifications: await present(await notifier.forIncident(incident.id)) };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/escalate', auth: 'responder', tags: ['incidents', 'on-call'],
    summary: 'Escalate to the next level now.',
    params: numberParam,
    response: z.object({ escalation: escalationStateSchema }),
    handler: async ({ params, principal }) => {
      const actor = actorOf(principal);
      const incident = await escalation.manual(params.number, deps.durable, async (changes, row) => {
        requireOpen(row.status, params.number);
        if (row.status !== 'triggered') throw new AppError('incident_acknowledged', 409, `incident ${params.number} is acknowledged; un-acknowledge it or page a responder instead`);
        await escalation.escalate(changes, row, 'now', actor);
        return row;
      });
      return { escalation: await escalation.describe(incident) };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/reassign', auth: 'responder', tags: ['incidents', 'on-call'],
    summary: 'Assign the incident to other users; they are paged.',
    params: numberParam,
    body: z.strictObject({ users: emails }),
    response: z.object({ escalation: escalationStateSchema }),
    handler: async ({ params, body, principal }) => {
      const actor = actorOf(principal);
      const ids = await userIdsFor(body.users);
      const incident = await escalation.manual(params.number, deps.durable, async (changes, row) => {
        requireOpen(row.status, params.number);
        await escalation.reassign(changes, row, ids, actor);
        return row;
      });
      return { escalation: await escalation.describe(incident) };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/responders', auth: 'responder', tags: ['incidents', 'on-call'],
    summary: 'Page extra responders now, without changing the escalation.',
    params: numberParam,
    body: z.strictObject({ users: emails, message: z.string().max(1000).default('') }),
    response: z.object({ paged: z.array(z.string()) }),
    handler: async ({ params, body, principal }) => {
      const actor = actorOf(principal);
      const ids = await userIdsFor(body.users);
      const paged = await escalation.manual(params.number, deps.durable, async (changes, row) => {
        requireOpen(row.status, params.number);
        return escalation.addResponders(changes, row, ids, actor, body.message);
      });
      return { paged };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/incidents/:number/snooze', auth: 'responder', tags: ['incidents', 'on-call'],
    summary: 'Acknowledge and snooze: the incident returns to triggered, and pages again, after the duration (1 s to 7 days).',
    params: numberParam,
    body: z.strictObject({ duration_seconds: z.number().int().min(1).max(604_800) }),
    response: z.object({ escalation: escalationStateSchema }),
    handler: async ({ params, body, principal }) => {
      const actor = actorOf(principal);
      const incident = await escalation.manual(params.number, deps.durable, async (changes, row) => {
        requireOpen(row.status, params.number);
        return escalation.snooze(changes, row, body.duration_seconds, actor);
      });
      return { escalation: await escalation.describe(incident) };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/notifications/dead-letters', auth: 'responder', tags: ['on-call'],
    summary: 'Notifications that failed for good (the dead-letter list), newest first.',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    response: z.object({ notifications: z.array(notificationSchema) }),
    handler: async ({ query }) => {
      const rows = await notifier.deadLetters(query.limit);
      const presented = await present(rows);
      return { notifications: presented.map((p, i) => ({ ...p, incident_number: rows[i].incident_number === null ? null : Number(rows[i].incident_number) })) };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/notifications/:id', auth: 'viewer', tags: ['on-call'],
    summary: 'One notification and its delivery state (yours, or any for responders).',
    params: z.object({ id: z.string().max(64) }),
    response: z.object({ notification: notificationSchema }),
    handler: async ({ params, principal }) => {
      const p = requirePrincipal(principal);
      const row = await notifier.findNotification(params.id);
      if (!row || (row.user_id !== p.userId && !roleAtLeast(p.role, 'responder'))) throw notFound('notification', `no notification ${params.id}`);
      return { notification: (await present([row]))[0] };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/notifications/:id/retry', auth: 'admin', tags: ['on-call'],
    summary: 'Send a dead-lettered notification again, from its first attempt.',
    params: z.object({ id: z.string().max(64) }),
    response: z.object({ retried: z.boolean() }),
    handler: async ({ params }) => {
      const retried = await notifier.retry(params.id, deps.clock.now());
      if (!retried) throw notFound('notification', `no dead-lettered notification ${params.id}`);
      escalation.wakeRunner();
      return { retried };
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/users/me/notifications', auth: 'viewer', tags: ['on-call'],
    summary: 'My in-app notifications, newest first.',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    response: z.object({ notifications: z.array(notificationSchema), unread: z.number() }),
    handler: async ({ query, principal }) => {
      const p = requirePrincipal(principal);
      if (!p.userId) return { notifications: [], unread: 0 };
      const rows = await notifier.inbox(p.userId, query.limit);
      const presented = await present(rows);
      return {
        notifications: presented.map((n, i) => ({ ...n, incident_number: rows[i].incident_number === null ? null : Number(rows[i].incident_number) })),
        unread: rows.filter((r) => !r.read_at).length,
      };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/users/me/notifications/read', auth: 'viewer', tags: ['on-call'],
    summary: 'Mark in-app notifications as read.',
    body: z.strictObject({ ids: z.array(z.string().max(64)).max(500) }),
    handler: async ({ body, principal, reply }) => {
      const p = requirePrincipal(principal);
      if (p.userId) await notifier.markRead(p.userId, body.ids, deps.clock.now());
      return reply.code(204).send();
    },
  });
}

/** A small self-contained HTML page for the acknowledge link (no scripts; user text escaped). */
function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply.code(status).type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1c2230}button{font:inherit;padding:.6rem 1.2rem;border-radius:6px;border:0;background:#c2410c;color:#fff;cursor:pointer}a{color:#c2410c}</style>
</head><body>${body}</body></html>`);
}

/**
 * The one-click acknowledge link in notification emails: `GET /ack/{token}` shows the incident and a
 * button (a GET never changes anything: mail scanners follow links); the button POSTs and acknowledges as
 * the notified user. The token is an HMAC of the notification id, so it needs no sign-in.
 */
export function registerAckLinkRoutes(app: FastifyInstance, deps: {
  notifier: Notifier; incidentsRepo: IncidentsRepo; escalation: Escalation; durable: () => Promise<void>; clock: Clock; bus: EventBus;
}) {
  const tokenParam = z.object({ token: z.string().min(10).max(200) });

  async function resolveToken(token: string) {
    const id = deps.notifier.verifyAckToken(token);
    if (!id) return null;
    return deps.notifier.notificationWithIncident(id);
  }

  app.get('/ack/:token', async (request, reply) => {
    const parsed = tokenParam.safeParse(request.params);
    const found = parsed.success ? await resolveToken(parsed.data.token) : null;
    if (!found) return page(reply, 404, 'Link not valid', '<h1>This link is not valid</h1><p>It may have been mistyped. Open Firewatch to see the incident.</p>');
    const { incident } = found;
    const title = `#${incident.number} ${incident.title}`;
    if (incident.status !== 'triggered') {
      return page(reply, 200, title, `<h1>${escapeHtml(title)}</h1><p>This incident is already <strong>${escapeHtml(incident.status)}</strong>.</p><p><a href="/incidents/${incident.number}">Open it in Firewatch</a></p>`);
    }
    return page(reply, 200, title, `<h1>${escapeHtml(title)}</h1><p>Status: <strong>triggered</strong></p>
<form method="post"><button type="submit">Acknowledge</button></form><p><a href="/incidents/${incident.number}">Open it in Firewatch</a></p>`);
  });

  app.post('/ack/:token', async (request, reply) => {
    const parsed = tokenParam.safeParse(request.params);
    const found = parsed.success ? await resolveToken(parsed.data.token) : null;
    if (!found) return page(reply, 404, 'Link not valid', '<h1>This link is not valid</h1>');
    const actor: Actor = found.user ? { type: 'user', id: found.user.id, name: found.user.name } : { type: 'system', id: null, name: 'acknowledge link' };
    const { result, changes } = await IncidentChanges.run(deps.notifier.db, deps.incidentsRepo, () => deps.clock.now(), deps.durable, async (c) => {
      const row = await deps.incidentsRepo.findIncidentById(c.tx, found.incident.id);
      if (!row) return null;
      return c.acknowledge(row, actor, 'email link');
    }, deps.escalation.hooks);
    changes.publish(deps.bus);
    const number = found.incident.number;
    const title = `#${number} ${found.incident.title}`;
    if (!result) return page(reply, 200, title, `<h1>${escapeHtml(title)}</h1><p>Nothing to do: it is no longer triggered.</p><p><a href="/incidents/${number}">Open it in Firewatch</a></p>`);
    return page(reply, 200, title, `<h1>${escapeHtml(title)}</h1><p>Acknowledged by ${escapeHtml(actor.name)}. Escalation stopped.</p><p><a href="/incidents/${number}">Open it in Firewatch</a></p>`);
  });
}
