import { sql } from 'kysely';
import { fromJson, storableText, toIso, toJson } from '../db/codec.ts';
import type { Db, DialectName, Tx } from '../db/database.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { FeatureLog } from '../features/module.ts';
import { newId, sha256Hex } from '../ids.ts';
import type { IncidentRow, TimelineRow } from '../incidents/incidents.repo.ts';
import type { IncidentChanges, LifecycleEvent, LifecycleHooks } from '../incidents/lifecycle.ts';
import type { MentionNotice } from '../oncall/notifications/notifier.ts';
import type { SecretBox } from '../security/secret-box.ts';
import type { Principal } from '../users/users.service.ts';
import type { ChatChannelsTable, ChatMessagesTable } from './chat.tables.ts';
import type {
  ChannelSettings, ChatAuthor, ChatFile, ChatLegacyAttachment, ChatMessage, ChatService, CommandRunner, MessageKind, PostInput,
} from './chat.types.ts';

export type ChannelRow = ChatChannelsTable;
export type MessageRow = ChatMessagesTable;
type Change = 'created' | 'edited' | 'deleted';

export const MAX_TEXT = 40_000;
export const MAX_FILE_BYTES = 5 * 1024 * 1024;
export const FILE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain', 'application/pdf']);
const INCIDENT_CHANNEL = /^incident-(\d+)$/;
/** Timeline entries the bot posts to the incident channel (everything but repeat triggers). */
const SKIPPED_ENTRIES = new Set(['trigger_repeat']);
/** Timeline entries the bot posts to team channels following the incident's service. */
const TEAM_ENTRIES: Record<string, string> = { trigger: 'Triggered', acknowledge: 'Acknowledged', escalate: 'Escalated', resolve: 'Resolved' };
const BOT: ChatAuthor = { type: 'bot', id: null, name: 'Firewatch' };

/** Hook keys are looked up by their SHA-256, like integration keys. */
export const hookKeyHash = (key: string): string => sha256Hex(key);

export const incidentChannelName = (number: number): string => `incident-${number}`;

/** The channel as the API lists it. */
export interface ChannelOut {
  id: string;
  name: string;
  topic: string;
  kind: 'team' | 'incident';
  incident_number: number | null;
  last_seq: number;
  unread: number;
  created_at: string;
}

export interface IncidentSummaryOut {
  incident: { number: number; title: string; status: string; urgency: string; url: string };
  service: { id: string; name: string };
  status: string;
  on_it: { id: string; name: string }[];
  acknowledged_by: string | null;
  resolved_by: string | null;
  started_at: string;
  resolved_at: string | null;
  duration_seconds: number;
  alert_count: number;
  key_events: { at: string; type: string; message: string }[];
}

/** Who posts: a signed-in user (or their token), or an API token without a user. */
export function authorOf(principal: Principal): ChatAuthor {
  return principal.userId ? { type: 'user', id: principal.userId, name: principal.name } : { type: 'integration', id: principal.id, name: principal.name };
}

/** Which reader a principal is for unread markers. */
export const readerOf = (principal: Principal): string => principal.userId ?? principal.id;

export function toMessage(row: MessageRow, channel: string): ChatMessage {
  return {
    id: row.id,
    channel,
    seq: Number(row.seq),
    version_seq: Number(row.version_seq),
    kind: row.kind as MessageKind,
    author: { type: row.author_type as ChatAuthor['type'], id: row.author_id, name: row.author_name },
    text: row.text,
    attachments: fromJson<ChatLegacyAttachment[]>(row.attachments, []),
    blocks: fromJson<unknown[]>(row.blocks, []),
    files: fromJson<ChatFile[]>(row.files, []),
    mentions: fromJson<string[]>(row.mentions, []),
    timeline_entry_id: row.timeline_entry_id,
    created_at: row.created_at,
    edited_at: row.edited_at,
    deleted_at: row.deleted_at,
  };
}

function toChannelOut(row: ChannelRow, unread = 0): ChannelOut {
  return {
    id: row.id,
    name: row.name,
    topic: row.topic,
    kind: row.kind === 'incident' ? 'incident' : 'team',
    incident_number: row.incident_number === null ? null : Number(row.incident_number),
    last_seq: Number(row.last_seq),
    unread,
    created_at: row.created_at,
  };
}

