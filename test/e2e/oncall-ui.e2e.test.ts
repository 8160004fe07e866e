import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, collectPageErrors, horizontalOverflow, launchChromium, signIn as signInAs } from './browser.ts';
import { type FirewatchProcess, ProcessGroup, waitFor } from './processes.ts';

/**
 * The on-call web UI in a real Chromium against a real `firewatch serve` process whose schedule, escalation
 * policy and service come from a YAML file: who is on call now (checked against the rotation worked out
 * here, independently of the server), the schedule calendar with its layers and gaps, an override made by
 * dragging across the calendar, the escalation policy editor, an incident's on-call panel from the first
 * page to the acknowledgement, paging a responder and the inbox, the account's contact methods and calendar
 * feed, phone-sized layouts, and a user name full of markup rendered inert. The tests share one server and
 * run in order. The browser runs in New York while the schedule hands off in UTC, so every time on screen
 * goes through a zone conversion.
 */

if (chromiumSkip) process.stderr.write(`skipped: ${chromiumSkip}\n`);

const ROUTING_KEY = 'e2eoncallui0123456789abcdef01234';
const STEP_MS = 10_000;
const BROWSER_ZONE = 'America/New_York';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
const XSS_NAME = '<img src=x onerror="window.__xss=1">Bo';

const ADMIN = { email: 'dana@example.com', name: 'Dana Admin', password: 'dana-password-1234' };
const OVERRIDER = { email: 'olga@example.com', name: 'Olga Override' };
const LEAD = { email: 'lead@example.com', name: 'Lee Lead' };
// Weekdays 09:00–17:00 UTC, a new person every Monday at 09:00 from Monday 2026-01-05.
const WEEKLY = [
  { email: 'wu@example.com', name: 'Wu Weekly' },
  { email: 'xia@example.com', name: 'Xia Weekly' },
  { email: 'yan@example.com', name: 'Yan Weekly' },
  { email: 'zoe@example.com', name: 'Zoe Weekly' },
];
const WEEKLY_START = Date.UTC(2026, 0, 5, 9);
// Follow the sun: 00–08, 08–16 and 16–24 UTC, each day, apart from a daily four-hour gap.
const SUN = [
  { email: 'ana@example.com', name: 'Ana Ortiz' },
  { email: 'bo@example.com', name: XSS_NAME },
  { email: 'chen@example.com', name: 'Chen Wu' },
];

/**
 * The follow-the-sun layer leaves a daily gap from 8 to 12 hours after the hour the test starts in, so
 * somebody is on call now (for the next seven hours at least) and the week shows gaps.
 */
const startHour = new Date().getUTCHours();
const GAP_FROM = (startHour + 8) % 24;
const GAP_TO = (startHour + 12) % 24;
const hh = (hour: number) => `${String(hour).padStart(2, '0')}:00`;

function config(receiverUrl: string): string {
  const user = (u: { email: string; name: string }, role = 'responder') => `  - email: ${u.email}
    name: ${JSON.stringify(u.name)}
    role: ${role}
    contact_methods:
      - { label: pager, type: webhook, address: "${receiverUrl}/${u.email}" }
    notification_rules:
      - { urgency: high, contact: pager, delay_minutes: 0 }
`;
  return `services:
  - name: checkout
    description: Checkout API
    escalation_policy: checkout-escalation
    integrations:
      - { name: pd, type: pagerduty, key: ${ROUTING_KEY} }
users:
${[...WEEKLY, ...SUN, LEAD].map((u) => user(u)).join('')}  - { email: ${OVERRIDER.email}, name: ${OVERRIDER.name}, role: responder }
schedules:
  - name: support
    description: First line for checkout
    time_zone: UTC
    layers:
      - name: follow-the-sun
        start: "2026-01-05T00:00"
        rotation: FREQ=DAILY;BYHOUR=0,8,16
        members: [${SUN.map((u) => u.email).join(', ')}]
        restrictions:
          - { from: "${hh(GAP_TO)}", to: "${hh(GAP_FROM)}" }
      - name: business-hours
        start: "2026-01-05T09:00"
        rotation: FREQ=WEEKLY
        members: [${WEEKLY.map((u) => u.email).join(', ')}]
        restrictions:
          - { days: [MO, TU, WE, TH, FR], from: "09:00", to: "17:00" }
escalation_policies:
  - name: checkout-escalation
    description: Support first, then the lead
    levels:
      - delay_minutes: 5
        targets: [{ schedule: support }]
      - delay_minutes: 10
        targets: [{ user: ${LEAD.email} }]
`;
}

