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
    for (const a of m.attachments) {
      const parts = [a.pretext, a.title, a.text, ...(a.fields ?? []).map((f) => `${f.title}: ${f.value}`), a.footer].filter(Boolean);
      if (parts.length > 0) lines.push(parts.map((p) => `> ${String(p).replace(/\n/g, '\n> ')}`).join('\n'), '');
    }
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
blockquote{margin:0;padding-left:.75em;border-left:3px solid #d0d7de;color:#57606a}`;

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
    for (const a of m.attachments) {
      const parts = [a.pretext, a.title, a.text, ...(a.fields ?? []).map((f) => `${f.title}: ${f.value}`), a.footer].filter(Boolean);
      if (parts.length > 0) out.push(`<blockquote>${parts.map((p) => escapeHtml(String(p))).join('<br>')}</blockquote>`);
    }
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
