import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';
import { ROLES } from '../users/roles.ts';

/** Routes CONTRACTS.md lists as unauthenticated (intake is authenticated by its key instead). */
const PUBLIC_ROUTES = new Set([
  'GET /healthz', 'HEAD /healthz', 'GET /readyz', 'HEAD /readyz', 'GET /metrics', 'HEAD /metrics',
  'POST /api/v1/auth/login',
  'POST /v2/enqueue', 'POST /v2/change/enqueue',
  'POST /integrations/alertmanager/:key', 'POST /integrations/webhook/:key', 'POST /integrations/heartbeat/:key',
  'POST /hooks/chat/:key',
]);

const concrete = (url: string) => url.replace(/:number/g, '1').replace(/:[a-z]+/g, 'x');

for (const dialect of DIALECTS) {
  describe(`every route is authenticated and authorised (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect);
    });
    after(() => t.close());

    test('every /api route declares a role, and only the contract\'s public routes are public', () => {
      const apiRoutes = t.allRoutes.filter((r) => r.url.startsWith('/api/'));
      assert.ok(apiRoutes.length >= 20, `found ${apiRoutes.length} API routes`);
      for (const r of t.allRoutes) {
        const key = `${r.method} ${r.url}`;
        // The web UI's static files are public by design; everything else must be listed or protected.
        const isUiFile = !/^\/(api|v2|integrations|hooks|healthz|readyz|metrics)(\/|$)/.test(r.url);
        if (PUBLIC_ROUTES.has(key) || isUiFile) continue;
        assert.ok(r.auth && r.auth !== 'public', `${key} must require authentication (declares ${r.auth ?? 'nothing'})`);
        assert.ok((ROLES as readonly string[]).includes(r.auth), `${key} declares an unknown role ${r.auth}`);
      }
    });

    test('without credentials every protected route answers 401 and changes nothing', async () => {
      for (const r of t.allRoutes.filter((x) => x.auth && x.auth !== 'public' && x.method !== 'HEAD')) {
        const res = await t.app.inject({ method: r.method as 'GET', url: concrete(r.url), payload: r.method === 'GET' ? undefined : {} });
        assert.equal(res.statusCode, 401, `${r.method} ${r.url} → ${res.statusCode}`);
        assert.equal(res.json().error.code, 'authentication_required');
      }
    });

    test('a garbage or revoked bearer token is refused', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { authorization: 'Bearer fw_nope' } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, 'invalid_token');
    });

    test('a role below the route\'s role gets 403, for every route', async () => {
      for (const r of t.allRoutes.filter((x) => x.auth && x.auth !== 'public' && x.method !== 'HEAD')) {
        const needed = ROLES.indexOf(r.auth as (typeof ROLES)[number]);
        for (const role of ROLES.slice(0, needed)) {
          const res = await t.app.inject({ method: r.method as 'GET', url: concrete(r.url), headers: t.auth(role), payload: r.method === 'GET' ? undefined : {} });
          assert.equal(res.statusCode, 403, `${role} on ${r.method} ${r.url} → ${res.statusCode}`);
          assert.equal(res.json().error.code, 'forbidden');
        }
      }
    });

    test('a viewer can read incidents but not acknowledge them', async () => {
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: t.auth('viewer') })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/incidents/1/acknowledge', headers: t.auth('viewer') })).statusCode, 403);
    });
  });
}
