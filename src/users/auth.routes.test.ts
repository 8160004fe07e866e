import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';

for (const dialect of DIALECTS) {
  describe(`sign-in, sessions and CSRF (${dialect})`, () => {
    let t: TestApp;
    let password: string;
    before(async () => {
      t = await createTestApp(dialect);
      const first = await t.features.users.ensureFirstAdmin();
      assert.ok(first);
      password = first.password;
    });
    after(() => t.close());

    const login = (email: string, pw: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: pw } });
    const cookieOf = (res: Awaited<ReturnType<typeof login>>) => {
      const c = res.cookies.find((x) => x.name === 'fw_session');
      assert.ok(c, 'session cookie set');
      return c;
    };

    test('the first admin exists once; a second call creates nothing', async () => {
      assert.equal(await t.features.users.ensureFirstAdmin(), null);
    });

    test('signing in sets an HttpOnly SameSite=Strict cookie and the session works', async () => {
      const res = await login('ADMIN@firewatch.local', password);
      assert.equal(res.statusCode, 200);
      const cookie = cookieOf(res);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', cookies: { fw_session: cookie.value } });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().user.email, 'admin@firewatch.local');
      assert.equal(me.json().csrf_token, res.json().csrf_token);
    });

    test('a wrong password and an unknown email look the same', async () => {
      const a = await login('admin@firewatch.local', 'wrong-password');
      const b = await login('nobody@example.com', 'wrong-password');
      assert.equal(a.statusCode, 401);
      assert.deepEqual(a.json(), b.json());
    });

    test('cookie-authenticated changes need the CSRF token', async () => {
      const res = await login('admin@firewatch.local', password);
      const cookie = cookieOf(res);
      const csrf = res.json().csrf_token as string;
      const create = (headers: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/v1/services', cookies: { fw_session: cookie.value }, headers, payload: { name: `svc-${Math.random().toString(36).slice(2, 8)}` } });
      const missing = await create({});
      assert.equal(missing.statusCode, 403);
      assert.equal(missing.json().error.code, 'csrf_failed');
      assert.equal((await create({ 'x-csrf-token': 'forged' })).statusCode, 403);
      assert.equal((await create({ 'x-csrf-token': csrf })).statusCode, 201);
    });

    test('logging out ends the session', async () => {
      const res = await login('admin@firewatch.local', password);
      const cookie = cookieOf(res);
      const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', cookies: { fw_session: cookie.value }, headers: { 'x-csrf-token': res.json().csrf_token } });
      assert.equal(out.statusCode, 204);
      const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', cookies: { fw_session: cookie.value } });
      assert.equal(me.statusCode, 401);
    });

    test('repeated failures are rate limited with Retry-After, even with the right password', async () => {
      await t.features.users.createUser({ email: 'limited@example.com', role: 'viewer', password: 'correct horse battery' });
      for (let i = 0; i < 10; i++) assert.equal((await login('limited@example.com', `bad-${i}`)).statusCode, 401);
      const blocked = await login('limited@example.com', 'correct horse battery');
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.json().error.code, 'too_many_attempts');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
    });

    test('API tokens are stored hashed and shown once', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: t.auth('admin'), payload: { name: 'ci', role: 'viewer' } });
      assert.equal(res.statusCode, 201);
      const { token, id } = res.json();
      assert.match(token, /^fw_/);
      const stored = await t.handle.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.notEqual(stored.token_hash, token);
      assert.ok(!JSON.stringify(stored).includes(token));
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/tokens', headers: t.auth('admin') });
      assert.ok(!list.body.includes(token));
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: t.auth('admin') })).statusCode, 204);
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
    });

    test('passwords are stored as argon2id hashes', async () => {
      const row = await t.handle.db.selectFrom('users').select('password_hash').where('email', '=', 'admin@firewatch.local').executeTakeFirstOrThrow();
      assert.match(row.password_hash ?? '', /^\$argon2id\$v=19\$/);
    });

    test('integration keys are encrypted at rest and found by hash', async () => {
      await t.features.services.create({ name: 'secret-check' });
      const integration = await t.features.services.addIntegration('secret-check', { name: 'pd', type: 'pagerduty' });
      const row = await t.handle.db.selectFrom('integrations').selectAll().where('id', '=', integration.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(integration.key));
      assert.equal((await t.features.services.findIntegrationByKey(integration.key))?.id, integration.id);
    });
  });
}
