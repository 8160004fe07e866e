import { AppError } from '../../errors.ts';

/**
 * The log search language (README "Logs"): whitespace-separated clauses, all of which must hold.
 *   word            the word appears (case-insensitive; words are runs of letters and digits)
 *   "two words"     the words appear next to each other, in this order
 *   err*            a word starting with `err`
 *   -word, -"a b"   must not appear
 *   host:web-1      field equals (also app:, service:); `host:web-*` for a prefix
 *   severity:err    that level; `severity:>=warning` for warning or worse; names or 0–7
 */

export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
const SEVERITY_ALIASES: Record<string, number> = {
  emerg: 0, emergency: 0, panic: 0, alert: 1, crit: 2, critical: 2, fatal: 2, err: 3, error: 3,
  warning: 4, warn: 4, notice: 5, info: 6, informational: 6, information: 6, debug: 7, trace: 7,
};

/** Severity number (0 = emerg … 7 = debug) for a name, alias or digit; undefined when unknown. */
export function severityNumber(value: string): number | undefined {
  const v = value.trim().toLowerCase();
  if (/^[0-7]$/.test(v)) return Number(v);
  return SEVERITY_ALIASES[v];
}

export interface TextTerm {
  /** Lower-case words of the term, in order (a phrase when more than one). */
  words: string[];
  prefix: boolean;
  negate: boolean;
}

export interface FieldFilter {
  field: 'host' | 'app' | 'service';
  value: string;
  prefix: boolean;
  negate: boolean;
}

export interface SeverityFilter {
  /** Allowed severity numbers. */
  levels: number[];
  negate: boolean;
}

export interface LogQuery {
  terms: TextTerm[];
  fields: FieldFilter[];
  severities: SeverityFilter[];
}

const MAX_QUERY_CHARS = 2000;
const MAX_CLAUSES = 32;
const FIELDS = new Set(['host', 'app', 'service', 'severity']);

const bad = (message: string) => new AppError('bad_log_query', 400, message);

/** Splits text into the words the full-text index holds (FTS5 unicode61 and the PostgreSQL column agree on these). */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

interface RawClause {
  negate: boolean;
  field: string | null;
  value: string;
  quoted: boolean;
}

