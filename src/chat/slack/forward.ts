import type { Db } from '../../db/database.ts';
import type { FeatureLog } from '../../features/module.ts';
import type { JobQueue, LeaseJobHandler, LeaseOutcome } from '../../jobs/jobs.ts';
import { fromJson } from '../../db/codec.ts';
import { nextAttemptDelayMs, type DeliveryResult } from '../../notify/channels/retry.ts';
import type { AddressPolicy } from '../../notify/channels/ssrf.ts';
import { deliverWebhook } from '../../notify/channels/webhook.ts';
import type { ChatMessage, ChatService } from '../chat.types.ts';
import { markdownToMrkdwn } from './mrkdwn.ts';
import type { SlackApi, SlackApiResult } from './slack-api.ts';
import type { SlackLinks } from './slack-links.ts';
import { ACK_ACTION, RESOLVE_ACTION } from './slack-payloads.ts';
import { attachmentsToSlack, fromSlackKey } from './slack-adapter.ts';

/**
 * Forwarding of war-room messages: to each channel's outbound incoming webhooks (Slack or Mattermost
 * format) and, for channels mirrored through the Slack app, to chat.postMessage — and then their edits
 * (chat.update) and deletions (chat.delete). Each send is a lease job (at-least-once, retried with the
 * notification back-off), scheduled when this process's ChatService reports a committed change.
 *
 * Mirror jobs send the message as it is when they run, never a copy taken when they were scheduled: the
 * first post carries every edit made before it, and a sync job (one pending per message) brings the Slack
 * copy to the latest state however many edits came in between. A sync job that finds the post not yet
 * gone out (no `ts` recorded) waits for it, so an edit is neither lost nor applied before the post.
 */

export const CHAT_OUTBOUND_JOB = 'chat_outbound';
export const SLACK_MIRROR_JOB = 'slack_mirror';
export const SLACK_SYNC_JOB = 'slack_mirror_sync';

/** How often a sync job looks again for the `ts` of a post still on its way, and for how long. */
export const SYNC_WAIT_MS = 15_000;
export const SYNC_WAIT_MAX_MS = 30 * 60_000;

interface OutboundJobPayload { channel: string; target: string; messageId: string; body: string }
interface MirrorJobPayload { channel: string; slackChannel: string; messageId: string; incidentNumber: number | null }
interface SyncJobPayload { messageId: string }

/** Slack's answers after which a change is not worth trying again (the message is gone, or not ours to change). */
const GONE = new Set(['message_not_found', 'channel_not_found', 'is_archived']);
const NOT_OURS = new Set(['cant_update_message', 'cant_delete_message', 'edit_window_closed', 'not_in_channel']);

function fileLinks(message: ChatMessage, publicUrl: string, format: 'slack' | 'markdown'): string[] {
  return message.files.map((f) => {
    const url = `${publicUrl}/api/v1/files/${encodeURIComponent(f.id)}`;
    const live = f.link ? (format === 'slack' ? ` (<${f.link}|live>)` : ` ([live](${f.link}))`) : '';
    return format === 'slack' ? `📎 <${url}|${f.name.replace(/[<>|]/g, '')}>${live}` : `📎 [${f.name.replace(/[[\]]/g, '')}](${url})${live}`;
  });
}

function authorPrefixed(message: ChatMessage, text: string, bold: (s: string) => string): string {
  // People's messages name their author; the bot's and integrations' speak for themselves.
  return message.author.type === 'user' && text !== '' ? `${bold(message.author.name)}: ${text}` : text;
}

/** Slack incoming-webhook body (text + legacy attachments) for one war-room message. */
export function slackWebhookBody(message: ChatMessage, publicUrl: string): Record<string, unknown> {
  const text = [authorPrefixed(message, markdownToMrkdwn(message.text), (s) => `*${markdownToMrkdwn(s)}*`), ...fileLinks(message, publicUrl, 'slack')].filter(Boolean).join('\n');
  const attachments = attachmentsToSlack(message.attachments);
  return { text: text || (message.attachments[0]?.fallback ?? message.attachments[0]?.title ?? ''), ...(attachments.length ? { attachments } : {}) };
}

