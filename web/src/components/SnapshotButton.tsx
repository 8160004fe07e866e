import { type FormEvent, useState } from 'react';
import { send } from '../api.ts';
import { can, useSession } from '../session.ts';
import { useAction } from './useAction.ts';

/** "Snapshot to channel": renders the chart server-side as a PNG and posts it into a war-room channel. */
export function SnapshotButton(props: { datasource: string | null; query: string; from: number; to: number; title: string; highlight?: string[]; defaultChannel?: string }) {
  const { session } = useSession();
  const [open, setOpen] = useState(false);
  const [channel, setChannel] = useState(props.defaultChannel ?? '');
  const [channels, setChannels] = useState<string[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  if (!can(session, 'responder')) return null;

  const show = () => {
    setOpen(true);
    setDone(null);
    send<{ channels: { name: string }[] }>('GET', '/api/v1/channels?limit=200').then((r) => setChannels(r.channels.map((c) => c.name)), () => setChannels([]));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await send<{ channel: string }>('POST', '/api/v1/snapshots', {
        datasource: props.datasource, query: props.query, from: Math.floor(props.from), to: Math.ceil(props.to), channel: channel.trim(), title: props.title,
        ...(props.highlight?.length ? { highlight: props.highlight } : {}),
      });
      setDone(r.channel);
      setOpen(false);
    });
  };

  if (!open) {
    return (
      <span className="snapshot">
        <button type="button" className="button small ghost" onClick={show}>Snapshot to channel</button>
        {done && <span className="muted small" role="status"> Posted to #{done}</span>}
      </span>
    );
  }
  const listId = `snap-channels-${props.title.replaceAll(/\W/g, '')}`;
  return (
    <form className="inline-form snapshot-form" onSubmit={submit}>
      <label className="visually-hidden" htmlFor={`${listId}-input`}>Channel</label>
      <input id={`${listId}-input`} list={listId} value={channel} onChange={(e) => setChannel(e.target.value)} placeholder="channel" required maxLength={100} />
      <datalist id={listId}>{channels.map((c) => <option key={c} value={c} />)}</datalist>
      <button type="submit" className="button small" disabled={action.busy || !channel.trim()}>{action.busy ? 'Posting…' : 'Post'}</button>
      <button type="button" className="button small ghost" onClick={() => setOpen(false)}>Cancel</button>
      {action.error && <span className="error small" role="alert">{action.error}</span>}
    </form>
  );
}
