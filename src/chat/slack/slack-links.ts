import { toIso } from '../../db/codec.ts';
import type { Db, Tx } from '../../db/database.ts';
import { toMessage } from '../chat.service.ts';
import type { ChatMessage, ChatService, PostInput } from '../chat.types.ts';

/**
 * The durable link between a war-room message and its Slack copy (table chat_slack_messages). Edits and
 * deletions travel by it: Firewatch → Slack needs the `ts` chat.postMessage returned to call chat.update
 * and chat.delete, and Slack → Firewatch needs to know which war-room message a `message_changed` or
 * `message_deleted` event is about. `origin` says which side wrote the message, so each side only
 * follows changes made where the message was written, and nothing is echoed back.
 */

export type SlackLinkOrigin = 'firewatch' | 'slack';

export interface SlackLink {
  messageId: string;
  /** The war-room channel's name. */
  channel: string;
  slackChannel: string;
  /** null while the mirror's post has not gone out. */
  slackTs: string | null;
  origin: SlackLinkOrigin;
}

export interface SlackLinks {
  /** A war-room message is about to be posted to Slack (its mirror job is scheduled next). Idempotent. */
  pending(messageId: string, slackChannel: string, now: Date): Promise<void>;
  /** The mirror's chat.postMessage answered with `ts`; written in the transaction that finishes the job. */
  posted(tx: Tx, messageId: string, slackChannel: string, slackTs: string, now: Date): Promise<void>;
  /**
   * Copies a Slack message into the war room and links it in one transaction, so the copy never exists
   * without its link (an edit arriving right after finds it, a duplicate delivery cannot copy it twice).
   */
  copyFromSlack(chat: Pick<ChatService, 'post' | 'announce'>, input: Omit<PostInput, 'tx'>, slackChannel: string, slackTs: string, now: Date): Promise<ChatMessage>;
  byMessage(messageId: string): Promise<SlackLink | null>;
  bySlackTs(slackChannel: string, slackTs: string): Promise<SlackLink | null>;
  /** The Slack copy is gone (deleted, or never to be posted). */
  forget(messageId: string, tx?: Tx): Promise<void>;
  /** The war-room message as it is now (latest text, or deleted), or null when it no longer exists. */
  message(messageId: string): Promise<ChatMessage | null>;
}

function toLink(row: { message_id: string; slack_channel: string; slack_ts: string | null; origin: string; channel: string } | undefined): SlackLink | null {
  return row
    ? { messageId: row.message_id, channel: row.channel, slackChannel: row.slack_channel, slackTs: row.slack_ts, origin: row.origin === 'slack' ? 'slack' : 'firewatch' }
    : null;
}

export function createSlackLinks(db: Db, durable: () => Promise<void>): SlackLinks {
  const select = () => db.selectFrom('chat_slack_messages as l')
    .innerJoin('chat_messages as m', 'm.id', 'l.message_id')
    .innerJoin('chat_channels as c', 'c.id', 'm.channel_id')
    .select(['l.message_id', 'l.slack_channel', 'l.slack_ts', 'l.origin', 'c.name as channel']);

  return {
    async pending(messageId, slackChannel, now) {
      await db.insertInto('chat_slack_messages')
        .values({ message_id: messageId, slack_channel: slackChannel, slack_ts: null, origin: 'firewatch', created_at: toIso(now) })
        .onConflict((oc) => oc.column('message_id').doNothing())
        .execute();
    },
    async posted(tx, messageId, slackChannel, slackTs, now) {
      const updated = await tx.updateTable('chat_slack_messages').set({ slack_channel: slackChannel, slack_ts: slackTs })
        .where('message_id', '=', messageId).where('origin', '=', 'firewatch').executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
      await tx.insertInto('chat_slack_messages')
        .values({ message_id: messageId, slack_channel: slackChannel, slack_ts: slackTs, origin: 'firewatch', created_at: toIso(now) })
        .onConflict((oc) => oc.column('message_id').doNothing())
        .execute();
    },
    async copyFromSlack(chat, input, slackChannel, slackTs, now) {
      const message = await db.transaction().execute(async (tx) => {
        const posted = await chat.post({ ...input, tx });
        await tx.insertInto('chat_slack_messages')
          .values({ message_id: posted.id, slack_channel: slackChannel, slack_ts: slackTs, origin: 'slack', created_at: toIso(now) })
          .execute();
        return posted;
      });
      await durable();
      chat.announce(message, 'created');
      return message;
    },
    async byMessage(messageId) {
      return toLink(await select().where('l.message_id', '=', messageId).executeTakeFirst());
    },
    async bySlackTs(slackChannel, slackTs) {
      return toLink(await select().where('l.slack_channel', '=', slackChannel).where('l.slack_ts', '=', slackTs).executeTakeFirst());
    },
    async forget(messageId, tx) {
      await (tx ?? db).deleteFrom('chat_slack_messages').where('message_id', '=', messageId).execute();
    },
    async message(messageId) {
      const row = await db.selectFrom('chat_messages as m').innerJoin('chat_channels as c', 'c.id', 'm.channel_id')
        .selectAll('m').select('c.name as channel_name').where('m.id', '=', messageId).executeTakeFirst();
      if (!row) return null;
      const { channel_name: channel, ...message } = row;
      return toMessage(message, channel);
    },
  };
}
