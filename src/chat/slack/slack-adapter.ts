import type { Clock } from '../../clock.ts';
import type { CommandRegistry, CommandResult } from '../../commands/command.types.ts';
import type { FeatureLog } from '../../features/module.ts';
import type { Role } from '../../users/roles.ts';
import type { UsersRepo } from '../../users/users.repo.ts';
import type { Principal } from '../../users/users.service.ts';
import type { ChannelSettings, ChatLegacyAttachment, ChatMessage, ChatService } from '../chat.types.ts';
import { markdownToMrkdwn, mrkdwnToMarkdown } from './mrkdwn.ts';
import type { SlackApi } from './slack-api.ts';
import type { SlackLinks } from './slack-links.ts';
import { ACK_ACTION, type BlockActions, type MessageEvent, messageEventSchema, RESOLVE_ACTION, type SlashCommand } from './slack-payloads.ts';

/**
 * What the Slack app does with a verified request, whichever way it arrived (HTTP or Socket Mode):
 * slash commands and buttons run through the command registry as the Slack user's Firewatch account
 * (matched by e-mail), and messages in a mirrored Slack channel are posted into its war-room channel,
 * where later edits and deletions made in Slack follow them (through the war room's own edit path, as
 * the author, so the history keeps every earlier text).
 */

/** Slack waits 3 s for an answer; a command still running after this is answered through response_url. */
export const INLINE_REPLY_MS = 2_500;
const USER_CACHE_MS = 10 * 60_000;
const USER_CACHE_MAX = 5_000;
const SEEN_EVENTS_MAX = 10_000;

export interface SlackReply {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
  attachments?: unknown[];
}

/** The war room as the adapter uses it: posting, and changing a message as its author (history kept). */
export type AdapterChat = ChatService & {
  edit(channel: string, id: string, principal: Principal, text: string): Promise<ChatMessage>;
  remove(channel: string, id: string, principal: Principal): Promise<ChatMessage>;
};

export interface SlackAdapterDeps {
  api: SlackApi | null;
  chat: AdapterChat;
  /** Which war-room message copies which Slack message (by channel and ts). */
  links: SlackLinks;
  registry: CommandRegistry;
  usersRepo: UsersRepo;
  clock: Clock;
  log: FeatureLog;
  /** The war-room channel mirrored to this Slack channel id, or null. */
  channelForSlack(slackChannel: string): Promise<ChannelSettings | null>;
  /** POSTs a follow-up to a command's response_url (only Slack's own URLs are used). */
  respond(responseUrl: string, body: SlackReply & { replace_original?: boolean }): Promise<void>;
  /** Records that this war-room message came from Slack, so the mirror does not send it back. */
  markFromSlack(key: string): void;
}

/** The key the mirror uses to recognise a message it posted itself from Slack. */
export function fromSlackKey(channel: string, authorId: string | null, text: string): string {
  return `${channel}\u0000${authorId ?? ''}\u0000${text}`;
}

export function attachmentsToSlack(attachments: ChatLegacyAttachment[] | undefined): unknown[] {
  return (attachments ?? []).map((a) => ({
    ...(a.color ? { color: a.color } : {}),
    ...(a.pretext ? { pretext: markdownToMrkdwn(a.pretext) } : {}),
    ...(a.title ? { title: a.title } : {}),
    ...(a.title_link ? { title_link: a.title_link } : {}),
    ...(a.text ? { text: markdownToMrkdwn(a.text) } : {}),
    ...(a.fields?.length ? { fields: a.fields.map((f) => ({ title: f.title, value: markdownToMrkdwn(f.value), short: f.short ?? false })) } : {}),
    ...(a.footer ? { footer: a.footer } : {}),
    ...(a.image_url ? { image_url: a.image_url } : {}),
    fallback: a.fallback ?? a.title ?? a.text ?? '',
    mrkdwn_in: ['text', 'pretext', 'fields'],
  }));
}

export function toSlackReply(result: CommandResult): SlackReply {
  return {
    response_type: result.visibility === 'channel' && !result.error ? 'in_channel' : 'ephemeral',
    text: markdownToMrkdwn(result.text),
    ...(result.attachments?.length ? { attachments: attachmentsToSlack(result.attachments) } : {}),
  };
}

