/** Table shapes of the war room (channels, messages, attachments, reads) (conventions in db/schema.ts). */

export interface ChatChannelsTable {
  id: string;
  name: string;
  /** 'team' or 'incident'. */
  kind: string;
  topic: string;
  incident_id: string | null;
  incident_number: number | null;
  /** JSON array of service names whose incidents the bot posts here (team channels). */
  services: string;
  slack_channel: string | null;
  /** Sealed JSON array of outbound webhooks ({name, type, url}); NULL when none. */
  outbound_encrypted: string | null;
  /** The per-channel counter: the last seq handed out (messages, edits and deletions each take one). */
  last_seq: number;
  created_at: string;
  updated_at: string;
}

export interface ChatMessagesTable {
  id: string;
  channel_id: string;
  /** Position in the channel, fixed at creation. */
  seq: number;
  /** The seq of the last change (creation, edit or deletion); resuming reads version_seq > N. */
  version_seq: number;
  kind: string;
  author_type: string;
  author_id: string | null;
  author_name: string;
  text: string;
  /** JSON arrays. */
  attachments: string;
  blocks: string;
  files: string;
  mentions: string;
  timeline_entry_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

/** Earlier texts of edited or deleted messages. */
export interface ChatRevisionsTable {
  id: string;
  message_id: string;
  /** The version this text had before the change. */
  version_seq: number;
  text: string;
  /** 'edited' or 'deleted'. */
  change: string;
  changed_by: string;
  changed_at: string;
}

export interface ChatFilesTable {
  id: string;
  name: string;
  content_type: string;
  size: number;
  data: Uint8Array;
  link: string | null;
  alt: string | null;
  uploaded_by: string | null;
  created_at: string;
}

/** The last seq each reader (user id, or token id) has read in a channel. */
export interface ChatReadsTable {
  channel_id: string;
  reader_id: string;
  seq: number;
  updated_at: string;
}

/** Incoming chat hooks (`POST /hooks/chat/{key}`): keys stored hashed and sealed, like integration keys. */
export interface ChatHooksTable {
  id: string;
  channel_id: string;
  name: string;
  key_hash: string;
  key_encrypted: string;
  created_at: string;
}

/**
 * The Slack message that mirrors a war-room message (posted by the mirror, or the Slack original the
 * message was copied from), so edits and deletions can follow on either side.
 */
export interface ChatSlackMessagesTable {
  message_id: string;
  slack_channel: string;
  /** Slack's message id within the channel; NULL while the mirror's chat.postMessage is still on its way. */
  slack_ts: string | null;
  /** 'firewatch' (the mirror posted it to Slack) or 'slack' (it was written in Slack and copied here). */
  origin: string;
  created_at: string;
}

export interface ChatTables {
  chat_channels: ChatChannelsTable;
  chat_messages: ChatMessagesTable;
  chat_revisions: ChatRevisionsTable;
  chat_files: ChatFilesTable;
  chat_reads: ChatReadsTable;
  chat_hooks: ChatHooksTable;
  chat_slack_messages: ChatSlackMessagesTable;
}
