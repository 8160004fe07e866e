import { z } from 'zod';

/** Slack's documented request shapes (reference §5.5, §5.6), validated with bounded sizes; extra fields ignored. */

const id = z.string().min(1).max(64);

/** Slash command: a form body (bolt-js `SlashCommand`). */
export const slashCommandSchema = z.object({
  command: z.string().min(1).max(64),
  text: z.string().max(4_000).default(''),
  user_id: id,
  user_name: z.string().max(200).optional(),
  channel_id: id,
  channel_name: z.string().max(200).optional(),
  team_id: id.optional(),
  response_url: z.string().max(2_000).optional(),
  trigger_id: z.string().max(200).optional(),
});
export type SlashCommand = z.infer<typeof slashCommandSchema>;

/** `block_actions` interaction (bolt-js `BlockAction`): the buttons the mirror adds to incident messages. */
export const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id, name: z.string().max(200).optional(), username: z.string().max(200).optional() }),
  channel: z.object({ id, name: z.string().max(200).optional() }).optional(),
  response_url: z.string().max(2_000).optional(),
  actions: z.array(z.object({
    action_id: z.string().max(255),
    block_id: z.string().max(255).optional(),
    value: z.string().max(2_000).optional(),
    type: z.string().max(64).optional(),
  })).min(1).max(25),
});
export type BlockActions = z.infer<typeof blockActionsSchema>;

/** The message inside `message_changed` (the new and the previous version) and `message_deleted` (the previous one). */
const innerMessageSchema = z.object({
  subtype: z.string().max(64).optional(),
  user: id.optional(),
  bot_id: z.string().max(64).optional(),
  text: z.string().max(40_000).default(''),
  ts: z.string().max(64),
});

/**
 * The parts of a `message` event the mirror reads: a new message, or the subtypes `message_changed`
 * (`message` is the edited message, `previous_message` what it replaced) and `message_deleted` (`deleted_ts`).
 */
export const messageEventSchema = z.object({
  type: z.literal('message'),
  subtype: z.string().max(64).optional(),
  channel: id,
  user: id.optional(),
  bot_id: z.string().max(64).optional(),
  app_id: z.string().max(64).optional(),
  text: z.string().max(40_000).default(''),
  ts: z.string().max(64).optional(),
  thread_ts: z.string().max(64).optional(),
  message: innerMessageSchema.optional(),
  previous_message: innerMessageSchema.optional(),
  deleted_ts: z.string().max(64).optional(),
});
export type MessageEvent = z.infer<typeof messageEventSchema>;

export const eventEnvelopeSchema = z.union([
  z.object({ type: z.literal('url_verification'), challenge: z.string().max(500) }),
  z.object({
    type: z.literal('event_callback'),
    event_id: z.string().min(1).max(128),
    team_id: z.string().max(64).optional(),
    api_app_id: z.string().max(64).optional(),
    event: z.looseObject({ type: z.string().max(64) }),
  }),
]);

export const ACK_ACTION = 'firewatch_ack';
export const RESOLVE_ACTION = 'firewatch_resolve';
