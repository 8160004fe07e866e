import MarkdownIt from 'markdown-it';
import type { ChannelOut, IncidentSummaryOut } from './chat.service.ts';
import type { ChatMessage } from './chat.types.ts';

export interface ExportData {
  channel: ChannelOut;
  messages: ChatMessage[];
  files: Map<string, { content_type: string; data: Buffer }>;
  summary: IncidentSummaryOut | null;
}

/** Links may go to http(s), mailto or a relative path; nothing else (javascript:, data:, file:, …). */
export function isSafeLink(url: string): boolean {
  const trimmed = url.trim();
  if (/^(https?:|mailto:)/i.test(trimmed)) return true;
  // Relative: no scheme before the first / ? or #.
  return !/^[^/?#]*:/.test(trimmed) && !trimmed.startsWith('//');
}

/** Markdown as users write it, rendered inertly: no raw HTML, no remote images, safe links only. */
function createRenderer() {
  const md = new MarkdownIt({ html: false, linkify: true, breaks: true });
  md.validateLink = isSafeLink;
  // Remote images would load from the network (and track the reader); only stored files are shown, inline.
  md.disable('image');
  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  return md;
}

const md = createRenderer();

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const DATA_IMAGE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  return `${h} h ${Math.round((seconds % 3600) / 60)} min`;
}

/**
 * Slack blocks and legacy attachments as stored (shapes checked on intake, but read here as unknown so an
 * odd row cannot break an export), reduced to what an export shows. Text objects of type `mrkdwn` were
 * converted to the war room's Markdown on intake; `plain_text` and titles are plain.
 */
type Inline = { markdown: string } | { plain: string };
/** An image is never loaded from elsewhere (the export opens offline): it becomes a link, or just its label. */
interface ImageRef { label: string; url: string | null }
type Block =
  | { type: 'header'; text: string }
  | { type: 'section'; text: Inline | null; fields: Inline[]; image: ImageRef | null }
  | { type: 'context'; items: (Inline | ImageRef)[] }
  | { type: 'image'; image: ImageRef }
  | { type: 'divider' };
interface Card {
  pretext: string | null;
  title: string | null;
  titleLink: string | null;
  text: string | null;
  fields: { title: string; value: string }[];
  image: ImageRef | null;
  footer: string | null;
}

const record = (value: unknown): Record<string, unknown> | null => (value && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null);
const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : typeof value === 'number' ? String(value) : null);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Only absolute http(s) URLs become links in an export (no javascript:, data:, file: or relative paths, which mean nothing offline). */
export function exportLink(url: unknown): string | null {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url.trim())) return null;
  try {
    return new URL(url.trim()).href;
  } catch {
    return null;
  }
}

function inline(value: unknown): Inline | null {
  const plain = str(value);
  if (plain !== null) return { plain };
  const object = record(value);
  const text = str(object?.text);
  if (!object || text === null) return null;
  return object.type === 'mrkdwn' ? { markdown: text } : { plain: text };
}

function imageRef(url: unknown, ...labels: unknown[]): ImageRef {
  const label = labels.map((l) => str(l) ?? str(record(l)?.text)).find((l) => l !== null) ?? 'image';
  return { label, url: exportLink(url) };
}

/** The blocks an export shows (header, section, context, image, divider); other types are left out. */
function blocksOf(blocks: unknown): Block[] {
  return list(blocks).flatMap((raw): Block[] => {
    const b = record(raw);
    switch (b?.type) {
      case 'header': {
        const text = inline(b.text);
        return text ? [{ type: 'header', text: 'plain' in text ? text.plain : text.markdown }] : [];
      }
      case 'section': {
        const accessory = record(b.accessory);
        const block: Block = {
          type: 'section', text: inline(b.text), fields: list(b.fields).map(inline).filter((f): f is Inline => f !== null),
          image: accessory?.type === 'image' ? imageRef(accessory.image_url, accessory.alt_text) : null,
        };
        return block.text || block.fields.length > 0 || block.image ? [block] : [];
      }
      case 'context': {
        const items = list(b.elements).map((element) => {
          const e = record(element);
          return e?.type === 'image' ? imageRef(e.image_url, e.alt_text) : inline(element);
        }).filter((item): item is Inline | ImageRef => item !== null);
        return items.length > 0 ? [{ type: 'context', items }] : [];
      }
      case 'image':
        return [{ type: 'image', image: imageRef(b.image_url, b.alt_text, b.title) }];
      case 'divider':
        return [{ type: 'divider' }];
      default:
        return [];
    }
  });
}

