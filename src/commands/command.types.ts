/**
 * The typed command registry shared by chat (/ack …), the CLI and the API. Implemented by
 * src/commands/registry.ts; feature modules register their commands (later: runbooks, notebooks).
 */
import type { z } from 'zod';
import type { Role } from '../users/roles.ts';
import type { Principal } from '../users/users.service.ts';
import type { ChatFile, ChatLegacyAttachment } from '../chat/chat.types.ts';

export type CommandEffect = 'read' | 'write' | 'destructive';

export interface CommandContext {
  principal: Principal;
  /** The channel the command was typed in (null from the CLI/API without a channel). */
  channel: string | null;
  /** The incident of that channel (incident-{n}), when there is one. */
  incidentNumber: number | null;
  /** Where it came from, for the timeline (`chat`, `cli`, `api`, `slack`). */
  via: string;
  now: Date;
  /**
   * For a confirmed destructive command: the `--expect TOKEN` its line carries, the fingerprint its
   * preview gave of what it showed (null when the caller confirmed without one). run() compares it with
   * the data as it is now and throws AppError `confirmation_stale` when they differ.
   */
  expect?: string | null;
}

/** What a destructive command would do, and optionally a fingerprint of it (see CommandDefinition.preview). */
export interface CommandPreview {
  text: string;
  /** A short token for what the preview showed (e.g. a count and a hash of the ids); the re-run line carries it as `--expect`. */
  expect?: string;
}

export interface CommandResult {
  /** Markdown text of the reply. */
  text: string;
  /** `channel`: everyone in the channel sees it; `caller`: only the caller (not stored). */
  visibility: 'channel' | 'caller';
  attachments?: ChatLegacyAttachment[];
  files?: ChatFile[];
  /** Structured result for the API and CLI (--json). */
  data?: unknown;
  /**
   * Set when the command did not run or failed (unknown command, bad arguments, missing role, needs
   * confirmation, the service refused): `text` explains; the API answers with this code and status.
   */
  error?: { code: string; status: number };
}

export interface CommandDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  aliases?: string[];
  summary: string;
  /** Usage line, e.g. `/page @user|schedule [message]`. */
  usage: string;
  examples: string[];
  effect: CommandEffect;
  role: Role;
  /** Turns the words after the command name into the schema's input (quotes and --flags handled by the registry). */
  parse(args: { positional: string[]; flags: Record<string, string | true> }): unknown;
  /** Flags that never take a value (`--share`), so the next word stays positional. `--yes` always is one. */
  booleanFlags?: string[];
  args: S;
  /**
   * For destructive commands: what would happen (shown when the caller has not confirmed yet). When what
   * it shows can change before the caller confirms (new incidents arriving), it returns an `expect`
   * fingerprint: the line it asks to re-run carries `--expect TOKEN`, so the confirmation is of exactly
   * what was shown, with nothing stored between the two calls.
   */
  preview?(input: z.output<S>, ctx: CommandContext): Promise<string | CommandPreview>;
  /** Destructive commands ask to confirm: the caller re-runs with --yes (chat) or confirm: true (API). */
  run(input: z.output<S>, ctx: CommandContext): Promise<CommandResult>;
}

export interface CommandRegistry {
  register(definition: CommandDefinition): void;
  /** Commands the principal may run (what /help lists). */
  list(principal: Principal): CommandDefinition[];
  /** Parses and runs one command line (`/ack`, `ack`, `/graph up 1h` …); authorisation and confirmation included. */
  run(line: string, ctx: CommandContext, options?: { confirmed?: boolean }): Promise<CommandResult>;
}
