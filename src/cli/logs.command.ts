import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './client.ts';

interface Line { id: string; time: string; host: string | null; app: string | null; service: string | null; severity: string | null; message: string }

/** Control characters from log lines are shown escaped, never sent to the terminal (a line may carry escape codes). */
const inert = (s: string) => [...s].map((c) => {
  const code = c.charCodeAt(0);
  return (code < 0x20 && c !== '\t') || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, '0')}` : c;
}).join('');

export const LOGS_USAGE = 'usage: firewatch logs search QUERY… [--from now-1h] [--to TIME] [--limit 100] [--json]';

/** `firewatch logs search QUERY… [--from] [--to] [--limit] [--json]`: the same search as the API, oldest line last. */
export async function runLogsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'search') throw new CliError(LOGS_USAGE);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  });
  const q = new URLSearchParams({ q: positionals.join(' ') });
  if (values.from) q.set('from', values.from);
  if (values.to) q.set('to', values.to);
  if (values.limit) q.set('limit', values.limit);
  const res = await ApiClient.fromEnv().request<{ lines: Line[]; truncated: boolean }>('GET', `/api/v1/logs/search?${q}`);
  if (values.json) {
    console.log(JSON.stringify(res, null, 2));
  } else {
    // Newest at the bottom, like a terminal log.
    for (const l of res.lines.toReversed()) {
      console.log(`${l.time} ${inert(l.host ?? '-')} ${inert(l.app ?? '-')}${l.severity ? ` ${l.severity}` : ''}: ${inert(l.message)}`);
    }
    if (res.truncated) console.error(`(more lines match; showing the newest ${res.lines.length}: narrow the query or use --limit/--from)`);
  }
  return res.lines.length ? 0 : 1;
}
