import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestApp, DIALECTS, type TestApp } from '../../../test/helpers.ts';
import { parseConfigYaml } from '../../config-as-code/apply.service.ts';
import { hostsFromTargets, parseSelectors } from './hosts.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** A stand-in for the EC2 endpoint answering the recorded DescribeInstances pages (query protocol, form body). */
async function startFakeEc2(): Promise<{ url: string; server: Server; requests: URLSearchParams[]; fail: { auth: boolean } }> {
  const requests: URLSearchParams[] = [];
  const fail = { auth: false };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      res.setHeader('content-type', 'text/xml;charset=UTF-8');
      if (fail.auth || !String(req.headers.authorization ?? '').includes('Credential=AKIDEXAMPLE/')) {
        res.statusCode = 401;
        res.end(fixture('auth-failure.xml'));
        return;
      }
      if (form.get('Action') !== 'DescribeInstances') {
        res.statusCode = 400;
        res.end('<Response><Errors><Error><Code>InvalidAction</Code><Message>no</Message></Error></Errors></Response>');
        return;
      }
      res.end(fixture(form.get('NextToken') === 'eyJ2IjoiMiIsImMiOiJwYWdlMiJ9' ? 'describe-instances-page2.xml' : 'describe-instances-page1.xml'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests, fail };
}

describe('inventory: selectors and Prometheus targets', () => {
  test('selectors: key=value, quoted values and bare words', () => {
    assert.deepEqual(parseSelectors('kind=object4 name="db 1" web-1'), [{ key: 'kind', value: 'object4' }, { key: 'name', value: 'db 1' }, { word: 'web-1' }]);
  });
  test('targets on one machine become one host with every instance address and the target labels', () => {
    const hosts = hostsFromTargets([
      { labels: { instance: '10.0.0.4:9100', job: 'node', kind: 'object4' }, scrapeUrl: 'http://10.0.0.4:9100/metrics' },
      { labels: { instance: '10.0.0.4:8080', job: 'app', service: 'api' }, scrapeUrl: 'http://10.0.0.4:8080/metrics' },
      { labels: { instance: 'web-2:9100', job: 'node' }, scrapeUrl: 'http://web-2:9100/metrics' },
    ]);
    assert.equal(hosts.length, 2);
    assert.deepEqual(hosts[0]!.addresses, ['10.0.0.4:9100', '10.0.0.4', '10.0.0.4:8080']);
    assert.equal(hosts[0]!.labels.kind, 'object4');
    assert.equal(hosts[0]!.labels.service, 'api');
    assert.equal(hosts[1]!.name, 'web-2');
  });
});

for (const dialect of DIALECTS) {
  describe(`inventory (${dialect})`, () => {
    let t: TestApp;
    let ec2: Awaited<ReturnType<typeof startFakeEc2>>;
    const apply = (yaml: string) => t.features.apply.apply(parseConfigYaml(yaml));
    const get = async (url: string, role: 'viewer' | 'responder' = 'viewer') => {
      const res = await t.app.inject({ method: 'GET', url, headers: t.auth(role) });
      return { status: res.statusCode, body: res.json() };
    };

    before(async () => {
      t = await createTestApp(dialect);
      ec2 = await startFakeEc2();
    });
    after(async () => {
      await t.close();
      ec2.server.close();
    });

    test('static hosts: apply, find by label, name, address and bare word; applying again changes nothing', async () => {
      const yaml = `inventory:
  - name: lab
    provider: static
    hosts:
      - { name: web-1, addresses: ["10.0.0.1"], labels: { kind: frontend, env: prod } }
      - { name: web-4, id: srv-4, addresses: ["10.0.0.4", "web-4.lab"], labels: { kind: object4, env: prod } }
      - { name: db-1, addresses: ["10.0.0.9"], labels: { kind: database } }
`;
      const first = await apply(yaml);
      assert.deepEqual(first.created, ['inventory/lab']);
      const again = await apply(yaml);
      assert.deepEqual(again.unchanged, ['inventory/lab']);

      const byKind = await get('/api/v1/hosts/find?q=kind%3Dobject4');
      assert.equal(byKind.status, 200);
      assert.deepEqual(byKind.body.hosts.map((h: { name: string }) => h.name), ['web-4']);
      assert.equal(byKind.body.hosts[0].external_id, 'srv-4');
      // The same as separate query parameters.
      assert.deepEqual((await get('/api/v1/hosts/find?kind=object4')).body.hosts.map((h: { name: string }) => h.name), ['web-4']);
      // instance=host:port matches the address without the port.
      assert.deepEqual((await get('/api/v1/hosts/find?instance=10.0.0.4%3A9100')).body.hosts.map((h: { name: string }) => h.name), ['web-4']);
      assert.deepEqual((await get('/api/v1/hosts/find?q=web-4.lab')).body.hosts.map((h: { name: string }) => h.name), ['web-4']);
      // Exact, not substring: "web" names nothing; "prod" (a label value) names two.
      assert.deepEqual((await get('/api/v1/hosts/find?q=web')).body.hosts, []);
      assert.deepEqual((await get('/api/v1/hosts/find?q=prod')).body.hosts.map((h: { name: string }) => h.name), ['web-1', 'web-4']);
      assert.deepEqual((await get('/api/v1/hosts/find?q=env%3Dprod%20kind%3Dfrontend')).body.hosts.map((h: { name: string }) => h.name), ['web-1']);

      const list = await get('/api/v1/hosts?q=web&label=env%3Dprod');
      assert.equal(list.body.total, 2);
      const bad = await get('/api/v1/hosts?label=nokey');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_label_selector');
      assert.equal((await get('/api/v1/hosts/find')).body.error.code, 'empty_selector');

      // Dropping a host from the file removes it; the export round-trips.
      await apply(yaml.replace(/ {6}- \{ name: db-1.*\n/, ''));
      assert.deepEqual((await get('/api/v1/hosts/find?q=kind%3Ddatabase')).body.hosts, []);
      const exported = await t.features.apply.exportDocument();
      const lab = (exported.inventory ?? []).find((i: { name: string }) => i.name === 'lab');
      assert.equal(lab?.provider, 'static');
      assert.equal(lab?.provider === 'static' && lab.hosts.length, 2);
    });

    test('EC2: DescribeInstances pages are followed, tags become labels, filters are sent, the secret is encrypted at rest', async () => {
      const yaml = `inventory:
  - name: aws
    provider: ec2
    region: eu-west-1
    endpoint: ${ec2.url}
    filters: { "tag:env": [prod], instance-state-name: [running] }
    credentials: { access_key_id: AKIDEXAMPLE, secret_access_key: wJalrXUtnFEMI-K7MDENG }
`;
      assert.deepEqual((await apply(yaml)).created, ['inventory/aws']);
      const stored = await t.handle.db.selectFrom('inventory_providers').select('config').where('name', '=', 'aws').executeTakeFirstOrThrow();
      assert.ok(!stored.config.includes('wJalrXUtnFEMI'), 'the secret key is not stored in clear');

      const refresh = await t.app.inject({ method: 'POST', url: '/api/v1/inventory/aws/refresh', headers: t.auth('responder') });
      assert.equal(refresh.statusCode, 200, refresh.body);
      assert.equal(refresh.json().provider.hosts, 3);
      assert.equal(ec2.requests.length, 2);
      assert.equal(ec2.requests[0]!.get('Filter.1.Name'), 'tag:env');
      assert.equal(ec2.requests[0]!.get('Filter.1.Value.1'), 'prod');
      assert.equal(ec2.requests[1]!.get('NextToken'), 'eyJ2IjoiMiIsImMiOiJwYWdlMiJ9');

      const found = await get('/api/v1/hosts/find?q=kind%3Dobject4%20provider%3Daws');
      assert.equal(found.body.hosts.length, 1);
      const h = found.body.hosts[0];
      assert.equal(h.name, 'object4');
      assert.equal(h.external_id, 'i-1234567890abcdef0');
      assert.deepEqual(h.addresses.slice(0, 2), ['192.168.1.88', '54.194.252.215']);
      assert.equal(h.labels['ec2.instance_type'], 't2.micro');
      // An instance without a Name tag is named by its id.
      assert.equal((await get('/api/v1/hosts/find?q=192.168.1.90')).body.hosts[0].name, 'i-0c1f2e3d4b5a69788');

      // The export gives the credentials back as written.
      const exported = (await t.features.apply.exportDocument()).inventory?.find((i: { name: string }) => i.name === 'aws');
      assert.equal(exported?.provider === 'ec2' && exported.credentials?.secret_access_key, 'wJalrXUtnFEMI-K7MDENG');

      // A failing refresh keeps the hosts, reports the AWS error code and records it on the provider.
      ec2.fail.auth = true;
      const failed = await t.app.inject({ method: 'POST', url: '/api/v1/inventory/aws/refresh', headers: t.auth('responder') });
      assert.equal(failed.statusCode, 502);
      assert.equal(failed.json().error.code, 'inventory_provider_error');
      assert.match(failed.json().error.message, /AuthFailure/);
      const providers = (await get('/api/v1/inventory')).body.providers;
      const aws = providers.find((p: { name: string }) => p.name === 'aws');
      assert.equal(aws.hosts, 3);
      assert.match(aws.last_error, /AuthFailure/);
      ec2.fail.auth = false;

      const missing = await t.app.inject({ method: 'POST', url: '/api/v1/inventory/nope/refresh', headers: t.auth('responder') });
      assert.equal(missing.statusCode, 404);
      assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/inventory/aws/refresh', headers: t.auth('viewer') })).statusCode, 403);
    });
  });
}
