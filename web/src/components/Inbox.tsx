import { useEffect, useRef, useState } from 'react';
import { api } from '../api.ts';
import { useLiveRefresh } from '../live.ts';
import { Link } from '../router.tsx';
import type { NotificationRecord } from '../types.ts';
import { Time } from './Time.tsx';
import { useAction } from './useAction.ts';
import { useResource } from './useResource.ts';

// Timeline entries written in the same transaction as an in-app page.
const PAGING_ENTRIES = new Set(['assign', 'escalate', 'responder_added', 'notify']);
const POLL_MS = 60_000;

const KIND_TITLES: Record<string, string> = {
  triggered: 'You are paged',
  escalated: 'Escalated to you',
  renotify: 'New alert on your incident',
  unacknowledged: 'Back to triggered',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  handoff: 'On-call hand-off',
  test: 'Test notification',
};

/** The bell in the header: in-app notifications with the unread count, a list, and "mark read". */
export function Inbox() {
  const inbox = useResource('inbox', () => api.inbox());
  const { reload } = inbox;
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const { busy, error, run } = useAction();

  useLiveRefresh((event) => event.type === 'timeline.appended' && PAGING_ENTRIES.has(event.entry_type), () => void reload(), 1000);
  useEffect(() => {
    const timer = setInterval(() => void reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);

  // Closes on Escape and on a click elsewhere.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && setOpen(false);
    const onClick = (event: MouseEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const unread = inbox.data?.unread ?? 0;
  const items = inbox.data?.notifications ?? [];
  const markRead = (ids: string[]) => run(async () => {
    if (ids.length === 0) return;
    await api.markRead(ids);
    await inbox.reload();
  });

  return (
    <div className="inbox" ref={root}>
      <button
        type="button"
        className="bell"
        aria-expanded={open}
        aria-controls="inbox-panel"
        aria-label={unread > 0 ? `Notifications, ${unread} unread` : 'Notifications'}
        onClick={() => setOpen(!open)}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
          <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" />
        </svg>
        {unread > 0 && <span className="bell-count" data-testid="unread-count">{unread > 99 ? '99+' : unread}</span>}
      </button>
      {open && (
        <div id="inbox-panel" className="inbox-panel" role="region" aria-label="Notifications">
          <div className="inbox-head">
            <strong>Notifications</strong>
            <button type="button" className="button small" disabled={busy || unread === 0} onClick={() => void markRead(items.filter((n) => !n.read_at).map((n) => n.id))}>
              Mark all read
            </button>
          </div>
          {inbox.error && <p className="error" role="alert">{inbox.error}</p>}
          {error && <p className="error" role="alert">{error}</p>}
          {inbox.loading && <p className="muted inbox-empty" aria-busy="true">Loading…</p>}
          {inbox.data && items.length === 0 && <p className="muted inbox-empty">Nothing here. Pages for you also appear here when you have an in-app contact method or no rules at all.</p>}
          {items.length > 0 && (
            <ul className="inbox-list">
              {items.map((n) => (
                <InboxItem key={n.id} notification={n} onOpen={() => {
                  setOpen(false);
                  if (!n.read_at) void markRead([n.id]);
                }} onRead={() => void markRead([n.id])} />
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

function InboxItem(props: { notification: NotificationRecord; onOpen: () => void; onRead: () => void }) {
  const n = props.notification;
  const title = KIND_TITLES[n.kind] ?? n.kind;
  return (
    <li className={`inbox-item${n.read_at ? '' : ' unread'}`}>
      <div className="inbox-item-head">
        {n.incident_number ? (
          <span onClickCapture={props.onOpen}>
            <Link to={`/incidents/${n.incident_number}`}>#{n.incident_number} · {title}</Link>
          </span>
        ) : (
          <strong>{title}</strong>
        )}
        <Time value={n.created_at} />
      </div>
      {n.reason && <p className="inbox-reason">{n.reason}</p>}
      {!n.read_at && (
        <button type="button" className="link-button small" onClick={props.onRead}>Mark read</button>
      )}
    </li>
  );
}
