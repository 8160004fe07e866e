/**
 * The subset of Prometheus' alert templating (Go text/template) that Firewatch expands in rule labels and
 * annotations. Supported:
 *   {{ $labels.name }} {{ .Labels.name }} {{ index $labels "name" }} {{ $value }} {{ .Value }}
 *   {{ $externalLabels.name }} {{ $externalURL }}
 *   pipelines and calls: {{ $value | humanize }}, {{ humanize $value }}, humanize1024, humanizePercentage,
 *   humanizeDuration, printf "%.2f" $value, toUpper, toLower, title, reReplaceAll "re" "repl" $labels.x,
 *   stripPort, "string literals", numbers; whitespace trimming with {{- and -}}; {{/* comments *\/}}.
 * Anything else ({{ if }}, {{ range }}, query) renders Prometheus' own way of reporting a failure:
 * `<error expanding template: …>`.
 */

import { re2ReplaceAll, re2Test } from './re2.ts';

export interface TemplateData {
  labels: Record<string, string>;
  value: number;
  externalLabels?: Record<string, string>;
  externalUrl?: string;
}

class TemplateError extends Error {}

/** Go's %v for a float64 (shortest representation; exponent form below 1e-4 or from 1e6, like strconv %g). */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Number(v.toExponential().split('e')[1]);
  if (exp < -4 || exp >= 6) return goExp(v.toExponential());
  return String(v);
}

const goExp = (s: string) => s.replace(/e([+-])(\d)$/, 'e$10$2');

/** Go's %.Ng (used by humanize with 4). */
function goG(v: number, precision: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const exp = Number(v.toExponential(precision - 1).split('e')[1]);
  if (exp < -4 || exp >= precision) {
    const [m, e] = v.toExponential(precision - 1).split('e');
    return goExp(`${stripZeros(m)}e${e}`);
  }
  return stripZeros(v.toFixed(Math.max(0, precision - 1 - exp)));
}

const stripZeros = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goG(v, 4);
  if (Math.abs(v) >= 1) {
    const prefixes = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let prefix = '';
    for (const p of prefixes) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return `${goG(v, 4)}${prefix}`;
  }
  const prefixes = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let prefix = '';
  for (const p of prefixes) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goG(v, 4)}${prefix}`;
}

function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return goG(v, 4);
  const prefixes = ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi'];
  let prefix = '';
  for (const p of prefixes) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return `${goG(v, 4)}${prefix}`;
}

export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return goG(v, 4);
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    v = Math.abs(v);
    const seconds = Math.trunc(v) % 60;
    const minutes = Math.trunc(v / 60) % 60;
    const hours = Math.trunc(v / 3600) % 24;
    const days = Math.trunc(v / 86_400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${goG(v, 4)}s`;
  }
  if (v === 0) return '0s';
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goG(v, 4)}${prefix}s`;
}

/** Go's fmt verbs for printf: %s %d %f %.Nf %g %v %q %%. */
function printf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdfgvqeT%])/g, (_m, _flags: string, _width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    switch (verb) {
      case 'd': return typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${String(a)})`;
      case 'f': return typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeof a}=${String(a)})`;
      case 'e': return typeof a === 'number' ? goExp(a.toExponential(prec === undefined ? 6 : Number(prec))) : `%!e(${typeof a}=${String(a)})`;
      case 'g': return typeof a === 'number' ? (prec === undefined ? goFloat(a) : goG(a, Number(prec))) : `%!g(${typeof a}=${String(a)})`;
      case 'q': return JSON.stringify(String(a));
      default: return typeof a === 'number' ? goFloat(a) : String(a);
    }
  });
}

const toNumber = (a: unknown): number => {
  if (typeof a === 'number') return a;
  const n = Number(a);
  if (typeof a === 'string' && a.trim() !== '' && !Number.isNaN(n)) return n;
  throw new TemplateError(`can't convert ${JSON.stringify(a)} to float`);
};

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  humanize: (v) => humanize(toNumber(v)),
  humanize1024: (v) => humanize1024(toNumber(v)),
  humanizePercentage: (v) => `${goG(toNumber(v) * 100, 4)}%`,
  humanizeDuration: (v) => humanizeDuration(toNumber(v)),
  humanizeTimestamp: (v) => new Date(toNumber(v) * 1000).toISOString().replace('T', ' ').replace('Z', ' +0000 UTC'),
  printf: (format, ...args) => printf(String(format), args),
  toUpper: (s) => String(s).toUpperCase(),
  toLower: (s) => String(s).toLowerCase(),
  title: (s) => String(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  stripPort: (s) => String(s).replace(/^\[?([^\]]*?)\]?:\d+$/, '$1'),
  reReplaceAll: (re, repl, s) => re2ReplaceAll(String(re), String(repl), String(s)),
  match: (re, s) => re2Test(String(re), String(s)),
  index: (m, k) => (m && typeof m === 'object' ? ((m as Record<string, unknown>)[String(k)] ?? '') : ''),
  len: (v) => (typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
};