function cardsOf(attachments: unknown): Card[] {
  return list(attachments).flatMap((raw): Card[] => {
    const a = record(raw);
    if (!a) return [];
    const title = str(a.title);
    const card: Card = {
      pretext: str(a.pretext), title, titleLink: exportLink(a.title_link), text: str(a.text),
      fields: list(a.fields).flatMap((f) => {
        const field = record(f);
        const t = str(field?.title) ?? '';
        const v = str(field?.value) ?? '';
        return t || v ? [{ title: t, value: v }] : [];
      }),
      image: str(a.image_url) === null ? null : imageRef(a.image_url, title, 'attached image'),
      footer: str(a.footer),
    };
    // A card with nothing else still says what it was about.
    if (!card.pretext && !card.title && !card.text && card.fields.length === 0 && !card.image && !card.footer) card.text = str(a.fallback);
    return card.text || card.pretext || card.title || card.fields.length > 0 || card.image || card.footer ? [card] : [];
  });
}

/** Plain text inside Markdown: the characters that would start formatting or a link are escaped. */
const escapeMarkdown = (text: string): string => text.replace(/[\\`*_[\]<>]/g, '\\$&').replace(/^(\s*)([#>+-]|\d+\.)(?=\s)/gm, '$1\\$2');
const markdownUrl = (url: string): string => url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const inlineMarkdown = (i: Inline): string => ('markdown' in i ? i.markdown : escapeMarkdown(i.plain));
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

function imageMarkdown(image: ImageRef): string {
  const label = escapeMarkdown(oneLine(image.label));
  return image.url ? `🖼 [${label}](${markdownUrl(image.url)})` : `🖼 ${label}`;
}

function blockMarkdown(block: Block): string {
  switch (block.type) {
    case 'header':
      return `### ${escapeMarkdown(oneLine(block.text))}`;
    case 'section':
      return [block.text ? inlineMarkdown(block.text) : null, ...block.fields.map((f) => `- ${oneLine(inlineMarkdown(f))}`), block.image ? imageMarkdown(block.image) : null]
        .filter((part) => part !== null).join('\n\n');
    case 'context':
      return `_${block.items.map((i) => ('label' in i ? imageMarkdown(i) : oneLine(inlineMarkdown(i)))).join(' · ')}_`;
    case 'image':
      return imageMarkdown(block.image);
    case 'divider':
      return '* * *';
  }
}

/** A card as a quote: title (linked when it has an http(s) link), text, fields, image link, footer. */
function cardMarkdown(card: Card): string {
  const title = card.title === null ? null : card.titleLink ? `**[${escapeMarkdown(oneLine(card.title))}](${markdownUrl(card.titleLink)})**` : `**${escapeMarkdown(oneLine(card.title))}**`;
  const parts = [
    card.pretext, title, card.text, ...card.fields.map((f) => `${f.title ? `**${escapeMarkdown(f.title)}:** ` : ''}${f.value}`),
    card.image ? imageMarkdown(card.image) : null, card.footer === null ? null : `_${escapeMarkdown(card.footer)}_`,
  ].filter((part): part is string => part !== null);
  return parts.map((p) => `> ${p.replace(/\n/g, '\n> ')}`).join('\n>\n');
}

const linkHtml = (url: string, label: string): string => `<a href="${escapeHtml(url)}" rel="noopener noreferrer nofollow">${escapeHtml(label)}</a>`;
const inlineHtml = (i: Inline): string => ('markdown' in i ? md.renderInline(i.markdown) : escapeHtml(i.plain));

function imageHtml(image: ImageRef): string {
  return `<span class="image-ref">🖼 ${image.url ? linkHtml(image.url, image.label) : escapeHtml(image.label)}</span>`;
}

