import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../errors.ts';
import { apiRoute, type RegisteredRoute } from '../../http/route.ts';
import {
  contactMethodCreateSchema, contactMethodOutSchema, contactMethodPatchSchema, notificationRuleCreateSchema, notificationRuleOutSchema,
} from './contact.schemas.ts';
import type { ContactsService } from './contacts.service.ts';

/**
 * Contact methods and notification rules of a user: `/api/v1/users/me/…` for your own, or
 * `/api/v1/users/{email}/…`, which only admins may use for someone else.
 */
export function registerContactsRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: {
  contacts: ContactsService;
  /** Queues a test notification through a contact method (the notifier); returns its id. */
  sendTest: (userId: string, method: { id: string; type: string; address: string }) => Promise<string>;
}) {
  const { contacts } = deps;
  const userParam = z.object({ user: z.string().min(1).max(320) });
  const itemParam = z.object({ user: z.string().min(1).max(320), id: z.string().min(1).max(100) });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/users/:user/contact-methods', auth: 'viewer', tags: ['contact-methods'],
    summary: "A user's contact methods (`me` or an email; someone else's needs admin). Webhook secrets are masked.",
    params: userParam,
    response: z.object({ contact_methods: z.array(contactMethodOutSchema) }),
    handler: async ({ params, principal }) => ({ contact_methods: await contacts.listMethods(await contacts.resolveOwner(principal, params.user)) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/users/:user/contact-methods', auth: 'viewer', tags: ['contact-methods'], successStatus: 201,
    summary: 'Add an email, webhook or in-app contact method. A webhook gets a signing secret (generated unless given), shown in full only in this response.',
    params: userParam,
    body: contactMethodCreateSchema,
    response: z.object({ contact_method: contactMethodOutSchema }),
    handler: async ({ params, body, principal }) => ({ contact_method: await contacts.createMethod(await contacts.resolveOwner(principal, params.user), body) }),
  });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/users/:user/contact-methods/:id', auth: 'viewer', tags: ['contact-methods'],
    summary: 'Change a contact method (by id or label): label, address, or a webhook secret (set one, or rotate_secret: true to generate one).',
    params: itemParam,
    body: contactMethodPatchSchema,
    response: z.object({ contact_method: contactMethodOutSchema }),
    handler: async ({ params, body, principal }) => ({ contact_method: await contacts.updateMethod(await contacts.resolveOwner(principal, params.user), params.id, body) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/users/:user/contact-methods/:id/test', auth: 'viewer', tags: ['contact-methods'], successStatus: 202,
    summary: 'Send a test notification through this contact method now. Its delivery (with retries) shows in the in-app inbox and GET /api/v1/notifications/{id}.',
    params: itemParam,
    response: z.object({ notification_id: z.string() }),
    handler: async ({ params, principal }) => {
      const owner = await contacts.resolveOwner(principal, params.user);
      const method = (await contacts.listMethods(owner)).find((m) => m.id === params.id || m.label === params.id);
      if (!method) throw notFound('contact_method', `no contact method ${params.id}`);
      return { notification_id: await deps.sendTest(owner.id, { id: method.id, type: method.type, address: method.address ?? owner.id }) };
    },
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/users/:user/contact-methods/:id', auth: 'viewer', tags: ['contact-methods'],
    summary: 'Delete a contact method (by id or label) and the notification rules that use it.',
    params: itemParam,
    handler: async ({ params, principal }) => {
      await contacts.removeMethod(await contacts.resolveOwner(principal, params.user), params.id);
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/users/:user/notification-rules', auth: 'viewer', tags: ['notification-rules'],
    summary: "A user's notification rules; `defaults` says for which urgencies none exist, so the account email and an in-app notice are used at once.",
    params: userParam,
    response: z.object({ notification_rules: z.array(notificationRuleOutSchema), defaults: z.object({ high: z.boolean(), low: z.boolean() }) }),
    handler: async ({ params, principal }) => {
      const { rules, defaults } = await contacts.listRules(await contacts.resolveOwner(principal, params.user));
      return { notification_rules: rules, defaults };
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/users/:user/notification-rules', auth: 'viewer', tags: ['notification-rules'], successStatus: 201,
    summary: 'Notify through a contact method (id or label) delay_minutes after being paged, for high- or low-urgency incidents.',
    params: userParam,
    body: notificationRuleCreateSchema,
    response: z.object({ notification_rule: notificationRuleOutSchema }),
    handler: async ({ params, body, principal }) => ({ notification_rule: await contacts.createRule(await contacts.resolveOwner(principal, params.user), body) }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/users/:user/notification-rules/:id', auth: 'viewer', tags: ['notification-rules'],
    summary: 'Delete a notification rule.',
    params: itemParam,
    handler: async ({ params, principal }) => {
      await contacts.removeRule(await contacts.resolveOwner(principal, params.user), params.id);
    },
  });
}