function lex(query: string): RawClause[] {
  const clauses: RawClause[] = [];
  let i = 0;
  const n = query.length;
  const readQuoted = (): string => {
    // At the opening quote.
    let out = '';
    i++;
    while (i < n) {
      const c = query[i];
      if (c === '\\' && i + 1 < n) {
        out += query[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') {
        i++;
        return out;
      }
      out += c;
      i++;
    }
    throw bad('a quoted phrase is not closed (missing ")');
  };
  while (i < n) {
    if (/\s/.test(query[i])) {
      i++;
      continue;
    }
    const start = i;
    let negate = false;
    if (query[i] === '-') {
      negate = true;
      i++;
      if (i >= n || /\s/.test(query[i])) throw bad(`"-" at position ${start + 1} must be followed by a word, phrase or field`);
    }
    let field: string | null = null;
    // field:value, where field is one of ours (other words with a colon are searched as text).
    const fieldMatch = /^([A-Za-z]+):/.exec(query.slice(i, i + 10));
    if (fieldMatch && FIELDS.has(fieldMatch[1].toLowerCase())) {
      field = fieldMatch[1].toLowerCase();
      i += fieldMatch[0].length;
      if (i >= n || /\s/.test(query[i])) throw bad(`${field}: needs a value (e.g. ${field}:web-1)`);
    }
    let value: string;
    let quoted = false;
    if (query[i] === '"') {
      value = readQuoted();
      quoted = true;
      if (i < n && query[i] === '*') {
        value += '*';
        i++;
      }
      if (i < n && !/\s/.test(query[i])) throw bad(`put a space after the closing quote at position ${i}`);
    } else {
      const s = i;
      while (i < n && !/\s/.test(query[i])) {
        if (query[i] === '"') throw bad(`a quote inside a word at position ${i + 1}; quote the whole phrase`);
        i++;
      }
      value = query.slice(s, i);
    }
    clauses.push({ negate, field, value, quoted });
  }
  return clauses;
}

/** Parses a search; throws AppError `bad_log_query` (400) with what is wrong. */
export function parseLogQuery(query: string): LogQuery {
  if (query.length > MAX_QUERY_CHARS) throw bad(`the query is longer than ${MAX_QUERY_CHARS} characters`);
  const clauses = lex(query);
  if (clauses.length > MAX_CLAUSES) throw bad(`the query has more than ${MAX_CLAUSES} clauses`);
  const result: LogQuery = { terms: [], fields: [], severities: [] };
  for (const c of clauses) {
    if (c.field === 'severity') {
      const m = /^(>=|<=|>|<)?(.+)$/.exec(c.value)!;
      const level = severityNumber(m[2]);
      if (level === undefined) throw bad(`unknown severity "${m[2]}"; use one of ${SEVERITIES.join(', ')} (or 0–7)`);
      const op = m[1] ?? '';
      // "Higher" severity means more serious, i.e. a lower syslog number.
      const levels = [0, 1, 2, 3, 4, 5, 6, 7].filter((x) =>
        op === '>=' ? x <= level : op === '>' ? x < level : op === '<=' ? x >= level : op === '<' ? x > level : x === level);
      if (levels.length === 0) throw bad(`severity:${c.value} matches no level`);
      result.severities.push({ levels, negate: c.negate });
    } else if (c.field) {
      let value = c.value;
      const prefix = value.endsWith('*');
      if (prefix) value = value.slice(0, -1);
      if (value.length === 0) throw bad(`${c.field}: needs a value`);
      if (value.length > 256) throw bad(`the ${c.field}: value is longer than 256 characters`);
      result.fields.push({ field: c.field as FieldFilter['field'], value, prefix, negate: c.negate });
    } else {
      let value = c.value;
      const prefix = value.endsWith('*');
      if (prefix) value = value.slice(0, -1);
      const w = words(value);
      if (w.length === 0) throw bad(`"${c.value}" has no letters or digits to search for`);
      if (w.length > 32) throw bad('a phrase has more than 32 words');
      // A prefix applies to the last word only; `web-*` is the phrase "web" followed by any word.
      result.terms.push({ words: w, prefix: prefix && /[\p{L}\p{N}]$/u.test(value), negate: c.negate });
    }
  }
  return result;
}

/** FTS5 MATCH text for the positive terms, with the negative ones as NOT (null when no positive term). */
export function ftsExpression(terms: TextTerm[]): string | null {
  const phrase = (t: TextTerm) => `"${t.words.join(' ')}"${t.prefix ? ' *' : ''}`;
  const positive = terms.filter((t) => !t.negate);
  if (positive.length === 0) return null;
  let expr = positive.map(phrase).join(' AND ');
  for (const t of terms.filter((x) => x.negate)) expr = `(${expr}) NOT ${phrase(t)}`;
  return expr;
}

/** FTS5 MATCH text matching any of the terms (for "none of these" when there is no positive term). */
export function ftsAny(terms: TextTerm[]): string {
  return terms.map((t) => `"${t.words.join(' ')}"${t.prefix ? ' *' : ''}`).join(' OR ');
}

/** PostgreSQL tsquery text (words are letters and digits only, so nothing needs quoting). */
export function tsQueryText(terms: TextTerm[]): string | null {
  if (terms.length === 0) return null;
  const one = (t: TextTerm) => {
    const parts = t.words.map((w, i) => (t.prefix && i === t.words.length - 1 ? `${w}:*` : w));
    const body = parts.length > 1 ? `(${parts.join(' <-> ')})` : parts[0];
    return t.negate ? `!${body}` : body;
  };
  return terms.map(one).join(' & ');
}