/** Mattermost takes the same body, but its text is Markdown already, and it shows `username`. */
export function mattermostWebhookBody(message: ChatMessage, publicUrl: string): Record<string, unknown> {
  const text = [message.text, ...fileLinks(message, publicUrl, 'markdown')].filter(Boolean).join('\n');
  const attachments = message.attachments.map((a) => ({ ...a, fallback: a.fallback ?? a.title ?? a.text ?? '' }));
  return { text: text || (message.attachments[0]?.fallback ?? message.attachments[0]?.title ?? ''), username: message.author.name, ...(attachments.length ? { attachments } : {}) };
}

/** chat.postMessage body for the Slack mirror; incident events carry Acknowledge/Resolve buttons. */
export function slackMirrorBody(message: ChatMessage, slackChannel: string, incidentNumber: number | null, publicUrl: string): Record<string, unknown> {
  const base = slackWebhookBody(message, publicUrl);
  const body: Record<string, unknown> = { channel: slackChannel, ...base, unfurl_links: false };
  if (message.kind === 'event' && incidentNumber !== null && typeof base.text === 'string' && base.text !== '') {
    body.blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: (base.text as string).slice(0, 3000) } },
      {
        type: 'actions',
        block_id: `firewatch_incident_${incidentNumber}`,
        elements: [
          { type: 'button', action_id: ACK_ACTION, text: { type: 'plain_text', text: 'Acknowledge' }, value: String(incidentNumber) },
          { type: 'button', action_id: RESOLVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Resolve' }, value: String(incidentNumber) },
          { type: 'button', action_id: 'firewatch_open', text: { type: 'plain_text', text: 'Open in Firewatch' }, url: `${publicUrl}/incidents/${incidentNumber}` },
        ],
      },
    ];
  }
  return body;
}

/**
 * chat.update body bringing the Slack copy (`ts`) to the message's current state. Slack keeps a message's
 * earlier blocks and attachments when the update leaves them out, so both are always sent (empty to clear).
 */
export function slackUpdateBody(message: ChatMessage, slackChannel: string, ts: string, incidentNumber: number | null, publicUrl: string): Record<string, unknown> {
  const { unfurl_links: _unfurl, ...post } = slackMirrorBody(message, slackChannel, incidentNumber, publicUrl);
  return { ...post, ts, blocks: post.blocks ?? [], attachments: post.attachments ?? [] };
}

export interface ForwarderDeps {
  db: Db;
  chat: ChatService;
  jobs: JobQueue;
  wake(): void;
  log: FeatureLog;
  now(): Date;
  publicUrl: string;
  webhookPolicy: AddressPolicy;
  slackApi: SlackApi | null;
  /** Which Slack message mirrors which war-room message (chat_slack_messages). */
  links: SlackLinks;
  /** True once for each message the adapter posted from Slack (so it is not mirrored back). */
  takeFromSlack(key: string): boolean;
}

/** A Slack Web API answer as a delivery result, for the shared retry rule. */
function asDelivery(sent: SlackApiResult<unknown>, method: string): DeliveryResult {
  return sent.ok
    ? { ok: true, retryable: false }
    : { ok: false, retryable: sent.retryable, error: sent.error, detail: `Slack ${method}: ${sent.error}`, ...(sent.retryAfterMs ? { retryAfterMs: sent.retryAfterMs } : {}) };
}

