import { z } from 'zod';
import { integrationTypeSchema } from '../services/integration-config.ts';
import { integrationKeySchema, serviceNameSchema } from '../services/services.service.ts';
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
  })).default([]),
  users: z.array(z.strictObject({
    email: z.email().max(320),
    name: z.string().trim().min(1).max(200).optional(),
    role: roleSchema.default('responder'),
  })).default([]),
  teams: z.array(z.strictObject({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(2000).optional(),
    members: z.array(z.email()).default([]),
  })).default([]),
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
  doc.services.forEach((s, si) => {
    const names = new Set<string>();
    s.integrations.forEach((i, ii) => {
      if (names.has(i.name)) ctx.addIssue({ code: 'custom', path: ['services', si, 'integrations', ii, 'name'], message: `duplicate integration ${i.name}` });
      names.add(i.name);
    });
  });
});

export type ConfigDocument = z.infer<typeof configDocumentSchema>;

export interface ApplyReport {
  created: string[];
  updated: string[];
  unchanged: string[];
}
