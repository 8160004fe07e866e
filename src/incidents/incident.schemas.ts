import { z } from 'zod';

/**
 * What the API returns for incidents, alerts and timeline entries. These zod schemas are the one source
 * for the response allow-list, the OpenAPI document and the web UI's types (web/src/types.ts).
 * Zod only: the browser build imports the types from here.
 */
export const INCIDENT_STATUSES = ['triggered', 'acknowledged', 'resolved'] as const;

export const incidentSchema = z.object({
  id: z.string(), number: z.number(), title: z.string(), status: z.enum(INCIDENT_STATUSES), urgency: z.enum(['high', 'low']),
  service: z.object({ id: z.string(), name: z.string() }),
  created_at: z.string(), updated_at: z.string(),
  acknowledged_at: z.string().nullable(), acknowledged_by: z.string().nullable(),
  resolved_at: z.string().nullable(), resolved_by: z.string().nullable(),
  alert_count: z.number(), html_url: z.string(),
});

export const alertSchema = z.object({
  id: z.string(), dedup_key: z.string(), status: z.string(), summary: z.string(), severity: z.string(), source: z.string(),
  component: z.string().nullable(), group: z.string().nullable(), class: z.string().nullable(),
  custom_details: z.unknown(),
  /** As the source sent them: usually `{href, text}`, never trusted to be. */
  links: z.array(z.unknown()), images: z.array(z.unknown()),
  client: z.string().nullable(), client_url: z.string().nullable(),
  first_seen_at: z.string(), last_seen_at: z.string(), resolved_at: z.string().nullable(), trigger_count: z.number(),
});

export const timelineEntrySchema = z.object({
  id: z.string(), type: z.string(), at: z.string(),
  actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string() }),
  message: z.string(), data: z.unknown(),
});

export const incidentPageSchema = z.object({ incidents: z.array(incidentSchema), next_cursor: z.number().nullable() });
export const incidentDetailSchema = z.object({ incident: incidentSchema, alerts: z.array(alertSchema), timeline: z.array(timelineEntrySchema) });
