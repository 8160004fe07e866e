import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, seedService, type TestApp } from '../../test/helpers.ts';
import { ManualClock } from '../clock.ts';
import { UNATTACHED_FILE_TTL_MS } from './chat.files-gc.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe(`war room: files no message shows are swept (${dialect})`, () => {
    let t: TestApp;
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const api = (role: 'responder' | 'viewer', method: 'GET' | 'POST', url: string, payload?: unknown) =>
      t.app.inject({ method, url, headers: t.auth(role), payload: payload as object });
    const upload = async (name: string): Promise<string> => {
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/files?name=${name}`, headers: { ...t.auth('responder'), 'content-type': 'image/png' }, payload: PNG });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id;
    };
    const served = async (id: string) => (await api('viewer', 'GET', `/api/v1/files/${id}`)).statusCode;
    const sweep = () => (t.features.modules.find((m) => m.name === 'chat') as unknown as { sweepFiles(): Promise<number> }).sweepFiles();

    before(async () => {
      t = await createTestApp(dialect, { clock });
      await seedService(t, 'checkout');
      await api('responder', 'POST', '/api/v1/channels', { name: 'ops' });
    });
    after(() => t.close());

    test('after the TTL, uploads never attached and /graph images made outside a channel are deleted; every file a message shows stays', async () => {
      const unattached = await upload('never-posted.png');
      const attached = await upload('posted.png');
      assert.equal((await api('responder', 'POST', '/api/v1/channels/ops/messages', { text: 'look', file_ids: [attached] })).statusCode, 201);
      // Shown only through a block's image URL (as an incoming hook may link a stored file).
      const inBlock = await upload('in-block.png');
      await t.features.chat.post({ channel: 'ops', author: { type: 'integration', id: 'hook', name: 'Hook' }, text: '', blocks: [{ type: 'image', image_url: `http://firewatch.test/api/v1/files/${inBlock}`, alt_text: 'graph' }] });

      const outside = await api('viewer', 'POST', '/api/v1/commands', { line: '/graph alerts 6h --service checkout' });
      assert.equal(outside.statusCode, 200, outside.body);
      assert.equal(outside.json().posted, false);
      const outsideFile = outside.json().data.file.id as string;
      assert.match(outside.json().text, /kept for 6 hours, until 2026-03-01T18:00:00\.000Z/, 'the reply says the image is temporary');
      assert.equal(outside.json().data.expires_at, '2026-03-01T18:00:00.000Z');

      const inChannel = await api('responder', 'POST', '/api/v1/commands', { line: '/graph alerts 1h --service checkout', channel: 'ops' });
      assert.equal(inChannel.statusCode, 200, inChannel.body);
      assert.equal(inChannel.json().posted, true);
      const inChannelFile = inChannel.json().data.file.id as string;
      assert.doesNotMatch(inChannel.json().text, /kept for/);

      const everything = [unattached, attached, inBlock, outsideFile, inChannelFile];
      // Before the TTL nothing goes: an upload waits for its post.
      clock.advance(UNATTACHED_FILE_TTL_MS - MINUTE);
      assert.equal(await sweep(), 0);
      for (const id of everything) assert.equal(await served(id), 200, id);
      const fresh = await upload('fresh.png');

      clock.advance(2 * MINUTE);
      assert.equal(await sweep(), 2);
      assert.equal(await served(unattached), 404);
      assert.equal(await served(outsideFile), 404);
      for (const id of [attached, inBlock, inChannelFile, fresh]) assert.equal(await served(id), 200, id);
      assert.equal(await sweep(), 0, 'a second pass finds nothing more');

      // The fresh upload has its own TTL, counted from when it was stored.
      clock.advance(UNATTACHED_FILE_TTL_MS);
      assert.equal(await sweep(), 1);
      assert.equal(await served(fresh), 404);
      for (const id of [attached, inBlock, inChannelFile]) assert.equal(await served(id), 200, id);
      const rows = await t.handle.db.selectFrom('chat_files').select('id').execute();
      assert.deepEqual(rows.map((r) => r.id).toSorted(), [attached, inBlock, inChannelFile].toSorted());
    });

    test('a file a message shows is never swept, however old', async () => {
      const id = await upload('kept.png');
      const posted = await api('responder', 'POST', '/api/v1/channels/ops/messages', { text: 'kept', file_ids: [id] });
      assert.equal(posted.statusCode, 201);
      clock.advance(10 * UNATTACHED_FILE_TTL_MS);
      assert.equal(await sweep(), 0);
      assert.equal(await served(id), 200);
    });
  });
}
