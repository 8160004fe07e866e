import { z } from 'zod';
import { channelDocumentSchema } from '../chat/chat.document.ts';
import { datasourceDocumentSchema, ruleGroupDocumentSchema } from '../telemetry/metrics/metrics.document.ts';
import { inventoryDocumentSchema } from '../telemetry/inventory/inventory.document.ts';
import { contactMethodDocumentSchema, notificationRuleDocumentSchema } from '../oncall/contacts/contact.schemas.ts';
import { policyDocumentSchema } from '../oncall/policies/policy.schemas.ts';
import { silenceDocumentSchema } from '../oncall/silences/silence.schemas.ts';
import { scheduleDocumentSchema } from '../oncall/schedules/schedules.schemas.ts';
import { integrationTypeSchema } from '../services/integration-config.ts';
import { ackTimeoutSchema, integrationKeySchema, serviceNameSchema } from '../services/services.service.ts';
import { roleSchema } from '../users/roles.ts';

/**
 * The declarative file `firewatch apply -f` reads (CONTRACTS.md): one YAML document keyed by kind,
 * each resource identified by `name` (or `email`), so applying twice changes nothing.
 * Kinds added by later features (schedules, escalation_policies, …) extend this schema.
 */
export const configDocumentSchema = z.strictObject({
  services: z.array(z.strictObject({
    name: serviceNameSchema,
    description: z.string().max(2000).optional(),
    integrations: z.array(z.strictObject({
      name: z.string().trim().min(1).max(100),
      type: integrationTypeSchema,
      key: integrationKeySchema.optional(),
      config: z.record(z.string(), z.unknown()).optional(),
    })).default([]),
    // On-call settings; absent ones are left as they are.
    escalation_policy: z.string().trim().min(1).max(100).nullable().optional(),
    ack_timeout_seconds: ackTimeoutSchema.optional(),
    renotify_on_new_alerts: z.boolean().optional(),
  })).default([]),
  users: z.array(z.strictObject({
    email: z.email().max(320),
    name: z.string().trim().min(1).max(200).optional(),
    role: roleSchema.default('responder'),
    // By label; methods not listed are kept. Rules, when given, are exactly the user's rules.
    contact_methods: z.array(contactMethodDocumentSchema).max(50).optional(),
    notification_rules: z.array(notificationRuleDocumentSchema).max(50).optional(),
  })).default([]),
  teams: z.array(z.strictObject({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(2000).optional(),
    members: z.array(z.email()).default([]),
  })).default([]),
  schedules: z.array(scheduleDocumentSchema).default([]),
  escalation_policies: z.array(policyDocumentSchema).default([]),
  silences: z.array(silenceDocumentSchema).default([]),
  channels: z.array(channelDocumentSchema).default([]),
  datasources: z.array(datasourceDocumentSchema).default([]),
  rules: z.array(ruleGroupDocumentSchema).default([]),
  inventory: z.array(inventoryDocumentSchema).default([]),
}).superRefine((doc, ctx) => {
  const dupes = (values: string[], path: string) => {
    const seen = new Set<string>();
    values.forEach((v, i) => {
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicate ${v}` });
      seen.add(v);
    });
  };
  dupes(doc.services.map((s) => s.name), 'services');
  dupes(doc.users.map((u) => u.email.toLowerCase()), 'users');
  dupes(doc.teams.map((t) => t.name), 'teams');
  dupes(doc.schedules.map((s) => s.name), 'schedules');
  dupes(doc.escalation_policies.map((p) => p.name), 'escalation_policies');
  dupes(doc.silences.map((s) => s.name), 'silences');
  dupes(doc.channels.map((c) => c.name), 'channels');
  dupes(doc.datasources.map((d) => d.name), 'datasources');
  dupes(doc.rules.map((g) => g.name), 'rules');
  dupes(doc.inventory.map((i) => i.name), 'inventory');
  doc.users.forEach((u, ui) => {
    const labels = new Set<string>();
    u.contact_methods?.forEach((m, mi) => {
      if (labels.has(m.label)) ctx.addIssue({ code: 'custom', path: ['users', ui, 'contact_methods', mi, 'label'], message: `duplicate contact method ${m.label}` });
      labels.add(m.label);
    });
    const rules = new Set<string>();
    u.notification_rules?.forEach((r, ri) => {
      const key = `${r.urgency}|${r.contact}|${r.delay_minutes}`;
      if (rules.has(key)) ctx.addIssue({ code: 'custom', path: ['users', ui, 'notification_rules', ri], message: 'duplicate notification rule' });
      rules.add(key);
    });
  });
  doc.services.forEach((s, si) => {
    const names = new Set<string>();
    s.integrations.forEach((i, ii) => {
      if (names.has(i.name)) ctx.addIssue({ code: 'custom', path: ['services', si, 'integrations', ii, 'name'], message: `duplicate integration ${i.name}` });
      names.add(i.name);
    });
  });
});

export type ConfigDocument = z.infer<typeof configDocumentSchema>;
/** What export produces: the document as written (policy targets as `{ user }` / `{ schedule }`). */
export type ConfigDocumentInput = z.input<typeof configDocumentSchema>;

export interface ApplyReport {
  created: string[];
  updated: string[];
  unchanged: string[];
}
