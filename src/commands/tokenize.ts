import { badRequest } from '../errors.ts';

/** One word of a command line; `quoted` words are never flags (`"--yes"` is text). */
export interface Token {
  text: string;
  quoted: boolean;
}

const QUOTES = new Set(['"', "'", '“', '”', '‘', '’']);
const CLOSING: Record<string, string[]> = { '"': ['"'], "'": ["'"], '“': ['”', '"'], '”': ['”', '"'], '‘': ['’', "'"], '’': ['’', "'"] };

/**
 * Splits a command line into words, shell-like:
 * - a word that starts with a quote (", ', or the curly quotes chat clients type) runs to the matching
 *   closing quote, spaces included, quotes removed; `\"` inside double quotes is a literal quote;
 * - a quote in the middle of a word is kept as is, and spaces inside it do not split the word, so
 *   PromQL like `up{job="a b"}` arrives intact.
 */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && /\s/.test(line[i])) i++;
    if (i >= n) break;
    const c = line[i];
    if (QUOTES.has(c)) {
      const closers = CLOSING[c];
      let text = '';
      i++;
      let closed = false;
      while (i < n) {
        const d = line[i];
        if (d === '\\' && c === '"' && i + 1 < n && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          text += line[i + 1];
          i += 2;
          continue;
        }
        if (closers.includes(d)) {
          closed = true;
          i++;
          break;
        }
        text += d;
        i++;
      }
      if (!closed) throw badRequest('unterminated_quote', `unterminated quote: ${c}${text}`);
      tokens.push({ text, quoted: true });
      continue;
    }
    let text = '';
    let inner: string[] | null = null;
    while (i < n) {
      const d = line[i];
      if (inner) {
        text += d;
        if (inner.includes(d)) inner = null;
        i++;
        continue;
      }
      if (/\s/.test(d)) break;
      if (QUOTES.has(d)) inner = CLOSING[d];
      text += d;
      i++;
    }
    tokens.push({ text, quoted: false });
  }
  return tokens;
}

export interface ParsedArgs {
  positional: string[];
  flags: Record<string, string | true>;
}

const FLAG = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/i;

/**
 * Groups words into positional arguments and flags: `--flag value`, `--flag=value`, and `--flag` alone
 * (true) when it is one of `booleans`, the last word, or followed by another flag. `--` ends the flags.
 * `@user` stays a positional word.
 */
export function parseArgs(tokens: Token[], booleans: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  let flagsDone = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!flagsDone && !t.quoted && t.text === '--') {
      flagsDone = true;
      continue;
    }
    const m = !flagsDone && !t.quoted ? FLAG.exec(t.text) : null;
    if (!m) {
      positional.push(t.text);
      continue;
    }
    const name = m[1].toLowerCase();
    if (m[2] !== undefined) {
      flags[name] = m[2];
      continue;
    }
    const next = tokens[i + 1];
    if (booleans.includes(name) || !next || (!next.quoted && FLAG.test(next.text))) {
      flags[name] = true;
      continue;
    }
    flags[name] = next.text;
    i++;
  }
  return { positional, flags };
}

/** Edit distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}
