import { type FormEvent, useEffect, useRef, useState } from 'react';
import { Time } from '../components/Time.tsx';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { Link, navigate } from '../router.tsx';
import { can, useSession } from '../session.ts';
import { chatApi } from './chatApi.ts';
import { Composer } from './Composer.tsx';
import { ExportButtons, MessageList, Presence, SearchBox, SocketStatusNote, SummaryCard } from './parts.tsx';
import { useChannel } from './useChannel.ts';

/** Team and incident channels with unread counts, a form for a new channel, search across channels. */
export function ChannelsPage() {
  const { session } = useSession();
  const list = useResource('channels', () => chatApi.listChannels());
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const { busy, error, run } = useAction();

  // Unread counts move while this page is open (without joining every room): refetch every 15 s while visible.
  const channels = list.data?.channels;
  const { reload } = list;
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, 15_000);
    return () => clearInterval(timer);
  }, [reload]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const wanted = name.trim().replace(/^#/, '');
    if (!wanted) return;
    await run(async () => {
      const channel = await chatApi.createChannel(wanted, topic);
      navigate(`/channels/${encodeURIComponent(channel?.name ?? wanted)}`);
    });
  };

  const sorted = (channels ?? []).toSorted((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'team' ? -1 : 1));
  return (
    <section className="chat-channels">
      <h1>War room</h1>
      <SearchBox />
      {list.error && <p className="error" role="alert">{list.error}</p>}
      {list.loading && <p className="muted" aria-busy="true">Loading channels…</p>}
      {channels && channels.length === 0 && <p className="muted">No channels yet. Incidents get one each; create a team channel below.</p>}
      <ul className="chat-channel-list">
        {sorted.map((channel) => (
          <li key={channel.id} className={`chat-channel-row chat-channel-${channel.kind}`} data-channel={channel.name}>
            <Link to={`/channels/${encodeURIComponent(channel.name)}`} className="chat-channel-name">#{channel.name}</Link>
            {channel.unread > 0 && <span className="chat-unread-badge" aria-label={`${channel.unread} unread`}>{channel.unread}</span>}
            {channel.kind === 'incident' && channel.incident_number !== null && (
              <Link to={`/incidents/${channel.incident_number}`} className="chat-channel-incident">incident #{channel.incident_number}</Link>
            )}
            {channel.topic && <span className="chat-channel-topic muted">{channel.topic}</span>}
            <span className="muted small chat-channel-created">created <Time value={channel.created_at} /></span>
          </li>
        ))}
      </ul>
      {can(session, 'responder') && (
        <form className="panel chat-new-channel" onSubmit={create}>
          <h2>New team channel</h2>
          <label className="field">
            <span>Name</span>
            <input name="channel-name" value={name} onChange={(event) => setName(event.target.value)} placeholder="platform-team" maxLength={80} required />
          </label>
          <label className="field">
            <span>Topic</span>
            <input name="channel-topic" value={topic} onChange={(event) => setTopic(event.target.value)} placeholder="What this channel is for" maxLength={250} />
          </label>
          {error && <p className="error" role="alert">{error}</p>}
          <button type="submit" className="button primary" disabled={busy || !name.trim()}>{busy ? 'Creating…' : 'Create channel'}</button>
        </form>
      )}
    </section>
  );
}

/** One channel: scrollback with older pages, live messages, presence, search, export and the composer. */
export function ChannelPage(props: { name: string }) {
  const { session } = useSession();
  const state = useChannel(props.name, session.user?.id ?? null);
  const bottom = useRef<HTMLDivElement>(null);
  const [olderBusy, setOlderBusy] = useState(false);
  const count = state.messages.length + state.ephemeral.length;
  const lastId = state.ephemeral.at(-1)?.id ?? state.messages.at(-1)?.id;

  useEffect(() => {
    document.title = `#${props.name} · Firewatch`;
    return () => {
      document.title = 'Firewatch';
    };
  }, [props.name]);

  // Follow new messages when the reader is near the bottom.
  const tail = `${lastId ?? ''}:${count}`;
  const seenTail = useRef('');
  useEffect(() => {
    const end = bottom.current;
    if (!end || seenTail.current === tail) return;
    seenTail.current = tail;
    if (end.getBoundingClientRect().top < window.innerHeight + 400) end.scrollIntoView({ block: 'end' });
  });

  if (state.missing) {
    return (
      <section className="empty-state">
        <h1>#{props.name} not found</h1>
        <p><Link to="/channels">All channels</Link></p>
      </section>
    );
  }
  const channel = state.channel;
  return (
    <article className="chat-channel">
      <p className="breadcrumb"><Link to="/channels">← Channels</Link></p>
      <header className="chat-channel-head">
        <div>
          <h1>#{props.name}</h1>
          {channel?.topic && <p className="muted chat-topic">{channel.topic}</p>}
          {channel?.kind === 'incident' && channel.incident_number !== null && (
            <p><Link to={`/incidents/${channel.incident_number}`}>Incident #{channel.incident_number}</Link></p>
          )}
        </div>
        <div className="chat-head-side">
          <SocketStatusNote />
          <ExportButtons channel={props.name} />
        </div>
      </header>
      <Presence members={state.members} />
      <SummaryCard summary={state.summary} />
      <SearchBox channel={props.name} />
      {state.error && <p className="error" role="alert">{state.error}</p>}
      {state.loading && <p className="muted" aria-busy="true">Loading messages…</p>}
      {state.hasOlder && (
        <button type="button" className="button small chat-older" disabled={olderBusy} onClick={async () => {
          setOlderBusy(true);
          await state.loadOlder().catch(() => {});
          setOlderBusy(false);
        }}>
          {olderBusy ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      {!state.loading && count === 0 && <p className="muted">No messages yet.</p>}
      <MessageList channel={props.name} messages={state.messages} ephemeral={state.ephemeral} firstUnreadSeq={state.firstUnreadSeq} />
      <div ref={bottom} />
      {can(session, 'responder') && channel && <Composer channel={props.name} onSent={state.accept} />}
    </article>
  );
}
