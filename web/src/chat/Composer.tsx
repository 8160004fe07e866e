import { type ChangeEvent, type FormEvent, type KeyboardEvent, useEffect, useState } from 'react';
import { errorText } from '../api.ts';
import { useAction } from '../components/useAction.ts';
import { chatApi } from './chatApi.ts';
import type { ChatCommand, ChatFile, ChatMessage } from './types.ts';

// Shown until GET /api/v1/commands answers (or when the server has no command list).
const FALLBACK_COMMANDS: ChatCommand[] = [
  { name: 'ack', usage: '/ack', description: 'acknowledge this incident' },
  { name: 'resolve', usage: '/resolve', description: 'resolve this incident' },
  { name: 'graph', usage: '/graph <query> [range]', description: 'post a graph snapshot' },
  { name: 'help', usage: '/help', description: 'list commands' },
];

let commandList: Promise<ChatCommand[]> | null = null;
function loadCommands(): Promise<ChatCommand[]> {
  commandList ??= chatApi.commands().then(
    (answer) => (Array.isArray(answer?.commands) && answer.commands.length > 0 ? answer.commands : FALLBACK_COMMANDS),
    () => FALLBACK_COMMANDS,
  );
  return commandList;
}

function commandName(command: ChatCommand): string {
  return String(command.name ?? '').replace(/^\//, '');
}

/**
 * The message box: Enter sends, Shift+Enter starts a new line; a line starting with `/` shows the
 * matching commands; files are uploaded first and sent with the message. `extra` adds a second action on
 * the same text (the incident page's "Add note").
 */
export function Composer(props: {
  channel: string | null;
  onSent: (message: ChatMessage | null, reply: ChatMessage | null | undefined) => void;
  textareaName?: string;
  placeholder?: string;
  extra?: { label: string; busyLabel: string; run: (text: string) => Promise<void> };
}) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<ChatFile[]>([]);
  const [uploading, setUploading] = useState(false);
  const [commands, setCommands] = useState<ChatCommand[]>(FALLBACK_COMMANDS);
  const [extraBusy, setExtraBusy] = useState(false);
  const { busy, error, setError, run } = useAction();
  const { channel } = props;

  useEffect(() => {
    if (!channel) return;
    let active = true;
    loadCommands().then((list) => active && setCommands(list));
    return () => {
      active = false;
    };
  }, [channel]);

  const trimmed = text.trim();
  const word = /^\/(\S*)$/.exec(text.trimStart())?.[1];
  const hints = word !== undefined && channel ? commands.filter((command) => commandName(command).startsWith(word.toLowerCase())) : [];

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    if (!channel || busy || uploading || (!trimmed && files.length === 0)) return;
    await run(async () => {
      const answer = await chatApi.post(channel, trimmed, files.map((file) => file.id));
      setText('');
      setFiles([]);
      props.onSent(answer?.message ?? null, answer?.reply);
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    } else if (event.key === 'Tab' && hints.length === 1) {
      event.preventDefault();
      setText(`/${commandName(hints[0])} `);
    }
  };

  const attach = async (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = [...(event.target.files ?? [])];
    event.target.value = '';
    if (chosen.length === 0) return;
    setUploading(true);
    setError(null);
    try {
      for (const file of chosen) {
        const stored = await chatApi.upload(file);
        setFiles((list) => [...list, stored]);
      }
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setUploading(false);
    }
  };

  const runExtra = async () => {
    if (!props.extra || !trimmed || extraBusy) return;
    setExtraBusy(true);
    const ok = await run(() => props.extra!.run(trimmed));
    if (ok) setText('');
    setExtraBusy(false);
  };

  return (
    <form className="chat-composer" onSubmit={send}>
      {hints.length > 0 && (
        <ul className="chat-command-hints" aria-label="Commands">
          {hints.map((command) => (
            <li key={commandName(command)}>
              <button type="button" className="chat-hint" onClick={() => setText(`/${commandName(command)} `)}>
                <code>{command.usage ?? `/${commandName(command)}`}</code> <span className="muted">{command.summary ?? command.description}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <textarea
        name={props.textareaName ?? 'message'}
        aria-label={channel ? 'Message' : 'Note'}
        rows={2}
        maxLength={10_000}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={channel ? onKeyDown : undefined}
        placeholder={props.placeholder ?? 'Message, or /help for commands (Enter sends, Shift+Enter for a new line)'}
      />
      {files.length > 0 && (
        <ul className="chat-pending-files">
          {files.map((file) => (
            <li key={file.id}>
              {file.name}{' '}
              <button type="button" className="chat-marker" onClick={() => setFiles((list) => list.filter((f) => f.id !== file.id))}>remove</button>
            </li>
          ))}
        </ul>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="chat-composer-buttons">
        {channel && (
          <>
            <button type="submit" className="button primary" disabled={busy || uploading || (!trimmed && files.length === 0)}>
              {busy && !extraBusy ? 'Sending…' : 'Send'}
            </button>
            <label className="button chat-attach">
              {uploading ? 'Uploading…' : 'Attach'}
              <input type="file" multiple onChange={attach} disabled={uploading} className="visually-hidden" />
            </label>
          </>
        )}
        {props.extra && (
          <button type="button" className={channel ? 'button' : 'button primary'} disabled={busy || !trimmed} onClick={runExtra}>
            {extraBusy ? props.extra.busyLabel : props.extra.label}
          </button>
        )}
      </div>
    </form>
  );
}
