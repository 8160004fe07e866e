import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CLI, type FirewatchProcess, NODE_BIN, ProcessGroup, REPO_ROOT } from '../../test/e2e/processes.ts';

const CONFIG = `services:
  - name: checkout
    description: Checkout API
`;

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NODE_BIN, [CLI, ...args], { cwd: REPO_ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('firewatch command (CLI) against a real server', () => {
  const group = new ProcessGroup();
  let fw: FirewatchProcess;
  let env: NodeJS.ProcessEnv;
  let viewerEnv: NodeJS.ProcessEnv;

  before(async () => {
    fw = await group.firewatch({ config: CONFIG });
    env = { ...fw.env, FIREWATCH_URL: fw.url, FIREWATCH_TOKEN: fw.token };
    const viewer = (await fw.cli(['token', 'create', '--name', 'looker', '--role', 'viewer'])).trim();
    viewerEnv = { ...env, FIREWATCH_TOKEN: viewer };
  });
  after(() => group.stop());

  test('opens, notes and acknowledges an incident; the timeline says via cli', async () => {
    const opened = await cli(['command', '/incident new "CLI opened" --service checkout', '--json'], env);
    assert.equal(opened.code, 0, opened.stderr);
    const n = JSON.parse(opened.stdout).data.incident as number;
    // Words the shell split are put back together (quoted where they had spaces).
    const note = await cli(['cmd', 'note', String(n), 'two words'], env);
    assert.equal(note.code, 0, note.stderr);
    assert.match(note.stdout, new RegExp(`Note added to #${n}`));
    const ack = await cli(['cmd', `/ack ${n}`], env);
    assert.equal(ack.code, 0, ack.stderr);
    assert.match(ack.stdout, /acknowledged/);
    const { timeline } = await fw.api<{ timeline: { type: string; message: string; data: { via?: string } }[] }>(`/api/v1/incidents/${n}/timeline`);
    assert.equal(timeline.find((e) => e.type === 'annotate')?.message, 'two words');
    assert.deepEqual(timeline.filter((e) => ['trigger', 'annotate', 'acknowledge'].includes(e.type)).map((e) => e.data.via), ['cli', 'cli', 'cli']);
  });

  test('refusals exit non-zero with the reason: role, unknown command, confirmation', async () => {
    const denied = await cli(['cmd', '/resolve 1'], viewerEnv);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /403 forbidden: `\/resolve` needs the responder role/);
    const unknown = await cli(['cmd', '/reslove 1'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Did you mean `\/resolve`/);
    const confirm = await cli(['cmd', '/incident resolve-all --service checkout'], env);
    assert.equal(confirm.code, 1);
    assert.match(confirm.stderr, /confirmation_required: This would resolve 1 open incident/);
    const yes = await cli(['cmd', '/incident resolve-all --service checkout', '--yes'], env);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, /resolved 1 incident/);
  });

  test('--list shows only what the token may run', async () => {
    const viewer = await cli(['command', '--list'], viewerEnv);
    assert.equal(viewer.code, 0, viewer.stderr);
    assert.match(viewer.stdout, /\/graph/);
    assert.doesNotMatch(viewer.stdout, /\/resolve/);
  });
});
