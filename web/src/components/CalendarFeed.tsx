import type { CalendarFeed } from '../types.ts';
import { CopyButton } from './CopyButton.tsx';
import { Time } from './Time.tsx';
import { useAction } from './useAction.ts';
import { useResource } from './useResource.ts';

/**
 * A secret iCalendar feed URL with copy, create and rotate. The URL is the credential: rotating it makes
 * the old one stop working.
 */
export function CalendarFeedBox(props: { load: () => Promise<CalendarFeed>; rotate: () => Promise<CalendarFeed>; name: string; mayRotate?: boolean }) {
  const feed = useResource(`feed:${props.name}`, props.load);
  const { busy, error, run } = useAction();
  const mayRotate = props.mayRotate ?? true;
  const url = feed.data?.url ?? null;
  const rotate = () => {
    if (url && !window.confirm('Make a new URL? Calendars subscribed to the current one stop updating.')) return;
    void run(async () => feed.setData(await props.rotate()));
  };
  return (
    <div className="feed" data-feed={props.name}>
      {feed.error && <p className="error" role="alert">{feed.error}</p>}
      {feed.loading && <p className="muted" aria-busy="true">Loading…</p>}
      {feed.data && (url ? (
        <>
          <div className="integration-url">
            <code className="feed-url">{url}</code>
            <CopyButton text={url} label="Copy URL" />
          </div>
          <p className="muted small">
            Created <Time value={feed.data.created_at} />. Anyone with this URL can read the shifts; subscribe to it in your calendar app (it updates on its own).
          </p>
        </>
      ) : (
        <p className="muted">No calendar URL yet.</p>
      ))}
      {error && <p className="error" role="alert">{error}</p>}
      {mayRotate && feed.data && (
        <button type="button" className="button small" disabled={busy} onClick={rotate}>
          {url ? 'Make a new URL' : 'Create calendar URL'}
        </button>
      )}
    </div>
  );
}
