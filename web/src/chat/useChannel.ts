import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, errorText } from '../api.ts';
import { chatApi } from './chatApi.ts';
import { createMessageStore } from './messageStore.ts';
import { subscribeChannel } from './socket.ts';
import type { Channel, ChannelSummary, ChatMessage, Member, ServerFrame } from './types.ts';

const PAGE = 50;
const FILL_PAGE = 200;

export interface ChannelState {
  channel: Channel | null;
  /** Stored messages, ascending seq, one per id (edits and deletions replace). */
  messages: ChatMessage[];
  /** Replies only this user sees (not stored; gone after a reload). */
  ephemeral: ChatMessage[];
  summary: ChannelSummary | null;
  members: Member[];
  hasOlder: boolean;
  /** The first message that was unread when the channel was opened (for the divider), or null. */
  firstUnreadSeq: number | null;
  error: string | null;
  missing: boolean;
  loading: boolean;
  loadOlder: () => Promise<void>;
  /** Adds what a POST answered at once (the socket brings it too; ids dedupe); it does not move the resume cursor. */
  accept: (message: ChatMessage | null | undefined, reply?: ChatMessage | null) => void;
}

/** The seq of the first unread message: `unread` counts live messages by others, newest backwards. */
function firstUnread(messages: ChatMessage[], unread: number, myId: string | null): number | null {
  if (unread <= 0) return null;
  let left = unread;
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message.deleted_at || (myId && message.author?.id === myId)) continue;
    if (--left === 0) return message.seq;
  }
  return messages[0]?.seq ?? null;
}

/**
 * One channel, live: the latest page over REST, then the WebSocket from the highest version loaded. The
 * server replays every change after that version on each (re)subscribe, in version order, so a reconnect
 * skips nothing; ids dedupe what arrives twice (the POST's answer and its frame, a replay overlap). If the
 * replay falls short of the cursor the server announced, the rest comes over REST. Only that ordered
 * stream moves the cursor (messageStore.ts), never a POST's answer.
 */
/** Meant to be remounted (keyed) when `name` changes from one channel to another. */
export function useChannel(name: string | null, myId: string | null = null): ChannelState {
  const [channel, setChannel] = useState<Channel | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [ephemeral, setEphemeral] = useState<ChatMessage[]>([]);
  const [summary, setSummary] = useState<ChannelSummary | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [hasOlder, setHasOlder] = useState(false);
  const [firstUnreadSeq, setFirstUnreadSeq] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [loading, setLoading] = useState(true);

  /** What is shown, and the version the socket resumes after and REST fills from (see messageStore.ts). */
  const store = useRef(createMessageStore());
  const filling = useRef(false);
  const readSent = useRef(0);
  const active = useRef(0);

  const publish = useCallback(() => setMessages(store.current.list()), []);

  /** Changes from the ordered stream (socket frames, REST fills): these move the cursor. */
  const merge = useCallback((incoming: ChatMessage[]) => {
    if (store.current.changes(incoming)) publish();
  }, [publish]);

  const fill = useCallback(async (channelName: string, generation: number) => {
    if (filling.current) return;
    filling.current = true;
    try {
      for (;;) {
        const page = await chatApi.messages(channelName, { after_seq: store.current.cursor, limit: FILL_PAGE });
        if (generation !== active.current) return;
        merge(page.messages);
        if (!page.has_more || page.messages.length === 0) break;
      }
    } catch {
      // The next frame or reconnect tries again.
    } finally {
      filling.current = false;
    }
  }, [merge]);

  useEffect(() => {
    if (!name) return;
    const generation = ++active.current;
    store.current = createMessageStore();
    readSent.current = 0;
    let unsubscribe: (() => void) | null = null;
    let checkTimer: ReturnType<typeof setTimeout> | undefined;

    const onFrame = (frame: ServerFrame) => {
      if (generation !== active.current) return;
      switch (frame.type) {
        case 'message':
          merge([frame.message]);
          break;
        case 'ephemeral':
          if (frame.message) setEphemeral((list) => (list.some((m) => m.id === frame.message.id) ? list : [...list, { ...frame.message, created_at: frame.message.created_at ?? new Date().toISOString() }]));
          break;
        case 'presence':
          setMembers(Array.isArray(frame.users) ? frame.users : []);
          break;
        case 'summary':
          setSummary(frame.summary ?? null);
          break;
        case 'subscribed':
          setChannel((current) => (current ? { ...current, last_seq: Math.max(current.last_seq, frame.last_seq) } : current));
          // The server replays what was missed; if that falls short, fetch the rest.
          clearTimeout(checkTimer);
          checkTimer = setTimeout(() => {
            if (generation === active.current && store.current.cursor < frame.last_seq) void fill(name, generation);
          }, 700);
          break;
        case 'error':
          if (frame.code === 'not_found' || frame.code === 'channel_not_found') setError(frame.message);
          break;
      }
    };

    (async () => {
      try {
        const detail = await chatApi.getChannel(name);
        if (generation !== active.current) return;
        const page = await chatApi.messages(name, { limit: PAGE });
        if (generation !== active.current) return;
        setChannel(detail.channel);
        setSummary(detail.summary ?? null);
        setMembers(detail.members_online ?? []);
        setFirstUnreadSeq(firstUnread(page.messages, detail.channel.unread, myId));
        setHasOlder(page.has_more);
        if (store.current.open(page.messages)) publish();
        setLoading(false);
        unsubscribe = subscribeChannel(name, () => store.current.cursor, onFrame);
      } catch (failure) {
        if (generation !== active.current) return;
        setLoading(false);
        if (failure instanceof ApiError && failure.status === 404) setMissing(true);
        else setError(errorText(failure));
      }
    })();

    const generations = active;
    return () => {
      generations.current++;
      clearTimeout(checkTimer);
      unsubscribe?.();
    };
  }, [name, myId, merge, fill, publish]);

  // Tell the server how far this user has read, while the page is visible.
  const highest = messages.length > 0 ? messages[messages.length - 1].seq : 0;
  useEffect(() => {
    if (!name || highest <= readSent.current) return;
    const send = () => {
      if (document.visibilityState !== 'visible' || highest <= readSent.current) return;
      readSent.current = highest;
      chatApi.markRead(name, highest).catch(() => {
        readSent.current = 0;
      });
    };
    const timer = setTimeout(send, 400);
    document.addEventListener('visibilitychange', send);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', send);
    };
  }, [name, highest]);

  const loadOlder = useCallback(async () => {
    if (!name) return;
    const first = messages[0]?.seq;
    if (!first || first <= 1) {
      setHasOlder(false);
      return;
    }
    const generation = active.current;
    const page = await chatApi.messages(name, { before_seq: first, limit: PAGE });
    if (generation !== active.current) return;
    // Older pages do not move the cursor: they are positions, not changes.
    store.current.older(page.messages);
    publish();
    setHasOlder(page.has_more);
  }, [name, messages, publish]);

  const accept = useCallback((message: ChatMessage | null | undefined, reply?: ChatMessage | null) => {
    // Shown at once, but the cursor waits for its frame: others' messages before it may still be on their way.
    if (message && store.current.posted(message)) publish();
    if (reply) setEphemeral((list) => (list.some((m) => m.id === reply.id) ? list : [...list, { ...reply, created_at: reply.created_at ?? new Date().toISOString() }]));
  }, [publish]);

  return { channel, messages, ephemeral, summary, members, hasOlder, firstUnreadSeq, error, missing, loading, loadOlder, accept };
}
