import MarkdownIt from 'markdown-it';

/**
 * Markdown of chat messages, rendered inert: raw HTML is escaped (html: false), only http(s), mailto and
 * relative links survive, images become links (a message cannot make the browser fetch anything), and
 * every link opens in a new tab without an opener or referrer. Mentions (`@ana`, `@oncall`) are marked.
 */
const SAFE_LINK = /^(https?:|mailto:)/i;

function isSafeLink(url: string): boolean {
  const trimmed = url.trim();
  if (SAFE_LINK.test(trimmed)) return true;
  // Relative: no scheme at all (a colon before any / ? # means a scheme such as javascript: or data:).
  const schemeEnd = trimmed.search(/[/?#]/);
  const head = schemeEnd === -1 ? trimmed : trimmed.slice(0, schemeEnd);
  return !head.includes(':') && !trimmed.startsWith('//') && ![...trimmed].some((char) => char.charCodeAt(0) < 32);
}

const md = new MarkdownIt('default', { html: false, linkify: true, breaks: true, typographer: false });
md.validateLink = isSafeLink;
md.disable(['image']);

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
md.renderer.rules.link_open = (tokens, index, options, env, self) => {
  const token = tokens[index];
  token.attrSet('target', '_blank');
  token.attrSet('rel', 'noopener noreferrer');
  return defaultLinkOpen(tokens, index, options, env, self);
};

// Mentions inside text (not inside code): wrapped in a span by a core rule on text tokens.
const MENTION = /(^|[^\w@])@([a-z0-9][\w.-]{0,63})/gi;
md.core.ruler.push('mentions', (state) => {
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    const out = [];
    let linkDepth = 0;
    for (const token of block.children) {
      if (token.type === 'link_open') linkDepth++;
      if (token.type === 'link_close') linkDepth--;
      if (token.type !== 'text' || linkDepth > 0 || !token.content.includes('@')) {
        out.push(token);
        continue;
      }
      let last = 0;
      const text = token.content;
      for (const match of text.matchAll(MENTION)) {
        const start = (match.index ?? 0) + match[1].length;
        if (start > last) out.push(textToken(state, text.slice(last, start)));
        const open = new state.Token('mention_open', 'span', 1);
        open.attrSet('class', 'chat-mention');
        open.attrSet('data-mention', match[2].toLowerCase());
        out.push(open, textToken(state, `@${match[2]}`), new state.Token('mention_close', 'span', -1));
        last = start + match[2].length + 1;
      }
      if (last < text.length) out.push(textToken(state, text.slice(last)));
    }
    block.children = out;
  }
});

function textToken(state: { Token: new (type: string, tag: string, nesting: -1 | 0 | 1) => { content: string } }, content: string) {
  const token = new state.Token('text', '', 0);
  token.content = content;
  return token as never;
}

/** HTML for a message's Markdown; safe to inject (escaped text, vetted links, no images, no raw HTML). */
export function renderMarkdown(text: string): string {
  return md.render(text);
}

/** Whether a URL from a message (attachment title_link, file link) may become a link. */
export function safeHref(url: unknown): string | null {
  if (typeof url !== 'string' || !url.trim()) return null;
  return isSafeLink(url) ? url.trim() : null;
}
