import { z } from 'zod';
import type { ChatLegacyAttachment } from '../chat.types.ts';
import { mrkdwnToMarkdown, mrkdwnToPlain, safeUrl } from './mrkdwn.ts';

/**
 * Slack incoming-webhook payloads (reference §5.1): `text`, legacy `attachments`, `blocks`, as JSON or a
 * `payload=` form. Shapes are validated with bounded sizes; unknown fields (icon_emoji, unfurl_links,
 * callback_id, mrkdwn_in, ts …) are accepted and dropped. `channel` is ignored, as Slack ignores it for
 * app webhooks: a hook key always posts into its own channel.
 */

const MAX_TEXT = 40_000; // Slack truncates messages at 40,000 characters.
const short = z.string().max(3_000);
const long = z.string().max(MAX_TEXT);

const fieldSchema = z.object({
  title: z.string().max(3_000).default(''),
  value: z.union([z.string().max(MAX_TEXT), z.number(), z.boolean()]).transform(String).default(''),
  short: z.boolean().optional(),
});

const attachmentSchema = z.object({
  fallback: long.optional(),
  color: z.string().max(32).optional(),
  pretext: long.optional(),
  author_name: short.optional(),
  author_link: z.string().max(4_000).optional(),
  title: short.optional(),
  title_link: z.string().max(4_000).optional(),
  text: long.optional(),
  fields: z.array(fieldSchema).max(100).optional(),
  image_url: z.string().max(4_000).optional(),
  thumb_url: z.string().max(4_000).optional(),
  footer: short.optional(),
  ts: z.union([z.number(), z.string().max(32)]).optional(),
  actions: z.array(z.object({
    type: z.string().max(32).optional(),
    text: short.optional(),
    url: z.string().max(4_000).optional(),
  })).max(25).optional(),
});

const textObject = z.object({
  type: z.enum(['plain_text', 'mrkdwn']),
  text: z.string().max(MAX_TEXT),
  emoji: z.boolean().optional(),
  verbatim: z.boolean().optional(),
});

const imageElement = z.object({ type: z.literal('image'), image_url: z.string().max(4_000), alt_text: z.string().max(2_000).default('') });

const blockSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('section'),
    block_id: z.string().max(255).optional(),
    text: textObject.optional(),
    fields: z.array(textObject).max(10).optional(),
  }),
  z.object({ type: z.literal('context'), block_id: z.string().max(255).optional(), elements: z.array(z.union([textObject, imageElement])).min(1).max(10) }),
  z.object({ type: z.literal('divider'), block_id: z.string().max(255).optional() }),
  z.object({
    type: z.literal('image'),
    block_id: z.string().max(255).optional(),
    image_url: z.string().max(4_000),
    alt_text: z.string().max(2_000).default(''),
    title: textObject.optional(),
  }),
  z.object({ type: z.literal('header'), block_id: z.string().max(255).optional(), text: textObject }),
]);

/** Block types kept; others (actions, input, rich_text …) are dropped rather than refused. */
const KEPT_BLOCKS = new Set(['section', 'context', 'divider', 'image', 'header']);

export const incomingPayloadSchema = z.object({
  text: long.optional(),
  username: z.string().max(80).optional(),
  channel: z.string().max(200).optional(),
  icon_emoji: z.string().max(100).optional(),
  icon_url: z.string().max(4_000).optional(),
  attachments: z.array(attachmentSchema).max(100).optional(),
  blocks: z.array(z.looseObject({ type: z.string().max(64) })).max(50).optional(),
  thread_ts: z.string().max(64).optional(),
});
export type IncomingPayload = z.infer<typeof incomingPayloadSchema>;

export interface ConvertedMessage {
  text: string;
  username: string | null;
  attachments: ChatLegacyAttachment[];
  blocks: unknown[];
}

export type ParseResult = { ok: true; message: ConvertedMessage } | { ok: false; status: number; error: 'invalid_payload' | 'invalid_blocks' | 'invalid_attachments' | 'no_text' };

/** Slack's names, a 6- or 3-digit hex (with or without #); anything else is dropped. */
export function normaliseColor(color: string | undefined): string | undefined {
  if (!color) return undefined;
  const c = color.trim().toLowerCase();
  if (c === 'good' || c === 'warning' || c === 'danger') return c;
  const hex = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/.exec(c);
  return hex ? `#${hex[1]}` : undefined;
}

function nonEmpty(value: string | undefined | null): string | undefined {
  return value && value.trim() !== '' ? value : undefined;
}

