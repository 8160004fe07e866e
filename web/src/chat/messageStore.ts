import type { ChatMessage } from './types.ts';

/**
 * The messages one channel view shows, and the cursor it resumes from. Kept apart from React so the
 * rules that decide what a reconnect asks for can be tested on their own:
 *
 * - The cursor is the highest version of the channel's ordered change stream this view has applied.
 *   Only that stream moves it: WebSocket frames (the server sends every change in version order, each
 *   (re)subscribe replaying from the cursor) and REST fills (`after_seq`, also in version order), plus the
 *   latest page the view opened with. A resubscribe after a drop asks for everything after it.
 * - A POST's answer (the user's own message) is shown at once but does not move the cursor: its version
 *   can be ahead of changes by others whose frames have not arrived yet, and a cursor moved past them
 *   would make the next resubscribe skip them. Its own frame arrives later and is deduped by id.
 * - "Load older" pages are positions, not changes: they never move the cursor either.
 */
export interface MessageStore {
  /** The version to resume after (socket `after_seq`, REST fill `after_seq`). */
  readonly cursor: number;
  /** The lowest seq shown: changes to older messages are left for "Load older". */
  readonly oldest: number;
  /** The latest page the view opens with: its first seq is the oldest shown, its versions start the cursor. */
  open(page: ChatMessage[]): boolean;
  /** Changes from the ordered stream (socket frames, REST fills). Returns whether what is shown changed. */
  changes(messages: ChatMessage[]): boolean;
  /** What a POST answered (the user's own message): shown now, the cursor untouched. */
  posted(message: ChatMessage): boolean;
  /** An older page: added where missing, and the oldest seq lowered. */
  older(page: ChatMessage[]): boolean;
  /** Every message shown, ascending seq. */
  list(): ChatMessage[];
}

const versionOf = (message: ChatMessage): number => (typeof message.version_seq === 'number' ? message.version_seq : message.seq);
const usable = (message: unknown): message is ChatMessage =>
  Boolean(message) && typeof (message as ChatMessage).id === 'string' && typeof (message as ChatMessage).seq === 'number';

export function createMessageStore(): MessageStore {
  const byId = new Map<string, ChatMessage>();
  let cursor = 0;
  let oldest = 0;

  /** Stores one message unless what is shown is as new or newer; `stream` says whether it moves the cursor. */
  function put(message: ChatMessage, stream: boolean): boolean {
    const version = versionOf(message);
    if (stream && version > cursor) cursor = version;
    const known = byId.get(message.id);
    if (!known && message.seq < oldest) return false;
    if (known && versionOf(known) > version) return false;
    if (known && known.edited_at === message.edited_at && known.deleted_at === message.deleted_at && known.text === message.text) return false;
    byId.set(message.id, message);
    return true;
  }

  return {
    get cursor() {
      return cursor;
    },
    get oldest() {
      return oldest;
    },
    open(page) {
      oldest = page.find(usable)?.seq ?? 0;
      return this.changes(page);
    },
    changes(messages) {
      let changed = false;
      for (const message of messages) if (usable(message) && put(message, true)) changed = true;
      return changed;
    },
    posted(message) {
      return usable(message) && message.seq > 0 && put(message, false);
    },
    older(page) {
      let changed = false;
      for (const message of page) {
        if (!usable(message) || byId.has(message.id)) continue;
        byId.set(message.id, message);
        changed = true;
      }
      const first = page.find(usable)?.seq;
      if (first !== undefined) oldest = oldest === 0 ? first : Math.min(oldest, first);
      return changed;
    },
    list() {
      return [...byId.values()].toSorted((a, b) => a.seq - b.seq);
    },
  };
}
