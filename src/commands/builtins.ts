import { z } from 'zod';
import { AppError, badRequest, notFound } from '../errors.ts';
import type { FeatureContext } from '../features/module.ts';
import { actorOf } from '../http/principal.ts';
import { sha256Hex } from '../ids.ts';
import type { IncidentRow } from '../incidents/incidents.repo.ts';
import { type Actor, IncidentChanges } from '../incidents/lifecycle.ts';
import type { createSchedulesService } from '../oncall/schedules/schedules.service.ts';
import { roleAtLeast } from '../users/roles.ts';
import type { CommandContext, CommandDefinition, CommandRegistry, CommandResult } from './command.types.ts';
import { usageOf } from './registry.ts';

type Schedules = ReturnType<typeof createSchedulesService>;
type Flags = Record<string, string | true>;

const OPEN_STATUSES = ['triggered', 'acknowledged'];
/** /incident resolve-all reads open incidents this many at a time and resolves this many per transaction. */
const RESOLVE_ALL_PAGE = 500;
const RESOLVE_ALL_BATCH = 100;

/**
 * What /incident resolve-all's preview showed, as `COUNT-HASH` (the first 10 hex digits of a SHA-256 of
 * the incident ids in number order): the confirmation carries it, and the run refuses if the set changed.
 */
function fingerprint(open: { id: string }[]): string {
  return `${open.length}-${sha256Hex(open.map((i) => i.id).join(',')).slice(0, 10)}`;
}
const incidentNumber = z.number().int().positive().max(2 ** 31);

/** `12`, `#12` → 12; anything else → null. */
function numberWord(word: string | undefined): number | null {
  if (!word) return null;
  const m = /^#?(\d{1,10})$/.exec(word);
  return m ? Number(m[1]) : null;
}

const flagString = (flags: Flags, name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);

/**
 * The incident a command is about: `--incident N`, a leading number (`/ack 12`), or the incident of the
 * channel it was typed in. Returns the number and the positional words left over.
 */
function incidentFrom(args: { positional: string[]; flags: Flags }, options: { leadingNumber: boolean }): { incident: number | null; rest: string[] } {
  const flag = flagString(args.flags, 'incident');
  if (flag !== undefined) {
    const n = numberWord(flag);
    if (n === null) throw badRequest('invalid_arguments', `--incident takes an incident number, got "${flag}"`);
    return { incident: n, rest: args.positional };
  }
  if (options.leadingNumber) {
    const n = numberWord(args.positional[0]);
    if (n !== null) return { incident: n, rest: args.positional.slice(1) };
  }
  return { incident: null, rest: args.positional };
}

function requireIncident(explicit: number | null, ctx: CommandContext, example: string): number {
  const n = explicit ?? ctx.incidentNumber;
  if (n === null) throw badRequest('incident_required', `Which incident? Outside an incident channel give its number, e.g. \`${example}\`.`);
  return n;
}

function requireOpen(row: IncidentRow): void {
  if (row.status === 'resolved') throw badRequest('incident_resolved', `incident #${row.number} is already resolved`);
}

const squash = (s: string) => s.toLowerCase().replace(/[\s._-]+/g, '');

/**
 * In the incident's own channel the war room already posts the timeline entry a change writes, so the
 * reply goes to the caller only (no echo); anywhere else (a team channel) everyone sees it.
 */
const audience = (c: CommandContext, n: number): CommandResult['visibility'] => (c.channel !== null && c.incidentNumber === n ? 'caller' : 'channel');

const link = (publicUrl: string, n: number) => `${publicUrl}/incidents/${n}`;

