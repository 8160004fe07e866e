import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, collectPageErrors, horizontalOverflow, launchChromium, signIn } from './browser.ts';
import { type FirewatchProcess, ProcessGroup } from './processes.ts';

/**
 * The web UI in a real Chromium against a real `firewatch serve` process: sign-in with the printed
 * first-admin password, live updates over SSE, the incident lifecycle, inert rendering of alert text,
 * the services page's setup snippets, a phone-sized layout, paging, what a viewer may do, sign-out and
 * the sign-in rate limit. The tests share one server and run in order (the last one blocks sign-ins).
 */

if (chromiumSkip) process.stderr.write(`skipped: ${chromiumSkip}\n`);

const ROUTING_KEY = 'e2eui0123456789abcdef0123456789a';
const CONFIG = `services:
  - name: checkout
    description: Checkout API
    integrations:
      - name: pd
        type: pagerduty
        key: ${ROUTING_KEY}
`;
const STEP_MS = 10_000;
const XSS_SUMMARY = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script> disk full on db1';

describe('web UI in Chromium', { skip: chromiumSkip }, () => {
  const group = new ProcessGroup();
  let fw: FirewatchProcess;
  let admin: { email: string; password: string };
  let browser: Browser;
  let desktop: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];

  before(async () => {
    const [server, chromium] = await Promise.allSettled([group.firewatch({ config: CONFIG }), launchChromium()]);
    // Keep whichever started, so after() stops it even when the other failed.
    if (chromium.status === 'fulfilled') browser = chromium.value;
    if (server.status === 'rejected') throw server.reason;
    if (chromium.status === 'rejected') throw chromium.reason;
    fw = server.value;
    admin = firstAdminFrom(fw.process.output());
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    desktop.setDefaultTimeout(STEP_MS);
    page = await desktop.newPage();
    pageErrors = collectPageErrors(page);
    await signIn(page, fw.url, admin.email, admin.password);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await group.stop();
  });

  /** Sends a PagerDuty Events v2 trigger to the server and checks it was accepted. */
  async function trigger(dedupKey: string, summary: string, extra: Record<string, unknown> = {}) {
    const response = await fetch(`${fw.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: dedupKey, payload: { summary, source: 'db1.example.com', severity: 'critical' }, ...extra }),
    });
    assert.equal(response.status, 202, await response.text());
  }

  test('explains a wrong password on the sign-in page', async () => {
    const context = await browser.newContext();
    try {
      const fresh = await context.newPage();
      await fresh.goto(`${fw.url}/incidents`);
      await fresh.locator('input[name=email]').fill(admin.email);
      await fresh.locator('input[name=password]').fill('not-the-password');
      await fresh.getByRole('button', { name: 'Sign in' }).click();
      const alert = fresh.getByRole('alert');
      await alert.waitFor();
      assert.equal(await alert.textContent(), 'Wrong email or password.');
    } finally {
      await context.close();
    }
  });

  test('shows a new incident live, then acknowledges, notes and resolves it', async () => {
    await page.goto(`${fw.url}/incidents`);
    await page.getByText('No open incidents').waitFor();
    await waitForLive(page);
    await page.evaluate('window.__sameDocument = true');

    const title = 'Disk full on db1';
    await trigger('disk-db1', title);
    const row = page.locator('table.incidents tbody tr', { hasText: title });
    await row.waitFor();
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'the row must appear without a reload');
    assert.equal(await row.locator('.badge.status-triggered').textContent(), 'triggered');
    const number = Number(await row.getAttribute('data-number'));
    assert.ok(number > 0);

    // A second tab on the list follows status changes made in the first.
    const watcher = await desktop.newPage();
    const watcherErrors = collectPageErrors(watcher);
    await watcher.goto(`${fw.url}/incidents?status=all`);
    await waitForLive(watcher);
    const watchedRow = watcher.locator(`tr[data-number="${number}"]`);
    await watchedRow.waitFor();
    // Headless Chromium pauses animation frames in background tabs, which slows every click there.
    await page.bringToFront();

    await row.getByRole('link', { name: title }).click();
    await page.waitForURL(`${fw.url}/incidents/${number}`);
    await page.locator('h1', { hasText: title }).waitFor();
    await page.locator('.incident-head .status-triggered').waitFor();
    const alertRow = page.locator('table.alerts tbody tr', { hasText: title });
    assert.match(await alertRow.textContent() ?? '', /critical.*db1\.example\.com.*triggered/s);

    // After a reload the session (and its CSRF token) comes back from the server.
    await page.reload();
    await page.locator('.incident-head .status-triggered').waitFor();
    await waitForLive(page);

    // A repeat of the same alert shows up live on the incident page.
    await trigger('disk-db1', title);
    await alertRow.locator('td[data-label="Triggers"]', { hasText: '2' }).waitFor();

    await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
    await page.locator('.incident-head .status-acknowledged').waitFor();
    await page.locator('.facts', { hasText: 'by Administrator' }).waitFor();
    await watcher.locator(`tr[data-number="${number}"][data-status="acknowledged"]`).waitFor();

    const note = 'Rotated /var/log on db1; <b>watching</b> disk usage';
    await page.locator('textarea[name=note]').fill(note);
    await page.getByRole('button', { name: 'Add note' }).click();
    const noteEntry = page.locator('.timeline .entry-note', { hasText: note });
    await noteEntry.waitFor();
    assert.equal(await noteEntry.locator('.entry-message').textContent(), note);
    assert.equal(await noteEntry.locator('.entry-actor').textContent(), 'Administrator');

    await page.getByRole('button', { name: 'Resolve', exact: true }).click();
    await page.locator('.incident-head .status-resolved').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Resolve', exact: true }).count(), 0);
    await watcher.locator(`tr[data-number="${number}"][data-status="resolved"]`).waitFor();

    const types = await page.locator('.timeline > li').evaluateAll((items) => items.map((item) => item.getAttribute('data-type')));
    assert.equal(types[0], 'trigger', `timeline oldest first: ${types.join(', ')}`);
    assert.ok(types.indexOf('acknowledge') < types.indexOf('annotate') && types.indexOf('annotate') < types.indexOf('resolve'), `timeline order: ${types.join(', ')}`);

    await page.screenshot({ path: '/tmp/fw-ui-incident.png', fullPage: true });
   
    await watcher.close();
    assert.deepEqual([...pageErrors, ...watcherErrors], []);
  });

  test('renders alert text and links inert: no markup, no script, no javascript: links', async () => {
    await page.goto(`${fw.url}/incidents`);
    await waitForLive(page);
    await trigger('xss-1', XSS_SUMMARY, {
      links: [{ href: 'javascript:window.__xss=2', text: 'Evil link' }, { href: 'https://runbooks.example.com/disk', text: 'Runbook' }],
      client: 'Evil client',
      client_url: 'javascript:window.__xss=3',
    });
    const row = page.locator('table.incidents tbody tr', { hasText: 'disk full on db1' });
    await row.waitFor();
    assert.equal(await row.locator('.c-title').textContent(), XSS_SUMMARY);

    const number = await row.getAttribute('data-number');
    await row.getByRole('link').click();
    const summary = page.locator('table.alerts .alert-summary');
    await summary.waitFor();
    assert.equal(await summary.textContent(), XSS_SUMMARY);
    assert.equal(await page.locator('h1').textContent(), `#${number} ${XSS_SUMMARY}`);

    const runbook = page.getByRole('link', { name: 'Runbook' });
    assert.equal(await runbook.getAttribute('href'), 'https://runbooks.example.com/disk');
    assert.equal(await runbook.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await page.getByRole('link', { name: 'Evil link' }).count(), 0, 'a javascript: URL must not become a link');
    assert.equal(await page.getByText('Evil link').count(), 1, 'its text is still shown');

    await page.locator('textarea[name=note]').fill('<img src=x onerror="window.__xss=4">');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.locator('.entry-note .entry-message', { hasText: '<img src=x' }).waitFor();

    // Give a failed <img> load time to fire onerror, had one been created.
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate('typeof window.__xss'), 'undefined');
    assert.equal(await page.locator('#root img, #root script').count(), 0);
    assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0);
    assert.deepEqual(pageErrors, []);
  });

  test('services page shows setup snippets and lets an admin add a service and an integration', async () => {
    await page.goto(`${fw.url}/incidents`);
    await page.getByRole('navigation').getByRole('link', { name: 'Services' }).click();
    const checkout = page.locator('section.service', { has: page.locator('h2', { hasText: /^checkout$/ }) });
    await checkout.waitFor();
    const publicUrl = `http://localhost:${fw.port}`;
    const receiver = await checkout.locator('.snippet', { hasText: 'pagerduty_configs' }).locator('pre').textContent();
    assert.match(receiver ?? '', new RegExp(`- routing_key: ${ROUTING_KEY}\\n\\s+url: ${escapeRegExp(publicUrl)}/v2/enqueue`));
    const curl = await checkout.locator('.snippet', { hasText: 'curl' }).locator('pre').textContent();
    assert.match(curl ?? '', new RegExp(`curl .*'${escapeRegExp(publicUrl)}/v2/enqueue'`));
    assert.match(curl ?? '', new RegExp(`"routing_key": "${ROUTING_KEY}"`));

    await page.locator('input[name=service-name]').fill('payments');
    await page.locator('input[name=service-description]').fill('Payments API');
    await page.getByRole('button', { name: 'Create service' }).click();
    const payments = page.locator('section.service', { has: page.locator('h2', { hasText: /^payments$/ }) });
    await payments.waitFor();
    await payments.locator('input[name=integration-name]').fill('prometheus');
    await payments.locator('select[name=integration-type]').selectOption('alertmanager');
    await payments.getByRole('button', { name: 'Add integration' }).click();
    const webhookConfig = payments.locator('.snippet', { hasText: 'webhook_configs' }).locator('pre');
    await webhookConfig.waitFor();
    const text = await webhookConfig.textContent() ?? '';
    assert.match(text, new RegExp(`- url: ${escapeRegExp(publicUrl)}/integrations/alertmanager/[A-Za-z0-9]{32}\\n\\s+send_resolved: true`));
    assert.deepEqual(pageErrors, []);
  });

  test('fits a phone screen (375 px) without sideways scrolling', async () => {
    await trigger('long-1', `Checkout latency above SLO on ${'very-long-hostname-'.repeat(6)}example.com`);
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      phone.setDefaultTimeout(STEP_MS);
      const mobile = await phone.newPage();
      const errors = collectPageErrors(mobile);
      await signIn(mobile, `${fw.url}/incidents?status=all`, admin.email, admin.password);
      await mobile.locator('table.incidents tbody tr').nth(2).waitFor();
      assert.ok(await mobile.evaluate('document.documentElement.scrollWidth') as number <= 375, 'incidents list is wider than the phone');
      assert.equal(await horizontalOverflow(mobile), 0);
      await mobile.screenshot({ path: '/tmp/fw-ui-phone.png', fullPage: true });

      await mobile.locator('table.incidents tbody tr').first().getByRole('link').click();
      await mobile.locator('table.alerts .alert-summary').waitFor();
      assert.equal(await horizontalOverflow(mobile), 0, 'incident page is wider than the phone');

      await mobile.goto(`${fw.url}/services`);
      // Snippets start folded once an integration has received events; unfold them to measure the widest layout.
      await mobile.locator('details.snippets').first().waitFor({ state: 'attached' });
      await mobile.evaluate("document.querySelectorAll('details.snippets').forEach((d) => d.setAttribute('open', ''))");
      await mobile.locator('.snippet pre').first().waitFor();
      assert.equal(await horizontalOverflow(mobile), 0, 'services page is wider than the phone');
      assert.deepEqual(errors, []);
    } finally {
      await phone.close();
    }
  });

  test('pages through older incidents with "Load more"', async () => {
    await Promise.all(Array.from({ length: 26 }, (_, i) => trigger(`bulk-${i}`, `Bulk alert ${i}`)));
    const total = (await fw.api<{ incidents: unknown[] }>('/api/v1/incidents?limit=100')).incidents.length;
    assert.ok(total > 25);
    await page.goto(`${fw.url}/incidents?status=all`);
    const rows = page.locator('table.incidents tbody tr');
    await rows.nth(24).waitFor();
    assert.equal(await rows.count(), 25);
    await page.getByRole('button', { name: 'Load more' }).click();
    await rows.nth(total - 1).waitFor();
    assert.equal(await rows.count(), total);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
  });

  test('a viewer can read incidents and services but gets no actions and sees keys masked', async () => {
    const email = 'viewer@example.com';
    const password = 'viewer-password-123';
    const response = await fetch(`${fw.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, name: 'Vera Viewer', role: 'viewer', password }),
    });
    assert.equal(response.status, 201, await response.text());
    const context = await browser.newContext();
    try {
      context.setDefaultTimeout(STEP_MS);
      const viewer = await context.newPage();
      await signIn(viewer, `${fw.url}/incidents?status=triggered`, email, password);
      await viewer.locator('table.incidents tbody tr').first().getByRole('link').click();
      await viewer.locator('.incident-head .status-triggered').waitFor();
      assert.equal(await viewer.getByRole('button', { name: /Acknowledge|Resolve|Add note/ }).count(), 0);
      assert.equal(await viewer.locator('textarea').count(), 0);

      await viewer.goto(`${fw.url}/services`);
      await viewer.getByText('Integration keys are hidden').waitFor();
      const receiver = await viewer.locator('.snippet', { hasText: 'pagerduty_configs' }).locator('pre').textContent() ?? '';
      assert.ok(!receiver.includes(ROUTING_KEY), 'a viewer must not see the routing key');
      assert.match(receiver, /routing_key: e2eu•+/);
      assert.equal(await viewer.locator('input[name=service-name]').count(), 0, 'only admins get the new-service form');
    } finally {
      await context.close();
    }
  });

  test('signing out returns to the sign-in page, and repeated failures show the rate-limit message', async () => {
    await page.goto(`${fw.url}/incidents`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[name=password]').waitFor();
    await page.goto(`${fw.url}/incidents/1`);
    await page.locator('input[name=password]').waitFor();
    assert.equal(await page.locator('table').count(), 0, 'nothing is shown after signing out');

    // The limiter counts failures per address: exhaust it from here, then try once in the browser.
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${fw.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password' }),
      });
      await response.arrayBuffer();
      if (response.status === 429) break;
    }
    await page.locator('input[name=email]').fill(admin.email);
    await page.locator('input[name=password]').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '', /^Too many failed sign-ins\. Try again in \d+ (minutes|seconds)\.$/);
  });
});

/** The email and password from the box `firewatch serve` prints when it creates the first administrator. */
function firstAdminFrom(output: string): { email: string; password: string } {
  const email = /│\s+email:\s+(\S+)/.exec(output)?.[1];
  const password = /│\s+password:\s+(\S+)/.exec(output)?.[1];
  assert.ok(email && password, `no first-admin box in the server output:\n${output}`);
  return { email, password };
}


/** Waits until the page's live-update stream is connected (the header's dot turns green). */
async function waitForLive(page: Page): Promise<void> {
  await page.locator('.live-dot.live-live').waitFor({ state: 'attached' });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
