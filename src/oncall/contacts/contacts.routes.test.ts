import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { createSecretBox } from '../../security/secret-box.ts';
import { createContactsRepo } from './contacts.repo.ts';

for (const dialect of DIALECTS) {
  describe(`contact methods and notification rules (${dialect})`, () => {
    let t: TestApp;
    let ana: { id: string };
    let bo: { id: string };
    // Tokens that belong to users: Ana (responder), Bo (viewer), Cy (admin).
    const tokens: Record<'ana' | 'bo' | 'cy', string> = { ana: '', bo: '', cy: '' };
    const as = (who: keyof typeof tokens | 'admin-token', method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      t.app.inject({ method, url, payload: payload as object, headers: who === 'admin-token' ? t.auth('admin') : { authorization: `Bearer ${tokens[who]}` } });

    before(async () => {
      t = await createTestApp(dialect);
      ana = await t.features.users.createUser({ email: 'ana@example.com', name: 'Ana', role: 'responder' });
      bo = await t.features.users.createUser({ email: 'bo@example.com', name: 'Bo', role: 'viewer' });
      await t.features.users.createUser({ email: 'cy@example.com', name: 'Cy', role: 'admin' });
      tokens.ana = (await t.features.users.createToken({ name: 'ana', role: 'responder', userEmail: 'ana@example.com' })).token;
      tokens.bo = (await t.features.users.createToken({ name: 'bo', role: 'viewer', userEmail: 'bo@example.com' })).token;
      tokens.cy = (await t.features.users.createToken({ name: 'cy', role: 'admin', userEmail: 'cy@example.com' })).token;
    });
    after(() => t.close());

    test('a user without rules is reached by default: account email and in-app, at once, for either urgency', async () => {
      const repo = createContactsRepo(t.handle.db);
      const rules = await repo.rulesFor([ana.id, bo.id, 'no-such-user'], 'high');
      assert.deepEqual(rules.map((r) => [r.user.email, r.delayMinutes, r.method]), [
        ['ana@example.com', 0, { id: null, type: 'email', label: 'account email', address: 'ana@example.com', secret_encrypted: null }],
        ['ana@example.com', 0, { id: null, type: 'in_app', label: 'in-app', address: ana.id, secret_encrypted: null }],
        ['bo@example.com', 0, { id: null, type: 'email', label: 'account email', address: 'bo@example.com', secret_encrypted: null }],
        ['bo@example.com', 0, { id: null, type: 'in_app', label: 'in-app', address: bo.id, secret_encrypted: null }],
      ]);
      assert.deepEqual(await repo.rulesFor([], 'low'), []);
      const listed = (await as('ana', 'GET', '/api/v1/users/me/notification-rules')).json();
      assert.deepEqual(listed, { notification_rules: [], defaults: { high: true, low: true } });
    });

    test('a user adds email, webhook and in-app methods; the webhook secret is generated, shown once, stored encrypted', async () => {
      const email = await as('ana', 'POST', '/api/v1/users/me/contact-methods', { type: 'email', label: 'work', address: 'ana@work.example' });
      assert.equal(email.statusCode, 201, email.body);
      assert.equal(email.json().contact_method.secret, null);

      const hook = await as('ana', 'POST', '/api/v1/users/me/contact-methods', { type: 'webhook', label: 'hook', address: 'https://hooks.example.com/x' });
      assert.equal(hook.statusCode, 201, hook.body);
      const secret = hook.json().contact_method.secret;
      assert.match(secret, /^whsec_[A-Za-z0-9_-]{32}$/);

      const inApp = await as('ana', 'POST', '/api/v1/users/me/contact-methods', { type: 'in_app', label: 'bell' });
      assert.equal(inApp.json().contact_method.address, null);

      const listed = (await as('ana', 'GET', '/api/v1/users/me/contact-methods')).json().contact_methods;
      assert.deepEqual(listed.map((m: { label: string }) => m.label), ['bell', 'hook', 'work']);
      const shown = listed.find((m: { label: string }) => m.label === 'hook').secret;
      assert.ok(shown && !shown.includes(secret.slice(6, 12)), 'masked after creation');

      const row = await t.handle.db.selectFrom('contact_methods').selectAll().where('label', '=', 'hook').executeTakeFirstOrThrow();
      assert.ok(row.secret_encrypted && !row.secret_encrypted.includes(secret));
      assert.equal(createSecretBox('test-secret-key-test-secret-key-0123456789').decrypt(row.secret_encrypted), secret);
    });

    test('addresses are validated by type, and labels are unique per user', async () => {
      const bad: [string, unknown][] = [
        ['not an email', { type: 'email', label: 'x', address: 'nope' }],
        ['ftp webhook', { type: 'webhook', label: 'x', address: 'ftp://example.com/x' }],
        ['credentials in URL', { type: 'webhook', label: 'x', address: 'https://u:p@example.com/x' }],
        ['relative URL', { type: 'webhook', label: 'x', address: '/x' }],
        ['short secret', { type: 'webhook', label: 'x', address: 'https://example.com', secret: 'short' }],
        ['in-app with address', { type: 'in_app', label: 'x', address: 'a@b.c' }],
        ['unknown type', { type: 'sms', label: 'x', address: '+4912345' }],
        ['empty label', { type: 'email', label: ' ', address: 'a@example.com' }],
      ];
      for (const [what, body] of bad) {
        assert.equal((await as('ana', 'POST', '/api/v1/users/me/contact-methods', body)).statusCode, 400, what);
      }
      const dupe = await as('ana', 'POST', '/api/v1/users/me/contact-methods', { type: 'email', label: 'work', address: 'x@example.com' });
      assert.equal(dupe.statusCode, 409);
      assert.equal(dupe.json().error.code, 'contact_method_exists');
      const given = await as('ana', 'POST', '/api/v1/users/me/contact-methods', { type: 'webhook', label: 'plain', address: 'http://10.0.0.1:8080/hook', secret: 'a-secret-of-my-own-choosing' });
      assert.equal(given.json().contact_method.secret, 'a-secret-of-my-own-choosing');
      assert.equal((await as('ana', 'PATCH', '/api/v1/users/me/contact-methods/work', { address: 'not-an-email' })).statusCode, 400);
      assert.equal((await as('ana', 'PATCH', '/api/v1/users/me/contact-methods/work', { rotate_secret: true })).statusCode, 400);
    });

    test('PATCH changes a method by label or id and can rotate a webhook secret, shown once', async () => {
      const renamed = await as('ana', 'PATCH', '/api/v1/users/me/contact-methods/work', { label: 'office', address: 'ana@office.example' });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().contact_method.address, 'ana@office.example');
      const hookId = (await as('ana', 'GET', '/api/v1/users/me/contact-methods')).json().contact_methods.find((m: { label: string }) => m.label === 'hook').id;
      const rotated = await as('ana', 'PATCH', `/api/v1/users/me/contact-methods/${hookId}`, { rotate_secret: true });
      assert.match(rotated.json().contact_method.secret, /^whsec_/);
      assert.equal((await as('ana', 'PATCH', '/api/v1/users/me/contact-methods/office', { label: 'hook' })).statusCode, 409);
    });

    test('rules name a method by label or id; they replace the defaults for their urgency only', async () => {
      const first = await as('ana', 'POST', '/api/v1/users/me/notification-rules', { urgency: 'high', contact_method: 'office', delay_minutes: 0 });
      assert.equal(first.statusCode, 201, first.body);
      assert.deepEqual(first.json().notification_rule.contact_method.label, 'office');
      const hookId = (await as('ana', 'GET', '/api/v1/users/me/contact-methods')).json().contact_methods.find((m: { label: string }) => m.label === 'hook').id;
      assert.equal((await as('ana', 'POST', '/api/v1/users/me/notification-rules', { urgency: 'high', contact_method: hookId, delay_minutes: 5 })).statusCode, 201);
      assert.equal((await as('ana', 'POST', '/api/v1/users/me/notification-rules', { urgency: 'high', contact_method: 'office', delay_minutes: 0 })).statusCode, 409);
      assert.equal((await as('ana', 'POST', '/api/v1/users/me/notification-rules', { urgency: 'high', contact_method: 'nope', delay_minutes: 0 })).statusCode, 404);
      for (const body of [{ urgency: 'urgent', contact_method: 'office', delay_minutes: 0 }, { urgency: 'low', contact_method: 'office', delay_minutes: 1441 }, { urgency: 'low', contact_method: 'office', delay_minutes: -1 }]) {
        assert.equal((await as('ana', 'POST', '/api/v1/users/me/notification-rules', body)).statusCode, 400, JSON.stringify(body));
      }

      const repo = createContactsRepo(t.handle.db);
      const high = await repo.rulesFor([ana.id], 'high');
      assert.deepEqual(high.map((r) => [r.delayMinutes, r.method.type, r.method.label, r.method.address]), [
        [0, 'email', 'office', 'ana@office.example'],
        [5, 'webhook', 'hook', 'https://hooks.example.com/x'],
      ]);
      assert.ok(high[1].method.id && high[1].method.secret_encrypted, 'webhooks carry their id and sealed secret');
      assert.deepEqual((await repo.rulesFor([ana.id], 'low')).map((r) => r.method.id), [null, null], 'low urgency still has the defaults');
      assert.deepEqual((await as('ana', 'GET', '/api/v1/users/me/notification-rules')).json().defaults, { high: false, low: true });
      assert.equal((await repo.listRules(ana.id)).length, 2);
      assert.equal((await repo.listMethods(ana.id)).length, 4);
    });

    test('deleting a method deletes its rules; a user deletes only their own rules', async () => {
      assert.equal((await as('ana', 'DELETE', '/api/v1/users/me/contact-methods/hook')).statusCode, 204);
      const rules = (await as('ana', 'GET', '/api/v1/users/me/notification-rules')).json().notification_rules;
      assert.deepEqual(rules.map((r: { contact_method: { label: string } }) => r.contact_method.label), ['office']);
      assert.equal((await as('bo', 'DELETE', `/api/v1/users/me/notification-rules/${rules[0].id}`)).statusCode, 404, "not Bo's rule");
      assert.equal((await as('ana', 'DELETE', `/api/v1/users/me/notification-rules/${rules[0].id}`)).statusCode, 204);
      assert.deepEqual((await as('ana', 'GET', '/api/v1/users/me/notification-rules')).json().defaults, { high: true, low: true });
    });

    test("a user cannot see or edit another user's methods; an admin can, by email", async () => {
      assert.equal((await as('bo', 'GET', '/api/v1/users/ana@example.com/contact-methods')).statusCode, 403);
      assert.equal((await as('bo', 'POST', '/api/v1/users/ana@example.com/contact-methods', { type: 'email', label: 'evil', address: 'bo@example.com' })).statusCode, 403);
      assert.equal((await as('bo', 'DELETE', '/api/v1/users/ana@example.com/contact-methods/office')).statusCode, 403);
      assert.equal((await as('bo', 'POST', '/api/v1/users/ana@example.com/notification-rules', { urgency: 'high', contact_method: 'office', delay_minutes: 0 })).statusCode, 403);
      assert.equal((await as('ana', 'PATCH', '/api/v1/users/bo@example.com/contact-methods/x', { label: 'y' })).statusCode, 403, 'a responder is not an admin');
      assert.equal((await as('bo', 'GET', '/api/v1/users/bo@example.com/contact-methods')).statusCode, 200, 'by their own email');
      assert.equal((await as('bo', 'POST', '/api/v1/users/me/contact-methods', { type: 'in_app', label: 'bell' })).statusCode, 201, 'viewers manage their own');

      const byAdmin = await as('cy', 'POST', '/api/v1/users/ana@example.com/contact-methods', { type: 'email', label: 'pager', address: 'ana@pager.example' });
      assert.equal(byAdmin.statusCode, 201);
      assert.equal((await as('admin-token', 'GET', '/api/v1/users/ANA@example.com/contact-methods')).json().contact_methods.length, 4);
      assert.equal((await as('admin-token', 'GET', '/api/v1/users/nobody@example.com/contact-methods')).statusCode, 404);
      const noUser = await as('admin-token', 'GET', '/api/v1/users/me/contact-methods');
      assert.equal(noUser.statusCode, 400);
      assert.equal(noUser.json().error.code, 'no_user');
    });
  });
}
