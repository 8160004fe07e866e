// Shapes of the war-room API as the UI reads them (types only: nothing from the server is bundled).
import type { ChatAuthor, ChatFile, ChatLegacyAttachment, ChatMessage, MessageKind } from '../../../src/chat/chat.types.ts';

export type { ChatAuthor, ChatFile, ChatLegacyAttachment, ChatMessage, MessageKind };

export interface Channel {
  id: string;
  name: string;
  topic: string | null;
  kind: 'team' | 'incident';
  incident_number: number | null;
  last_seq: number;
  unread: number;
  created_at: string;
}

/** The catch-up summary pinned at the top of an incident channel; every field may be missing. */
export type ChannelSummary = Record<string, unknown>;

export interface Member {
  id: string;
  name: string;
}

export interface ChannelDetail {
  channel: Channel;
  summary: ChannelSummary | null;
  members_online: Member[];
}

export interface MessagePage {
  messages: ChatMessage[];
  has_more: boolean;
}

/** One earlier state of a message: its text before an edit or deletion. */
export interface MessageVersion {
  version_seq?: number;
  text: string;
  change?: 'edited' | 'deleted';
  changed_by?: string | null;
  changed_at?: string;
}

export interface ChatCommand {
  name: string;
  usage?: string;
  summary?: string;
  description?: string;
}

/** What the server sends over /api/v1/ws. */
export type ServerFrame =
  | { type: 'subscribed'; channel: string; last_seq: number }
  | { type: 'message'; message: ChatMessage }
  | { type: 'ephemeral'; channel: string; message: ChatMessage }
  | { type: 'presence'; channel: string; users: Member[] }
  | { type: 'summary'; channel: string; summary: ChannelSummary | null }
  | { type: 'error'; code: string; message: string; channel?: string }
  | { type: 'pong' };
