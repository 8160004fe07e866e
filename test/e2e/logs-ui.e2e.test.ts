import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, collectPageErrors, launchChromium, signIn } from './browser.ts';
import { type FirewatchProcess, ProcessGroup } from './processes.ts';

/**
 * The Logs page in a real Chromium against a real `firewatch serve`: search, hostile text shown inert, the
 * dashboard link per line, live tail picking up a line sent after it started, and "share to channel" landing in
 * the war room.
 */

if (chromiumSkip) process.stderr.write(`skipped: ${chromiumSkip}\n`);

const PASSWORD = 'logs-page-password-123';
const CONFIG = `services:
  - name: checkout
    description: Checkout API
users:
  - { email: ana@example.com, name: Ana Ortiz, role: responder }
`;

describe('Logs page in Chromium', { skip: chromiumSkip }, () => {
  const group = new ProcessGroup();
  let fw: FirewatchProcess;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const dialogs: string[] = [];

  async function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const response = await fetch(`${fw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${fw.token}`, 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  const ingest = (lines: object[]) => call('POST', '/api/v1/logs', lines.map((l) => JSON.stringify(l)).join('\n'), 'application/x-ndjson');

  before(async () => {
    const [server, chromium] = await Promise.allSettled([group.firewatch({ config: CONFIG }), launchChromium()]);
    if (chromium.status === 'fulfilled') browser = chromium.value;
    if (server.status === 'rejected') throw server.reason;
    if (chromium.status === 'rejected') throw chromium.reason;
    fw = server.value;
    const { users } = await call('GET', '/api/v1/users') as { users: { id: string; email: string }[] };
    await call('PATCH', `/api/v1/users/${users.find((u) => u.email === 'ana@example.com')!.id}`, { password: PASSWORD });
    await call('POST', '/api/v1/channels', { name: 'ops' });
    const now = Date.now();
    await ingest([
      { time: new Date(now - 120_000).toISOString(), host: 'web-1', app: 'nginx', service: 'checkout', level: 'error', msg: 'upstream gateway timeout <img src=x onerror=alert(1)>' },
      { time: new Date(now - 60_000).toISOString(), host: 'web-2', app: 'nginx', level: 'info', msg: 'GET /health 200' },
    ]);
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    errors.push(...collectPageErrors(page));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signIn(page, `${fw.url}/logs`, 'ana@example.com', PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await group.stop();
  });

  test('search shows matching lines with the message as text and a link to the dashboard at that time', async () => {
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.locator('input[name=q]').fill('"gateway timeout" severity:err');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.locator('table.logs-table tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    // The severity badge is capitalised by CSS.
    assert.match(await rows.first().innerText(), /web-1\s+nginx\s+\(checkout\)\s+Err\s+upstream gateway timeout <img src=x onerror=alert\(1\)>/);
    assert.equal(await page.locator('table.logs-table img').count(), 0);
    const href = await rows.first().getByRole('link', { name: 'Dashboard' }).getAttribute('href');
    assert.match(href ?? '', /^\/services\/checkout\/dashboard\?from=.+&to=.+/);
    assert.match(page.url(), /\/logs\?q=%22gateway\+timeout%22\+severity%3Aerr/);
    await page.locator('input[name=q]').fill('"unclosed');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('alert').filter({ hasText: 'quoted phrase is not closed' }).waitFor();
  });

  test('live tail shows a line sent after it started', async () => {
    await page.locator('input[name=q]').fill('app:nginx');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('Live tail').check();
    await page.getByText('Waiting for lines…').waitFor();
    // The tail starts after the lines stored so far; give its first poll a moment to take its starting point.
    await new Promise((r) => setTimeout(r, 1500));
    await ingest([{ host: 'web-3', app: 'nginx', level: 'warning', msg: 'tail me please' }, { host: 'db-1', app: 'postgres', msg: 'not nginx' }]);
    await page.locator('table.logs-table tbody tr', { hasText: 'tail me please' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('table.logs-table tbody tr').count(), 1);
    await page.getByLabel('Live tail').uncheck();
  });

  test('share to channel posts the search into the war room', async () => {
    await page.locator('input[name=q]').fill('"gateway timeout"');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('table.logs-table tbody tr').first().waitFor();
    await page.getByPlaceholder('inc-42').fill('ops');
    await page.getByRole('button', { name: 'Share' }).click();
    await page.getByRole('status').filter({ hasText: 'Posted 1 line to #ops.' }).waitFor();
    const { messages } = await call('GET', '/api/v1/channels/ops/messages') as { messages: { text: string; author: { name: string } }[] };
    const shared = messages.at(-1)!;
    assert.match(shared.text, /^Log search `"gateway timeout"` .*: 1 line\n```\n.*web-1 nginx err: upstream gateway timeout <img src=x onerror=alert\(1\)>\n```\n/);
    assert.equal(shared.author.name, 'Ana Ortiz');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  });
});
