import type { Db } from '../../db/database.ts';
import type { FeatureLog } from '../../features/module.ts';
import type { JobQueue, LeaseJobHandler } from '../../jobs/jobs.ts';
import { fromJson } from '../../db/codec.ts';
import { nextAttemptDelayMs, type DeliveryResult } from '../../notify/channels/retry.ts';
import type { AddressPolicy } from '../../notify/channels/ssrf.ts';
import { deliverWebhook } from '../../notify/channels/webhook.ts';
import type { ChatMessage, ChatService } from '../chat.types.ts';
import { markdownToMrkdwn } from './mrkdwn.ts';
import type { SlackApi } from './slack-api.ts';
import { ACK_ACTION, RESOLVE_ACTION } from './slack-payloads.ts';
import { attachmentsToSlack, fromSlackKey } from './slack-adapter.ts';

/**
 * Forwarding of war-room messages: to each channel's outbound incoming webhooks (Slack or Mattermost
 * format) and, for channels mirrored through the Slack app, to chat.postMessage. Each send is a lease
 * job (at-least-once, retried with the notification back-off), scheduled when this process's
 * ChatService reports a committed message.
 */

export const CHAT_OUTBOUND_JOB = 'chat_outbound';
export const SLACK_MIRROR_JOB = 'slack_mirror';

interface OutboundJobPayload { channel: string; target: string; messageId: string; body: string }
interface MirrorJobPayload { channel: string; slackChannel: string; messageId: string; body: Record<string, unknown> }

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
  /** True once for each message the adapter posted from Slack (so it is not mirrored back). */
  takeFromSlack(key: string): boolean;
}

export function createForwarder(deps: ForwarderDeps) {
  const { db, chat, jobs, log } = deps;

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
      const payload: MirrorJobPayload = {
        channel: message.channel, slackChannel: settings.slackChannel, messageId: message.id,
        body: slackMirrorBody(message, settings.slackChannel, settings.incidentNumber, deps.publicUrl),
      };
      await jobs.schedule(db, { kind: SLACK_MIRROR_JOB, dueAt: now, ref: message.id, payload }, now);
      scheduled++;
    }
    if (scheduled > 0) deps.wake();
  }

  /** The ChatService listener: new messages only (edits and deletions are not forwarded), never ephemeral replies. */
  function onMessage(message: ChatMessage, change: 'created' | 'edited' | 'deleted'): void {
    if (change !== 'created' || message.visible_to) return;
    forward(message).catch((error: unknown) => log.error({ err: error, message: message.id }, 'chat forwarding failed'));
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
    async run(job, now) {
      const p = fromJson<MirrorJobPayload | null>(job.payload, null);
      if (!p || !deps.slackApi) return { done: true };
      const sent = await deps.slackApi.call<{ ts?: string }>('chat.postMessage', p.body);
      const result: DeliveryResult = sent.ok
        ? { ok: true, retryable: false }
        : { ok: false, retryable: sent.retryable, error: sent.error, detail: `Slack chat.postMessage: ${sent.error}`, ...(sent.retryAfterMs ? { retryAfterMs: sent.retryAfterMs } : {}) };
      return outcome(result, job.attempts, now, { channel: p.channel, slackChannel: p.slackChannel, message: p.messageId });
    },
  };

  return { onMessage, forward, handlers: { [CHAT_OUTBOUND_JOB]: outboundHandler, [SLACK_MIRROR_JOB]: mirrorHandler } };
}
