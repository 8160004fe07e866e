import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { buildWebhookEnvelope, type IncidentSummary, type WebhookEnvelope } from './messages.ts';
import { MAX_ATTEMPTS, nextAttemptDelayMs } from './retry.ts';
import type { AddressPolicy } from './ssrf.ts';
import { deliverWebhook, parseRetryAfter, signBody } from './webhook.ts';

interface Receiver {
  url: string;
  port: number;
  requests: { headers: IncomingHttpHeaders; body: string }[];
  connections: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

/** An HTTP receiver on a loopback address that records every request and answers through `handler`. */
async function startReceiver(handler: Handler, host = '127.0.0.1', port = 0): Promise<Receiver> {
  const receiver: Receiver = { url: '', port: 0, requests: [], connections: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      handler(req, res, receiver.requests.length);
    });
  });
  server.on('connection', () => receiver.connections++);
  await new Promise<void>((resolve) => server.listen(port, host, () => resolve()));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://${host}:${receiver.port}/hooks/firewatch`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

const SECRET = 'whsec_test_0123456789';

/** Self-signed certificate for hooks.test (P-256, 100 years), test-only: no client trusts it. */
const TEST_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+gt3Qs44Q11KjDll
dx78TYTtH3qATsesK4hhJxNtIxehRANCAARFjNvt603PD4L08VZMN1rYEe/5sYgl
2V2/hb/SmPqOTg8x9gcbdpKZ7FF/LtvcJUr8IGG+bDQ9ml5M+woWFIY1
-----END PRIVATE KEY-----`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBlzCCAT6gAwIBAgIUTi2uJfsBemmM1M+fc6S2JkpVezYwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKaG9va3MudGVzdDAgFw0yNjExMjEwOTM0MzBaGA8yMTI2MTAy
ODA5MzQzMFowFTETMBEGA1UEAwwKaG9va3MudGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABEWM2+3rTc8PgvTxVkw3WtgR7/mxiCXZXb+Fv9KY+o5ODzH2Bxt2
kpnsUX8u29wlSvwgYb5sND2aXkz7ChYUhjWjajBoMB0GA1UdDgQWBBQa2QoeSX1H
mOgGPgYlq8nZiVMDIDAfBgNVHSMEGDAWgBQa2QoeSX1HmOgGPgYlq8nZiVMDIDAP
BgNVHRMBAf8EBTADAQH/MBUGA1UdEQQOMAyCCmhvb2tzLnRlc3QwCgYIKoZIzj0E
AwIDRwAwRAIgJxnUiHkErkPvUm2Jp/qwch6GWG7lP1mNqTu74/k6qY8CIGfMtnjU
Fbv69f89YKYeLkZFDVGItqy1CGv6aHTIxWGd
-----END CERTIFICATE-----`,
};
const LOOPBACK_ALLOWED: AddressPolicy = { allowPrivate: false, allowList: ['127.0.0.1/32'] };
const PUBLIC_ONLY: AddressPolicy = { allowPrivate: false, allowList: [] };
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

const incident: IncidentSummary = {
  id: '0190a1b2-0000-7000-8000-000000000042',
  number: 42,
  title: 'Checkout latency p99 > 2s',
  status: 'triggered',
  urgency: 'high',
  service: { id: 'svc-checkout', name: 'checkout' },
  created_at: '2026-01-01T00:00:00.000Z',
  html_url: 'https://firewatch.example.com/incidents/42',
  alert_count: 2,
  assignees: [{ id: 'u-ada', name: 'Ada Lovelace', email: 'ada@example.com' }],
  escalation_level: 1,
};

const envelope = buildWebhookEnvelope({
  id: 'evt-0001',
  eventType: 'incident.triggered',
  occurredAt: '2026-01-01T00:00:01.000Z',
  agent: { type: 'service', id: 'svc-checkout', name: 'checkout' },
  incident,
});
const BODY = JSON.stringify(envelope);

