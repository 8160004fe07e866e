import { z } from 'zod';

/** Channel names: lowercase words joined by - or _ (Slack's rule); `incident-{n}` is reserved for incidents. */
export const channelNameSchema = z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,79}$/, 'use lowercase letters, digits, - and _ (at most 80)');

/** A 32-hex-character key, like integration keys. */
const hookKeySchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');

/** `channels:` in `firewatch apply -f` (CONTRACTS.md). */
export const channelDocumentSchema = z.strictObject({
  name: channelNameSchema.refine((n) => !/^incident-\d+$/.test(n), 'incident-<number> names are reserved for incident channels'),
  topic: z.string().max(500).optional(),
  /** The bot posts the incidents of these services (triggered, acknowledged, escalated, resolved) here. */
  services: z.array(z.string().trim().min(1).max(100)).max(100).optional(),
  hooks: z.array(z.strictObject({
    name: z.string().trim().min(1).max(100),
    key: hookKeySchema.optional(),
  })).max(50).default([]),
  /** Mirror this channel to a Slack channel (id like C0123ABCD) through the Slack app, both ways. */
  slack_channel: z.string().regex(/^[CG][A-Z0-9]{2,20}$/, 'a Slack channel id like C0123ABCD').optional(),
  /** Send every message of this channel to these incoming webhooks (teams that only want messages). URLs are secrets. */
  outbound: z.array(z.strictObject({
    name: z.string().trim().min(1).max(100),
    type: z.enum(['slack', 'mattermost']),
    url: z.url(),
  })).max(20).optional(),
});
export type ChannelDocument = z.infer<typeof channelDocumentSchema>;