function convertAttachment(a: z.infer<typeof attachmentSchema>): ChatLegacyAttachment {
  const out: ChatLegacyAttachment = {};
  const color = normaliseColor(a.color);
  if (color) out.color = color;
  const pretext = nonEmpty(a.pretext);
  if (pretext) out.pretext = mrkdwnToMarkdown(pretext);
  const title = nonEmpty(a.title);
  if (title) out.title = mrkdwnToPlain(title);
  const link = safeUrl(a.title_link);
  if (link) out.title_link = link;
  const textParts: string[] = [];
  const author = nonEmpty(a.author_name);
  if (author) {
    const authorLink = safeUrl(a.author_link);
    textParts.push(authorLink ? `[${mrkdwnToPlain(author).replace(/([[\]\\])/g, '\\$1')}](${authorLink})` : mrkdwnToPlain(author));
  }
  const text = nonEmpty(a.text);
  if (text) textParts.push(mrkdwnToMarkdown(text));
  // Link buttons (Alertmanager `actions`, "Runbook", "Silence"): kept as links under the text.
  const links = (a.actions ?? []).flatMap((action) => {
    const url = safeUrl(action.url);
    return url ? [`[${mrkdwnToPlain(action.text ?? url).replace(/([[\]\\])/g, '\\$1')}](${url})`] : [];
  });
  if (links.length > 0) textParts.push(links.join(' · '));
  if (textParts.length > 0) out.text = textParts.join('\n\n');
  const fields = (a.fields ?? []).filter((f) => f.title !== '' || f.value !== '')
    .map((f) => ({ title: mrkdwnToPlain(f.title), value: mrkdwnToMarkdown(f.value), ...(f.short !== undefined ? { short: f.short } : {}) }));
  if (fields.length > 0) out.fields = fields;
  const footer = nonEmpty(a.footer);
  if (footer) out.footer = mrkdwnToPlain(footer);
  const image = safeUrl(a.image_url) ?? safeUrl(a.thumb_url);
  if (image) out.image_url = image;
  const fallback = nonEmpty(a.fallback);
  if (fallback) out.fallback = mrkdwnToPlain(fallback);
  return out;
}

function convertText(t: z.infer<typeof textObject>) {
  return { type: t.type, text: t.type === 'mrkdwn' ? mrkdwnToMarkdown(t.text) : mrkdwnToPlain(t.text) };
}

/** A validated block with its text in the war room's Markdown (mrkdwn objects) or plain text; null when unusable. */
function convertBlock(b: z.infer<typeof blockSchema>): unknown {
  switch (b.type) {
    case 'section': {
      if (!b.text && !b.fields?.length) return null;
      return { type: 'section', ...(b.text ? { text: convertText(b.text) } : {}), ...(b.fields?.length ? { fields: b.fields.map(convertText) } : {}) };
    }
    case 'context': {
      const elements = b.elements.flatMap((e): unknown[] => {
        if (e.type === 'image') {
          const url = safeUrl(e.image_url);
          return url ? [{ type: 'image', image_url: url, alt_text: e.alt_text }] : [];
        }
        return [convertText(e)];
      });
      return elements.length ? { type: 'context', elements } : null;
    }
    case 'divider':
      return { type: 'divider' };
    case 'image': {
      const url = safeUrl(b.image_url);
      if (!url) return null;
      return { type: 'image', image_url: url, alt_text: b.alt_text, ...(b.title ? { title: convertText(b.title) } : {}) };
    }
    case 'header':
      return { type: 'header', text: { type: 'plain_text', text: mrkdwnToPlain(b.text.text) } };
  }
}

/** Validates and converts one decoded payload. */
export function convertIncomingPayload(body: unknown): ParseResult {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, status: 400, error: 'invalid_payload' };
  const parsed = incomingPayloadSchema.safeParse(body);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path[0];
    return { ok: false, status: 400, error: path === 'blocks' ? 'invalid_blocks' : path === 'attachments' ? 'invalid_attachments' : 'invalid_payload' };
  }
  const p = parsed.data;
  const blocks: unknown[] = [];
  for (const raw of p.blocks ?? []) {
    if (!KEPT_BLOCKS.has(raw.type)) continue;
    const block = blockSchema.safeParse(raw);
    if (!block.success) return { ok: false, status: 400, error: 'invalid_blocks' };
    const converted = convertBlock(block.data);
    if (converted) blocks.push(converted);
  }
  const attachments = (p.attachments ?? []).map(convertAttachment).filter((a) => Object.keys(a).length > 0);
  const text = nonEmpty(p.text) ? mrkdwnToMarkdown(p.text as string) : '';
  if (text === '' && attachments.length === 0 && blocks.length === 0) return { ok: false, status: 400, error: 'no_text' };
  return { ok: true, message: { text, username: nonEmpty(p.username)?.trim() ?? null, attachments, blocks } };
}

/**
 * Decodes a request body as Slack and Mattermost do: JSON, or a form whose `payload` field holds the JSON
 * (also when the sender set no content type). Returns undefined when it is neither.
 */
export function decodeIncomingBody(contentType: string | undefined, raw: Buffer): unknown {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const text = raw.toString('utf8');
  const fromForm = () => {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) return undefined;
    try {
      return JSON.parse(payload) as unknown;
    } catch {
      return undefined;
    }
  };
  if (type === 'application/x-www-form-urlencoded') return fromForm();
  const trimmed = text.trimStart();
  if (type === 'application/json' || trimmed.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  return fromForm();
}
