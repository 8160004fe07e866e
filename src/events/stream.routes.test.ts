import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, pdTrigger, seedService, type TestApp } from '../../test/helpers.ts';

describe('live stream (SSE)', () => {
  let t: TestApp;
  let url: string;
  let key: string;
  before(async () => {
    t = await createTestApp('sqlite');
    key = (await seedService(t)).pagerduty;
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => t.close());

  test('the stream needs authentication', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/stream' });
    assert.equal(res.statusCode, 401);
  });

  test('a committed alert reaches a connected stream, and closing the app ends the stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${url}/api/v1/stream`, { headers: t.auth('viewer'), signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    await fetch(`${url}/v2/enqueue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pdTrigger(key, { dedup_key: 'live-1' })) });
    const deadline = Date.now() + 5000;
    while (!text.includes('event: incident.changed') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    assert.match(text, /event: incident.changed\ndata: \{"type":"incident.changed","reason":"triggered"/);
    const closing = t.app.close();
    const end = await Promise.race([reader.read().then((r) => r.done), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    assert.equal(end, true, 'the stream ended when the server closed');
    await closing;
    controller.abort();
  });
});