/** Who the YAML's layers put on call at `at`, worked out from the rotation rules, not by the server. */
function expectedOnCall(at: number): string {
  const time = new Date(at);
  const hour = time.getUTCHours();
  const weekday = time.getUTCDay() >= 1 && time.getUTCDay() <= 5;
  if (weekday && hour >= 9 && hour < 17) return WEEKLY[Math.floor((at - WEEKLY_START) / WEEK_MS) % 4].name;
  const inGap = GAP_FROM < GAP_TO ? hour >= GAP_FROM && hour < GAP_TO : hour >= GAP_FROM || hour < GAP_TO;
  return inGap ? 'Nobody' : SUN[Math.floor(hour / 8)].name;
}

/** A webhook receiver that accepts every notification and remembers who it was for. */
async function startReceiver(): Promise<{ url: string; deliveries: string[]; server: Server }> {
  const deliveries: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      deliveries.push(decodeURIComponent((req.url ?? '').slice(1)));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deliveries, server };
}

describe('on-call web UI in Chromium', { skip: chromiumSkip }, () => {
  const group = new ProcessGroup();
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let fw: FirewatchProcess;
  let browser: Browser;
  let desktop: BrowserContext;
  let page: Page;
  let pageErrors: string[] = [];
  let incidentNumber = 0;

  /** A call to the API with the admin token; returns the parsed answer, asserting the status. */
  async function call<T>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const response = await fetch(`${fw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${fw.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.equal(response.status, status, `${method} ${path}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  before(async () => {
    receiver = await startReceiver();
    const [server, chromium] = await Promise.allSettled([
      group.firewatch({ config: config(receiver.url), env: { FIREWATCH_WEBHOOK_ALLOW_PRIVATE: 'true' } }),
      launchChromium(),
    ]);
    if (chromium.status === 'fulfilled') browser = chromium.value;
    if (server.status === 'rejected') throw server.reason;
    if (chromium.status === 'rejected') throw chromium.reason;
    fw = server.value;
    await call('POST', '/api/v1/users', { ...ADMIN, role: 'admin' }, 201);
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: BROWSER_ZONE });
    desktop.setDefaultTimeout(STEP_MS);
    page = await desktop.newPage();
    pageErrors = collectPageErrors(page);
    await signIn(page, `${fw.url}/oncall`);
  });

  afterEach((t) => {
    // The server's side of a failure (it logs at warn level and above).
    if ('passed' in t && !t.passed) process.stderr.write(`${group.logs()}\n`);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await group.stop();
    receiver?.server.close();
  });

  test('the on-call page shows who the rotation puts on call now, until when, and the gaps of the week', async () => {
    const expectedBefore = expectedOnCall(Date.now());
    await page.goto(`${fw.url}/oncall`);
    const card = page.locator('.oncall-card[data-schedule="support"]');
    const who = card.getByTestId('oncall-now');
    await who.waitFor();
    const shown = (await who.textContent())?.trim();
    const afterwards = expectedOnCall(Date.now());
    assert.ok(shown === expectedBefore || shown === afterwards, `on call now: page says ${shown}, the rotation says ${expectedBefore}`);
    assert.notEqual(shown, 'Nobody');

    // Until when, and who takes over, agree with the server's own answer.
    const api = await call<{ schedules: { until: string | null; gaps: unknown[] }[] }>('GET', '/api/v1/oncall');
    assert.equal(await card.locator('.oncall-until time').first().getAttribute('datetime'), api.schedules[0].until);
    await card.locator('.oncall-next').waitFor();
    assert.match(await card.locator('.oncall-until').textContent() ?? '', /until .* \(in .*\) · then /);
    // The follow-the-sun layer's daily gap is at least on the weekend, so the coming week has gaps.
    assert.ok(api.schedules[0].gaps.length > 0);
    assert.equal(await card.locator('.gaps li').count(), api.schedules[0].gaps.length);
    await page.locator('.warning-box', { hasText: 'needs attention' }).waitFor();
    await page.screenshot({ path: '/tmp/fw-oncall-now.png', fullPage: true });
    await card.getByRole('link', { name: 'support' }).click();
    await page.waitForURL(`${fw.url}/schedules/support`);
    assert.deepEqual(pageErrors, []);
  });

  test('the schedule calendar shows the final schedule, each layer and the gaps, by week and by month', async () => {
    await page.goto(`${fw.url}/schedules/support`);
    const final = page.locator('.cal-row[data-row="final"]');
    await final.locator('.cal-bar').first().waitFor();
    assert.ok(await page.locator('.cal-row[data-row="follow-the-sun"] .cal-bar').count() >= 7, 'a follow-the-sun shift every day');
    assert.ok(await page.locator('.cal-row[data-row="business-hours"] .cal-bar').count() >= 1, 'business hours on weekdays');
    assert.ok(await final.locator('.cal-bar.is-gap').count() >= 2, 'gaps at least on Saturday and Sunday');
    await page.locator('.gaps.warning-box', { hasText: 'Nobody is on call' }).waitFor();
    await page.locator('.zone-note', { hasText: `Times are shown in ${BROWSER_ZONE}` }).waitFor();
    await page.locator('.zone-note', { hasText: 'hands off in UTC' }).waitFor();

    // Every gap of the final row is a stretch the server reports as a gap.
    const week = page.locator('.cal-week').first();
    const from = await week.getAttribute('data-from');
    const to = await week.getAttribute('data-to');
    const rendered = await call<{ gaps: { start: string; end: string }[] }>('GET', `/api/v1/schedules/support/render?from=${from}&to=${to}`);
    const gapStarts = await final.locator('.cal-bar.is-gap').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-start')));
    assert.deepEqual(gapStarts, rendered.gaps.map((g) => g.start));

    // Markup in a member's name is text.
    await final.locator('.cal-bar', { hasText: XSS_NAME }).first().waitFor();

    await page.getByRole('button', { name: 'Month', exact: true }).click();
    await page.waitForURL(/view=month/);
    await page.locator('.calendar-month-view .cal-week').nth(3).waitFor();
    await page.locator('.calendar-month-view .cal-row[data-row="final"] .cal-bar.is-gap').first().waitFor();
    await page.getByRole('button', { name: 'Next month' }).click();
    await page.getByRole('button', { name: 'Today' }).click();
    await page.getByRole('button', { name: 'Week', exact: true }).click();
    await page.waitForURL(/view=week/);
    assert.deepEqual(pageErrors, []);
  });

  test('dragging across the final schedule creates an override, shown on the calendar and in the API', async () => {
    await page.goto(`${fw.url}/schedules/support`);
    await page.locator('.cal-row[data-row="final"] .cal-bar').first().waitFor();
    const firstWeek = await page.locator('.cal-week').first().getAttribute('data-from');
    await page.getByRole('button', { name: 'Next week' }).click();
    const week = page.locator('.cal-week').first();
    await page.locator(`.cal-week:not([data-from="${firstWeek}"])`).first().waitFor();
    await page.locator('.cal-row[data-row="final"] .cal-bar').first().waitFor();
    const from = Date.parse((await week.getAttribute('data-from'))!);
    const to = Date.parse((await week.getAttribute('data-to'))!);

    // Tuesday 10:00 to 14:00 in the browser's zone: the week starts on Monday at midnight there.
    const start = from + DAY_MS + 10 * HOUR_MS;
    const end = start + 4 * HOUR_MS;
    const track = page.locator('.cal-row[data-row="final"] .cal-track').first();
    const box = (await track.boundingBox())!;
    const xAt = (time: number) => box.x + ((time - from) / (to - from)) * box.width;
    const y = box.y + box.height / 2;
    await page.mouse.move(xAt(start), y);
    await page.mouse.down();
    await page.mouse.move(xAt(start + HOUR_MS), y, { steps: 4 });
    await page.locator('.cal-selection').waitFor();
    await page.mouse.move(xAt(end), y, { steps: 8 });
    await page.mouse.up();

    const form = page.getByRole('form', { name: 'New override' });
    await form.waitFor();
    assert.equal(await form.locator('input[name=override-start]').inputValue(), localInput(start));
    assert.equal(await form.locator('input[name=override-end]').inputValue(), localInput(end));
    await form.locator('select[name=override-user]').selectOption(OVERRIDER.email);
    await form.locator('input[name=override-reason]').fill('Covering <b>Tuesday</b>');
    await form.getByRole('button', { name: 'Create override' }).click();
    await form.waitFor({ state: 'detached' });

    const bar = page.locator(`.cal-row[data-row="final"] .cal-bar[data-source="override"][data-start="${new Date(start).toISOString()}"]`);
    await bar.waitFor();
    assert.equal(await bar.getAttribute('data-end'), new Date(end).toISOString());
    assert.equal(await bar.getAttribute('data-members'), OVERRIDER.email);
    assert.equal(await bar.textContent(), OVERRIDER.name);
    await page.locator('.cal-row[data-row="overrides"] .cal-bar', { hasText: OVERRIDER.name }).waitFor();
    const item = page.locator('.override-item', { hasText: OVERRIDER.name });
    assert.equal(await item.locator('.override-reason').textContent(), 'Covering <b>Tuesday</b>');

    const { overrides } = await call<{ overrides: { id: string; user: { email: string }; replaces: unknown; start: string; end: string; reason: string }[] }>(
      'GET', `/api/v1/schedules/support/overrides?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`);
    assert.equal(overrides.length, 1);
    const { user, replaces, reason } = overrides[0];
    assert.deepEqual({ user: user.email, replaces, start: overrides[0].start, end: overrides[0].end, reason }, {
      user: OVERRIDER.email, replaces: null, start: new Date(start).toISOString(), end: new Date(end).toISOString(), reason: 'Covering <b>Tuesday</b>',
    });

    // Clicking the override on the calendar points at it in the list.
    await bar.click();
    await page.locator(`.override-item.highlighted[data-override-id="${overrides[0].id}"]`).waitFor();
    await page.screenshot({ path: '/tmp/fw-oncall-schedule.png', fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  test('the escalation policy editor shows both levels, and saving a change reaches the API', async () => {
    await page.goto(`${fw.url}/escalation-policies`);
    const card = page.locator('.policy-card', { hasText: 'checkout-escalation' });
    await card.waitFor();
    assert.match(await card.textContent() ?? '', /used by checkout/);
    assert.equal(await card.locator('.level-summary').count(), 2);
    await card.getByRole('link', { name: 'checkout-escalation' }).click();
    await page.getByRole('button', { name: 'Edit', exact: true }).click();

    const levels = page.locator('.level-editor');
    assert.equal(await levels.count(), 2);
    assert.equal(await levels.nth(0).locator('.chip-text').textContent(), 'Schedule: support');
    assert.equal(await levels.nth(0).locator('input[name=level-1-delay]').inputValue(), '5');
    assert.equal(await levels.nth(1).locator('.chip-text').textContent(), LEAD.name);
    assert.equal(await levels.nth(1).locator('input[name=level-2-delay]').inputValue(), '10');

    // Add a third level, move it up, then remove it again; change level 2's delay and save.
    await page.getByRole('button', { name: 'Add level' }).click();
    assert.equal(await levels.count(), 3);
    await page.getByRole('button', { name: 'Move level 3 up' }).click();
    await page.getByRole('button', { name: 'Remove level' }).nth(1).click();
    assert.equal(await levels.count(), 2);
    await levels.nth(1).locator('input[name=level-2-delay]').fill('15');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.locator('.level-summary[data-level="2"]', { hasText: 'escalates after 15 min' }).waitFor();
    const { escalation_policy: policy } = await call<{ escalation_policy: { levels: { delay_minutes: number; targets: { name: string | null }[] }[] } }>('GET', '/api/v1/escalation-policies/checkout-escalation');
    assert.deepEqual(policy.levels.map((l) => [l.delay_minutes, l.targets.map((t) => t.name)]), [[5, ['support']], [15, [LEAD.name]]]);
    assert.deepEqual(pageErrors, []);
  });

  test("an incident's on-call panel shows level 1's notifications and the next step, which acknowledging stops", async () => {
    const response = await fetch(`${fw.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: ROUTING_KEY, event_action: 'trigger', dedup_key: 'latency-1', payload: { summary: 'P90 latency above 2 s', source: 'web1', severity: 'critical' } }),
    });
    assert.equal(response.status, 202, await response.text());
    const { incidents } = await call<{ incidents: { number: number }[] }>('GET', '/api/v1/incidents');
    incidentNumber = incidents[0].number;
    const paged = await waitFor('level 1 to be paged', async () => {
      const { escalation } = await call<{ escalation: { level: number | null; assignees: { name: string }[]; next: { due_at: string } | null } }>('GET', `/api/v1/incidents/${incidentNumber}/oncall`);
      return escalation.level === 1 && escalation.next ? escalation : null;
    }, { timeoutMs: STEP_MS });
    const onCallName = paged.assignees[0].name;

    await page.goto(`${fw.url}/incidents/${incidentNumber}`);
    const panel = page.locator('.oncall-panel');
    await panel.locator('.facts', { hasText: 'checkout-escalation' }).waitFor();
    assert.equal(await panel.getByTestId('escalation-level').textContent(), 'Level 1 of 2');
    assert.equal(await panel.locator('.assignees').textContent(), onCallName);
    const next = panel.locator('.next-step');
    assert.match(await next.textContent() ?? '', /^Level 2 .* · in [45] min \d\d s$/);
    assert.equal(await next.locator('time').first().getAttribute('datetime'), paged.next!.due_at);

    // The on-call person's webhook is delivered, and the table follows live.
    const row = panel.locator('table.notifications tbody tr', { hasText: onCallName });
    await row.locator('td[data-label="Channel"]', { hasText: 'Webhook' }).waitFor();
    await panel.locator('table.notifications tbody tr[data-status="sent"]', { hasText: onCallName }).waitFor();
    assert.match(await row.locator('td[data-label="Address"]').textContent() ?? '', new RegExp(`${receiver.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`));
    await page.locator('.timeline .entry[data-type="assign"] .entry-type', { hasText: 'Assigned' }).waitFor();
    await page.locator('.timeline .entry[data-type="notify"] .entry-detail', { hasText: 'Webhook' }).first().waitFor();

    // Page a responder: the admin pages herself, and the bell counts it.
    await panel.getByRole('button', { name: 'Page a responder' }).click();
    const form = panel.getByRole('form', { name: 'Page a responder' });
    await form.locator('select[name=responders-user]').selectOption(ADMIN.email);
    await form.locator('input[name=responder-message]').fill('Need a second pair of eyes');
    await form.getByRole('button', { name: 'Page now' }).click();
    await panel.locator('table.notifications tbody tr[data-channel="in_app"]', { hasText: ADMIN.name }).waitFor();
    await page.locator('.timeline .entry[data-type="responder_added"]', { hasText: 'Need a second pair of eyes' }).waitFor();
    await page.screenshot({ path: '/tmp/fw-oncall-incident.png', fullPage: true });
    const count = page.getByTestId('unread-count');
    await count.waitFor();
    await page.getByRole('button', { name: /^Notifications, \d+ unread$/ }).click();
    const inbox = page.getByRole('region', { name: 'Notifications', exact: true });
    await inbox.locator('.inbox-item.unread').first().waitFor();
    await inbox.getByRole('button', { name: 'Mark all read' }).click();
    await count.waitFor({ state: 'detached' });
    await page.keyboard.press('Escape');

    // Acknowledging stops the escalation: the next step disappears.
    await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
    await panel.locator('.next-step', { hasText: 'none: acknowledged' }).waitFor();
    assert.equal(await panel.locator('.next-step .countdown').count(), 0);
    assert.equal(await panel.getByRole('button', { name: 'Escalate now' }).count(), 0, 'only a triggered incident escalates');
    const acknowledged = await call<{ escalation: { next: unknown } }>('GET', `/api/v1/incidents/${incidentNumber}/oncall`);
    assert.equal(acknowledged.escalation.next, null);
    assert.ok(receiver.deliveries.includes(SUN.concat(WEEKLY).find((u) => u.name === onCallName)?.email ?? ''), `a webhook reached ${onCallName}`);
    assert.deepEqual(pageErrors, []);
  });

  test('the account page manages contact methods, rules and the calendar feed', async () => {
    await page.goto(`${fw.url}/account`);
    const add = page.getByRole('form', { name: 'Add a contact method' });
    await add.locator('select[name=contact-type]').selectOption('webhook');
    await add.locator('input[name=contact-label]').fill('bridge');
    await add.locator('input[name=contact-address]').fill(`${receiver.url}/${ADMIN.email}`);
    await add.getByRole('button', { name: 'Add contact method' }).click();
    const secret = await add.getByTestId('webhook-secret').textContent();
    assert.match(secret ?? '', /^whsec_/);
    const item = page.locator('.contact-item', { hasText: 'bridge' });
    await item.waitFor();
    assert.ok(!(await item.textContent())?.includes(secret!), 'the secret is masked in the list');
    const openapi = await call<{ paths: Record<string, Record<string, unknown>> }>('GET', '/api/v1/openapi.json');
    const hasTest = Object.entries(openapi.paths).some(([path, ops]) => path.endsWith('/test') && path.includes('contact-methods') && 'post' in ops);
    assert.equal(await item.getByRole('button', { name: 'Send test' }).count(), hasTest ? 1 : 0);
    if (hasTest) {
      // The test goes out through the job runner; the page follows it to its delivery.
      await item.getByRole('button', { name: 'Send test' }).click();
      await item.getByRole('status').filter({ hasText: 'Test delivered.' }).waitFor();
      assert.ok(receiver.deliveries.includes(ADMIN.email));
    }

    const rule = page.getByRole('form', { name: 'Add a notification rule' });
    await rule.locator('input[name=rule-delay]').fill('5');
    await rule.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('.rules-group[data-urgency="high"] .rule-item', { hasText: 'Webhook bridge after 5 min' }).waitFor();
    await page.locator('.rules-group[data-urgency="low"]', { hasText: 'No rules' }).waitFor();

    const feed = page.locator('[data-feed="my-feed"]');
    await feed.getByRole('button', { name: 'Create calendar URL' }).click();
    const url = await feed.locator('.feed-url').textContent();
    assert.match(url ?? '', /\/calendar\/[0-9a-f]{40}\.ics$/);
    assert.deepEqual(pageErrors, []);
  });

  test('fits a phone screen (375 px) without sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, timezoneId: BROWSER_ZONE });
    try {
      phone.setDefaultTimeout(STEP_MS);
      const mobile = await phone.newPage();
      const errors = collectPageErrors(mobile);
      await signIn(mobile, `${fw.url}/oncall`);
      const pages: [string, string][] = [
        ['/oncall', '.oncall-card .oncall-until'],
        ['/schedules', '.schedule-card'],
        ['/schedules/support', '.cal-row[data-row="final"] .cal-bar'],
        ['/schedules/support?view=month', '.calendar-month-view .cal-bar'],
        ['/escalation-policies', '.policy-card'],
        ['/escalation-policies/checkout-escalation', '.level-summary'],
        [`/incidents/${incidentNumber}`, 'table.notifications tbody tr'],
        ['/services', '.oncall-settings'],
        ['/account', '.contact-item'],
        ['/notifications/dead-letters', '.empty-state, table.notifications'],
      ];
      for (const [path, ready] of pages) {
        await mobile.goto(`${fw.url}${path}`);
        await mobile.locator(ready).first().waitFor();
        assert.equal(await horizontalOverflow(mobile), 0, `${path} is wider than the phone`);
      }
      // The editors and the open inbox too.
      await mobile.goto(`${fw.url}/escalation-policies/checkout-escalation`);
      await mobile.getByRole('button', { name: 'Edit', exact: true }).click();
      await mobile.locator('.level-editor').first().waitFor();
      assert.equal(await horizontalOverflow(mobile), 0, 'the policy editor is wider than the phone');
      await mobile.goto(`${fw.url}/schedules/support`);
      await mobile.getByRole('button', { name: 'Edit layers' }).click();
      await mobile.locator('.layer-editor').first().waitFor();
      await mobile.getByRole('button', { name: 'Add override' }).click();
      await mobile.getByRole('form', { name: 'New override' }).waitFor();
      assert.equal(await horizontalOverflow(mobile), 0, 'the schedule and override editors are wider than the phone');
      await mobile.getByRole('button', { name: /^Notifications/ }).click();
      await mobile.getByRole('region', { name: 'Notifications', exact: true }).waitFor();
      assert.equal(await horizontalOverflow(mobile), 0, 'the inbox is wider than the phone');
      await mobile.screenshot({ path: '/tmp/fw-oncall-phone.png', fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await phone.close();
    }
  });

  test('a user name full of markup stays text everywhere it is shown', async () => {
    const shown: [string, string][] = [['/oncall', '.oncall-card .oncall-next'], [`/incidents/${incidentNumber}`, '.oncall-panel table.notifications'], ['/schedules/support', '.cal-bar']];
    for (const [path, ready] of shown) {
      await page.goto(`${fw.url}${path}`);
      await page.locator(ready).first().waitFor();
    }
    await page.locator('.cal-bar', { hasText: XSS_NAME }).first().waitFor();
    await page.getByRole('button', { name: 'Add override' }).click();
    await page.locator('select[name=override-user] option', { hasText: XSS_NAME }).waitFor({ state: 'attached' });
    // Give a failed <img> load time to fire onerror, had one been created.
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate('typeof window.__xss'), 'undefined');
    assert.equal(await page.locator('#root img, #root script').count(), 0);
    assert.deepEqual(pageErrors, []);
  });
});

/** Signs in as the admin this test creates. */
function signIn(target: Page, url: string): Promise<void> {
  return signInAs(target, url, ADMIN.email, ADMIN.password);
}

/** The value of an <input type="datetime-local"> for `time` in the browser's zone. */
function localInput(time: number): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: BROWSER_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(time)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}
