/**
 * The war room's public interface, used by other modules (commands, Slack, rules, logs, graphs).
 * Implemented by src/chat/chat.service.ts.
 */
import type { Tx } from '../db/database.ts';

export type AuthorType = 'user' | 'bot' | 'integration';

export interface ChatAuthor {
  type: AuthorType;
  /** The user's id for `user`; the hook or integration id for `integration`; null for the bot. */
  id: string | null;
  /** Shown name: the user's name, "Firewatch", the hook's name, or a name the payload gave (Slack `username`). */
  name: string;
}

/** Legacy Slack-style attachment, kept as sent (rendered inertly). */
export interface ChatLegacyAttachment {
  color?: string;
  pretext?: string;
  title?: string;
  title_link?: string;
  text?: string;
  fields?: { title: string; value: string; short?: boolean }[];
  footer?: string;
  image_url?: string;
  fallback?: string;
}

/** A stored file (graph PNG, upload) a message shows; served at /api/v1/files/{id}. */
export interface ChatFile {
  id: string;
  name: string;
  content_type: string;
  size: number;
  /** Where the image came from (e.g. the live view of a graph's query and range). */
  link?: string | null;
  alt?: string | null;
}

export type MessageKind = 'message' | 'event' | 'command' | 'reply';

export interface ChatMessage {
  id: string;
  channel: string;
  /** Gapless per channel: 1, 2, 3 … in commit order; clients resume after the last seq they saw. */
  seq: number;
  /** The seq of this message's last change (its creation, an edit or its deletion); resume reads version_seq > N. */
  version_seq: number;
  kind: MessageKind;
  author: ChatAuthor;
  text: string;
  /** Slack `attachments` and `blocks`, as received (validated shapes only). */
  attachments: ChatLegacyAttachment[];
  blocks: unknown[];
  files: ChatFile[];
  mentions: string[];
  /** For `event` messages: the timeline entry they mirror. */
  timeline_entry_id: string | null;
  /** Command replies meant only for the caller carry the caller's user id (never stored). */
  visible_to?: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

export interface PostInput {
  channel: string;
  author: ChatAuthor;
  text: string;
  kind?: MessageKind;
  attachments?: ChatLegacyAttachment[];
  blocks?: unknown[];
  /** Ids of files stored beforehand with storeFile(). */
  fileIds?: string[];
  timelineEntryId?: string | null;
  /** Store inside this transaction; the caller then calls chat.announce(message, 'created') after commit. */
  tx?: Tx;
}

export interface ChatService {
  /** Creates the channel when missing (team channels); incident channels are made with their incident. */
  ensureChannel(name: string, options?: { topic?: string; incidentId?: string | null }, tx?: Tx): Promise<{ id: string; name: string }>;
  /** Stores a message and publishes it after commit; within `tx` when given (the caller commits and publishes). */
  post(input: PostInput): Promise<ChatMessage>;
  /** Sends a message only to one user's open connections (ephemeral command replies); not stored. */
  ephemeral(channel: string, userId: string, text: string, extra?: { attachments?: ChatLegacyAttachment[]; files?: ChatFile[] }): void;
  /** Stores a file (PNG, upload) for a later post; returns its descriptor. */
  storeFile(input: { name: string; contentType: string; data: Buffer; link?: string | null; alt?: string | null; uploadedBy?: string | null }): Promise<ChatFile>;
  /**
   * Subscribes to messages committed by THIS process (new ones, edits and deletions), for forwarding
   * (Slack mirror, outbound webhooks): each message reaches the listeners of exactly one process.
   */
  onMessage(listener: (message: ChatMessage, change: 'created' | 'edited' | 'deleted') => void): () => void;
  /** The channel an incoming hook key posts into (`POST /hooks/chat/{key}`), or null for an unknown key. */
  hookByKey(key: string): Promise<{ id: string; name: string; channel: string } | null>;
  /** A channel's forwarding settings from `firewatch apply` (outbound webhook URLs decrypted), or null. */
  channelSettings(name: string): Promise<ChannelSettings | null>;
  /**
   * Installs the handler of chat lines starting with `/` (the command registry). The war room posts the
   * command line itself (kind `command`), then the result (kind `reply`), or sends it only to the caller.
   */
  setCommandRunner(runner: CommandRunner): void;
  /** Publishes a message stored with `post({ tx })` once that transaction committed (live views, listeners). */
  announce(message: ChatMessage, change: 'created' | 'edited' | 'deleted'): void;
}

export interface ChannelSettings {
  name: string;
  incidentNumber: number | null;
  /** Slack channel id this channel is mirrored to, both ways (Slack app adapter). */
  slackChannel: string | null;
  /** Incoming-webhook URLs (Slack or Mattermost format) that receive every message of this channel. */
  outbound: { name: string; type: 'slack' | 'mattermost'; url: string }[];
}

export type CommandRunner = (line: string, ctx: {
  principal: import('../users/users.service.ts').Principal;
  channel: string;
  incidentNumber: number | null;
  via: string;
}) => Promise<{ text: string; visibility: 'channel' | 'caller'; attachments?: ChatLegacyAttachment[]; files?: ChatFile[] }>;
