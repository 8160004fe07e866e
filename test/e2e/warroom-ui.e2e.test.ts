import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, collectPageErrors, horizontalOverflow, launchChromium, signIn } from './browser.ts';
import { type FirewatchProcess, ProcessGroup } from './processes.ts';

/**
 * The war room in two real Chromium contexts (two users) against a real `firewatch serve`: messages live
 * both ways, a network drop on one side with nothing missed and nothing repeated after it comes back,
 * hostile Markdown rendered inert, an alert's incident channel on the incident page, `/ack`, `/graph` (the PNG
 * and its live-view link) and `/resolve` from the composer, and the HTML export opened offline. The tests share one server and run in order.
 */

if (chromiumSkip) process.stderr.write(`skipped: ${chromiumSkip}\n`);

const ROUTING_KEY = 'e2ewarroom0123456789abcdef012345';
const CONFIG = `services:
  - name: checkout
    description: Checkout API
    integrations:
      - { name: pd, type: pagerduty, key: ${ROUTING_KEY} }
users:
  - { email: ana@example.com, name: Ana Ortiz, role: responder }
  - { email: ben@example.com, name: Ben Brook, role: responder }
`;
const STEP_MS = 10_000;
const PASSWORD = 'war-room-password-123';

const messages = (page: Page) => page.locator('.chat-messages .chat-msg .chat-text');
const texts = (page: Page) => messages(page).evaluateAll((nodes) => nodes.map((node) => (node.textContent ?? '').trim()));
const ids = (page: Page) => page.locator('.chat-messages .chat-msg').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-id')));

async function send(page: Page, text: string, box = 'message'): Promise<void> {
  const input = page.locator(`textarea[name=${box}]`);
  await input.fill(text);
  await input.press('Enter');
  // A string, because the test's TypeScript has no DOM types; it runs in the page.
  await page.waitForFunction(`document.querySelector('textarea[name=${box}]')?.value === ''`);
}

