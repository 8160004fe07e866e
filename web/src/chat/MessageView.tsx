import { useEffect, useState } from 'react';
import { errorText } from '../api.ts';
import { Time } from '../components/Time.tsx';
import { chatApi } from './chatApi.ts';
import { renderMarkdown, safeHref } from './markdown.ts';
import type { ChatFile, ChatLegacyAttachment, ChatMessage, MessageVersion } from './types.ts';

const AUTHOR_LABEL: Record<string, string> = { bot: 'bot', integration: 'app' };

/** Markdown as inert HTML (see markdown.ts: no raw HTML, no images, vetted links). */
export function Markdown(props: { text: string; className?: string }) {
  return <div className={props.className ?? 'chat-text'} dangerouslySetInnerHTML={{ __html: renderMarkdown(props.text) }} />;
}

/** Slack mrkdwn's `<url|text>` and `<url>` links as Markdown links; everything else as Markdown. */
function fromMrkdwn(text: string): string {
  return text.replace(/<((?:https?:|mailto:)[^|>\s]+)(?:\|([^>]*))?>/g, (_all, url: string, label?: string) => `[${(label || url).replace(/[[\]]/g, '')}](${url})`);
}

const COLORS: Record<string, string> = { good: '#12b76a', warning: '#f79009', danger: '#f04438' };

function cardColor(color: unknown): string | undefined {
  if (typeof color !== 'string') return undefined;
  if (COLORS[color]) return COLORS[color];
  return /^#?[0-9a-f]{3}([0-9a-f]{3})?$/i.test(color) ? (color.startsWith('#') ? color : `#${color}`) : undefined;
}

const text = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');

/** Only files served by this Firewatch are shown as images; others are links (nothing is fetched from elsewhere). */
function localImage(url: unknown): string | null {
  return typeof url === 'string' && /^\/api\/v1\/files\/[\w-]+$/.test(url) ? url : null;
}

function ImageRef(props: { url: unknown; alt: string }) {
  const local = localImage(props.url);
  if (local) return <img className="chat-image" src={local} alt={props.alt} loading="lazy" />;
  const href = safeHref(props.url);
  return href ? <a className="chat-image-link" href={href} target="_blank" rel="noopener noreferrer">{props.alt || 'Image'}</a> : null;
}

function AttachmentCard(props: { attachment: ChatLegacyAttachment }) {
  const a = props.attachment;
  const titleHref = safeHref(a.title_link);
  const fields = Array.isArray(a.fields) ? a.fields : [];
  return (
    <div className="chat-card" style={{ borderLeftColor: cardColor(a.color) }}>
      {a.pretext && <Markdown text={fromMrkdwn(text(a.pretext))} className="chat-card-pretext" />}
      {a.title && (
        <p className="chat-card-title">
          {titleHref ? <a href={titleHref} target="_blank" rel="noopener noreferrer">{text(a.title)}</a> : text(a.title)}
        </p>
      )}
      {a.text && <Markdown text={fromMrkdwn(text(a.text))} className="chat-card-text" />}
      {fields.length > 0 && (
        <dl className="chat-card-fields">
          {fields.map((field, index) => (
            <div key={index} className={field.short ? 'chat-field-short' : 'chat-field'}>
              <dt>{text(field.title)}</dt>
              <dd><Markdown text={fromMrkdwn(text(field.value))} className="chat-field-value" /></dd>
            </div>
          ))}
        </dl>
      )}
      {a.image_url && <ImageRef url={a.image_url} alt={text(a.title) || 'Attached image'} />}
      {a.footer && <p className="chat-card-footer">{text(a.footer)}</p>}
    </div>
  );
}

