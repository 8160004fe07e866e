import { z } from 'zod';

/** Contact methods and notification rules: request, response and declarative-file shapes (zod only). */

export const contactLabelSchema = z.string().trim().min(1).max(100);

/** Where webhooks may point: an http(s) URL without credentials in it. */
export const webhookUrlSchema = z.string().max(2000).refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
  } catch {
    return false;
  }
}, 'an http:// or https:// URL without credentials');

export const webhookSecretSchema = z.string().min(16).max(200);

const emailAddress = z.email().max(320);

export const contactMethodCreateSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('email'), label: contactLabelSchema, address: emailAddress }),
  z.strictObject({ type: z.literal('webhook'), label: contactLabelSchema, address: webhookUrlSchema, secret: webhookSecretSchema.optional() }),
  z.strictObject({ type: z.literal('in_app'), label: contactLabelSchema }),
]);
export type ContactMethodCreate = z.output<typeof contactMethodCreateSchema>;

export const contactMethodPatchSchema = z.strictObject({
  label: contactLabelSchema.optional(),
  address: z.string().max(2000).optional(),
  /** Webhooks only: a new signing secret. */
  secret: webhookSecretSchema.optional(),
  /** Webhooks only: generate a new signing secret (shown once in the response). */
  rotate_secret: z.boolean().optional(),
});

export const contactMethodOutSchema = z.object({
  id: z.string(),
  type: z.enum(['email', 'webhook', 'in_app']),
  label: z.string(),
  /** Null for in-app notifications. */
  address: z.string().nullable(),
  /** Webhooks: the signing secret in full right after it was set or generated, masked afterwards. */
  secret: z.string().nullable(),
  created_at: z.string(),
});

export const URGENCIES = ['high', 'low'] as const;

export const notificationRuleCreateSchema = z.strictObject({
  urgency: z.enum(URGENCIES),
  /** The contact method's id or label. */
  contact_method: z.string().min(1).max(100),
  delay_minutes: z.number().int().min(0).max(1440),
});

export const notificationRuleOutSchema = z.object({
  id: z.string(),
  urgency: z.enum(URGENCIES),
  delay_minutes: z.number(),
  contact_method: z.object({ id: z.string(), label: z.string(), type: z.enum(['email', 'webhook', 'in_app']) }),
  created_at: z.string(),
});

/** The user's `contact_methods` in the declarative file (identified by label; secrets are not exported). */
export const contactMethodDocumentSchema = z.strictObject({
  label: contactLabelSchema,
  type: z.enum(['email', 'webhook', 'in_app']),
  address: z.string().max(2000).optional(),
  secret: webhookSecretSchema.optional(),
}).superRefine((m, ctx) => {
  if (m.type === 'email' && !emailAddress.safeParse(m.address).success) ctx.addIssue({ code: 'custom', path: ['address'], message: 'an email address' });
  if (m.type === 'webhook' && !webhookUrlSchema.safeParse(m.address).success) ctx.addIssue({ code: 'custom', path: ['address'], message: 'an http:// or https:// URL without credentials' });
  if (m.type === 'in_app' && m.address !== undefined) ctx.addIssue({ code: 'custom', path: ['address'], message: 'in-app notifications have no address' });
  if (m.type !== 'webhook' && m.secret !== undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'only webhooks have a secret' });
});
export type ContactMethodDocument = z.output<typeof contactMethodDocumentSchema>;

export const notificationRuleDocumentSchema = z.strictObject({
  urgency: z.enum(URGENCIES),
  /** A contact method's label: one in this document's user entry or already stored. */
  contact: contactLabelSchema,
  delay_minutes: z.number().int().min(0).max(1440),
});
export type NotificationRuleDocument = z.output<typeof notificationRuleDocumentSchema>;
