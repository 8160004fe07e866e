import { z } from 'zod';

/** What the API returns for services and integrations (zod only; the web UI derives its types here). */
export const integrationSchema = z.object({
  id: z.string(), service_id: z.string(), name: z.string(),
  type: z.enum(['pagerduty', 'alertmanager', 'webhook', 'heartbeat']),
  key: z.string(), config: z.record(z.string(), z.unknown()), url: z.string(), last_event_at: z.string().nullable(), created_at: z.string(),
});

export const serviceSchema = z.object({
  id: z.string(), name: z.string(), description: z.string(), created_at: z.string(), updated_at: z.string(), integrations: z.array(integrationSchema),
  /** On-call: the escalation policy's name (null: nobody is paged), seconds until an acknowledgement lapses (null: never), and whether a new alert on an open incident notifies again. */
  escalation_policy: z.string().nullable(), ack_timeout_seconds: z.number().nullable(), renotify_on_new_alerts: z.boolean(),
});