/** What a receiver does: recompute the signature over timestamp and raw body, compare in constant time. */
function verifySignature(headers: IncomingHttpHeaders, body: string, secret: string): boolean {
  const timestamp = String(headers['x-firewatch-timestamp']);
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(String(headers['x-firewatch-signature'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhook channel', () => {
  const receivers: Receiver[] = [];
  const receiver = async (handler: Handler, host?: string, port?: number) => {
    const r = await startReceiver(handler, host, port);
    receivers.push(r);
    return r;
  };
  after(async () => {
    for (const r of receivers) await r.close();
  });

  test('retries through 503s to a 200, with the same X-Webhook-Id and a valid signature every time', async () => {
    const hook = await receiver((_req, res, n) => {
      res.writeHead(n <= 2 ? 503 : 200, { 'content-type': 'text/plain' }).end(n <= 2 ? 'busy' : 'ok');
    });
    const results = [];
    // As the runner would: one call per attempt, the id fixed, the timestamp that of the attempt.
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const result = await deliverWebhook({ url: hook.url, secret: SECRET }, BODY, { webhookId: 'evt-0001', timestampSeconds: T0 + attempt * 60, allow: LOOPBACK_ALLOWED });
      results.push(result);
      if (nextAttemptDelayMs(result, attempt, () => 0.5) === null) break;
    }
    assert.deepEqual(results.map((r) => [r.ok, r.retryable, r.status]), [[false, true, 503], [false, true, 503], [true, false, 200]]);
    assert.equal(results[0].detail, `HTTP 503 from 127.0.0.1:${hook.port}`);
    assert.equal(results[0].error, 'http_error');
    assert.equal(results[0].responseBody, 'busy');

    assert.equal(hook.requests.length, 3);
    assert.deepEqual(new Set(hook.requests.map((r) => r.headers['x-webhook-id'])), new Set(['evt-0001']));
    assert.deepEqual(hook.requests.map((r) => r.headers['x-firewatch-timestamp']), [String(T0 + 60), String(T0 + 120), String(T0 + 180)]);
    for (const r of hook.requests) {
      assert.ok(verifySignature(r.headers, r.body, SECRET), 'signature verifies with the shared secret');
      assert.ok(!verifySignature(r.headers, r.body, 'another secret'));
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['user-agent'], 'Firewatch-Webhook/1');
      assert.equal(r.body, BODY);
    }

    const received = JSON.parse(hook.requests[2].body) as WebhookEnvelope;
    assert.equal(received.event.id, 'evt-0001');
    assert.equal(received.event.event_type, 'incident.triggered');
    assert.equal(received.event.resource_type, 'incident');
    assert.equal(received.event.occurred_at, '2026-01-01T00:00:01.000Z');
    assert.deepEqual(received.event.client, { name: 'Firewatch' });
    assert.deepEqual(received.event.agent, { id: 'svc-checkout', type: 'service_reference', summary: 'checkout' });
    assert.deepEqual(received.event.data, {
      id: '0190a1b2-0000-7000-8000-000000000042',
      type: 'incident',
      number: 42,
      status: 'triggered',
      title: 'Checkout latency p99 > 2s',
      urgency: 'high',
      html_url: 'https://firewatch.example.com/incidents/42',
      created_at: '2026-01-01T00:00:00.000Z',
      service: { id: 'svc-checkout', name: 'checkout', type: 'service_reference' },
      assignees: [{ id: 'u-ada', summary: 'Ada Lovelace', type: 'user_reference' }],
      escalation_level: 1,
    });
  });

  test('signBody is v1= and the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    // Independent value: printf '1767225600.{"a":1}' | openssl dgst -sha256 -hmac key
    assert.equal(signBody('key', '1767225600', '{"a":1}'), 'v1=80f7b75f8618b9b24d72673996a625f1a43f7387a26b6739d667431724fe4d23');
    assert.match(signBody('key', '1', 'x'), /^v1=[0-9a-f]{64}$/);
    assert.notEqual(signBody('key', '1', 'x'), signBody('key', '2', 'x'), 'the timestamp is signed');
  });

  test('without a secret the webhook is sent unsigned; custom headers pass but cannot replace ours', async () => {
    const hook = await receiver((_req, res) => res.writeHead(204).end());
    const result = await deliverWebhook(
      { url: hook.url, secret: null, headers: { Authorization: 'Bearer abc', 'X-Webhook-Id': 'forged', 'Content-Type': 'text/plain', Host: 'evil.example' } },
      BODY,
      { webhookId: 'evt-0002', timestampSeconds: T0, allow: LOOPBACK_ALLOWED },
    );
    assert.equal(result.ok, true);
    const [{ headers }] = hook.requests;
    assert.equal(headers['x-firewatch-signature'], undefined);
    assert.equal(headers.authorization, 'Bearer abc');
    assert.equal(headers['x-webhook-id'], 'evt-0002');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers.host, `127.0.0.1:${hook.port}`);
  });

  test('a receiver that never answers is a retryable timeout, within the limit', async () => {
    const hook = await receiver(() => {});
    const started = performance.now();
    const result = await deliverWebhook({ url: hook.url, secret: SECRET }, BODY, { webhookId: 'evt-3', timestampSeconds: T0, timeoutMs: 300, allow: LOOPBACK_ALLOWED });
    const elapsed = performance.now() - started;
    assert.deepEqual([result.ok, result.retryable, result.error], [false, true, 'timeout']);
    assert.match(result.detail ?? '', /within 300 ms/);
    assert.ok(elapsed >= 290 && elapsed < 1000, `took ${elapsed} ms`);
  });

  test('the timeout covers a response body that trickles forever, keeping the status', async () => {
    const hook = await receiver((_req, res) => {
      res.writeHead(200);
      res.write('still going');
    });
    const result = await deliverWebhook({ url: hook.url, secret: null }, BODY, { webhookId: 'evt-3b', timestampSeconds: T0, timeoutMs: 300, allow: LOOPBACK_ALLOWED });
    assert.deepEqual([result.ok, result.status], [true, 200]);
  });

  test('410 Gone and other 4xx are permanent; 408 and 5xx are retryable', async () => {
    const statuses = [410, 400, 401, 404, 408, 500, 502];
    const hook = await receiver((_req, res, n) => res.writeHead(statuses[n - 1]).end());
    const results = [];
    for (const _ of statuses) results.push(await deliverWebhook({ url: hook.url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED }));
    assert.deepEqual(results.map((r) => [r.status, r.retryable]), [[410, false], [400, false], [401, false], [404, false], [408, true], [500, true], [502, true]]);
    assert.ok(results.every((r) => !r.ok && r.error === 'http_error'));
  });

  test('a redirect is not followed and fails permanently', async () => {
    const elsewhere = await receiver((_req, res) => res.writeHead(200).end());
    const hook = await receiver((_req, res) => res.writeHead(302, { location: elsewhere.url }).end());
    const result = await deliverWebhook({ url: hook.url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.deepEqual([result.ok, result.retryable, result.status, result.error], [false, false, 302, 'redirect_not_followed']);
    assert.match(result.detail ?? '', /redirect to http:\/\/127\.0\.0\.1:\d+\/hooks\/firewatch .*not followed/);
    assert.equal(elsewhere.requests.length, 0);
  });

  test('429 and 503 pass on Retry-After, in seconds or as a date', async () => {
    const hook = await receiver((_req, res, n) => {
      if (n === 1) res.writeHead(429, { 'retry-after': '120' }).end();
      else res.writeHead(503, { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT', date: 'Thu, 01 Jan 2026 00:00:00 GMT' }).end();
    });
    const limited = await deliverWebhook({ url: hook.url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.deepEqual([limited.ok, limited.retryable, limited.status, limited.retryAfterMs], [false, true, 429, 120_000]);
    const unavailable = await deliverWebhook({ url: hook.url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.deepEqual([unavailable.retryable, unavailable.status, unavailable.retryAfterMs], [true, 503, 30_000]);
    // The runner waits for the longer of its back-off and the receiver's wish.
    assert.equal(nextAttemptDelayMs(limited, 1, () => 0.5), 120_000);
  });

  test('parseRetryAfter: seconds, dates against the Date header or the attempt time, junk ignored, capped at an hour', () => {
    assert.equal(parseRetryAfter('0', undefined, T0), 0);
    assert.equal(parseRetryAfter(' 5 ', undefined, T0), 5000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', undefined, T0), 60_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', undefined, T0), 0, 'a date in the past means now');
    assert.equal(parseRetryAfter('soon', undefined, T0), undefined);
    assert.equal(parseRetryAfter(undefined, undefined, T0), undefined);
    assert.equal(parseRetryAfter('86400', undefined, T0), 3_600_000);
  });

  test('reads at most 4 KB of a response', async () => {
    const hook = await receiver((_req, res) => res.writeHead(500).end('x'.repeat(200_000)));
    const result = await deliverWebhook({ url: hook.url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.equal(result.status, 500);
    assert.equal(result.responseBody?.length, 4096);
  });

  test('a refused connection is retryable', async () => {
    const gone = await receiver(() => {});
    await gone.close();
    receivers.splice(receivers.indexOf(gone), 1);
    const result = await deliverWebhook({ url: gone.url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.deepEqual([result.ok, result.retryable, result.error], [false, true, 'connection_failed']);
    assert.match(result.detail ?? '', /connection refused/);
  });

  test('a loopback target is refused before any connection unless allow-listed', async () => {
    const hook = await receiver((_req, res) => res.writeHead(200).end());
    const refused = await deliverWebhook({ url: hook.url, secret: SECRET }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: PUBLIC_ONLY });
    assert.deepEqual([refused.ok, refused.retryable, refused.error], [false, false, 'address_not_allowed']);
    assert.equal(hook.connections, 0, 'nothing connected');
    const viaName = await deliverWebhook({ url: `http://localhost:${hook.port}/`, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: PUBLIC_ONLY });
    assert.equal(viaName.error, 'address_not_allowed');
    assert.equal(hook.connections, 0);

    const allowed = await deliverWebhook({ url: hook.url, secret: SECRET }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.equal(allowed.ok, true);
    assert.equal(hook.requests.length, 1);
  });

  test('connects to the address that was checked: a second DNS answer (rebinding) is never used', async () => {
    const checked = await receiver((_req, res) => res.writeHead(200).end('checked'));
    // Same port on 127.0.0.2: where a rebinding answer would lead if the name were resolved again.
    const attacker = await receiver((_req, res) => res.writeHead(200).end('attacker'), '127.0.0.2', checked.port);
    let lookups = 0;
    const resolve = async (host: string) => {
      assert.equal(host, 'hooks.test');
      lookups++;
      return [{ address: lookups === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    };
    const result = await deliverWebhook({ url: `http://hooks.test:${checked.port}/x`, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED, resolve });
    assert.deepEqual([result.ok, result.responseBody], [true, 'checked']);
    assert.equal(lookups, 1, 'one DNS lookup per delivery');
    assert.equal(attacker.connections, 0);
    assert.equal(checked.requests[0].headers.host, `hooks.test:${checked.port}`, 'the Host header keeps the name');

    // And a name whose answers include a refused address is refused as a whole.
    const mixed = await deliverWebhook({ url: `http://hooks.test:${checked.port}/x`, secret: null }, BODY, {
      webhookId: 'e',
      timestampSeconds: T0,
      allow: LOOPBACK_ALLOWED,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }],
    });
    assert.deepEqual([mixed.ok, mixed.error], [false, 'address_not_allowed']);
    assert.equal(checked.requests.length, 1);
  });

  test('https keeps the name for SNI and certificate checks while connecting to the checked address', async () => {
    const sniSeen: string[] = [];
    let requests = 0;
    const server = createHttpsServer(
      {
        ...TEST_TLS,
        SNICallback: (name, callback) => {
          sniSeen.push(name);
          callback(null);
        },
      },
      (_req, res) => {
        requests++;
        res.writeHead(200).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (server.address() as AddressInfo).port;
      const result = await deliverWebhook({ url: `https://hooks.test:${port}/`, secret: SECRET }, BODY, {
        webhookId: 'e',
        timestampSeconds: T0,
        allow: LOOPBACK_ALLOWED,
        resolve: async () => [{ address: '127.0.0.1', family: 4 }],
      });
      assert.deepEqual(sniSeen, ['hooks.test']);
      // The certificate is verified as usual: a self-signed one is refused, so nothing was posted.
      assert.deepEqual([result.ok, result.retryable, result.error], [false, true, 'connection_failed']);
      assert.match(result.detail ?? '', /SELF_SIGNED/);
      assert.equal(requests, 0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('URLs that are not plain http(s) are refused without a request', async () => {
    for (const url of ['ftp://127.0.0.1/', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/', 'not a url']) {
      const result = await deliverWebhook({ url, secret: null }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
      assert.equal(result.ok, false, url);
      assert.equal(result.retryable, false, url);
      assert.ok(['unsupported_scheme', 'credentials_in_url', 'invalid_url'].includes(result.error ?? ''), `${url}: ${result.error}`);
    }
  });

  test('a header value Node refuses is a permanent failure, not a crash', async () => {
    const hook = await receiver((_req, res) => res.writeHead(200).end());
    const result = await deliverWebhook({ url: hook.url, secret: null, headers: { 'X-Bad': 'a\r\nInjected: 1' } }, BODY, { webhookId: 'e', timestampSeconds: T0, allow: LOOPBACK_ALLOWED });
    assert.deepEqual([result.ok, result.retryable, result.error], [false, false, 'invalid_header']);
    assert.equal(hook.connections, 0);
  });
});
