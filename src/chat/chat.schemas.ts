import { z } from 'zod';
import { channelNameSchema } from './chat.document.ts';

export const MESSAGE_KINDS = ['message', 'event', 'command', 'reply'] as const;

const authorSchema = z.object({ type: z.enum(['user', 'bot', 'integration']), id: z.string().nullable(), name: z.string() });
export const chatFileSchema = z.object({
  id: z.string(), name: z.string(), content_type: z.string(), size: z.number(), link: z.string().nullable().optional(), alt: z.string().nullable().optional(),
});

export const chatMessageSchema = z.object({
  id: z.string(),
  channel: z.string(),
  seq: z.number(),
  version_seq: z.number(),
  kind: z.enum(MESSAGE_KINDS),
  author: authorSchema,
  text: z.string(),
  attachments: z.array(z.unknown()),
  blocks: z.array(z.unknown()),
  files: z.array(chatFileSchema),
  mentions: z.array(z.string()),
  timeline_entry_id: z.string().nullable(),
  visible_to: z.string().nullable().optional(),
  created_at: z.string(),
  edited_at: z.string().nullable(),
  deleted_at: z.string().nullable(),
});

export const channelOutSchema = z.object({
  id: z.string(),
  name: z.string(),
  topic: z.string(),
  kind: z.enum(['team', 'incident']),
  incident_number: z.number().nullable(),
  last_seq: z.number(),
  unread: z.number(),
  created_at: z.string(),
});

export const summarySchema = z.object({
  incident: z.object({ number: z.number(), title: z.string(), status: z.string(), urgency: z.string(), url: z.string() }),
  service: z.object({ id: z.string(), name: z.string() }),
  status: z.string(),
  on_it: z.array(z.object({ id: z.string(), name: z.string() })),
  acknowledged_by: z.string().nullable(),
  resolved_by: z.string().nullable(),
  started_at: z.string(),
  resolved_at: z.string().nullable(),
  duration_seconds: z.number(),
  alert_count: z.number(),
  key_events: z.array(z.object({ at: z.string(), type: z.string(), message: z.string() })),
});

export const channelParams = z.object({ name: channelNameSchema });
export const messageParams = z.object({ name: channelNameSchema, id: z.string().min(1).max(100) });

const seqQuery = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const messagesQuery = z.object({
  after_seq: seqQuery.optional(),
  before_seq: seqQuery.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  kind: z.enum(MESSAGE_KINDS).optional(),
});

export const postBody = z.strictObject({
  text: z.string().max(40_000).default(''),
  file_ids: z.array(z.string().min(1).max(100)).max(20).optional(),
});