/** `/firewatch ack 12` → `/ack 12`; an empty line or `help` lists the commands. */
export function commandLine(text: string): string {
  const trimmed = text.trim().replace(/^\/+/, '');
  return trimmed === '' ? '/help' : `/${trimmed}`;
}

function notLinked(email: string | null): SlackReply {
  return {
    response_type: 'ephemeral',
    text: email
      ? `Your Slack account (${email}) does not match a Firewatch user. Ask a Firewatch admin to add a user with that e-mail, then try again.`
      : 'Firewatch could not read the e-mail of your Slack account (the app needs the users:read.email scope), so it cannot link you to a Firewatch user.',
  };
}

export function createSlackAdapter(deps: SlackAdapterDeps) {
  const { chat, registry, usersRepo, clock, log, links } = deps;
  const userCache = new Map<string, { at: number; principal: Principal | null; email: string | null; name: string }>();
  const seenEvents = new Set<string>();

  /** The Slack user's Firewatch principal (same e-mail), cached for ten minutes; null when none matches. */
  async function principalFor(slackUserId: string): Promise<{ principal: Principal | null; email: string | null; name: string }> {
    const now = clock.now().getTime();
    const cached = userCache.get(slackUserId);
    if (cached && now - cached.at < USER_CACHE_MS) return cached;
    if (!deps.api) return { principal: null, email: null, name: slackUserId };
    const info = await deps.api.userInfo(slackUserId);
    if (!info.ok) {
      log.warn({ slackUser: slackUserId, error: info.error }, 'slack users.info failed');
      // Not cached: a transient failure must not lock the user out for ten minutes.
      return { principal: null, email: null, name: slackUserId };
    }
    let principal: Principal | null = null;
    if (info.data.email && !info.data.isBot) {
      const user = await usersRepo.findByEmail(info.data.email);
      if (user) principal = { kind: 'token', id: user.id, name: user.name, role: user.role as Role, userId: user.id, csrfToken: null };
    }
    const entry = { at: now, principal, email: info.data.email, name: principal?.name ?? info.data.name };
    if (userCache.size >= USER_CACHE_MAX) userCache.delete(userCache.keys().next().value as string);
    userCache.set(slackUserId, entry);
    return entry;
  }

  async function runAs(slackUserId: string, line: string, slackChannel: string | null, incidentNumber: number | null): Promise<SlackReply> {
    const who = await principalFor(slackUserId);
    if (!who.principal) return notLinked(who.email);
    const settings = slackChannel ? await deps.channelForSlack(slackChannel) : null;
    try {
      const result = await registry.run(line, {
        principal: who.principal,
        channel: settings?.name ?? null,
        incidentNumber: incidentNumber ?? settings?.incidentNumber ?? null,
        via: 'slack',
        now: clock.now(),
      });
      return toSlackReply(result);
    } catch (error) {
      log.error({ err: error, line }, 'slack command failed');
      return { response_type: 'ephemeral', text: `The command failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** Answers inline when the command finishes within the 3-second window, otherwise later through response_url. */
  async function replyWithin(work: Promise<SlackReply>, responseUrl: string | undefined): Promise<SlackReply | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), INLINE_REPLY_MS);
    });
    const first = await Promise.race([work, late]);
    clearTimeout(timer);
    if (first !== 'late') return first;
    if (responseUrl) {
      void work.then((reply) => deps.respond(responseUrl, reply)).catch((error: unknown) => log.error({ err: error }, 'slack delayed reply failed'));
    }
    return null;
  }

  const adapter = {
    principalFor,

    /** A `/firewatch …` slash command; null means "acknowledged, the answer follows via response_url". */
    async handleCommand(command: SlashCommand): Promise<SlackReply | null> {
      return replyWithin(runAs(command.user_id, commandLine(command.text), command.channel_id, null), command.response_url);
    },

    /** Ack/Resolve buttons; the answer goes to response_url as an ephemeral message (the original stays). */
    async handleActions(payload: BlockActions): Promise<void> {
      for (const action of payload.actions) {
        if (action.action_id !== ACK_ACTION && action.action_id !== RESOLVE_ACTION) continue;
        const number = Number(action.value);
        if (!Number.isInteger(number) || number < 1) continue;
        const verb = action.action_id === ACK_ACTION ? 'ack' : 'resolve';
        // Buttons are confirmed by being pressed (resolve is not destructive; --yes covers commands that ask).
        const reply = await runAs(payload.user.id, `/${verb} ${number}`, payload.channel?.id ?? null, number);
        if (payload.response_url) await deps.respond(payload.response_url, { ...reply, replace_original: false });
      }
    },

    /** An Events API callback; duplicates (Slack retries) are dropped by event_id, and a message already copied by its ts. */
    async handleEvent(eventId: string, event: { type: string }): Promise<void> {
      if (seenEvents.has(eventId)) return;
      if (seenEvents.size >= SEEN_EVENTS_MAX) seenEvents.delete(seenEvents.values().next().value as string);
      seenEvents.add(eventId);
      if (event.type !== 'message') return;
      const parsed = messageEventSchema.safeParse(event);
      if (!parsed.success) return;
      const m = parsed.data;
      if (m.subtype === 'message_changed') return changedInSlack(m);
      if (m.subtype === 'message_deleted') return deletedInSlack(m);
      // Bots (our own mirror posts included), joins and other subtypes are not mirrored: no loops.
      if (m.bot_id || m.subtype || !m.user || m.text.trim() === '') return;
      const settings = await deps.channelForSlack(m.channel);
      if (!settings) return;
      // Slack's retry of an event copied before (after a restart too, when seenEvents is empty).
      if (m.ts && await links.bySlackTs(m.channel, m.ts)) return;
      const who = await principalFor(m.user);
      const text = mrkdwnToMarkdown(m.text);
      const author = who.principal
        ? { type: 'user' as const, id: who.principal.userId, name: who.principal.name }
        : { type: 'integration' as const, id: `slack:${m.user}`, name: `${who.name} (Slack)` };
      deps.markFromSlack(fromSlackKey(settings.name, author.id, text));
      if (m.ts) await links.copyFromSlack(chat, { channel: settings.name, author, text }, m.channel, m.ts, clock.now());
      else await chat.post({ channel: settings.name, author, text });
    },
  };

  /** Who a Slack user is when changing their copied message: their Firewatch account, or the `slack:` author their message was posted as. */
  async function actorFor(slackUserId: string): Promise<Principal> {
    const who = await principalFor(slackUserId);
    return who.principal ?? { kind: 'token', id: `slack:${slackUserId}`, name: `${who.name} (Slack)`, role: 'viewer', userId: null, csrfToken: null };
  }

  /** `message_changed`: the author edited a message copied from Slack; the copy follows. Link unfurls and thread counters change nothing. */
  async function changedInSlack(m: MessageEvent): Promise<void> {
    const edited = m.message;
    // Our own chat.update echoes back with the bot's id: messages posted from Firewatch are changed in Firewatch.
    if (!edited?.user || edited.bot_id || edited.subtype === 'bot_message') return;
    if (m.previous_message && m.previous_message.text === edited.text) return;
    const link = await links.bySlackTs(m.channel, edited.ts);
    if (!link || link.origin !== 'slack') return;
    const text = mrkdwnToMarkdown(edited.text);
    const current = await links.message(link.messageId);
    if (!current || current.deleted_at || current.text === text || text.trim() === '') return;
    try {
      await chat.edit(link.channel, link.messageId, await actorFor(edited.user), text);
    } catch (error) {
      log.warn({ err: error, slackChannel: m.channel, ts: edited.ts }, 'slack edit not applied to the war room');
    }
  }

  /**
   * `message_deleted`: a message copied from Slack was deleted there (by its author or a Slack admin), so its
   * copy is deleted as its author. Deleting one of the mirror's own posts in Slack leaves the war room as it is.
   */
  async function deletedInSlack(m: MessageEvent): Promise<void> {
    const ts = m.deleted_ts ?? m.previous_message?.ts;
    if (!ts) return;
    const link = await links.bySlackTs(m.channel, ts);
    if (!link || link.origin !== 'slack') return;
    const current = await links.message(link.messageId);
    if (!current || current.deleted_at || !current.author.id) return;
    const { author } = current;
    const actor: Principal = {
      kind: 'token', id: author.id as string, name: author.name, role: 'viewer', userId: author.type === 'user' ? author.id : null, csrfToken: null,
    };
    try {
      await chat.remove(link.channel, link.messageId, actor);
    } catch (error) {
      log.warn({ err: error, slackChannel: m.channel, ts }, 'slack deletion not applied to the war room');
    }
  }

  return adapter;
}

export type SlackAdapter = ReturnType<typeof createSlackAdapter>;
