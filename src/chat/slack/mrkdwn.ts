/**
 * Slack mrkdwn ⇄ the war room's Markdown. Slack's format (api.slack.com/reference/surfaces/formatting):
 * `<url|label>` links, `<@U…>` / `<#C…|name>` / `<!channel>` mentions, `*bold*`, `_italic_`, `~strike~`,
 * and only `&`, `<`, `>` escaped as entities. Code spans and blocks are left exactly as sent.
 */

const SAFE_SCHEMES = /^(https?:|mailto:)/i;

/** Only http(s) and mailto links survive; anything else (javascript:, data:) becomes plain text. */
export function safeUrl(url: string | undefined | null): string | null {
  if (!url) return null;
  const trimmed = url.trim();
  if (!SAFE_SCHEMES.test(trimmed)) return null;
  try {
    return new URL(trimmed).href;
  } catch {
    return null;
  }
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] ?? '');
}

/** Characters that would start Markdown syntax inside a link label. */
function escapeLabel(label: string): string {
  return label.replace(/([[\]\\])/g, '\\$1');
}

/** A URL inside `(…)` must not close the link early. */
function markdownUrl(url: string): string {
  return url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** One `<…>` token of Slack's control syntax, rendered as Markdown. */
function controlToken(inner: string): string {
  const bar = inner.indexOf('|');
  const target = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? null : decodeEntities(inner.slice(bar + 1));
  if (target.startsWith('@')) return `@${label ?? target.slice(1)}`;
  if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
  if (target.startsWith('!')) {
    const special = target.slice(1);
    if (special === 'channel' || special === 'here' || special === 'everyone') return `@${special}`;
    if (special.startsWith('subteam^')) return label ?? '@group';
    // <!date^…|fallback> and anything unknown: the fallback text Slack would show.
    return label ?? '';
  }
  const url = safeUrl(decodeEntities(target));
  if (!url) return label ?? decodeEntities(target);
  if (label === null || label === url || label === target) return `<${markdownUrl(url)}>`;
  return `[${escapeLabel(label)}](${markdownUrl(url)})`;
}

/** Emphasis markers Slack uses once, Markdown twice (bold, strike) or the same (italic). */
function convertEmphasis(text: string): string {
  const edgeBefore = String.raw`(^|[\s([{>"'\-])`;
  const edgeAfter = String.raw`(?=$|[\s.,;:!?)\]}"'\-])`;
  return text
    .replace(new RegExp(`${edgeBefore}\\*(?!\\s)([^*\\n]+?)(?<!\\s)\\*${edgeAfter}`, 'g'), '$1**$2**')
    .replace(new RegExp(`${edgeBefore}~(?!\\s)([^~\\n]+?)(?<!\\s)~${edgeAfter}`, 'g'), '$1~~$2~~');
}

function convertPlain(segment: string): string {
  // Control tokens first (their labels may contain entities), then entities in the rest.
  const parts: string[] = [];
  let last = 0;
  const re = /<([^<>\n]{1,4000})>/g;
  for (let m = re.exec(segment); m; m = re.exec(segment)) {
    parts.push(convertEmphasis(decodeEntities(segment.slice(last, m.index))));
    parts.push(controlToken(m[1]));
    last = m.index + m[0].length;
  }
  parts.push(convertEmphasis(decodeEntities(segment.slice(last))));
  return parts.join('');
}

/** Slack mrkdwn → Markdown, leaving ``` blocks and `code` spans untouched (apart from entities). */
export function mrkdwnToMarkdown(text: string): string {
  const out: string[] = [];
  const re = /```[\s\S]*?```|`[^`\n]+`/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(convertPlain(text.slice(last, m.index)));
    out.push(decodeEntities(m[0]));
    last = m.index + m[0].length;
  }
  out.push(convertPlain(text.slice(last)));
  return out.join('');
}

/** Plain text fields (titles, plain_text objects): entities decoded, links reduced to their labels. */
export function mrkdwnToPlain(text: string): string {
  return decodeEntities(text.replace(/<([^<>\n]{1,4000})>/g, (_m, inner: string) => {
    const bar = inner.indexOf('|');
    if (bar !== -1) return inner.slice(bar + 1);
    if (inner.startsWith('!')) return `@${inner.slice(1)}`;
    return inner;
  }));
}

/** Escapes text for Slack: `&`, `<`, `>` only (Slack's own rule). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function mrkdwnPlainSegment(s: string): string {
  const links: string[] = [];
  // Links out first so their URLs are not escaped or re-emphasised.
  const withoutLinks = s.replace(/\uE000/g, "").replace(/\[([^\]\n]{0,1000})\]\(([^)\s]{1,4000})\)/g, (m, label: string, url: string) => {
    const safe = safeUrl(url);
    if (!safe) return m;
    links.push(`<${safe}|${escapeMrkdwn(label.replace(/\|/g, '¦'))}>`);
    return `\uE000${links.length - 1}\uE000`;
  });
  return escapeMrkdwn(withoutLinks)
    .replace(/\*\*([^*\n]+)\*\*/g, '*$1*')
    .replace(/__([^_\n]+)__/g, '*$1*')
    .replace(/~~([^~\n]+)~~/g, '~$1~')
    .replace(/\uE000(\d+)\uE000/g, (_m, i: string) => links[Number(i)] ?? '');
}

/**
 * The war room's Markdown → Slack mrkdwn (outbound webhooks, the Slack mirror): `**bold**` → `*bold*`,
 * `~~s~~` → `~s~`, `[label](url)` → `<url|label>`, entities escaped; code left alone.
 */
export function markdownToMrkdwn(text: string): string {
  const out: string[] = [];
  const re = /```[\s\S]*?```|`[^`\n]+`/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(mrkdwnPlainSegment(text.slice(last, m.index)));
    out.push(escapeMrkdwn(m[0]));
    last = m.index + m[0].length;
  }
  out.push(mrkdwnPlainSegment(text.slice(last)));
  return out.join('');
}