/** Splits an action's text into tokens: strings, raw strings, numbers, variables/fields, identifiers, pipes and parentheses. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*|\.|[A-Za-z_][A-Za-z0-9_]*|\||\(|\))\s*/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new TemplateError(`unexpected ${JSON.stringify(text.slice(pos, pos + 20))} in command`);
    tokens.push(m[1]);
    pos = re.lastIndex;
  }
  return tokens;
}

function resolveOperand(token: string, data: TemplateData): unknown {
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (token.startsWith('`')) return token.slice(1, -1);
  if (/^-?\d/.test(token)) return Number(token);
  const root: Record<string, unknown> = {
    $labels: data.labels, $value: data.value, $externalLabels: data.externalLabels ?? {}, $externalURL: data.externalUrl ?? '',
    '.Labels': data.labels, '.Value': data.value, '.ExternalLabels': data.externalLabels ?? {}, '.ExternalURL': data.externalUrl ?? '',
  };
  if (token === '$' || token === '.') return { Labels: data.labels, Value: data.value };
  const parts = token.startsWith('$') ? token.split('.') : ['.' + token.slice(1).split('.')[0], ...token.slice(1).split('.').slice(1)];
  if (!(parts[0] in root)) throw new TemplateError(`undefined variable "${parts[0]}"`);
  let v: unknown = root[parts[0]];
  for (const key of parts.slice(1)) {
    // A missing map key is Go's "<no value>".
    v = v && typeof v === 'object' ? ((v as Record<string, unknown>)[key] ?? '<no value>') : '<no value>';
  }
  return v;
}

function evalCommand(tokens: string[], data: TemplateData, piped: unknown[]): unknown {
  if (tokens.length === 0) throw new TemplateError('missing value for command');
  const [head, ...rest] = tokens;
  const args = (list: string[]) => list.map((t) => resolveOperand(t, data));
  if (/^[A-Za-z_]/.test(head)) {
    if (head === 'true' || head === 'false') return head === 'true';
    if (['if', 'range', 'with', 'define', 'template', 'block', 'end', 'else'].includes(head)) throw new TemplateError(`"${head}" is not supported in Firewatch rule templates`);
    const fn = FUNCTIONS[head];
    if (!fn) throw new TemplateError(`function "${head}" not defined`);
    return fn(...args(rest), ...piped);
  }
  if (rest.length > 0 || piped.length > 0) throw new TemplateError(`can't give argument to non-function ${head}`);
  return resolveOperand(head, data);
}

function evalPipeline(text: string, data: TemplateData): unknown {
  const tokens = tokenize(text);
  // Parenthesised sub-pipelines: evaluate innermost first.
  while (tokens.includes('(')) {
    const close = tokens.indexOf(')');
    const open = tokens.lastIndexOf('(', close);
    if (close < 0 || open < 0) throw new TemplateError('unbalanced parentheses');
    const value = evalPipeline(tokens.slice(open + 1, close).join(' '), data);
    tokens.splice(open, close - open + 1, JSON.stringify(typeof value === 'number' ? value : String(value)));
  }
  const commands: string[][] = [[]];
  for (const t of tokens) {
    if (t === '|') commands.push([]);
    else commands.at(-1)!.push(t);
  }
  let value: unknown;
  commands.forEach((cmd, i) => {
    value = evalCommand(cmd, data, i === 0 ? [] : [value]);
  });
  return value;
}

const show = (v: unknown): string => (typeof v === 'number' ? goFloat(v) : v && typeof v === 'object' ? `map[${Object.entries(v).map(([k, x]) => `${k}:${String(x)}`).join(' ')}]` : String(v));

/** Expands a template; on failure returns `<error expanding template: …>` as Prometheus does. */
export function expandTemplate(text: string, data: TemplateData): string {
  if (!text.includes('{{')) return text;
  try {
    let out = '';
    let pos = 0;
    while (pos < text.length) {
      const start = text.indexOf('{{', pos);
      if (start < 0) {
        out += text.slice(pos);
        break;
      }
      let literal = text.slice(pos, start);
      let inner = start + 2;
      if (text[inner] === '-' && /\s/.test(text[inner + 1] ?? '')) {
        literal = literal.trimEnd();
        inner += 1;
      }
      out += literal;
      const end = text.indexOf('}}', inner);
      if (end < 0) throw new TemplateError('unclosed action');
      let body = text.slice(inner, end);
      let next = end + 2;
      if (body.endsWith('-') && /\s/.test(body.at(-2) ?? '')) {
        body = body.slice(0, -1);
        while (next < text.length && /\s/.test(text[next])) next++;
      }
      const trimmed = body.trim();
      if (trimmed.startsWith('/*')) {
        pos = next;
        continue;
      }
      // `$x := …` assignments of the standard preamble are accepted and ignored.
      if (!/^\$[A-Za-z_]\w*\s*:=/.test(trimmed)) out += show(evalPipeline(trimmed, data));
      pos = next;
    }
    return out;
  } catch (error) {
    return `<error expanding template: ${(error as Error).message}>`;
  }
}

/** Parses a Prometheus duration (1h30m, 90s, 500ms) into seconds. */
export function parseDuration(text: string | undefined, fallback = 0): number {
  if (!text) return fallback;
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}
