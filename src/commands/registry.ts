import { AppError } from '../errors.ts';
import { roleAtLeast } from '../users/roles.ts';
import type { Principal } from '../users/users.service.ts';
import type { CommandContext, CommandDefinition, CommandPreview, CommandRegistry, CommandResult } from './command.types.ts';
import { distance, parseArgs, type Token, tokenize } from './tokenize.ts';

/** Refusals that come from how the command was written: the reply repeats the usage. */
const USAGE_CODES = new Set(['invalid_arguments', 'incident_required']);
const NAME = /^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)?$/;

/** The incident number of an incident channel (`incident-12`), else null. */
export function incidentOfChannel(channel: string | null): number | null {
  const m = channel ? /^incident-(\d{1,10})$/.exec(channel) : null;
  return m ? Number(m[1]) : null;
}

/** A reply to the caller only, marking the command as not run (or failed). */
export function failure(code: string, status: number, text: string, data?: unknown): CommandResult {
  return { text, visibility: 'caller', error: { code, status }, data };
}

/** The usage block of a command: usage line, summary and examples. */
export function usageOf(d: CommandDefinition): string {
  const lines = [`Usage: \`${d.usage}\``, d.summary];
  if (d.aliases?.length) lines.push(`Aliases: ${d.aliases.map((a) => `/${a}`).join(', ')}`);
  if (d.examples.length) lines.push('Examples:', ...d.examples.map((e) => `  \`${e}\``));
  return lines.join('\n');
}

/** `--expect X`, `--expect=X` and `--yes` (unquoted words, as the tokenizer reads flags), taken out of a line before it is re-asked. */
const CONFIRM_FLAGS = /(^|\s)(--expect(?:=|\s+)\S+|--yes)(?=\s|$)/gi;

/**
 * The answer to an unconfirmed (or stale) destructive command: what it would do, and the exact line to
 * confirm it with (carrying the preview's fingerprint, when it gave one).
 */
function askToConfirm(code: 'confirmation_required' | 'confirmation_stale', lead: string, line: string, preview: string | CommandPreview): CommandResult {
  const { text, expect } = typeof preview === 'string' ? { text: preview, expect: undefined } : preview;
  const again = `${line.replace(CONFIRM_FLAGS, '').trim()}${expect ? ` --expect ${expect}` : ''} --yes`;
  return failure(code, 409, `${lead}${text}\nThis cannot be undone. To go ahead, run it again with \`--yes\`: \`${again}\` (API: this line with \`"confirm": true\`).`,
    { confirmation_required: true, line: again, ...(expect ? { expect } : {}) });
}

function formatIssues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * The registry: names and aliases (one or two words: `incident new`), parsing, role checks and
 * confirmation of destructive commands, for chat, the CLI and the API alike.
 */