export function createForwarder(deps: ForwarderDeps) {
  const { db, chat, jobs, log, links } = deps;

  async function forward(message: ChatMessage): Promise<void> {
    const fromSlack = deps.takeFromSlack(fromSlackKey(message.channel, message.author.id, message.text))
      || (message.author.type === 'integration' && (message.author.id ?? '').startsWith('slack:'));
    const settings = await chat.channelSettings(message.channel);
    if (!settings) return;
    const now = deps.now();
    let scheduled = 0;
    for (const target of settings.outbound) {
      const body = target.type === 'mattermost' ? mattermostWebhookBody(message, deps.publicUrl) : slackWebhookBody(message, deps.publicUrl);
      const payload: OutboundJobPayload = { channel: message.channel, target: target.name, messageId: message.id, body: JSON.stringify(body) };
      await jobs.schedule(db, { kind: CHAT_OUTBOUND_JOB, dueAt: now, ref: message.id, payload }, now);
      scheduled++;
    }
    if (settings.slackChannel && deps.slackApi && !fromSlack) {
      // The link first: a change reported from now on finds the post on its way and waits for its ts.
      await links.pending(message.id, settings.slackChannel, now);
      const payload: MirrorJobPayload = { channel: message.channel, slackChannel: settings.slackChannel, messageId: message.id, incidentNumber: settings.incidentNumber };
      await jobs.schedule(db, { kind: SLACK_MIRROR_JOB, dueAt: now, ref: message.id, payload }, now);
      scheduled++;
    }
    if (scheduled > 0) deps.wake();
  }

  /** An edit or deletion: one pending sync job per message mirrored from here (Slack originals are Slack's to change). */
  async function forwardChange(message: ChatMessage): Promise<void> {
    if (!deps.slackApi) return;
    const link = await links.byMessage(message.id);
    if (!link || link.origin !== 'firewatch') return;
    const now = deps.now();
    const payload: SyncJobPayload = { messageId: message.id };
    await jobs.schedule(db, { kind: SLACK_SYNC_JOB, dueAt: now, ref: message.id, payload, uniqueKey: `${SLACK_SYNC_JOB}:${message.id}` }, now);
    deps.wake();
  }

  /**
   * The ChatService listener, never for replies only the caller sees. New messages go to every target;
   * edits and deletions follow only to the Slack mirror (an incoming webhook cannot change what it posted).
   */
  function onMessage(message: ChatMessage, change: 'created' | 'edited' | 'deleted'): void {
    if (message.visible_to) return;
    const work = change === 'created' ? forward(message) : forwardChange(message);
    work.catch((error: unknown) => log.error({ err: error, message: message.id, change }, 'chat forwarding failed'));
  }

  function outcome(result: DeliveryResult, attempt: number, now: Date, what: Record<string, unknown>) {
    const retryIn = nextAttemptDelayMs(result, attempt);
    if (result.ok) return { done: true as const };
    if (retryIn === null) {
      log.warn({ ...what, attempt, error: result.error, detail: result.detail }, 'chat forwarding gave up');
      return { done: true as const };
    }
    log.warn({ ...what, attempt, error: result.error, detail: result.detail, retryInMs: retryIn }, 'chat forwarding failed; will retry');
    return { done: false as const, retryAt: new Date(now.getTime() + retryIn) };
  }

  const outboundHandler: LeaseJobHandler = {
    mode: 'lease',
    leaseMs: 60_000,
    async run(job, now) {
      const p = fromJson<OutboundJobPayload | null>(job.payload, null);
      if (!p) return { done: true };
      // The URL is read at send time: a hook removed or changed by `firewatch apply` is respected.
      const settings = await chat.channelSettings(p.channel);
      const target = settings?.outbound.find((t) => t.name === p.target);
      if (!target) return { done: true };
      let result: DeliveryResult;
      try {
        result = await deliverWebhook({ url: target.url, secret: null }, p.body, {
          webhookId: `${p.messageId}:${p.target}`, timestampSeconds: Math.floor(now.getTime() / 1000), allow: deps.webhookPolicy,
        });
      } catch (error) {
        result = { ok: false, retryable: true, error: 'send_failed', detail: error instanceof Error ? error.message : String(error) };
      }
      return outcome(result, job.attempts, now, { channel: p.channel, target: p.target, message: p.messageId });
    },
  };

  const mirrorHandler: LeaseJobHandler = {
    mode: 'lease',
    leaseMs: 60_000,
    async run(job, now): Promise<LeaseOutcome> {
      const p = fromJson<MirrorJobPayload | null>(job.payload, null);
      if (!p || !deps.slackApi) return { done: true };
      const [link, message] = await Promise.all([links.byMessage(p.messageId), links.message(p.messageId)]);
      // Copied from Slack meanwhile, or already posted by an earlier run whose result was recorded: nothing to send.
      if (link && (link.origin !== 'firewatch' || link.slackTs !== null)) return { done: true };
      if (!message || message.deleted_at) {
        await links.forget(p.messageId);
        return { done: true };
      }
      const body = slackMirrorBody(message, p.slackChannel, p.incidentNumber, deps.publicUrl);
      const sent = await deps.slackApi.call<{ ts?: string }>('chat.postMessage', body);
      const result = outcome(asDelivery(sent, 'chat.postMessage'), job.attempts, now, { channel: p.channel, slackChannel: p.slackChannel, message: p.messageId });
      const ts = sent.ok ? sent.data.ts : undefined;
      if (ts) return { ...result, record: (tx, at) => links.posted(tx, p.messageId, p.slackChannel, ts, at) };
      // Never to be posted: changes waiting for its ts stop waiting.
      if (result.done) return { ...result, record: (tx) => links.forget(p.messageId, tx) };
      return result;
    },
  };

  const syncHandler: LeaseJobHandler = {
    mode: 'lease',
    leaseMs: 60_000,
    async run(job, now): Promise<LeaseOutcome> {
      const p = fromJson<SyncJobPayload | null>(job.payload, null);
      if (!p || !deps.slackApi) return { done: true };
      const link = await links.byMessage(p.messageId);
      if (!link || link.origin !== 'firewatch') return { done: true };
      const what = { channel: link.channel, slackChannel: link.slackChannel, message: p.messageId };
      if (link.slackTs === null) {
        if (now.getTime() - new Date(job.created_at).getTime() > SYNC_WAIT_MAX_MS) {
          log.warn(what, 'slack mirror: the post never went out; change not sent');
          return { done: true };
        }
        return { done: false, retryAt: new Date(now.getTime() + SYNC_WAIT_MS) };
      }
      const message = await links.message(p.messageId);
      const remove = !message || message.deleted_at !== null;
      const method = remove ? 'chat.delete' : 'chat.update';
      let body: Record<string, unknown>;
      if (remove) {
        body = { channel: link.slackChannel, ts: link.slackTs };
      } else {
        const settings = await chat.channelSettings(link.channel);
        body = slackUpdateBody(message, link.slackChannel, link.slackTs, settings?.incidentNumber ?? null, deps.publicUrl);
      }
      const sent = await deps.slackApi.call(method, body);
      if (!sent.ok && GONE.has(sent.error)) {
        // Deleted in Slack already: there is nothing left to change, now or later.
        return { done: true, record: (tx) => links.forget(p.messageId, tx) };
      }
      if (!sent.ok && NOT_OURS.has(sent.error)) {
        log.warn({ ...what, error: sent.error }, `slack mirror: ${method} refused; the Slack copy stays as it is`);
        return { done: true };
      }
      const result = outcome(asDelivery(sent, method), job.attempts, now, what);
      if (sent.ok && remove) return { ...result, record: (tx) => links.forget(p.messageId, tx) };
      if (sent.ok && message) {
        // Another sync may have sent a newer version while this one was in flight and landed first: send again.
        const latest = await links.message(p.messageId);
        if (latest && latest.version_seq !== message.version_seq) return { done: false, retryAt: now };
      }
      return result;
    },
  };

  return { onMessage, forward, handlers: { [CHAT_OUTBOUND_JOB]: outboundHandler, [SLACK_MIRROR_JOB]: mirrorHandler, [SLACK_SYNC_JOB]: syncHandler } };
}
