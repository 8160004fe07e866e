import { type FormEvent, Fragment, type ReactNode, useState } from 'react';
import { errorText } from '../api.ts';
import { StatusBadge } from '../components/Badges.tsx';
import { Time, useNow } from '../components/Time.tsx';
import { formatDuration } from '../format.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';
import { chatApi } from './chatApi.ts';
import { type MessageActions, MessageView } from './MessageView.tsx';
import { useSocketStatus } from './socket.ts';
import type { ChannelSummary, ChatMessage, Member } from './types.ts';

/** "Reconnecting…" while the war-room socket is down. */
export function SocketStatusNote() {
  const status = useSocketStatus();
  if (status === 'open' || status === 'idle') return <span className="chat-socket chat-socket-open" data-status={status}>live</span>;
  return <span className="chat-socket chat-socket-down" data-status={status} role="status">{status === 'connecting' ? 'connecting…' : 'reconnecting…'}</span>;
}

export function Presence(props: { members: Member[] }) {
  return (
    <div className="chat-presence" aria-label="Who is here">
      <span className="muted small">In the room:</span>{' '}
      {props.members.length === 0 ? <span className="muted small">nobody else</span> : props.members.map((member) => (
        <span key={member.id} className="chat-member">{member.name}</span>
      ))}
    </div>
  );
}

export function ExportButtons(props: { channel: string }) {
  return (
    <span className="chat-export">
      <a className="button small" href={chatApi.exportUrl(props.channel, 'markdown')} download>Export Markdown</a>
      <a className="button small" href={chatApi.exportUrl(props.channel, 'html')} download>Export HTML</a>
    </span>
  );
}

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value : typeof value === 'number' ? String(value) : null);

function names(value: unknown): string[] {
  if (!Array.isArray(value)) return str(value) ? [str(value)!] : [];
  return value.map((item) => (item && typeof item === 'object' ? str((item as { name?: unknown }).name) ?? str((item as { email?: unknown }).email) : str(item))).filter((n): n is string => Boolean(n));
}

/** The pinned catch-up summary of an incident channel; shows whichever fields the server sent. */
export function SummaryCard(props: { summary: ChannelSummary | null }) {
  const now = useNow(1000);
  const s = props.summary;
  if (!s) return null;
  const status = str(s.status);
  const service = str(s.service) ?? str((s.service as { name?: unknown } | null)?.name);
  const people = [...new Set([...names(s.assignees), ...names(s.responders), ...names(s.on_it)])];
  const acknowledger = str(s.acknowledged_by) ?? str(s.acknowledger) ?? names(s.acknowledger)[0] ?? null;
  const started = str(s.started_at) ?? str(s.started);
  const resolvedAt = str(s.resolved_at);
  // Running incidents: the duration keeps counting here between summary updates.
  const durationSeconds = started && !resolvedAt && status !== 'resolved' && !Number.isNaN(Date.parse(started))
    ? Math.max(0, (now - Date.parse(started)) / 1000)
    : typeof s.duration_seconds === 'number' ? s.duration_seconds : null;
  const durationText = str(s.duration);
  const events = Array.isArray(s.key_events) ? s.key_events : Array.isArray(s.events) ? s.events : [];
  const title = str(s.title);
  const text = str(s.text);
  return (
    <section className="chat-summary" aria-label="Summary">
      <div className="chat-summary-head">
        <strong>Summary</strong>
        {status && <StatusBadge status={status} />}
        {title && <span className="chat-summary-title">{title}</span>}
      </div>
      <dl className="chat-summary-facts">
        {service && <div><dt>Service</dt><dd>{service}</dd></div>}
        {people.length > 0 && <div><dt>On it</dt><dd>{people.join(', ')}</dd></div>}
        {acknowledger && <div><dt>Acknowledged by</dt><dd>{acknowledger}</dd></div>}
        {started && <div><dt>Started</dt><dd><Time value={started} /></dd></div>}
        {typeof s.alert_count === 'number' && <div><dt>Alerts</dt><dd>{s.alert_count}</dd></div>}
        {(durationSeconds !== null || durationText) && <div><dt>{resolvedAt ? 'Lasted' : 'Running for'}</dt><dd>{durationSeconds !== null ? formatDuration(durationSeconds * 1000) : durationText}</dd></div>}
      </dl>
      {text && <p className="chat-summary-text">{text}</p>}
      {events.length > 0 && (
        <ol className="chat-summary-events">
          {events.slice(-8).map((event, index) => {
            const e = (event ?? {}) as Record<string, unknown>;
            return (
              <li key={index}>
                {str(e.at) && <Time value={str(e.at)} />} {str(e.text) ?? str(e.message) ?? str(e.type) ?? str(event)}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** What the signed-in user may do to a message: edit and delete their own. */
export function useMessageActions(): (message: ChatMessage) => MessageActions {
  const { session } = useSession();
  const userId = session.user?.id ?? null;
  const myNames = [userId, session.user?.name, session.user?.email?.split('@')[0], 'oncall', 'here', 'channel'].filter((n): n is string => Boolean(n));
  return (message) => ({ mine: Boolean(userId) && message.author?.type === 'user' && message.author.id === userId, myNames });
}

/** Messages in order with the unread divider before the first unread one. */
export function MessageList(props: { channel: string; messages: ChatMessage[]; ephemeral: ChatMessage[]; firstUnreadSeq: number | null }) {
  const actions = useMessageActions();
  const items: ReactNode[] = [];
  let dividerShown = false;
  for (const message of props.messages) {
    if (!dividerShown && props.firstUnreadSeq !== null && message.seq >= props.firstUnreadSeq) {
      dividerShown = true;
      items.push(<li key="unread" className="chat-unread-divider" role="separator"><span>New messages</span></li>);
    }
    items.push(
      <li key={message.id} className="chat-item">
        <MessageView message={message} channel={props.channel} actions={actions(message)} />
      </li>,
    );
  }
  for (const message of props.ephemeral) {
    items.push(
      <li key={`e-${message.id}`} className="chat-item">
        <MessageView message={message} channel={props.channel} ephemeral />
      </li>,
    );
  }
  return <ol className="chat-messages">{items.map((item, index) => <Fragment key={index}>{item}</Fragment>)}</ol>;
}

/** Search within one channel (or all, without `channel`); results link to their channel. */
export function SearchBox(props: { channel?: string }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<ChatMessage[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = async (event: FormEvent) => {
    event.preventDefault();
    if (!q.trim()) return;
    try {
      setResults(await chatApi.search(q.trim(), props.channel));
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  return (
    <div className="chat-search">
      <form onSubmit={search} className="chat-search-form" role="search">
        <input type="search" name="q" value={q} onChange={(event) => setQ(event.target.value)} placeholder={props.channel ? 'Search this channel' : 'Search all channels'} aria-label="Search messages" />
        <button type="submit" className="button small">Search</button>
        {results && <button type="button" className="button small ghost" onClick={() => setResults(null)}>Clear</button>}
      </form>
      {error && <p className="error" role="alert">{error}</p>}
      {results && (
        <ol className="chat-search-results">
          {results.length === 0 && <li className="muted">No messages match.</li>}
          {results.map((message) => (
            <li key={message.id}>
              {!props.channel && <Link to={`/channels/${encodeURIComponent(message.channel)}`}>#{message.channel}</Link>}
              <MessageView message={message} channel={message.channel} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