export function createCommandRegistry(): CommandRegistry & { get(name: string): CommandDefinition | undefined; all(): CommandDefinition[] } {
  const byName = new Map<string, CommandDefinition>();
  const definitions: CommandDefinition[] = [];

  function lookup(tokens: Token[]): { def: CommandDefinition; used: number } | { unknown: string } {
    const first = tokens[0]?.text.replace(/^\//, '').toLowerCase() ?? '';
    const second = tokens[1] && !tokens[1].quoted ? tokens[1].text.toLowerCase() : null;
    if (second !== null) {
      const two = byName.get(`${first} ${second}`);
      if (two) return { def: two, used: 2 };
    }
    const one = byName.get(first);
    if (one) return { def: one, used: 1 };
    return { unknown: second !== null && [...byName.keys()].some((k) => k.startsWith(`${first} `)) ? `${first} ${second}` : first };
  }

  function closest(word: string, principal: Principal): string | null {
    let best: { name: string; d: number } | null = null;
    for (const [name, def] of byName) {
      if (!roleAtLeast(principal.role, def.role)) continue;
      const d = Math.min(distance(word, name), name.startsWith(word) && word.length >= 2 ? 1 : Infinity);
      if (!best || d < best.d) best = { name: def.name, d };
    }
    return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.name : null;
  }

  return {
    register(def) {
      for (const name of [def.name, ...(def.aliases ?? [])]) {
        if (!NAME.test(name)) throw new Error(`invalid command name "${name}"`);
        if (byName.has(name)) throw new Error(`command name "${name}" is already registered`);
      }
      if (def.effect === 'destructive' && !def.preview) throw new Error(`destructive command ${def.name} needs a preview`);
      for (const name of [def.name, ...(def.aliases ?? [])]) byName.set(name, def);
      definitions.push(def);
    },

    list(principal) {
      return definitions.filter((d) => roleAtLeast(principal.role, d.role)).toSorted((a, b) => a.name.localeCompare(b.name));
    },

    get(name) {
      return byName.get(name.replace(/^\//, '').toLowerCase());
    },

    all() {
      return [...definitions];
    },

    async run(line, ctx, options = {}) {
      const text = line.trim();
      if (!text || text === '/') return failure('empty_command', 400, 'Type a command, e.g. `/help`.');
      if (text.length > 4000) return failure('command_too_long', 400, 'The command is longer than 4000 characters.');
      let tokens: Token[];
      try {
        tokens = tokenize(text);
      } catch (error) {
        if (error instanceof AppError) return failure(error.code, error.status, error.message);
        throw error;
      }
      const found = lookup(tokens);
      if ('unknown' in found) {
        const suggestion = closest(found.unknown, ctx.principal);
        return failure('unknown_command', 400, `Unknown command \`/${found.unknown}\`.${suggestion ? ` Did you mean \`/${suggestion}\`?` : ''} Type \`/help\` for the commands you can run.`,
          { suggestion });
      }
      const { def } = found;
      if (!roleAtLeast(ctx.principal.role, def.role)) {
        return failure('forbidden', 403, `\`/${def.name}\` needs the ${def.role} role; you have ${ctx.principal.role}. Nothing was done.`);
      }
      const args = parseArgs(tokens.slice(found.used), ['yes', ...(def.booleanFlags ?? [])]);
      const confirmed = options.confirmed === true || args.flags.yes === true;
      delete args.flags.yes;
      let expect: string | null = null;
      if (def.effect === 'destructive' && 'expect' in args.flags) {
        if (typeof args.flags.expect !== 'string') return failure('invalid_arguments', 400, `--expect takes the token the confirmation question gave\n\n${usageOf(def)}`);
        expect = args.flags.expect;
        delete args.flags.expect;
      }
      let input: unknown;
      try {
        const parsed = def.args.safeParse(def.parse(args));
        if (!parsed.success) return failure('invalid_arguments', 400, `${formatIssues(parsed.error)}\n\n${usageOf(def)}`);
        input = parsed.data;
      } catch (error) {
        if (error instanceof AppError && error.status < 500) return failure(error.code, error.status, `${error.message}\n\n${usageOf(def)}`);
        throw error;
      }
      const context: CommandContext = { ...ctx, expect };
      try {
        if (def.effect === 'destructive' && !confirmed) return askToConfirm('confirmation_required', '', text, await def.preview!(input, context));
        return await def.run(input, context);
      } catch (error) {
        // What the preview showed has changed: nothing ran; ask again with what is there now.
        if (error instanceof AppError && error.code === 'confirmation_stale' && def.preview) {
          const now = await def.preview(input, { ...context, expect: null }).catch(() => null);
          if (now !== null) return askToConfirm('confirmation_stale', `${error.message}\n`, text, now);
        }
        // The services' refusals (not found, already resolved, data source down) are replies, not crashes.
        if (error instanceof AppError) {
          const usage = USAGE_CODES.has(error.code) ? `\n\n${usageOf(def)}` : '';
          return failure(error.code, error.status, `\`/${def.name}\` failed: ${error.message}${usage}`);
        }
        throw error;
      }
    },
  };
}
