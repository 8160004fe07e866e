import { type ReactNode, useEffect, useState } from 'react';
import { humanize } from '../format.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';
import type { TimelineEntry } from '../types.ts';
import { incidentChannel } from './chatApi.ts';
import { Composer } from './Composer.tsx';
import { MessageView } from './MessageView.tsx';
import { ExportButtons, Presence, SocketStatusNote, SummaryCard, useMessageActions } from './parts.tsx';
import type { ChatMessage } from './types.ts';
import { useChannel } from './useChannel.ts';

type Item =
  | { kind: 'entry'; at: string; order: number; entry: TimelineEntry }
  | { kind: 'message'; at: string; order: number; message: ChatMessage; ephemeral: boolean };

type Filter = 'all' | 'messages' | 'events' | `type:${string}`;

function byTime(a: Item, b: Item): number {
  // Same instant: the timeline entry first (the bot's message about it follows), then by seq.
  return a.at.localeCompare(b.at) || (a.kind === b.kind ? a.order - b.order : a.kind === 'entry' ? -1 : 1);
}

function shown(item: Item, filter: Filter): boolean {
  if (filter === 'all') return true;
  if (filter === 'messages') return item.kind === 'message';
  if (filter === 'events') return item.kind === 'entry';
  return item.kind === 'entry' && `type:${item.entry.type}` === filter;
}

/**
 * The incident's one ordered stream: its timeline entries (trigger, acknowledge, notifications, notes, …)
 * and the conversation of its war-room channel, live, filterable, with the pinned catch-up summary and
 * a composer whose commands (`/ack`, `/resolve`, `/graph …`) act on this incident. Channel `event`
 * messages mirror timeline entries and are shown once, as the entry.
 */
export function IncidentStream(props: {
  number: number;
  timeline: TimelineEntry[];
  mayRespond: boolean;
  renderEntry: (entry: TimelineEntry) => ReactNode;
  addNote: (text: string) => Promise<void>;
}) {
  const { number, timeline } = props;
  const [channelName, setChannelName] = useState<string | null>(null);
  const [filter, setFilter] = useState<Filter>('all');
  const { session } = useSession();
  const state = useChannel(channelName, session.user?.id ?? null);
  const actions = useMessageActions();

  // The channel is made with the incident; until it shows up (or for incidents from before the war
  // room), look again with growing pauses.
  useEffect(() => {
    if (channelName) return;
    let active = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pause = 1000;
    const look = () => {
      incidentChannel(number).then((channel) => {
        if (!active) return;
        if (channel) setChannelName(channel.name);
        else retry();
      }, retry);
    };
    const retry = () => {
      if (!active) return;
      timer = setTimeout(look, pause);
      pause = Math.min(pause * 2, 30_000);
    };
    look();
    return () => {
      active = false;
      clearTimeout(timer);
    };
  }, [number, channelName]);

  const items: Item[] = timeline.map((entry, index) => ({ kind: 'entry', at: entry.at, order: index, entry }));
  for (const message of state.messages) {
    if (message.kind === 'event' && message.timeline_entry_id) continue;
    items.push({ kind: 'message', at: message.created_at, order: message.seq, message, ephemeral: false });
  }
  for (const message of state.ephemeral) {
    items.push({ kind: 'message', at: message.created_at, order: Number.MAX_SAFE_INTEGER, message, ephemeral: true });
  }
  items.sort(byTime);
  const visible = items.filter((item) => shown(item, filter));
  const types = [...new Set(timeline.map((entry) => entry.type))].toSorted();

  return (
    <section className="panel chat-stream">
      <div className="chat-stream-head">
        <h2>Timeline</h2>
        <label className="chat-filter">
          <span className="visually-hidden">Show</span>
          <select name="stream-filter" value={filter} onChange={(event) => setFilter(event.target.value as Filter)}>
            <option value="all">Everything</option>
            <option value="messages">Messages</option>
            <option value="events">Events</option>
            {types.map((type) => <option key={type} value={`type:${type}`}>{humanize(type)}</option>)}
          </select>
        </label>
        {channelName && (
          <span className="chat-stream-links">
            <SocketStatusNote />
            <Link to={`/channels/${encodeURIComponent(channelName)}`}>#{channelName}</Link>
            <ExportButtons channel={channelName} />
          </span>
        )}
      </div>
      {channelName && <SummaryCard summary={state.summary} />}
      {channelName && <Presence members={state.members} />}
      {state.error && <p className="error" role="alert">{state.error}</p>}
      {state.hasOlder && filter !== 'events' && (
        <button type="button" className="button small chat-older" onClick={() => void state.loadOlder().catch(() => {})}>Load older messages</button>
      )}
      {visible.length === 0 ? <p className="muted">{items.length === 0 ? 'Nothing has happened yet.' : 'Nothing matches this filter.'}</p> : (
        <ol className="timeline">
          {visible.map((item) => item.kind === 'entry' ? props.renderEntry(item.entry) : (
            <li key={item.ephemeral ? `e-${item.message.id}` : item.message.id} className="entry chat-entry" data-type={`chat-${item.message.kind}`}>
              <MessageView message={item.message} channel={channelName ?? ''} actions={item.ephemeral ? undefined : actions(item.message)} ephemeral={item.ephemeral} />
            </li>
          ))}
        </ol>
      )}
      {props.mayRespond && (
        <Composer
          channel={channelName}
          textareaName="note"
          placeholder={channelName ? 'Message the war room, /ack, /resolve, /graph … (Enter sends); or add it to the timeline as a note' : 'What did you find or do?'}
          onSent={state.accept}
          extra={{ label: 'Add note', busyLabel: 'Adding…', run: props.addNote }}
        />
      )}
    </section>
  );
}
