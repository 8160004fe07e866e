import { z } from 'zod';

export const INTEGRATION_TYPES = ['pagerduty', 'alertmanager', 'webhook', 'heartbeat'] as const;
export const integrationTypeSchema = z.enum(INTEGRATION_TYPES);
export type IntegrationType = z.infer<typeof integrationTypeSchema>;

/** A simple path into a JSON body: `alert.title`, `items.0.name` or `items[0].name`. */
export const jsonPathSchema = z.string().min(1).max(200).regex(/^[A-Za-z0-9_$@-]+(\[\d+\]|\.[A-Za-z0-9_$@-]+)*$/, 'use dotted paths like alert.title or items[0].name');

/**
 * How a generic webhook body maps onto an alert. Each field is a path into the body; the `*_values`
 * tables translate the sender's words into ours (matching is case-insensitive).
 */
export const webhookMappingSchema = z.strictObject({
  title: jsonPathSchema.optional(),
  dedup_key: jsonPathSchema.optional(),
  severity: jsonPathSchema.optional(),
  status: jsonPathSchema.optional(),
  source: jsonPathSchema.optional(),
  component: jsonPathSchema.optional(),
  details: jsonPathSchema.optional(),
  link: jsonPathSchema.optional(),
  resolved_values: z.array(z.string().max(100)).max(50).optional(),
  acknowledged_values: z.array(z.string().max(100)).max(50).optional(),
  severity_values: z.partialRecord(z.enum(['critical', 'error', 'warning', 'info']), z.array(z.string().max(100)).max(50)).optional(),
});
export type WebhookMapping = z.infer<typeof webhookMappingSchema>;

export const heartbeatConfigSchema = z.strictObject({
  // How long without a ping before an incident opens.
  interval_seconds: z.number().int().min(10).max(30 * 24 * 3600).default(300),
  severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
});

export const integrationConfigSchemas = {
  pagerduty: z.strictObject({}),
  alertmanager: z.strictObject({}),
  webhook: z.strictObject({ mapping: webhookMappingSchema.default({}) }),
  heartbeat: heartbeatConfigSchema,
} as const;

/** Validates an integration's config for its type, filling defaults. */
export function parseIntegrationConfig(type: IntegrationType, config: unknown): Record<string, unknown> {
  return integrationConfigSchemas[type].parse(config ?? {}) as Record<string, unknown>;
}