function blockHtml(block: Block): string {
  switch (block.type) {
    case 'header':
      return `<h3 class="block-header">${escapeHtml(block.text)}</h3>`;
    case 'section':
      return `<div class="block-section">${block.text ? ('markdown' in block.text ? md.render(block.text.markdown) : `<p>${escapeHtml(block.text.plain)}</p>`) : ''}` +
        `${block.fields.length > 0 ? `<ul class="fields">${block.fields.map((f) => `<li>${inlineHtml(f)}</li>`).join('')}</ul>` : ''}` +
        `${block.image ? `<p>${imageHtml(block.image)}</p>` : ''}</div>`;
    case 'context':
      return `<p class="block-context">${block.items.map((i) => ('label' in i ? imageHtml(i) : inlineHtml(i))).join(' · ')}</p>`;
    case 'image':
      return `<p class="block-image">${imageHtml(block.image)}</p>`;
    case 'divider':
      return '<hr>';
  }
}

function cardHtml(card: Card): string {
  const parts = [
    card.pretext === null ? '' : `<div>${md.render(card.pretext)}</div>`,
    card.title === null ? '' : `<p class="card-title"><strong>${card.titleLink ? linkHtml(card.titleLink, card.title) : escapeHtml(card.title)}</strong></p>`,
    card.text === null ? '' : `<div>${md.render(card.text)}</div>`,
    card.fields.length === 0 ? '' : `<dl class="fields">${card.fields.map((f) => `<dt>${escapeHtml(f.title)}</dt><dd>${md.renderInline(f.value)}</dd>`).join('')}</dl>`,
    card.image ? `<p>${imageHtml(card.image)}</p>` : '',
    card.footer === null ? '' : `<p class="meta">${escapeHtml(card.footer)}</p>`,
  ];
  return `<blockquote class="card">${parts.join('')}</blockquote>`;
}

const authorLabel = (m: ChatMessage): string => (m.author.type === 'user' ? m.author.name : `${m.author.name} (${m.author.type})`);

