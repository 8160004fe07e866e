import { z } from 'zod';

/** What the on-call routes return (zod only; the web UI derives its types here). */
export const notificationSchema = z.object({
  id: z.string(),
  incident_number: z.number().nullable().optional(),
  user: z.object({ id: z.string(), name: z.string(), email: z.string() }).nullable(),
  channel: z.string(),
  address: z.string(),
  kind: z.string(),
  status: z.enum(['pending', 'sent', 'failed', 'dead', 'cancelled']),
  attempts: z.number(),
  last_error: z.string().nullable(),
  reason: z.string(),
  created_at: z.string(),
  due_at: z.string(),
  sent_at: z.string().nullable(),
  read_at: z.string().nullable(),
});

export const escalationStateSchema = z.object({
  policy: z.object({ id: z.string(), name: z.string() }).nullable(),
  level: z.number().nullable(),
  loop: z.number(),
  levels: z.number(),
  repeat: z.number(),
  assignees: z.array(z.object({ id: z.string(), name: z.string(), email: z.string() })),
  next: z.object({ level: z.number(), due_at: z.string() }).nullable(),
  snoozed_until: z.string().nullable(),
  suppressed_by: z.string().nullable(),
  pending: z.array(z.object({ kind: z.string(), due_at: z.string() })),
});