/** `@a @b message` or `schedule message`, with an optional --incident. */
const parsePage = (a: { positional: string[]; flags: Flags }) => {
  const { incident, rest } = incidentFrom(a, { leadingNumber: false });
  const targets: string[] = [];
  let i = 0;
  // Every leading @mention is a target; without any, the first word names a schedule.
  while (i < rest.length && rest[i].startsWith('@')) targets.push(rest[i++]);
  if (targets.length === 0 && rest.length > 0) targets.push(rest[i++]);
  return { incident, targets, message: rest.slice(i).join(' ') };
};
/** The built-in commands: /ack, /resolve, /note, /page, /reassign, /oncall, /incident new|show|resolve-all, /help. */
export function builtinCommands(ctx: FeatureContext, deps: { schedules: Schedules; registry: CommandRegistry }): CommandDefinition[] {
  const { db, escalation, incidentsRepo, servicesRepo, config } = ctx;
  const durable = () => ctx.handle.durable();

  /** One change to one incident, through the lifecycle (timeline, hooks, live events). */
  const onIncident = <T>(number: number, work: (changes: IncidentChanges, row: IncidentRow) => Promise<T>) =>
    escalation.manual(number, durable, work);

  /** `@ana`, `@ana@example.com`, `@"Ana Lima"`: a user by e-mail, e-mail name, or display name. */
  async function findUser(handle: string): Promise<{ id: string; name: string; email: string }> {
    const wanted = handle.replace(/^@/, '').replace(/^["'“‘](.*)["'”’]$/, '$1').trim().toLowerCase();
    if (!wanted) throw badRequest('unknown_user', 'an empty @mention');
    const users = await db.selectFrom('users').select(['id', 'name', 'email']).execute();
    const exact = users.filter((u) => u.email.toLowerCase() === wanted);
    if (exact.length === 1) return exact[0];
    const matches = users.filter((u) => u.email.toLowerCase().split('@')[0] === wanted || squash(u.name) === squash(wanted));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw badRequest('ambiguous_user', `@${wanted} matches ${matches.map((u) => u.email).join(', ')}; use the e-mail address`);
    throw notFound('user', `no user @${wanted}`);
  }

  /** The users of `@a @b` mentions, or whoever is on call now on a schedule (`primary`). */
  async function resolveTargets(targets: string[]): Promise<{ ids: string[]; description: string }> {
    const ids: string[] = [];
    const parts: string[] = [];
    for (const target of targets) {
      if (target.startsWith('@')) {
        const u = await findUser(target);
        ids.push(u.id);
        parts.push(u.name);
        continue;
      }
      const onCall = await deps.schedules.onCall({ schedule: target });
      const entry = onCall.schedules[0];
      const members = entry?.members.filter((m) => m.email) ?? [];
      if (members.length === 0) throw badRequest('nobody_on_call', `nobody is on call on schedule ${target} right now`);
      ids.push(...members.map((m) => m.id));
      parts.push(`${members.map((m) => m.name || m.email).join(', ')} (on call for ${entry.schedule.name})`);
    }
    return { ids: [...new Set(ids)], description: parts.join(', ') };
  }

  /** Pages users for an incident without changing its escalation; the timeline says who, why and via what. */
  async function page(changes: IncidentChanges, incident: IncidentRow, userIds: string[], actor: Actor, message: string, via: string): Promise<string[]> {
    const urgency = incident.urgency === 'low' ? 'low' : 'high';
    const plans = await ctx.notifier.notifyUsers(changes, incident.id, userIds, urgency, { kind: 'triggered', level: null, reason: `${actor.name} asked for your help${message ? `: ${message}` : ''}` });
    const names = await escalation.userNames(changes.tx, userIds);
    await changes.timeline(incident, 'responder_added', actor, `${actor.name} paged ${names.join(', ')}${message ? `: ${message}` : ''}`, { users: userIds, plans, via });
    changes.afterCommit(() => ctx.wake());
    return names;
  }

  const ack: CommandDefinition<z.ZodObject<{ incident: z.ZodNullable<typeof incidentNumber> }>> = {
    name: 'ack', aliases: ['acknowledge'],
    summary: 'Acknowledge the incident: escalation stops, you own it.',
    usage: '/ack [incident]', examples: ['/ack', '/ack 12'], effect: 'write', role: 'responder',
    parse: (a) => {
      const { incident, rest } = incidentFrom(a, { leadingNumber: true });
      if (rest.length) throw badRequest('invalid_arguments', `unexpected "${rest.join(' ')}"`);
      return { incident };
    },
    args: z.object({ incident: incidentNumber.nullable() }),
    async run(input, c) {
      const n = requireIncident(input.incident, c, '/ack 12');
      const actor = actorOf(c.principal);
      const { row, changed } = await onIncident(n, async (changes, incident) => {
        requireOpen(incident);
        const updated = await changes.acknowledge(incident, actor, c.via);
        return { row: updated ?? incident, changed: updated !== null };
      });
      if (!changed) return { text: `#${n} is already acknowledged${row.acknowledged_by ? ` (by ${row.acknowledged_by})` : ''}.`, visibility: 'caller', data: { incident: n, status: row.status } };
      return { text: `${actor.name} acknowledged [#${n} ${row.title}](${link(config.publicUrl, n)}).`, visibility: audience(c, n), data: { incident: n, status: row.status } };
    },
  };

  const resolve: CommandDefinition<z.ZodObject<{ incident: z.ZodNullable<typeof incidentNumber> }>> = {
    name: 'resolve',
    summary: 'Resolve the incident and every alert still open in it.',
    usage: '/resolve [incident]', examples: ['/resolve', '/resolve 12'], effect: 'write', role: 'responder',
    parse: (a) => {
      const { incident, rest } = incidentFrom(a, { leadingNumber: true });
      if (rest.length) throw badRequest('invalid_arguments', `unexpected "${rest.join(' ')}"`);
      return { incident };
    },
    args: z.object({ incident: incidentNumber.nullable() }),
    async run(input, c) {
      const n = requireIncident(input.incident, c, '/resolve 12');
      const actor = actorOf(c.principal);
      const { row, changed } = await onIncident(n, async (changes, incident) => {
        const updated = await changes.resolve(incident, actor, c.via);
        return { row: updated ?? incident, changed: updated !== null };
      });
      if (!changed) return { text: `#${n} is already resolved.`, visibility: 'caller', data: { incident: n, status: row.status } };
      return { text: `${actor.name} resolved [#${n} ${row.title}](${link(config.publicUrl, n)}).`, visibility: audience(c, n), data: { incident: n, status: row.status } };
    },
  };

  const noteArgs = z.object({ incident: incidentNumber.nullable(), words: z.array(z.string()).max(2000) });
  const note: CommandDefinition<typeof noteArgs> = {
    name: 'note', aliases: ['annotate'],
    summary: 'Add a note to the incident timeline.',
    usage: '/note [incident] text', examples: ['/note rolled back to v41', '/note 12 "customer impact confirmed"', '/note --incident 12 text'], effect: 'write', role: 'responder',
    parse: (a) => {
      const { incident, rest } = incidentFrom(a, { leadingNumber: false });
      return { incident, words: rest };
    },
    args: noteArgs,
    async run(input, c) {
      let words = input.words;
      let explicit = input.incident;
      // In an incident channel every word is the note ("/note 500s back to normal"); elsewhere a leading number names the incident.
      if (explicit === null && c.incidentNumber === null) {
        const lead = numberWord(words[0]);
        if (lead !== null) {
          explicit = lead;
          words = words.slice(1);
        }
      }
      const n = requireIncident(explicit, c, '/note 12 text');
      const text = words.join(' ').trim();
      if (!text) throw badRequest('invalid_arguments', 'write the note after the command');
      if (text.length > 10_000) throw badRequest('invalid_arguments', 'a note is at most 10,000 characters');
      const actor = actorOf(c.principal);
      await onIncident(n, async (changes, incident) => {
        await changes.timeline(incident, 'annotate', actor, text, { via: c.via });
        changes.touch(incident, 'annotated');
      });
      return { text: `Note added to #${n} by ${actor.name}.`, visibility: 'caller', data: { incident: n } };
    },
  };

  const pageArgs = z.object({ incident: incidentNumber.nullable(), targets: z.array(z.string().min(1)).min(1, 'say whom to page: @user or a schedule name').max(20), message: z.string().max(1000) });
  const pageCommand: CommandDefinition<typeof pageArgs> = {
    name: 'page',
    summary: 'Page people now (by @mention, or whoever is on call on a schedule), without changing the escalation.',
    usage: '/page @user…|schedule [message] [--incident N]', examples: ['/page @ana', '/page @ana @bob "need a DBA"', '/page primary', '/page db-oncall --incident 12'],
    effect: 'write', role: 'responder', parse: parsePage, args: pageArgs,
    async run(input, c) {
      const n = requireIncident(input.incident, c, '/page @ana --incident 12');
      const actor = actorOf(c.principal);
      const targets = await resolveTargets(input.targets);
      const names = await onIncident(n, async (changes, incident) => {
        requireOpen(incident);
        return page(changes, incident, targets.ids, actor, input.message, c.via);
      });
      return { text: `${actor.name} paged ${targets.description} for #${n}.`, visibility: audience(c, n), data: { incident: n, paged: names } };
    },
  };

  const reassign: CommandDefinition<typeof pageArgs> = {
    name: 'reassign',
    summary: 'Assign the incident to other people (by @mention or a schedule\'s on-call); they are paged and escalation carries on.',
    usage: '/reassign @user…|schedule [--incident N]', examples: ['/reassign @ana', '/reassign secondary --incident 12'],
    effect: 'write', role: 'responder', parse: parsePage, args: pageArgs,
    async run(input, c) {
      const n = requireIncident(input.incident, c, '/reassign @ana --incident 12');
      const actor = actorOf(c.principal);
      const targets = await resolveTargets(input.targets);
      const names = await onIncident(n, async (changes, incident) => {
        requireOpen(incident);
        return escalation.reassign(changes, incident, targets.ids, actor);
      });
      return { text: `${actor.name} reassigned #${n} to ${targets.description}.`, visibility: audience(c, n), data: { incident: n, assignees: names } };
    },
  };

  const oncallArgs = z.object({ schedule: z.string().max(100).nullable(), share: z.boolean() });
  const oncall: CommandDefinition<typeof oncallArgs> = {
    name: 'oncall', aliases: ['who'],
    summary: 'Who is on call now on each schedule (or one), and until when. Only you see it unless --share.',
    usage: '/oncall [schedule] [--share]', examples: ['/oncall', '/oncall primary', '/oncall primary --share'],
    effect: 'read', role: 'viewer', booleanFlags: ['share'],
    parse: (a) => ({ schedule: flagString(a.flags, 'schedule') ?? a.positional[0] ?? null, share: a.flags.share === true }),
    args: oncallArgs,
    async run(input) {
      const result = await deps.schedules.onCall(input.schedule ? { schedule: input.schedule } : {});
      const lines = result.schedules.map((s) => {
        const who = s.members.length ? s.members.map((m) => m.name || m.email).join(', ') : '**nobody**';
        const until = s.until ? ` until ${s.until.slice(0, 16).replace('T', ' ')} UTC` : '';
        const problems = s.problems.length ? ` ⚠ ${s.problems[0]}` : '';
        return `• **${s.schedule.name}**: ${who}${until}${problems}`;
      });
      const text = lines.length ? `On call now:\n${lines.join('\n')}` : 'There are no schedules yet.';
      return { text, visibility: input.share ? 'channel' : 'caller', data: result };
    },
  };

  const newArgs = z.object({
    title: z.string().trim().min(1, 'give the incident a title in quotes').max(500),
    service: z.string().min(1, 'name the service: --service NAME').max(200),
    urgency: z.enum(['high', 'low']),
  });
  const incidentNew: CommandDefinition<typeof newArgs> = {
    name: 'incident new', aliases: ['incident open'],
    summary: 'Open an incident by hand; its channel appears and the service\'s on-call is paged.',
    usage: '/incident new "title" --service NAME [--urgency high|low]',
    examples: ['/incident new "Checkout latency above SLO" --service checkout', '/incident new "Slow reports" --service reports --urgency low'],
    effect: 'write', role: 'responder',
    parse: (a) => ({ title: a.positional.join(' '), service: flagString(a.flags, 'service') ?? '', urgency: flagString(a.flags, 'urgency') ?? 'high' }),
    args: newArgs,
    async run(input, c) {
      const service = await servicesRepo.findByName(input.service);
      if (!service) throw notFound('service', `no service ${input.service}`);
      const actor = actorOf(c.principal);
      const { result: row, changes } = await IncidentChanges.run(db, incidentsRepo, () => ctx.clock.now(), durable, (ch) =>
        ch.open({ title: input.title, serviceId: service.id, integrationId: null, groupKey: null, urgency: input.urgency, actor, data: { via: c.via } }), escalation.hooks);
      ctx.metrics.incidentsOpened.inc();
      changes.publish(ctx.bus);
      return {
        text: `${actor.name} opened [#${row.number} ${row.title}](${link(config.publicUrl, row.number)}) on ${service.name} (${input.urgency} urgency). Channel: #incident-${row.number}`,
        visibility: 'channel', data: { incident: row.number, channel: `incident-${row.number}`, url: link(config.publicUrl, row.number) },
      };
    },
  };

  const showArgs = z.object({ incident: incidentNumber.nullable() });
  const incidentShow: CommandDefinition<typeof showArgs> = {
    name: 'incident show', aliases: ['status'],
    summary: 'The incident\'s status, urgency, owner and latest timeline entries (only you see it).',
    usage: '/incident show [incident]', examples: ['/incident show', '/incident show 12', '/status'], effect: 'read', role: 'viewer',
    parse: (a) => {
      const { incident, rest } = incidentFrom(a, { leadingNumber: true });
      if (rest.length) throw badRequest('invalid_arguments', `unexpected "${rest.join(' ')}"`);
      return { incident };
    },
    args: showArgs,
    async run(input, c) {
      const n = requireIncident(input.incident, c, '/incident show 12');
      const view = await ctx.incidents.get(n);
      const timeline = (await ctx.incidents.timeline(n)).slice(-5);
      const owner = view.status === 'acknowledged' && view.acknowledged_by ? `, acknowledged by ${view.acknowledged_by}` : view.status === 'resolved' && view.resolved_by ? `, resolved by ${view.resolved_by}` : '';
      const lines = [
        `**#${n} ${view.title}** (${view.service.name}): ${view.status}, ${view.urgency} urgency${owner}, ${view.alert_count} alert(s). ${view.html_url}`,
        ...timeline.map((t) => `• ${t.at.slice(11, 19)} ${t.message}`),
      ];
      return { text: lines.join('\n'), visibility: 'caller', data: { incident: view, timeline } };
    },
  };

  const resolveAllArgs = z.object({ service: z.string().min(1, 'name the service: --service NAME').max(200) });
  /** Every open incident of the service, by number, read a page at a time (no cap: storms can be large). */
  async function openIncidentsOf(serviceName: string) {
    const service = await servicesRepo.findByName(serviceName);
    if (!service) throw notFound('service', `no service ${serviceName}`);
    const open: { id: string; number: number; title: string }[] = [];
    for (;;) {
      const rows = await db.selectFrom('incidents').select(['id', 'number', 'title'])
        .where('service_id', '=', service.id).where('status', 'in', OPEN_STATUSES).where('number', '>', open.at(-1)?.number ?? 0)
        .orderBy('number').limit(RESOLVE_ALL_PAGE).execute();
      open.push(...rows.map((r) => ({ id: r.id, number: Number(r.number), title: r.title })));
      if (rows.length < RESOLVE_ALL_PAGE) return { service, open };
    }
  }
  const resolveAll: CommandDefinition<typeof resolveAllArgs> = {
    name: 'incident resolve-all',
    summary: 'Resolve every open incident of a service at once (after an alert storm). Destructive: asks to confirm, then resolves exactly the incidents it showed.',
    usage: '/incident resolve-all --service NAME [--expect TOKEN] [--yes]',
    examples: ['/incident resolve-all --service checkout', '/incident resolve-all --service checkout --expect 12-3f9a0c1b2d --yes'],
    effect: 'destructive', role: 'responder',
    parse: (a) => ({ service: flagString(a.flags, 'service') ?? a.positional[0] ?? '' }),
    args: resolveAllArgs,
    async preview(input) {
      const { service, open } = await openIncidentsOf(input.service);
      const expect = fingerprint(open);
      if (open.length === 0) return { text: `${service.name} has no open incidents; nothing would change.`, expect };
      const list = open.slice(0, 10).map((i) => `#${i.number} ${i.title}`).join(', ');
      return { text: `This would resolve ${open.length} open incident(s) of ${service.name}: ${list}${open.length > 10 ? `, … (${open.length - 10} more)` : ''}.`, expect };
    },
    async run(input, c) {
      const { service, open } = await openIncidentsOf(input.service);
      // Confirmed from a preview: only if the open incidents are still exactly those it showed.
      if (typeof c.expect === 'string' && c.expect !== fingerprint(open)) {
        const shown = /^(\d+)-/.exec(c.expect)?.[1];
        throw new AppError('confirmation_stale', 409,
          `The open incidents of ${service.name} changed since the confirmation question${shown ? ` (it showed ${shown}, ${open.length} are open now)` : ''}; nothing was resolved.`);
      }
      const actor = actorOf(c.principal);
      const resolved: number[] = [];
      // Resolves exactly the incidents listed above (ones opened since are left alone), a batch per transaction.
      try {
        for (let i = 0; i < open.length; i += RESOLVE_ALL_BATCH) {
          const batch = open.slice(i, i + RESOLVE_ALL_BATCH);
          const { result, changes } = await IncidentChanges.run(db, incidentsRepo, () => ctx.clock.now(), durable, async (ch) => {
            const numbers: number[] = [];
            for (const { id } of batch) {
              const row = await incidentsRepo.findIncidentById(ch.tx, id);
              if (row && (await ch.resolve(row, actor, c.via))) numbers.push(Number(row.number));
            }
            return numbers;
          }, escalation.hooks);
          changes.publish(ctx.bus);
          resolved.push(...result);
        }
      } catch (error) {
        if (resolved.length === 0) throw error;
        throw new AppError('resolve_all_incomplete', 500, `resolved ${resolved.length} of ${open.length} incident(s) of ${service.name}, then failed: ${(error as Error).message}. Run it again for the rest.`);
      }
      const meanwhile = open.length - resolved.length;
      const shown = resolved.slice(0, 20).map((n) => `#${n}`).join(', ') + (resolved.length > 20 ? ` and ${resolved.length - 20} more` : '');
      return {
        text: resolved.length
          ? `${actor.name} resolved ${resolved.length} incident(s) of ${service.name}: ${shown}.${meanwhile > 0 ? ` ${meanwhile} were resolved meanwhile by others.` : ''}`
          : `${service.name} had no open incidents.`,
        visibility: 'channel', data: { service: service.name, resolved, resolved_count: resolved.length, already_resolved: meanwhile },
      };
    },
  };

  const helpArgs = z.object({ command: z.string().nullable() });
  const help: CommandDefinition<typeof helpArgs> = {
    name: 'help', aliases: ['commands'],
    summary: 'The commands you may run (or one command\'s usage and examples). Only you see it.',
    usage: '/help [command]', examples: ['/help', '/help page'], effect: 'read', role: 'viewer',
    parse: (a) => ({ command: a.positional.length ? a.positional.join(' ').replace(/^\//, '').toLowerCase() : null }),
    args: helpArgs,
    async run(input, c): Promise<CommandResult> {
      const mine = deps.registry.list(c.principal);
      if (input.command) {
        const def = deps.registry.list({ ...c.principal, role: 'admin' }).find((d) => d.name === input.command || d.aliases?.includes(input.command!));
        if (!def) return { text: `No command \`/${input.command}\`. Type \`/help\` for the list.`, visibility: 'caller', error: { code: 'unknown_command', status: 400 } };
        const allowed = roleAtLeast(c.principal.role, def.role);
        return { text: `${usageOf(def)}\nEffect: ${def.effect}; needs the ${def.role} role${allowed ? '' : ` (you have ${c.principal.role}: you cannot run it)`}.`, visibility: 'caller', data: { command: describe(def) } };
      }
      const lines = mine.map((d) => `• \`${d.usage}\` ${d.summary}${d.effect === 'destructive' ? ' (asks to confirm)' : ''}`);
      return { text: `Commands you can run:\n${lines.join('\n')}\nType \`/help COMMAND\` for examples.`, visibility: 'caller', data: { commands: mine.map(describe) } };
    },
  };

  return [ack, resolve, note, pageCommand, reassign, oncall, incidentNew, incidentShow, resolveAll, help] as unknown as CommandDefinition[];
}

/** A command as the API and /help describe it. */
export function describe(d: CommandDefinition) {
  return { name: d.name, aliases: d.aliases ?? [], summary: d.summary, usage: d.usage, examples: d.examples, effect: d.effect, role: d.role, confirm: d.effect === 'destructive' };
}