/** Markdown of the whole channel; images inline as data: URIs so the file stands alone. */
export function renderMarkdown(data: ExportData): string {
  const lines: string[] = [`# #${data.channel.name}`, ''];
  if (data.channel.topic) lines.push(`> ${data.channel.topic.replace(/\n/g, ' ')}`, '');
  if (data.summary) {
    const s = data.summary;
    lines.push(
      `**Incident #${s.incident.number}: ${s.incident.title}** (${s.status}, ${s.incident.urgency} urgency, ${s.service.name})`, '',
      `Started ${s.started_at}${s.resolved_at ? `, resolved ${s.resolved_at}` : ''}; ${formatDuration(s.duration_seconds)}. ` +
        `On it: ${s.on_it.map((u) => u.name).join(', ') || 'nobody'}. ${s.incident.url}`, '',
    );
  }
  lines.push('---', '');
  for (const m of data.messages) {
    const edited = m.edited_at ? ' (edited)' : '';
    lines.push(`**${authorLabel(m)}** · ${m.created_at} · #${m.seq}${m.kind === 'message' ? '' : ` · ${m.kind}`}${edited}`, '');
    if (m.deleted_at) {
      lines.push(`_message deleted ${m.deleted_at}_`, '');
      continue;
    }
    if (m.text) lines.push(m.text, '');
    for (const card of cardsOf(m.attachments)) lines.push(cardMarkdown(card), '');
    for (const block of blocksOf(m.blocks)) lines.push(blockMarkdown(block), '');
    for (const f of m.files) {
      const stored = data.files.get(f.id);
      if (stored && DATA_IMAGE.has(stored.content_type)) {
        lines.push(`![${(f.alt ?? f.name).replace(/[[\]]/g, '')}](data:${stored.content_type};base64,${stored.data.toString('base64')})`, '');
      } else {
        lines.push(`📎 ${f.name} (${f.content_type}, ${f.size} bytes)`, '');
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

const STYLE = `body{font:14px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1b1f24;background:#fff}
h1{font-size:1.5em}.summary{border:1px solid #d0d7de;border-radius:6px;padding:.75em 1em;background:#f6f8fa}
.msg{border-top:1px solid #eaeef2;padding:.5em 0}.meta{color:#57606a;font-size:.85em}.author{font-weight:600;color:#1b1f24}
.event{color:#57606a}.event .body{font-size:.95em}.deleted{font-style:italic;color:#8c959f}
.body img,.file img{max-width:100%;height:auto;border:1px solid #d0d7de;border-radius:4px}
pre{background:#f6f8fa;padding:.5em;overflow:auto}code{background:#f6f8fa;padding:0 .2em}
blockquote{margin:0;padding-left:.75em;border-left:3px solid #d0d7de;color:#57606a}
.card{margin:.5em 0}.card-title{margin:.25em 0}.fields dt{font-weight:600}.fields dd{margin:0 0 .25em 1em}
.block-header{font-size:1.1em;margin:.5em 0 .25em}.block-context{color:#57606a;font-size:.9em}`;

/** One HTML file: inline CSS, images as data: URIs, no scripts, every user text escaped or rendered inertly. */
export function renderHtml(data: ExportData): string {
  const out: string[] = [];
  out.push('<!doctype html><html lang="en"><head><meta charset="utf-8">',
    // Belt and braces: even a mistake in rendering cannot run script or fetch anything.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>#${escapeHtml(data.channel.name)}</title><style>${STYLE}</style></head><body>`,
    `<h1>#${escapeHtml(data.channel.name)}</h1>`);
  if (data.channel.topic) out.push(`<p class="meta">${escapeHtml(data.channel.topic)}</p>`);
  if (data.summary) {
    const s = data.summary;
    out.push('<div class="summary">',
      `<div><strong>Incident #${s.incident.number}: ${escapeHtml(s.incident.title)}</strong></div>`,
      `<div>${escapeHtml(s.status)} · ${escapeHtml(s.incident.urgency)} urgency · ${escapeHtml(s.service.name)}</div>`,
      `<div>Started ${escapeHtml(s.started_at)}${s.resolved_at ? ` · resolved ${escapeHtml(s.resolved_at)}` : ''} · ${formatDuration(s.duration_seconds)}</div>`,
      `<div>On it: ${escapeHtml(s.on_it.map((u) => u.name).join(', ') || 'nobody')}${s.acknowledged_by ? ` · acknowledged by ${escapeHtml(s.acknowledged_by)}` : ''}</div>`,
      isSafeLink(s.incident.url) ? `<div><a href="${escapeHtml(s.incident.url)}">${escapeHtml(s.incident.url)}</a></div>` : '',
      '</div>');
  }
  for (const m of data.messages) {
    out.push(`<div class="msg ${m.kind}" id="m${m.seq}"><div class="meta"><span class="author">${escapeHtml(authorLabel(m))}</span> · <time>${escapeHtml(m.created_at)}</time>`,
      `${m.kind === 'message' ? '' : ` · ${escapeHtml(m.kind)}`}${m.edited_at ? ' · edited' : ''}</div>`);
    if (m.deleted_at) {
      out.push(`<div class="deleted">message deleted ${escapeHtml(m.deleted_at)}</div></div>`);
      continue;
    }
    if (m.text) out.push(`<div class="body">${md.render(m.text)}</div>`);
    for (const card of cardsOf(m.attachments)) out.push(cardHtml(card));
    const blocks = blocksOf(m.blocks);
    if (blocks.length > 0) out.push(`<div class="blocks">${blocks.map(blockHtml).join('')}</div>`);
    for (const f of m.files) {
      const stored = data.files.get(f.id);
      if (stored && DATA_IMAGE.has(stored.content_type)) {
        out.push(`<div class="file"><img alt="${escapeHtml(f.alt ?? f.name)}" src="data:${stored.content_type};base64,${stored.data.toString('base64')}"></div>`);
      } else {
        out.push(`<div class="file meta">📎 ${escapeHtml(f.name)} (${escapeHtml(f.content_type)}, ${f.size} bytes)</div>`);
      }
    }
    out.push('</div>');
  }
  out.push(`<p class="meta">Exported from Firewatch: ${data.messages.length} messages.</p></body></html>\n`);
  return out.join('');
}
