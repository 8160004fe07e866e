import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { ManualClock } from '../../clock.ts';
import { toIso } from '../../db/codec.ts';
import { newId } from '../../ids.ts';
import { parseConfigYaml } from '../../config-as-code/apply.service.ts';
import { createTestApp, DIALECTS, pdTrigger, type TestApp } from '../../../test/helpers.ts';
import { createPoliciesRepo } from '../policies/policies.repo.ts';

/**
 * Delivery through real channels, driven by the durable job runner on a fake clock: e-mail through a real
 * SMTP server (smtp-server) with a working acknowledge link, a webhook receiver that fails a few times
 * before accepting (retries with back-off, same X-Webhook-Id, valid signature, every attempt on the
 * timeline), and one that never accepts (dead letter, visible in the API, retried by an admin).
 */

interface Received { id: string; signature: string; timestamp: string; body: string }

async function receiver(failures: number): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        id: String(req.headers['x-webhook-id']), signature: String(req.headers['x-firewatch-signature']),
        timestamp: String(req.headers['x-firewatch-timestamp']), body: Buffer.concat(chunks).toString('utf8'),
      });
      res.statusCode = received.length <= failures ? 503 : 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

/** Decodes quoted-printable text well enough to find a link in it. */
const unQp = (text: string) => text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));