function blockText(value: unknown): string {
  if (!value || typeof value !== 'object') return text(value);
  const t = value as { type?: unknown; text?: unknown };
  return t.type === 'mrkdwn' ? fromMrkdwn(text(t.text)) : text(t.text).replace(/[\\`*_{}[\]()#+\-.!<>|~]/g, '\\$&');
}

function Block(props: { block: unknown }) {
  if (!props.block || typeof props.block !== 'object') return null;
  const block = props.block as Record<string, unknown>;
  switch (block.type) {
    case 'header':
      return <p className="chat-block-header">{text((block.text as { text?: unknown } | undefined)?.text)}</p>;
    case 'divider':
      return <hr className="chat-block-divider" />;
    case 'section': {
      const fields = Array.isArray(block.fields) ? block.fields : [];
      return (
        <div className="chat-block-section">
          {block.text !== undefined && <Markdown text={blockText(block.text)} />}
          {fields.length > 0 && (
            <div className="chat-card-fields">
              {fields.map((field, index) => <Markdown key={index} text={blockText(field)} className="chat-field-short" />)}
            </div>
          )}
          {(block.accessory as { type?: unknown } | undefined)?.type === 'image' && (
            <ImageRef url={(block.accessory as { image_url?: unknown }).image_url} alt={text((block.accessory as { alt_text?: unknown }).alt_text)} />
          )}
        </div>
      );
    }
    case 'context': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return (
        <div className="chat-block-context">
          {elements.map((element, index) => {
            const e = (element ?? {}) as Record<string, unknown>;
            return e.type === 'image' ? <span key={index}>{text(e.alt_text)}</span> : <Markdown key={index} text={blockText(e)} className="chat-context-item" />;
          })}
        </div>
      );
    }
    case 'image':
      return (
        <div className="chat-block-image">
          <ImageRef url={block.image_url} alt={text(block.alt_text) || text((block.title as { text?: unknown } | undefined)?.text)} />
        </div>
      );
    default:
      return null;
  }
}

function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function FileView(props: { file: ChatFile }) {
  const { file } = props;
  const url = chatApi.fileUrl(file.id);
  const live = safeHref(file.link);
  if (/^image\/(png|jpeg|gif|webp)$/i.test(file.content_type)) {
    return (
      <figure className="chat-file-image">
        <a href={live ?? url} target="_blank" rel="noopener noreferrer">
          <img src={url} alt={file.alt || file.name} loading="lazy" />
        </a>
        <figcaption>
          {live && <a className="chat-live-link" href={live} target="_blank" rel="noopener noreferrer">Open live view</a>}
          <a href={url} download={file.name}>{file.name}</a>
        </figcaption>
      </figure>
    );
  }
  return (
    <p className="chat-file">
      <a href={url} download={file.name}>{file.name}</a> <span className="muted small">{formatSize(file.size)}</span>
      {live && <> · <a className="chat-live-link" href={live} target="_blank" rel="noopener noreferrer">Open live view</a></>}
    </p>
  );
}

function History(props: { channel: string; id: string; onClose: () => void }) {
  const [versions, setVersions] = useState<MessageVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { channel, id } = props;
  useEffect(() => {
    let active = true;
    chatApi.history(channel, id).then((list) => active && setVersions(list), (failure: unknown) => active && setError(errorText(failure)));
    return () => {
      active = false;
    };
  }, [channel, id]);
  return (
    <div className="chat-history" role="dialog" aria-label="Message history">
      <div className="chat-history-head">
        <strong>History</strong>
        <button type="button" className="button small ghost" onClick={props.onClose}>Close</button>
      </div>
      {error && <p className="error">{error}</p>}
      {!versions && !error && <p className="muted">Loading…</p>}
      {versions && versions.length === 0 && <p className="muted">No earlier versions.</p>}
      {versions && versions.length > 0 && <p className="muted small">Earlier versions, oldest first:</p>}
      {versions && (
        <ol className="chat-history-list">
          {versions.map((version, index) => (
            <li key={index}>
              <span className="muted small">{version.change === 'deleted' ? 'Deleted' : 'Edited'} <Time value={version.changed_at} absolute /></span>
              <pre className="chat-history-text">{version.text}</pre>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export interface MessageActions {
  /** Whether this user may edit or delete the message. */
  mine: boolean;
  myNames: string[];
}

/** One chat message: author, time, Markdown text, cards, blocks, files, edit/delete markers and actions. */
export function MessageView(props: { message: ChatMessage; channel: string; actions?: MessageActions; ephemeral?: boolean }) {
  const { message, channel } = props;
  const [showHistory, setShowHistory] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const deleted = Boolean(message.deleted_at);
  const mentioned = props.actions?.myNames.some((n) => message.mentions?.some((m) => m.toLowerCase() === n.toLowerCase())) ?? false;
  const label = AUTHOR_LABEL[message.author?.type ?? 'user'];

  const save = async () => {
    if (editing === null) return;
    try {
      await chatApi.edit(channel, message.id, editing);
      setEditing(null);
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const remove = async () => {
    if (!window.confirm('Delete this message? Its history is kept.')) return;
    try {
      await chatApi.remove(channel, message.id);
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  return (
    <div className={`chat-msg chat-kind-${message.kind}${mentioned ? ' chat-mentions-me' : ''}${props.ephemeral ? ' chat-ephemeral' : ''}`} data-id={message.id} data-seq={message.seq} data-kind={message.kind}>
      <div className="chat-meta">
        <span className="chat-author">{message.author?.name ?? 'unknown'}</span>
        {label && <span className="chat-author-type">{label}</span>}
        <Time value={message.created_at} />
        {props.ephemeral && <span className="chat-only-you">only you can see this</span>}
        {message.edited_at && !deleted && <button type="button" className="chat-marker" onClick={() => setShowHistory((v) => !v)}>(edited)</button>}
        {props.actions?.mine && !deleted && !props.ephemeral && editing === null && (
          <span className="chat-actions">
            <button type="button" className="chat-marker" onClick={() => setEditing(message.text)}>Edit</button>
            <button type="button" className="chat-marker" onClick={remove}>Delete</button>
          </span>
        )}
      </div>
      {deleted ? (
        <p className="chat-deleted">
          This message was deleted. <button type="button" className="chat-marker" onClick={() => setShowHistory((v) => !v)}>History</button>
        </p>
      ) : editing !== null ? (
        <form className="chat-edit" onSubmit={(event) => { event.preventDefault(); void save(); }}>
          <textarea name="edit" rows={2} value={editing} onChange={(event) => setEditing(event.target.value)} />
          <div className="chat-edit-buttons">
            <button type="submit" className="button small primary" disabled={!editing.trim()}>Save</button>
            <button type="button" className="button small ghost" onClick={() => setEditing(null)}>Cancel</button>
          </div>
        </form>
      ) : (
        <>
          {message.text && <Markdown text={message.text} />}
          {(message.attachments ?? []).map((attachment, index) => <AttachmentCard key={index} attachment={attachment} />)}
          {Array.isArray(message.blocks) && message.blocks.length > 0 && (
            <div className="chat-blocks">{message.blocks.map((block, index) => <Block key={index} block={block} />)}</div>
          )}
          {(message.files ?? []).map((file) => <FileView key={file.id} file={file} />)}
        </>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      {showHistory && <History channel={channel} id={message.id} onClose={() => setShowHistory(false)} />}
    </div>
  );
}