/** `%`, `_` and `\` match themselves in a LIKE pattern. */
const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The `@word` tokens of a text, outside code spans, lowercased. */
export function mentionTokens(text: string): string[] {
  const withoutCode = text.replace(/```[\s\S]*?```/g, ' ').replace(/`[^`\n]*`/g, ' ');
  const out = new Set<string>();
  for (const m of withoutCode.matchAll(/(^|[^\w@.])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})/g)) out.add(m[2].replace(/[._-]+$/, '').toLowerCase());
  return [...out];
}

/** The first bytes of each image type, so an upload's declared type matches its content. */
function sniffMatches(contentType: string, data: Buffer): boolean {
  const starts = (bytes: number[], offset = 0) => bytes.every((b, i) => data[offset + i] === b);
  switch (contentType) {
    case 'image/png': return starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    case 'image/jpeg': return starts([0xff, 0xd8, 0xff]);
    case 'image/gif': return data.subarray(0, 6).toString('latin1') === 'GIF87a' || data.subarray(0, 6).toString('latin1') === 'GIF89a';
    case 'image/webp': return data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP';
    case 'application/pdf': return data.subarray(0, 5).toString('latin1') === '%PDF-';
    default: return true;
  }
}

/** The file name as stored: no path, no control characters, at most 200 characters. */
function cleanFileName(name: string): string {
  // oxlint-disable-next-line no-control-regex -- stripping control characters on purpose
  const base = name.split(/[\\/]/).pop()?.replace(/[\u0000-\u001f\u007f"]/g, '').trim() ?? '';
  return (base || 'file').slice(0, 200);
}

/** One line a team channel shows for an incident change (escalations say what happened: paged, or nobody to page). */
function teamLine(label: string, entry: TimelineRow, incident: IncidentRow, serviceName: string, actor: string | null, url: string): string {
  const head = `**${label}** [#${incident.number} ${incident.title.replace(/[[\]]/g, '')}](${url}) · ${serviceName}`;
  if (entry.type === 'escalate') return `${head}: ${entry.message}`;
  return `${head}${actor ? ` · by ${actor}` : ''}`;
}

/** Takes `n` seqs from a channel's counter (row-locked until commit on PostgreSQL); the first one, or null when the channel is gone. */
async function takeSeqs(tx: Tx, channelId: string, n: number): Promise<number | null> {
  const row = await tx.updateTable('chat_channels').set({ last_seq: sql`last_seq + ${n}` })
    .where('id', '=', channelId).returning('last_seq').executeTakeFirst();
  return row ? Number(row.last_seq) - n + 1 : null;
}


async function insertRows(tx: Tx, channel: { id: string }, rows: Omit<MessageRow, 'seq' | 'version_seq' | 'channel_id'>[]): Promise<MessageRow[] | null> {
  if (rows.length === 0) return [];
  const first = await takeSeqs(tx, channel.id, rows.length);
  if (first === null) return null;
  const full = rows.map((r, i) => ({ ...r, channel_id: channel.id, seq: first + i, version_seq: first + i }));
  for (let i = 0; i < full.length; i += 400) await tx.insertInto('chat_messages').values(full.slice(i, i + 400)).execute();
  return full;
}


/** Users a message's `@names` refer to; `@oncall` is who is assigned to the channel's incident (or its services' open incidents). */
async function resolveMentions(tx: Tx, channel: ChannelRow, text: string): Promise<{ id: string; name: string }[]> {
  const tokens = mentionTokens(text);
  if (tokens.length === 0) return [];
  const found = new Map<string, { id: string; name: string }>();
  const names = tokens.filter((t) => t !== 'oncall' && t !== 'here' && t !== 'channel');
  if (names.length > 0) {
    const users = await tx.selectFrom('users').select(['id', 'name', 'email']).execute();
    for (const token of names) {
      const byLocal = users.filter((u) => u.email.split('@')[0].toLowerCase() === token);
      const byName = users.filter((u) => u.name.toLowerCase().replace(/\s+/g, '') === token || u.name.toLowerCase().split(/\s+/)[0] === token);
      const match = byLocal.length === 1 ? byLocal : byName.length === 1 ? byName : byLocal.length > 0 ? byLocal : [];
      for (const u of match) found.set(u.id, { id: u.id, name: u.name });
    }
  }
  if (tokens.includes('oncall')) {
    let rows: { assignees: string }[] = [];
    if (channel.incident_id) {
      rows = await tx.selectFrom('incident_escalations').select('assignees').where('incident_id', '=', channel.incident_id).execute();
    } else {
      const services = fromJson<string[]>(channel.services, []);
      if (services.length > 0) {
        rows = await tx.selectFrom('incident_escalations').innerJoin('incidents', 'incidents.id', 'incident_escalations.incident_id')
          .innerJoin('services', 'services.id', 'incidents.service_id')
          .select('incident_escalations.assignees as assignees')
          .where('services.name', 'in', services).where('incidents.status', '!=', 'resolved').execute();
      }
    }
    const ids = [...new Set(rows.flatMap((r) => fromJson<string[]>(r.assignees, [])))];
    if (ids.length > 0) {
      for (const u of await tx.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute()) found.set(u.id, u);
    }
  }
  return [...found.values()];
}


/** Each mentioned user (not the author) is notified through their contact rules, in the message's transaction. */
async function notifyMentions(tx: Tx, notify: MentionNotifier, channel: ChannelRow, message: MessageRow, users: { id: string; name: string }[], now: Date): Promise<void> {
  const targets = users.filter((u) => !(message.author_type === 'user' && message.author_id === u.id));
  if (targets.length === 0) return;
  const excerpt = message.text.length > 200 ? `${message.text.slice(0, 200)}…` : message.text;
  for (const u of targets) {
    await notify(tx, u.id, { authorName: message.author_name, channel: channel.name, messageId: message.id, seq: Number(message.seq), excerpt, incidentId: channel.incident_id }, now);
  }
}

/** How a mention reaches a user (the notifier's `notifyMention`: their contact rules). */
export type MentionNotifier = (tx: Tx, userId: string, mention: MentionNotice, now: Date) => Promise<unknown>;


async function loadFiles(tx: Db | Tx, ids: string[]): Promise<ChatFile[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  if (unique.length > 20) throw badRequest('too_many_files', 'attach at most 20 files to a message');
  const rows = await tx.selectFrom('chat_files').select(['id', 'name', 'content_type', 'size', 'link', 'alt']).where('id', 'in', unique).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return unique.map((id) => {
    const r = byId.get(id);
    if (!r) throw notFound('file', `no file ${id}`);
    return { id: r.id, name: r.name, content_type: r.content_type, size: Number(r.size), link: r.link, alt: r.alt };
  });
}


export function createChatService(deps: {
  db: Db;
  dialect: DialectName;
  durable: () => Promise<void>;
  now: () => Date;
  bus: EventBus;
  secrets: SecretBox;
  publicUrl: string;
  log: FeatureLog;
  notifyMention: MentionNotifier;
}) {
  const { db, bus, secrets, publicUrl } = deps;
  const listeners = new Set<(message: ChatMessage, change: Change) => void>();
  let commandRunner: CommandRunner | null = null;
  /** Ephemeral sends, installed by the WebSocket hub. */
  let ephemeralSink: ((channel: string, userId: string, message: ChatMessage) => void) | null = null;

  /** incident id → its channel, once committed (channels are never renamed or deleted while the incident exists). */
  const incidentChannels = new Map<string, { id: string; name: string }>();
  /** Channels created inside an incident transaction, by incident id, until it commits. */
  const pendingChannels = new WeakMap<IncidentChanges, Map<string, { id: string; name: string; row?: ChannelRow }>>();
  /** service id → team channels following it (from `services:` in YAML), reloaded every few seconds. */
  let followers: { at: number; byService: Map<string, { id: string; name: string }[]>; serviceNames: Map<string, string> } | null = null;

  const incidentUrl = (number: number) => `${publicUrl}/incidents/${number}`;

  function announce(message: ChatMessage, change: Change): void {
    bus.publish({ type: 'chat.message', channel: message.channel, seq: message.version_seq });
    for (const l of listeners) {
      try {
        l(message, change);
      } catch (error) {
        deps.log.error({ err: error }, 'chat message listener failed');
      }
    }
  }

  function announceAll(messages: ChatMessage[], change: Change): void {
    // One bus event per channel (the last version); listeners see each message.
    const last = new Map<string, number>();
    for (const m of messages) last.set(m.channel, Math.max(last.get(m.channel) ?? 0, m.version_seq));
    for (const [channel, seq] of last) bus.publish({ type: 'chat.message', channel, seq });
    for (const m of messages) {
      for (const l of listeners) {
        try {
          l(m, change);
        } catch (error) {
          deps.log.error({ err: error }, 'chat message listener failed');
        }
      }
    }
  }

  async function channelByName(name: string, tx: Db | Tx = db): Promise<ChannelRow> {
    const row = await tx.selectFrom('chat_channels').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound('channel', `no channel named ${name}`);
    return row;
  }

  async function createChannelRow(tx: Db | Tx, input: { name: string; topic: string; kind: 'team' | 'incident'; incident?: IncidentRow | null }): Promise<ChannelRow> {
    const now = toIso(deps.now());
    const row: ChannelRow = {
      id: newId(), name: input.name, kind: input.kind, topic: input.topic, incident_id: input.incident?.id ?? null,
      incident_number: input.incident?.number ?? null, services: '[]', slack_channel: null, outbound_encrypted: null,
      last_seq: 0, created_at: now, updated_at: now,
    };
    await tx.insertInto('chat_channels').values(row).onConflict((oc) => oc.column('name').doNothing()).execute();
    return (await tx.selectFrom('chat_channels').selectAll().where('name', '=', input.name).executeTakeFirstOrThrow());
  }

  async function postIn(tx: Tx, input: PostInput): Promise<ChatMessage> {
    const text = storableText(input.text ?? '');
    if (text.length > MAX_TEXT) throw badRequest('text_too_long', `a message holds at most ${MAX_TEXT} characters`);
    const files = await loadFiles(tx, input.fileIds ?? []);
    if (text.trim() === '' && files.length === 0 && (input.attachments ?? []).length === 0 && (input.blocks ?? []).length === 0) {
      throw badRequest('empty_message', 'the message has no text, files or attachments');
    }
    const channel = await channelByName(input.channel, tx);
    const kind = input.kind ?? 'message';
    const mentioned = kind === 'message' || kind === 'command' ? await resolveMentions(tx, channel, text) : [];
    const now = toIso(deps.now());
    const [row] = (await insertRows(tx, channel, [{
      id: newId(), kind, author_type: input.author.type, author_id: input.author.id, author_name: input.author.name.slice(0, 200), text,
      attachments: toJson(input.attachments ?? []), blocks: toJson(input.blocks ?? []), files: toJson(files),
      mentions: toJson(mentioned.map((u) => u.id)), timeline_entry_id: input.timelineEntryId ?? null,
      created_at: now, edited_at: null, deleted_at: null,
    }]))!;
    await notifyMentions(tx, deps.notifyMention, channel, row, mentioned, new Date(now));
    return toMessage(row, channel.name);
  }

  async function post(input: PostInput): Promise<ChatMessage> {
    if (input.tx) return postIn(input.tx, input);
    const message = await db.transaction().execute((tx) => postIn(tx, input));
    await deps.durable();
    announce(message, 'created');
    return message;
  }

  async function ensureChannel(name: string, options: { topic?: string; incidentId?: string | null } = {}, tx?: Tx): Promise<{ id: string; name: string }> {
    const parsed = /^[a-z0-9][a-z0-9_-]{0,79}$/.test(name);
    if (!parsed) throw badRequest('invalid_channel_name', 'use lowercase letters, digits, - and _ (at most 80)');
    const existing = await (tx ?? db).selectFrom('chat_channels').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
    if (existing) return existing;
    let incident: IncidentRow | null = null;
    if (options.incidentId) {
      incident = (await (tx ?? db).selectFrom('incidents').selectAll().where('id', '=', options.incidentId).executeTakeFirst()) ?? null;
      if (!incident) throw notFound('incident');
      if (name !== incidentChannelName(incident.number)) throw badRequest('invalid_channel_name', `an incident's channel is named ${incidentChannelName(incident.number)}`);
    } else if (INCIDENT_CHANNEL.test(name)) {
      throw badRequest('reserved_channel_name', 'incident-<number> names are made with their incidents');
    }
    const row = await createChannelRow(tx ?? db, { name, topic: (options.topic ?? incident?.title ?? '').slice(0, 500), kind: incident ? 'incident' : 'team', incident });
    return { id: row.id, name: row.name };
  }

  async function loadFollowers(tx: Db | Tx) {
    if (followers && deps.now().getTime() - followers.at < 5000) return followers;
    const channels = await tx.selectFrom('chat_channels').select(['id', 'name', 'services']).where('kind', '=', 'team').where('services', '!=', '[]').execute();
    const services = await tx.selectFrom('services').select(['id', 'name']).execute();
    const idByName = new Map(services.map((s) => [s.name, s.id]));
    const byService = new Map<string, { id: string; name: string }[]>();
    for (const c of channels) {
      for (const s of fromJson<string[]>(c.services, [])) {
        const id = idByName.get(s);
        if (!id) continue;
        byService.set(id, [...(byService.get(id) ?? []), { id: c.id, name: c.name }]);
      }
    }
    followers = { at: deps.now().getTime(), byService, serviceNames: new Map(services.map((s) => [s.id, s.name])) };
    return followers;
  }

  /** Incident channels for these incidents, created when missing (incidents older than the war room). */
  async function channelsFor(changes: IncidentChanges, incidents: IncidentRow[]): Promise<Map<string, { id: string; name: string }>> {
    const out = new Map<string, { id: string; name: string }>();
    const pending = pendingChannels.get(changes);
    const missing: IncidentRow[] = [];
    for (const i of incidents) {
      const known = pending?.get(i.id) ?? incidentChannels.get(i.id);
      if (known) out.set(i.id, known);
      else missing.push(i);
    }
    if (missing.length > 0) {
      const rows = await changes.tx.selectFrom('chat_channels').select(['id', 'name', 'incident_id']).where('incident_id', 'in', missing.map((i) => i.id)).execute();
      for (const r of rows) out.set(r.incident_id!, { id: r.id, name: r.name });
      for (const i of missing) {
        if (out.has(i.id)) continue;
        const row = await createChannelRow(changes.tx, { name: incidentChannelName(i.number), topic: i.title.slice(0, 500), kind: 'incident', incident: i });
        out.set(i.id, { id: row.id, name: row.name });
      }
      changes.afterCommit(() => {
        for (const i of missing) {
          const c = out.get(i.id);
          if (c) remember(i.id, c);
        }
      });
    }
    return out;
  }

  function remember(incidentId: string, channel: { id: string; name: string }) {
    if (incidentChannels.size > 20_000) incidentChannels.clear();
    incidentChannels.set(incidentId, channel);
  }

  const hooks: Partial<LifecycleHooks> = {
    /** A new incident gets its channel in the same transaction. */
    async onFlush(changes: IncidentChanges, events: LifecycleEvent[]) {
      const opened = events.filter((e) => e.kind === 'opened');
      if (opened.length === 0) return;
      let pending = pendingChannels.get(changes);
      if (!pending) {
        pending = new Map();
        pendingChannels.set(changes, pending);
        const map = pending;
        changes.afterCommit(() => {
          for (const [id, c] of map) remember(id, c);
        });
      }
      // Written by onTimeline in the same flush, together with the incident's first messages (one insert for all).
      const now = changes.nowIso;
      for (const { incident } of opened) {
        if (pending.has(incident.id)) continue;
        const row: ChannelRow = {
          id: newId(), name: incidentChannelName(incident.number), kind: 'incident', topic: incident.title.slice(0, 500), incident_id: incident.id,
          incident_number: incident.number, services: '[]', slack_channel: null, outbound_encrypted: null, last_seq: 0, created_at: now, updated_at: now,
        };
        pending.set(incident.id, { id: row.id, name: row.name, row });
      }
    },

    /** Every timeline entry becomes a bot message in the incident's channel (and team channels following the service). */
    async onTimeline(changes: IncidentChanges, entries: { entry: TimelineRow; incident: IncidentRow }[]) {
      const pending = pendingChannels.get(changes);
      const fresh = pending ? [...pending.values()].filter((c) => c.row) : [];
      const wanted = entries.filter((e) => !SKIPPED_ENTRIES.has(e.entry.type));
      if (wanted.length === 0 && fresh.length === 0) return;
      const incidents = [...new Map(wanted.map((e) => [e.incident.id, e.incident])).values()];
      const channels = await channelsFor(changes, incidents);
      const teamEntries = wanted.filter((e) => TEAM_ENTRIES[e.entry.type]);
      const follow = teamEntries.length > 0 ? await loadFollowers(changes.tx) : null;
      const perChannel = new Map<string, { channel: { id: string; name: string }; rows: Omit<MessageRow, 'seq' | 'version_seq' | 'channel_id'>[] }>();
      const add = (channel: { id: string; name: string }, row: Omit<MessageRow, 'seq' | 'version_seq' | 'channel_id'>) => {
        let slot = perChannel.get(channel.id);
        if (!slot) perChannel.set(channel.id, (slot = { channel, rows: [] }));
        slot.rows.push(row);
      };
      for (const { entry, incident } of wanted) {
        const human = entry.actor_type === 'user' || entry.actor_type === 'token';
        const url = incidentUrl(incident.number);
        const base = {
          kind: 'event', author_type: 'bot', author_id: null, author_name: human ? entry.actor_name : BOT.name,
          attachments: '[]', blocks: '[]', files: '[]', mentions: '[]', timeline_entry_id: entry.id,
          created_at: entry.at, edited_at: null, deleted_at: null,
        };
        const channel = channels.get(incident.id);
        if (channel) add(channel, { ...base, id: newId(), text: `${entry.message} · [#${incident.number}](${url})` });
        const label = TEAM_ENTRIES[entry.type];
        if (label && follow) {
          for (const team of follow.byService.get(incident.service_id) ?? []) {
            add(team, { ...base, id: newId(), text: teamLine(label, entry, incident, follow.serviceNames.get(incident.service_id) ?? 'unknown service', human ? entry.actor_name : null, url) });
          }
        }
      }
      // New incident channels: one insert, their counters already at the number of messages they get.
      const freshIds = new Set(fresh.map((c) => c.id));
      if (fresh.length > 0) {
        await changes.tx.insertInto('chat_channels').values(fresh.map((c) => ({ ...c.row!, last_seq: perChannel.get(c.id)?.rows.length ?? 0 }))).execute();
        for (const c of fresh) delete c.row;
      }
      const stored: ChatMessage[] = [];
      const rowsOut: MessageRow[] = [];
      // Existing channels in one global order (by id), so two transactions never wait on each other's counters in a cycle.
      for (const { channel, rows } of [...perChannel.values()].toSorted((x, y) => (x.channel.id < y.channel.id ? -1 : 1))) {
        const first = freshIds.has(channel.id) ? 1 : await takeSeqs(changes.tx, channel.id, rows.length);
        if (first === null) {
          deps.log.warn({ channel: channel.name }, 'channel vanished; bot messages skipped');
          continue;
        }
        rows.forEach((r, i) => {
          const full = { ...r, channel_id: channel.id, seq: first + i, version_seq: first + i };
          rowsOut.push(full);
          stored.push(toMessage(full, channel.name));
        });
      }
      for (let i = 0; i < rowsOut.length; i += 400) await changes.tx.insertInto('chat_messages').values(rowsOut.slice(i, i + 400)).execute();
      if (stored.length > 0) changes.afterCommit(() => announceAll(stored, 'created'));
    },
  };

  /** Changes a message's text (author only) or deletes it (author or admin); the old text goes to the revisions. */
  async function changeMessage(channelName: string, id: string, principal: Principal, what: { text: string } | 'delete'): Promise<ChatMessage> {
    const message = await db.transaction().execute(async (tx) => {
      const channel = await channelByName(channelName, tx);
      const row = await tx.selectFrom('chat_messages').selectAll().where('id', '=', id).where('channel_id', '=', channel.id).executeTakeFirst();
      if (!row) throw notFound('message', `no message ${id} in ${channelName}`);
      if (row.deleted_at) throw conflict('message_deleted', 'the message was deleted');
      const own = row.author_id !== null && row.author_id === readerOf(principal) && (row.author_type === 'user' || row.author_type === 'integration');
      if (what === 'delete') {
        if (!own && principal.role !== 'admin') throw new AppError('forbidden', 403, 'only the author or an admin may delete a message');
      } else {
        if (!own) throw new AppError('forbidden', 403, 'only the author may edit a message');
        if (row.kind !== 'message') throw badRequest('not_editable', `a ${row.kind} message cannot be edited`);
      }
      const text = what === 'delete' ? '' : storableText(what.text);
      if (text.length > MAX_TEXT) throw badRequest('text_too_long', `a message holds at most ${MAX_TEXT} characters`);
      if (what !== 'delete' && text.trim() === '' && fromJson<unknown[]>(row.files, []).length === 0) throw badRequest('empty_message', 'the message has no text');
      const version = (await takeSeqs(tx, channel.id, 1))!;
      const now = toIso(deps.now());
      await tx.insertInto('chat_revisions').values({
        id: newId(), message_id: row.id, version_seq: Number(row.version_seq), text: row.text, change: what === 'delete' ? 'deleted' : 'edited',
        changed_by: principal.name, changed_at: now,
      }).execute();
      const patch = what === 'delete'
        ? { text: '', attachments: '[]', blocks: '[]', files: '[]', mentions: '[]', deleted_at: now, version_seq: version }
        : { text, edited_at: now, version_seq: version };
      await tx.updateTable('chat_messages').set(patch).where('id', '=', row.id).execute();
      if (what === 'delete') {
        // A deleted screenshot must stop being served too (unless another message still shows it).
        for (const f of fromJson<ChatFile[]>(row.files, [])) {
          const other = await tx.selectFrom('chat_messages').select('id').where('files', 'like', `%"id":"${f.id}"%`).where('id', '!=', row.id).limit(1).executeTakeFirst();
          if (!other) await tx.deleteFrom('chat_files').where('id', '=', f.id).execute();
        }
      }
      return toMessage({ ...row, ...patch }, channel.name);
    });
    await deps.durable();
    announce(message, what === 'delete' ? 'deleted' : 'edited');
    return message;
  }

  const service = {
    hooks,
    ensureChannel,
    post,
    announce,
    ephemeral(channel: string, userId: string, text: string, extra: { attachments?: ChatLegacyAttachment[]; files?: ChatFile[] } = {}): void {
      ephemeralSink?.(channel, userId, ephemeralMessage(channel, userId, text, extra));
    },
    async storeFile(input: { name: string; contentType: string; data: Buffer; link?: string | null; alt?: string | null; uploadedBy?: string | null }): Promise<ChatFile> {
      const contentType = input.contentType.split(';')[0].trim().toLowerCase();
      if (!FILE_TYPES.has(contentType)) throw new AppError('unsupported_file_type', 415, `files may be ${[...FILE_TYPES].join(', ')}`);
      if (input.data.length === 0) throw badRequest('empty_file', 'the file is empty');
      if (input.data.length > MAX_FILE_BYTES) throw new AppError('file_too_large', 413, 'files are at most 5 MB');
      if (!sniffMatches(contentType, input.data)) throw badRequest('file_type_mismatch', `the content is not ${contentType}`);
      const file: ChatFile = { id: newId(), name: cleanFileName(input.name), content_type: contentType, size: input.data.length, link: input.link ?? null, alt: input.alt?.slice(0, 500) ?? null };
      await db.insertInto('chat_files').values({ ...file, data: input.data, uploaded_by: input.uploadedBy ?? null, created_at: toIso(deps.now()) }).execute();
      return file;
    },
    onMessage(listener: (message: ChatMessage, change: Change) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async hookByKey(key: string) {
      if (!/^[0-9a-f]{32}$/.test(key)) return null;
      const row = await db.selectFrom('chat_hooks').innerJoin('chat_channels', 'chat_channels.id', 'chat_hooks.channel_id')
        .select(['chat_hooks.id as id', 'chat_hooks.name as name', 'chat_channels.name as channel'])
        .where('chat_hooks.key_hash', '=', hookKeyHash(key)).executeTakeFirst();
      return row ?? null;
    },
    async channelSettings(name: string): Promise<ChannelSettings | null> {
      const row = await db.selectFrom('chat_channels').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) return null;
      return {
        name: row.name,
        incidentNumber: row.incident_number === null ? null : Number(row.incident_number),
        slackChannel: row.slack_channel,
        outbound: row.outbound_encrypted ? fromJson<ChannelSettings['outbound']>(secrets.decrypt(row.outbound_encrypted), []) : [],
      };
    },
    setCommandRunner(runner: CommandRunner | null): void {
      commandRunner = runner;
    },

    // ---- used by the routes, the WebSocket hub and the exporter ----
    log: deps.log,
    get commandRunner() {
      return commandRunner;
    },
    setEphemeralSink(sink: (channel: string, userId: string, message: ChatMessage) => void) {
      ephemeralSink = sink;
    },
    forgetFollowers() {
      followers = null;
    },
    channelByName,

    async listChannels(principal: Principal, options: { kind?: 'team' | 'incident'; limit: number }): Promise<ChannelOut[]> {
      let q = db.selectFrom('chat_channels').selectAll();
      if (options.kind) q = q.where('kind', '=', options.kind);
      const rows = await q.orderBy('kind', 'desc').orderBy('incident_number', 'desc').orderBy('name').limit(options.limit).execute();
      if (rows.length === 0) return [];
      const reader = readerOf(principal);
      const counts = await db.selectFrom('chat_messages as m')
        .leftJoin('chat_reads as r', (j) => j.onRef('r.channel_id', '=', 'm.channel_id').on('r.reader_id', '=', reader))
        .select(['m.channel_id as channel_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('m.channel_id', 'in', rows.map((r) => r.id))
        .where('m.deleted_at', 'is', null)
        .where((eb) => eb('m.seq', '>', eb.fn.coalesce('r.seq', eb.lit(0))))
        .where((eb) => eb.or([eb('m.author_id', 'is', null), eb('m.author_id', '!=', reader)]))
        .groupBy('m.channel_id').execute();
      const unread = new Map(counts.map((c) => [c.channel_id, Number(c.n)]));
      return rows.map((r) => toChannelOut(r, unread.get(r.id) ?? 0));
    },

    async createTeamChannel(input: { name: string; topic?: string }): Promise<ChannelOut> {
      if (INCIDENT_CHANNEL.test(input.name)) throw badRequest('reserved_channel_name', 'incident-<number> names are made with their incidents');
      const existing = await db.selectFrom('chat_channels').select('id').where('name', '=', input.name).executeTakeFirst();
      if (existing) throw conflict('channel_exists', `a channel named ${input.name} already exists`);
      const row = await createChannelRow(db, { name: input.name, topic: input.topic ?? '', kind: 'team' });
      return toChannelOut(row);
    },

    async getChannel(name: string, principal: Principal): Promise<ChannelOut> {
      const row = await channelByName(name);
      const [c] = await service.listChannelsByIds(principal, [row]);
      return c;
    },

    async listChannelsByIds(principal: Principal, rows: ChannelRow[]): Promise<ChannelOut[]> {
      const reader = readerOf(principal);
      const out: ChannelOut[] = [];
      for (const row of rows) {
        const read = await db.selectFrom('chat_reads').select('seq').where('channel_id', '=', row.id).where('reader_id', '=', reader).executeTakeFirst();
        const n = await db.selectFrom('chat_messages').select((eb) => eb.fn.countAll<number>().as('n'))
          .where('channel_id', '=', row.id).where('deleted_at', 'is', null).where('seq', '>', Number(read?.seq ?? 0))
          .where((eb) => eb.or([eb('author_id', 'is', null), eb('author_id', '!=', reader)])).executeTakeFirst();
        out.push(toChannelOut(row, Number(n?.n ?? 0)));
      }
      return out;
    },

    /**
     * Messages of a channel, ascending. With after_seq: every message created or changed after it (by version).
     * Otherwise the newest `limit` (before before_seq when given), by position.
     */
    async messages(name: string, options: { afterSeq?: number; beforeSeq?: number; limit: number; kind?: MessageKind }): Promise<{ messages: ChatMessage[]; has_more: boolean; last_seq: number }> {
      const channel = await channelByName(name);
      const lastSeq = Number(channel.last_seq);
      let q = db.selectFrom('chat_messages').selectAll().where('channel_id', '=', channel.id);
      if (options.kind) q = q.where('kind', '=', options.kind);
      let rows: MessageRow[];
      if (options.afterSeq !== undefined) {
        if (options.beforeSeq !== undefined) q = q.where('seq', '<', options.beforeSeq);
        rows = await q.where('version_seq', '>', options.afterSeq).orderBy('version_seq').limit(options.limit + 1).execute();
        const has_more = rows.length > options.limit;
        return { messages: rows.slice(0, options.limit).map((r) => toMessage(r, channel.name)), has_more, last_seq: lastSeq };
      }
      if (options.beforeSeq !== undefined) q = q.where('seq', '<', options.beforeSeq);
      rows = await q.where('seq', '<=', lastSeq).orderBy('seq', 'desc').limit(options.limit + 1).execute();
      const has_more = rows.length > options.limit;
      return { messages: rows.slice(0, options.limit).toReversed().map((r) => toMessage(r, channel.name)), has_more, last_seq: lastSeq };
    },

    /** Rows changed after `afterVersion`, for live delivery (one read per channel, not per socket). */
    async changesSince(channelId: string, channel: string, afterVersion: number, limit: number): Promise<ChatMessage[]> {
      const rows = await db.selectFrom('chat_messages').selectAll().where('channel_id', '=', channelId)
        .where('version_seq', '>', afterVersion).orderBy('version_seq').limit(limit).execute();
      return rows.map((r) => toMessage(r, channel));
    },

    async getMessage(name: string, id: string): Promise<ChatMessage> {
      const channel = await channelByName(name);
      const row = await db.selectFrom('chat_messages').selectAll().where('id', '=', id).where('channel_id', '=', channel.id).executeTakeFirst();
      if (!row) throw notFound('message', `no message ${id} in ${name}`);
      return toMessage(row, channel.name);
    },

    async history(name: string, id: string, principal: Principal) {
      const message = await service.getMessage(name, id);
      const own = message.author.id !== null && message.author.id === readerOf(principal);
      if (message.deleted_at && !own && principal.role !== 'admin') {
        throw new AppError('forbidden', 403, 'only the author or an admin may read a deleted message\'s history');
      }
      const revisions = await db.selectFrom('chat_revisions').select(['version_seq', 'text', 'change', 'changed_by', 'changed_at'])
        .where('message_id', '=', id).orderBy('version_seq').execute();
      return { message, revisions: revisions.map((r) => ({ ...r, version_seq: Number(r.version_seq), change: r.change as 'edited' | 'deleted' })) };
    },

    edit: (name: string, id: string, principal: Principal, text: string) => changeMessage(name, id, principal, { text }),
    remove: (name: string, id: string, principal: Principal) => changeMessage(name, id, principal, 'delete'),

    async markRead(name: string, principal: Principal, seq: number): Promise<{ channel: string; seq: number; unread: number }> {
      const channel = await channelByName(name);
      const target = Math.min(Math.max(0, Math.floor(seq)), Number(channel.last_seq));
      const reader = readerOf(principal);
      const now = toIso(deps.now());
      await db.insertInto('chat_reads').values({ channel_id: channel.id, reader_id: reader, seq: target, updated_at: now })
        .onConflict((oc) => oc.columns(['channel_id', 'reader_id']).doUpdateSet({
          seq: sql`case when excluded.seq > chat_reads.seq then excluded.seq else chat_reads.seq end`, updated_at: now,
        })).execute();
      const [out] = await service.listChannelsByIds(principal, [channel]);
      const read = await db.selectFrom('chat_reads').select('seq').where('channel_id', '=', channel.id).where('reader_id', '=', reader).executeTakeFirst();
      return { channel: channel.name, seq: Number(read?.seq ?? target), unread: out.unread };
    },

    async search(query: { q: string; channel?: string; limit: number }): Promise<{ message: ChatMessage; channel: ChannelOut }[]> {
      const pattern = `%${escapeLike(query.q)}%`;
      let q = db.selectFrom('chat_messages as m').innerJoin('chat_channels as c', 'c.id', 'm.channel_id')
        .selectAll('m')
        .select(['c.name as c_name', 'c.topic as c_topic', 'c.kind as c_kind', 'c.incident_number as c_incident_number', 'c.last_seq as c_last_seq', 'c.created_at as c_created_at'])
        .where('m.deleted_at', 'is', null)
        .where(deps.dialect === 'postgres' ? sql<boolean>`m.text ilike ${pattern} escape '\\'` : sql<boolean>`m.text like ${pattern} escape '\\'`);
      if (query.channel) {
        const channel = await channelByName(query.channel);
        q = q.where('m.channel_id', '=', channel.id);
      }
      const rows = await q.orderBy('m.created_at', 'desc').orderBy('m.seq', 'desc').limit(query.limit).execute();
      return rows.map((r) => ({
        message: toMessage(r, r.c_name),
        channel: toChannelOut({
          id: r.channel_id, name: r.c_name, topic: r.c_topic, kind: r.c_kind, incident_number: r.c_incident_number, last_seq: r.c_last_seq,
          created_at: r.c_created_at, incident_id: null, services: '[]', slack_channel: null, outbound_encrypted: null, updated_at: r.c_created_at,
        }),
      }));
    },

    async file(id: string): Promise<{ file: ChatFile; data: Buffer }> {
      const row = await db.selectFrom('chat_files').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('file', `no file ${id}`);
      return {
        file: { id: row.id, name: row.name, content_type: row.content_type, size: Number(row.size), link: row.link, alt: row.alt },
        data: Buffer.from(row.data.buffer, row.data.byteOffset, row.data.byteLength),
      };
    },

    /** The pinned catch-up of an incident channel, computed on read; null for team channels. */
    async summary(name: string): Promise<IncidentSummaryOut | null> {
      const channel = await channelByName(name);
      if (!channel.incident_id) return null;
      const incident = await db.selectFrom('incidents').innerJoin('services', 'services.id', 'incidents.service_id')
        .leftJoin('incident_escalations', 'incident_escalations.incident_id', 'incidents.id')
        .selectAll('incidents').select(['services.name as service_name', 'incident_escalations.assignees as assignees'])
        .where('incidents.id', '=', channel.incident_id).executeTakeFirst();
      if (!incident) return null;
      const assigneeIds = fromJson<string[]>(incident.assignees, []);
      const onIt = assigneeIds.length > 0 ? await db.selectFrom('users').select(['id', 'name']).where('id', 'in', assigneeIds).execute() : [];
      const alerts = await db.selectFrom('alerts').select((eb) => eb.fn.countAll<number>().as('n')).where('incident_id', '=', incident.id).executeTakeFirst();
      const events = await db.selectFrom('timeline_entries').select(['at', 'type', 'message'])
        .where('incident_id', '=', incident.id)
        .where('type', 'in', ['trigger', 'acknowledge', 'unacknowledge', 'escalate', 'escalation_exhausted', 'resolve', 'assign', 'responder_added', 'urgency_change', 'annotate', 'snooze'])
        .orderBy('at').orderBy('id').limit(500).execute();
      const end = incident.resolved_at ? Date.parse(incident.resolved_at) : deps.now().getTime();
      const keyEvents = events.length > 30 ? [...events.slice(0, 5), ...events.slice(-25)] : events;
      return {
        incident: { number: Number(incident.number), title: incident.title, status: incident.status, urgency: incident.urgency, url: incidentUrl(Number(incident.number)) },
        service: { id: incident.service_id, name: incident.service_name },
        status: incident.status,
        on_it: onIt.map((u) => ({ id: u.id, name: u.name })),
        acknowledged_by: incident.acknowledged_by,
        resolved_by: incident.resolved_by,
        started_at: incident.created_at,
        resolved_at: incident.resolved_at,
        duration_seconds: Math.max(0, Math.round((end - Date.parse(incident.created_at)) / 1000)),
        alert_count: Number(alerts?.n ?? 0),
        key_events: keyEvents,
      };
    },

    /** Everything of a channel for export: messages ascending by position, with each file's bytes. */
    async exportData(name: string) {
      const channel = await channelByName(name);
      const rows = await db.selectFrom('chat_messages').selectAll().where('channel_id', '=', channel.id).orderBy('seq').execute();
      const messages = rows.map((r) => toMessage(r, channel.name));
      const ids = [...new Set(messages.flatMap((m) => m.files.map((f) => f.id)))];
      const files = new Map<string, { content_type: string; data: Buffer }>();
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = await db.selectFrom('chat_files').select(['id', 'content_type', 'data']).where('id', 'in', ids.slice(i, i + 200)).execute();
        for (const f of chunk) files.set(f.id, { content_type: f.content_type, data: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength) });
      }
      return { channel: toChannelOut(channel), messages, files, summary: await service.summary(name) };
    },
  };

  function ephemeralMessage(channel: string, userId: string, text: string, extra: { attachments?: ChatLegacyAttachment[]; files?: ChatFile[] }): ChatMessage {
    return {
      id: newId(), channel, seq: 0, version_seq: 0, kind: 'reply', author: BOT, text, attachments: extra.attachments ?? [], blocks: [], files: extra.files ?? [],
      mentions: [], timeline_entry_id: null, visible_to: userId, created_at: toIso(deps.now()), edited_at: null, deleted_at: null,
    };
  }

  return Object.assign(service, { ephemeralMessage }) satisfies ChatService & Record<string, unknown>;
}


export type ChatServiceImpl = ReturnType<typeof createChatService>;
