import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Role } from '../users/roles.ts';
import type { CommandContext, CommandDefinition } from './command.types.ts';
import { createCommandRegistry } from './registry.ts';

const ctx = (role: Role): CommandContext => ({
  principal: { kind: 'token', id: 't', name: `a ${role}`, role, userId: null, csrfToken: null },
  channel: null, incidentNumber: null, via: 'test', now: new Date('2026-11-21T10:00:00Z'),
});

function wipe(calls: string[]): CommandDefinition {
  const args = z.object({ target: z.string().min(1, 'name the target') });
  return {
    name: 'wipe', aliases: ['erase'], summary: 'Wipe a target.', usage: '/wipe TARGET', examples: ['/wipe cache'],
    effect: 'destructive', role: 'responder', args,
    parse: (a) => ({ target: a.positional[0] ?? '' }),
    preview: async (input) => {
      calls.push(`preview ${(input as z.infer<typeof args>).target}`);
      return `This would wipe ${(input as z.infer<typeof args>).target}.`;
    },
    run: async (input) => {
      calls.push(`run ${(input as z.infer<typeof args>).target}`);
      return { text: 'wiped', visibility: 'channel' };
    },
  } as CommandDefinition;
}

describe('command registry', () => {
  test('names and aliases are unique; destructive commands must describe themselves', () => {
    const r = createCommandRegistry();
    r.register(wipe([]));
    assert.throws(() => r.register({ ...wipe([]), name: 'other', aliases: ['erase'] }), /already registered/);
    assert.throws(() => r.register({ ...wipe([]), name: 'bad name!' }), /invalid command name/);
    assert.throws(() => r.register({ ...wipe([]), name: 'nopreview', aliases: [], preview: undefined }), /needs a preview/);
  });

  test('the role is checked before anything else: a viewer learns nothing about the arguments, and nothing runs', async () => {
    const calls: string[] = [];
    const r = createCommandRegistry();
    r.register(wipe(calls));
    const res = await r.run('/wipe', ctx('viewer'));
    assert.equal(res.error?.code, 'forbidden');
    assert.equal(res.visibility, 'caller');
    assert.deepEqual(calls, []);
  });

  test('confirmation: a preview without --yes, the run with it (or with confirmed), aliases alike', async () => {
    const calls: string[] = [];
    const r = createCommandRegistry();
    r.register(wipe(calls));
    const ask = await r.run('/wipe cache', ctx('responder'));
    assert.equal(ask.error?.code, 'confirmation_required');
    assert.match(ask.text, /This would wipe cache\.[\s\S]*`\/wipe cache --yes`/);
    assert.deepEqual(calls, ['preview cache']);
    assert.equal((await r.run('/erase cache --yes', ctx('responder'))).text, 'wiped');
    assert.equal((await r.run('wipe db', ctx('admin'), { confirmed: true })).text, 'wiped');
    assert.deepEqual(calls, ['preview cache', 'run cache', 'run db']);
    const bad = await r.run('/wipe --yes', ctx('responder'));
    assert.equal(bad.error?.code, 'invalid_arguments');
    assert.match(bad.text, /name the target[\s\S]*Usage: `\/wipe TARGET`[\s\S]*`\/wipe cache`/);
  });

  test('AppErrors from a command are replies; other errors are bugs and propagate', async () => {
    const r = createCommandRegistry();
    const base = { summary: 's', usage: '/x', examples: [], effect: 'read' as const, role: 'viewer' as const, args: z.object({}), parse: () => ({}) };
    r.register({ ...base, name: 'refuse', run: async () => { throw new AppError('incident_not_found', 404, 'incident 9 not found'); } });
    r.register({ ...base, name: 'crash', run: async () => { throw new TypeError('boom'); } });
    const refused = await r.run('/refuse', ctx('viewer'));
    assert.deepEqual(refused.error, { code: 'incident_not_found', status: 404 });
    assert.match(refused.text, /`\/refuse` failed: incident 9 not found/);
    await assert.rejects(r.run('/crash', ctx('viewer')), TypeError);
  });

  test('empty, over-long and unknown lines', async () => {
    const r = createCommandRegistry();
    r.register(wipe([]));
    assert.equal((await r.run('   ', ctx('admin'))).error?.code, 'empty_command');
    assert.equal((await r.run(`/wipe ${'x'.repeat(5000)}`, ctx('admin'))).error?.code, 'command_too_long');
    const unknown = await r.run('/wpie x', ctx('admin'));
    assert.equal(unknown.error?.code, 'unknown_command');
    assert.match(unknown.text, /Did you mean `\/wipe`\?/);
    const far = await r.run('/kubectl delete', ctx('admin'));
    assert.doesNotMatch(far.text, /Did you mean/);
  });
});
