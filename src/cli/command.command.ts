import type { z } from 'zod';
import type { commandInfoSchema, commandResultSchema } from '../commands/commands.routes.ts';
import { ApiClient, CliError } from './client.ts';

type Result = z.infer<typeof commandResultSchema>;
type Info = z.infer<typeof commandInfoSchema>;

const USAGE = `usage: firewatch command "/ack 12" [--yes] [--channel NAME] [--json]   (alias: cmd)
       firewatch command --list [--json]       the commands you may run`;

/** Re-quotes words the shell split, so `firewatch cmd note 12 "two words"` keeps "two words" together. */
function quote(word: string): string {
  return /[\s"']/.test(word) || word === '' ? `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : word;
}

/**
 * `firewatch command LINE`: runs a chat command through the API as the token's user (`via` = cli) and
 * prints the reply; the exit code is 1 when the command was refused or failed. Our own options (--json,
 * --yes, --channel, --list) are taken out; every other word belongs to the command line.
 */
export async function runCommandCommand(args: string[]): Promise<number> {
  let json = false;
  let confirm = false;
  let list = false;
  let channel: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--yes' || a === '--confirm') confirm = true;
    else if (a === '--list') list = true;
    else if (a === '--channel') {
      channel = args[++i];
      if (!channel) throw new CliError('--channel needs a channel name');
    } else if (a.startsWith('--channel=')) channel = a.slice('--channel='.length);
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else words.push(a);
  }
  const client = ApiClient.fromEnv();
  if (list) {
    const { commands } = await client.request<{ commands: Info[] }>('GET', '/api/v1/commands');
    if (json) console.log(JSON.stringify(commands, null, 2));
    else for (const c of commands) console.log(`${c.usage.padEnd(60)}  ${c.effect.padEnd(11)}  ${c.summary}`);
    return 0;
  }
  if (words.length === 0) throw new CliError(USAGE);
  // One argument is the whole line as typed; several are words the shell split.
  const line = words.length === 1 ? words[0] : words.map(quote).join(' ');
  const result = await client.request<Result>('POST', '/api/v1/commands', { line, confirm, via: 'cli', ...(channel ? { channel } : {}) });
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(result.text);
  const url = (result.data as { url?: unknown } | undefined)?.url;
  if (typeof url === 'string') console.log(`image: ${url}`);
  return 0;
}