describe('war room in Chromium', { skip: chromiumSkip }, () => {
  const group = new ProcessGroup();
  let fw: FirewatchProcess;
  let browser: Browser;
  let contextA: BrowserContext;
  let contextB: BrowserContext;
  let a: Page;
  let b: Page;
  const errors: string[] = [];
  const dialogs: string[] = [];

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${fw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${fw.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function userPage(context: BrowserContext, email: string): Promise<Page> {
    const page = await context.newPage();
    errors.push(...collectPageErrors(page));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signIn(page, `${fw.url}/channels`, email, PASSWORD);
    return page;
  }

  before(async () => {
    const [server, chromium] = await Promise.allSettled([group.firewatch({ config: CONFIG }), launchChromium()]);
    if (chromium.status === 'fulfilled') browser = chromium.value;
    if (server.status === 'rejected') throw server.reason;
    if (chromium.status === 'rejected') throw chromium.reason;
    fw = server.value;
    const { users } = await call('GET', '/api/v1/users') as { users: { id: string; email: string }[] };
    for (const email of ['ana@example.com', 'ben@example.com']) {
      const user = users.find((u) => u.email === email);
      assert.ok(user, `user ${email} from the config`);
      await call('PATCH', `/api/v1/users/${user.id}`, { password: PASSWORD });
    }
    contextA = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    contextB = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    contextA.setDefaultTimeout(STEP_MS);
    contextB.setDefaultTimeout(STEP_MS);
    [a, b] = await Promise.all([userPage(contextA, 'ana@example.com'), userPage(contextB, 'ben@example.com')]);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await group.stop();
  });

  test('two users in one channel see each other live, and a dropped connection misses nothing', async () => {
    await call('POST', '/api/v1/channels', { name: 'ops', topic: 'Operations chatter' });
    await Promise.all([a.goto(`${fw.url}/channels`), b.goto(`${fw.url}/channels`)]);
    await a.locator('.chat-channel-row[data-channel="ops"]').getByRole('link', { name: '#ops' }).click();
    await b.locator('.chat-channel-row[data-channel="ops"]').getByRole('link', { name: '#ops' }).click();
    await b.evaluate('window.__sameDocument = true');
    // Both are subscribed once each sees the other in the room.
    await a.locator('.chat-presence .chat-member', { hasText: 'Ben Brook' }).waitFor();
    await b.locator('.chat-presence .chat-member', { hasText: 'Ana Ortiz' }).waitFor();

    await send(a, 'hello from @ben, **disk** at 91%');
    const first = b.locator('.chat-msg', { hasText: 'hello from' });
    await first.waitFor();
    assert.equal(await first.locator('.chat-author').textContent(), 'Ana Ortiz');
    assert.equal(await first.locator('strong').textContent(), 'disk');
    assert.equal(await first.locator('.chat-mention').textContent(), '@ben');
    await send(b, 'on it');
    await a.locator('.chat-msg', { hasText: 'on it' }).waitFor();

    // B loses the network while A writes three messages.
    await contextB.setOffline(true);
    await b.locator('.chat-socket-down').waitFor();
    for (const n of [1, 2, 3]) {
      await send(a, `while you were away ${n}`);
      await a.locator('.chat-msg', { hasText: `while you were away ${n}` }).waitFor();
    }
    await b.waitForTimeout(300);
    assert.equal(await b.locator('.chat-msg', { hasText: 'while you were away' }).count(), 0, 'nothing arrives while offline');
    await contextB.setOffline(false);
    await b.locator('.chat-msg', { hasText: 'while you were away 3' }).waitFor();
    await b.locator('.chat-socket-open').waitFor();
    await b.waitForTimeout(800); // a duplicate from the replay would land by now
    const seen = await texts(b);
    assert.deepEqual(seen.filter((t) => t.startsWith('while you were away')), ['while you were away 1', 'while you were away 2', 'while you were away 3']);
    assert.equal(new Set(await ids(b)).size, seen.length, 'no message twice');
    assert.equal(await b.evaluate('window.__sameDocument'), true, 'no reload');
    // A later message still arrives live after the reconnect.
    await send(a, 'back to normal');
    await b.locator('.chat-msg', { hasText: 'back to normal' }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('renders hostile Markdown inert: no script, no javascript: link, no onerror, no dialog', async () => {
    const payload = [
      'xss-probe <script>window.__xss=1;alert(1)</script>',
      '[click me](javascript:window.__xss=2) <img src=x onerror="window.__xss=3;alert(3)">',
      '![pic](x" onerror="window.__xss=4) <a href="javascript:alert(5)">raw link</a> [ok](https://example.com/runbook)',
    ].join('\n\n');
    const input = a.locator('textarea[name=message]');
    await input.fill(payload);
    await input.press('Enter');
    const message = b.locator('.chat-msg', { hasText: 'xss-probe' });
    await message.waitFor();
    assert.match(await message.locator('.chat-text').textContent() ?? '', /<script>window\.__xss=1;alert\(1\)<\/script>/);
    assert.match(await message.locator('.chat-text').textContent() ?? '', /<img src=x onerror=/);
    const safe = message.getByRole('link', { name: 'ok' });
    assert.equal(await safe.getAttribute('href'), 'https://example.com/runbook');
    assert.equal(await safe.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await message.getByRole('link', { name: 'click me' }).count(), 0, 'a javascript: URL must not become a link');
    await message.getByText('click me').first().click();
    await b.waitForTimeout(300);
    for (const page of [a, b]) {
      assert.equal(await page.evaluate('typeof window.__xss'), 'undefined');
      assert.equal(await page.locator('#root script').count(), 0);
      assert.equal(await page.locator('.chat-msg img').count(), 0);
      assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0);
    }
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  });

  test('an alert opens an incident channel; the incident page streams it live; /ack from the composer; HTML export works offline', async () => {
    await b.goto(`${fw.url}/incidents`);
    await b.locator('.live-dot.live-live').waitFor({ state: 'attached' });
    const response = await fetch(`${fw.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: 'war-1', payload: { summary: 'Checkout 5xx above 2%', source: 'lb1', severity: 'critical' } }),
    });
    assert.equal(response.status, 202, await response.text());
    const row = b.locator('table.incidents tbody tr', { hasText: 'Checkout 5xx above 2%' });
    await row.waitFor();
    const number = Number(await row.getAttribute('data-number'));

    // The channel exists with the incident, with the bot's trigger message in it.
    const channel = `incident-${number}`;
    await a.goto(`${fw.url}/channels/${channel}`);
    const bot = a.locator('.chat-msg[data-kind="event"]', { hasText: /trigger|Checkout 5xx/i }).first();
    await bot.waitFor();
    assert.equal(await bot.locator('.chat-author-type').textContent(), 'bot');

    await row.getByRole('link').click();
    await b.locator('.incident-head .status-triggered').waitFor();
    await b.locator('.timeline .entry[data-type="trigger"]').waitFor();
    await b.locator('.chat-summary').waitFor();
    await b.locator('.chat-stream .chat-socket-open').waitFor();
    await a.locator('.chat-presence .chat-member', { hasText: 'Ben Brook' }).waitFor();

    // A writes in the channel page; B sees it in the incident's stream, between the timeline entries.
    await send(a, 'looking at the load balancer logs');
    await b.locator('.timeline .chat-entry', { hasText: 'looking at the load balancer logs' }).waitFor();
    // Filter: events only hides the message, messages only hides the trigger.
    await b.locator('select[name=stream-filter]').selectOption('events');
    assert.equal(await b.locator('.timeline .chat-entry').count(), 0);
    await b.locator('select[name=stream-filter]').selectOption('messages');
    assert.equal(await b.locator('.timeline .entry[data-type="trigger"]').count(), 0);
    await b.locator('select[name=stream-filter]').selectOption('all');

    await send(b, '/ack', 'note');
    await b.locator('.incident-head .status-acknowledged').waitFor();
    await b.locator('.chat-summary .status-acknowledged').waitFor();
    await a.locator('.chat-msg', { hasText: '/ack' }).waitFor();

    // /graph renders a PNG on the server; both see the image, with a link back to the live view.
    await send(b, '/graph alerts 1h', 'note');
    for (const page of [a, b]) {
      const image = page.locator('.chat-file-image img').first();
      await image.waitFor();
      await page.waitForFunction(`[...document.querySelectorAll('.chat-file-image img')].some((img) => img.complete && img.naturalWidth > 100)`);
      assert.match(await page.locator('.chat-live-link').first().getAttribute('href') ?? '', new RegExp(`/incidents/${number}`));
    }
    await send(b, '/resolve', 'note');
    await b.locator('.incident-head .status-resolved').waitFor();

    const [download] = await Promise.all([b.waitForEvent('download'), b.locator('.chat-stream').getByRole('link', { name: 'Export HTML' }).click()]);
    const file = await download.path();
    const html = readFileSync(file, 'utf8');
    assert.match(html, /looking at the load balancer logs/);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /src="data:image\/png;base64,/, 'the graph is inside the file');
    // Open it with the network off: everything it needs is inside the file.
    const offline = await browser.newContext({ offline: true });
    try {
      const view = await offline.newPage();
      await view.goto(`file://${file}`);
      await view.getByText('looking at the load balancer logs').waitFor();
    } finally {
      await offline.close();
    }
    assert.deepEqual(errors, []);
  });

  test('the channel list and a channel fit a phone (375 px)', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    try {
      phone.setDefaultTimeout(STEP_MS);
      const page = await userPage(phone, 'ana@example.com');
      await page.goto(`${fw.url}/channels/ops`);
      await page.locator('.chat-msg', { hasText: 'back to normal' }).waitFor();
      assert.equal(await horizontalOverflow(page), 0, 'channel page is wider than the phone');
      await page.goto(`${fw.url}/channels`);
      await page.locator('.chat-channel-row').first().waitFor();
      assert.equal(await horizontalOverflow(page), 0, 'channel list is wider than the phone');
    } finally {
      await phone.close();
    }
  });
});