for (const dialect of DIALECTS) {
  describe(`notification delivery (${dialect})`, () => {
    let t: TestApp;
    let clock: ManualClock;
    let smtp: SMTPServer;
    const mails: { to: string[]; raw: string }[] = [];
    let flaky: Awaited<ReturnType<typeof receiver>>;
    let broken: Awaited<ReturnType<typeof receiver>>;
    const SECRET = 'whsec-test-0123456789';

    before(async () => {
      smtp = new SMTPServer({
        authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
      const smtpPort = (smtp.server.address() as AddressInfo).port;
      flaky = await receiver(3);
      broken = await receiver(Number.POSITIVE_INFINITY);
      clock = new ManualClock('2026-06-01T08:00:00Z');
      t = await createTestApp(dialect, { clock, config: { smtpUrl: `smtp://127.0.0.1:${smtpPort}` } });
      await t.features.apply.apply(parseConfigYaml(`users:
  - { email: ana@example.com, name: Ana }
  - { email: bo@example.com, name: Bo }
`));
      const ids = Object.fromEntries((await t.handle.db.selectFrom('users').select(['id', 'email']).execute()).map((u) => [u.email.split('@')[0], u.id]));
      const now = toIso(clock.now());
      const method = async (user: string, type: string, address: string, secret: string | null) => {
        const id = newId();
        await t.handle.db.insertInto('contact_methods').values({ id, user_id: ids[user], type, label: `${type}-${id.slice(-4)}`, address, secret_encrypted: secret, created_at: now }).execute();
        await t.handle.db.insertInto('notification_rules').values({ id: newId(), user_id: ids[user], urgency: 'high', contact_method_id: id, delay_minutes: 0, created_at: now }).execute();
      };
      // The secret is stored encrypted, as the contact-method API stores it.
      const { createSecretBox } = await import('../../security/secret-box.ts');
      const box = createSecretBox('test-secret-key-test-secret-key-0123456789');
      await method('ana', 'email', 'ana@example.com', null);
      await method('ana', 'webhook', flaky.url, box.encrypt(SECRET));
      await method('bo', 'webhook', broken.url, null);
      await t.features.services.create({ name: 'payments' });
      const policyId = newId();
      await createPoliciesRepo(t.handle.db).insert({
        id: policyId, name: 'payments', description: '', repeat: 0, created_at: now, updated_at: now,
        levels: [{ delay_minutes: 60, strategy: 'all', targets: [{ type: 'user', id: ids.ana }, { type: 'user', id: ids.bo }] }],
      });
      await t.handle.db.updateTable('services').set({ escalation_policy_id: policyId }).where('name', '=', 'payments').execute();
    });
    after(async () => {
      await t.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      flaky.server.close();
      broken.server.close();
    });

    test('email arrives, the webhook is retried until accepted, a dead receiver ends in the dead-letter list', async () => {
      const key = (await t.features.services.addIntegration('payments', { name: 'pd', type: 'pagerduty' })).key;
      assert.equal((await t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: pdTrigger(key, { dedup_key: 'pay-1' }, { summary: 'Payments <b>down</b>' }) })).statusCode, 202);
      const number = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      await t.features.jobRunner.runDue();

      assert.equal(mails.length, 1, 'one email');
      assert.deepEqual(mails[0].to, ['ana@example.com']);
      assert.match(mails[0].raw, new RegExp(`#${number} TRIGGERED`));
      assert.equal(flaky.received.length, 1);
      assert.equal(broken.received.length, 1);

      // Retries on the back-off schedule (30 s, 1 m, 3 m, 8 m ± 20 %): the flaky receiver accepts the 4th try.
      for (const wait of [40_000, 80_000, 240_000, 600_000]) {
        clock.advance(wait);
        await t.features.jobRunner.runDue();
      }
      assert.equal(flaky.received.length, 4, 'three failures, then accepted; no further tries');
      assert.equal(new Set(flaky.received.map((r) => r.id)).size, 1, 'one X-Webhook-Id across retries');
      for (const r of flaky.received) {
        const expected = `v1=${createHmac('sha256', SECRET).update(`${r.timestamp}.${r.body}`).digest('hex')}`;
        assert.equal(r.signature, expected, 'signed with the contact method secret');
      }
      const envelope = JSON.parse(flaky.received[0].body);
      assert.equal(envelope.event.event_type, 'incident.triggered');
      assert.equal(envelope.event.data.number, number);
      assert.equal(envelope.event.data.title, 'Payments <b>down</b>');
      assert.equal(broken.received.length, 5, 'five attempts at a receiver that never accepts');

      const oncall = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}/oncall`, headers: t.auth('viewer') })).json();
      const byChannel = (channel: string, user: string) => oncall.notifications.find((n: { channel: string; user: { name: string } }) => n.channel === channel && n.user.name === user);
      assert.equal(byChannel('email', 'Ana').status, 'sent');
      assert.equal(byChannel('webhook', 'Ana').status, 'sent');
      assert.equal(byChannel('webhook', 'Ana').attempts, 4);
      assert.equal(byChannel('webhook', 'Bo').status, 'dead');

      const timeline = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}/timeline`, headers: t.auth('viewer') })).json().timeline;
      const notifies = timeline.filter((e: { type: string }) => e.type === 'notify');
      assert.equal(notifies.length, 1 + 4 + 5, 'every attempt is on the timeline');
      assert.ok(notifies.some((e: { message: string }) => /failed for good after 5 attempts/.test(e.message)));
      assert.ok(notifies.some((e: { message: string }) => /retrying in/.test(e.message)));

      const dead = (await t.app.inject({ method: 'GET', url: '/api/v1/notifications/dead-letters', headers: t.auth('responder') })).json().notifications;
      assert.equal(dead.length, 1);
      assert.equal(dead[0].incident_number, number);
      assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/notifications/${dead[0].id}/retry`, headers: t.auth('responder') })).statusCode, 403);
      assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/notifications/${dead[0].id}/retry`, headers: t.auth('admin') })).statusCode, 200);
      await t.features.jobRunner.runDue();
      assert.equal(broken.received.length, 6, 'retried from the dead-letter list');
    });

    test('a test notification goes through the chosen contact method', async () => {
      const methods = (await t.app.inject({ method: 'GET', url: '/api/v1/users/ana@example.com/contact-methods', headers: t.auth('admin') })).json().contact_methods;
      const hook = methods.find((m: { type: string }) => m.type === 'webhook');
      const sentBefore = flaky.received.length;
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/users/ana@example.com/contact-methods/${hook.id}/test`, headers: t.auth('admin') });
      assert.equal(res.statusCode, 202);
      await t.features.jobRunner.runDue();
      assert.equal(flaky.received.length, sentBefore + 1);
      assert.equal(JSON.parse(flaky.received.at(-1)!.body).event.event_type, 'incident.test');
      const state = (await t.app.inject({ method: 'GET', url: `/api/v1/notifications/${res.json().notification_id}`, headers: t.auth('responder') })).json().notification;
      assert.equal(state.status, 'sent');
      const mailsBefore = mails.length;
      const email = methods.find((m: { type: string }) => m.type === 'email');
      await t.app.inject({ method: 'POST', url: `/api/v1/users/ana@example.com/contact-methods/${email.id}/test`, headers: t.auth('admin') });
      await t.features.jobRunner.runDue();
      assert.equal(mails.length, mailsBefore + 1);
      assert.match(mails.at(-1)!.raw, /TEST/);
    });

    test('the email acknowledge link shows a confirmation page and acknowledges as the recipient on POST', async () => {
      const text = unQp(mails[0].raw);
      const link = /http:\/\/firewatch\.test(\/ack\/[A-Za-z0-9._-]+)/.exec(text);
      assert.ok(link, 'the email carries an acknowledge link');
      const page = await t.app.inject({ method: 'GET', url: link[1] });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<form method="post">/);
      assert.doesNotMatch(page.body, /<b>down<\/b>/, 'the title is escaped');
      const number = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}`, headers: t.auth('viewer') })).json().incident.status, 'triggered', 'a GET changes nothing');
      const ack = await t.app.inject({ method: 'POST', url: link[1] });
      assert.equal(ack.statusCode, 200);
      assert.match(ack.body, /Acknowledged by Ana/);
      const incident = (await t.app.inject({ method: 'GET', url: `/api/v1/incidents/${number}`, headers: t.auth('viewer') })).json().incident;
      assert.equal(incident.status, 'acknowledged');
      assert.equal(incident.acknowledged_by, 'Ana');
      const forged = await t.app.inject({ method: 'POST', url: `${link[1].slice(0, -3)}abc` });
      assert.equal(forged.statusCode, 404, 'a tampered token is refused');
    });

    test('a chat mention reaches the user through their low-urgency rules (e-mail and in-app), and resolving the incident does not cancel it', async () => {
      const number = (await t.app.inject({ method: 'GET', url: '/api/v1/incidents?limit=1', headers: t.auth('viewer') })).json().incidents[0].number;
      const mailsBefore = mails.length;
      const hooksBefore = flaky.received.length;
      const posted = await t.app.inject({ method: 'POST', url: `/api/v1/channels/incident-${number}/messages`, headers: t.auth('responder'), payload: { text: '@ana can you check <img src=x onerror=alert(1)> the replica?' } });
      assert.equal(posted.statusCode, 201, posted.body);
      // Resolving cancels the incident's pending pages; the mention is not one of them.
      assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/incidents/${number}/resolve`, headers: t.auth('responder'), payload: {} })).statusCode, 200);
      await t.features.jobRunner.runDue();
      assert.equal(mails.length, mailsBefore + 1, 'one mention e-mail (Ana has no low-urgency rules: the account e-mail)');
      const mail = unQp(mails.at(-1)!.raw);
      assert.deepEqual(mails.at(-1)!.to, ['ana@example.com']);
      assert.match(mail, new RegExp(`Subject: \\[Firewatch\\] .* mentioned you in #incident-${number}`));
      assert.match(mail, new RegExp(`http://firewatch\\.test/channels/incident-${number}`));
      const html = mail.slice(mail.indexOf('Content-Type: text/html'));
      assert.doesNotMatch(html, /<img src=x/, 'the message is escaped in the HTML part');
      assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62;/);
      assert.equal(flaky.received.length, hooksBefore, 'webhooks expect incident events: no mention there');
      const rows = await t.handle.db.selectFrom('notifications').selectAll().where('kind', '=', 'mention').execute();
      assert.deepEqual(rows.map((r) => `${r.channel}:${r.status}`).toSorted(), ['email:sent', 'in_app:sent']);
    });
  });
}
