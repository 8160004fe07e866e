import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { createMailer, type Mailer } from './email.ts';
import { renderHandoffEmail, renderIncidentEmail, type IncidentSummary } from './messages.ts';

interface TestSmtp {
  url: string;
  port: number;
  messages: { to: string[]; raw: string }[];
  close(): Promise<void>;
}

/** A real SMTP server on loopback that records what it accepts; `options` make it refuse things. */
async function startSmtp(options: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  const messages: TestSmtp['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, port, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Headers (unfolded, lower-case names) and the leaf parts of a MIME message, bodies decoded. Enough for these tests. */
function parseMime(raw: string): { headers: Map<string, string>; parts: { type: string; body: string }[] } {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (!boundary) return { headers, parts: [{ type: type.split(';')[0], body: decode(body, headers.get('content-transfer-encoding')) }] };
  const parts = body
    .split(`--${boundary}`)
    .slice(1, -1)
    .flatMap((p) => parseMime(p.replace(/^\r?\n/, '')).parts);
  return { headers, parts };
}

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=`), which nodemailer uses for headers with special characters. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decode(text.replace(/_/g, ' '), 'quoted-printable'),
    );
}

function decode(body: string, encoding = '7bit'): string {
  if (encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

const EVIL_TITLE = `<script>alert(1)</script> "quoted" & 'single' disk full`;

const incident: IncidentSummary = {
  id: '0190a1b2-0000-7000-8000-000000000012',
  number: 12,
  title: EVIL_TITLE,
  status: 'triggered',
  urgency: 'high',
  service: { id: 'svc-1', name: 'checkout <prod>' },
  created_at: '2026-01-05T09:03:00.000Z',
  html_url: 'https://firewatch.example.com/incidents/12',
  alert_count: 3,
  assignees: [{ id: 'u1', name: 'Ada "the pager" <Lovelace>', email: 'ada@example.com' }],
  escalation_level: 1,
};

const ACK_URL = 'https://firewatch.example.com/ack/abc123?sig=x&y=1';

describe('email channel', () => {
  const mailers: Mailer[] = [];
  const servers: TestSmtp[] = [];
  const mailer = (smtpUrl: string | null, timeoutMs?: number) => {
    const m = createMailer({ smtpUrl, from: 'Firewatch <firewatch@example.com>', timeoutMs });
    mailers.push(m);
    return m;
  };
  const smtp = async (options?: Partial<SMTPServerOptions>) => {
    const s = await startSmtp(options);
    servers.push(s);
    return s;
  };
  after(async () => {
    for (const m of mailers) m.close();
    for (const s of servers) await s.close();
  });

  test('delivers a multipart text + HTML incident e-mail with the subject, recipient and links', async () => {
    const server = await smtp();
    const content = renderIncidentEmail({ kind: 'triggered', incident, recipientName: 'Ada', ackUrl: ACK_URL, reason: 'you are on call for Primary' });
    const result = await mailer(server.url).send({ to: 'ada@example.com', ...content, headers: { 'X-Firewatch-Incident': '12' } });

    assert.equal(result.ok, true, result.detail);
    assert.equal(result.status, 250);
    assert.match(result.detail ?? '', /^SMTP 250 accepted by 127\.0\.0\.1$/);
    assert.equal(server.messages.length, 1);
    const [message] = server.messages;
    assert.deepEqual(message.to, ['ada@example.com']);
    const mime = parseMime(message.raw);
    assert.equal(decodeHeader(mime.headers.get('subject') ?? ''), `[Firewatch] #12 TRIGGERED: ${EVIL_TITLE}`);
    assert.equal(mime.headers.get('to'), 'ada@example.com');
    assert.equal(mime.headers.get('auto-submitted'), 'auto-generated');
    assert.equal(mime.headers.get('x-firewatch-incident'), '12');
    assert.match(mime.headers.get('content-type') ?? '', /^multipart\/alternative/);
    assert.deepEqual(mime.parts.map((p) => p.type), ['text/plain', 'text/html']);

    const [text, html] = mime.parts.map((p) => p.body);
    assert.ok(text.includes(EVIL_TITLE), 'the text part carries the title as written');
    assert.ok(text.includes(`Acknowledge: ${ACK_URL}`));
    assert.ok(text.includes('View incident: https://firewatch.example.com/incidents/12'));

    assert.ok(!html.includes('<script>'), 'no user text reaches the HTML unescaped');
    assert.ok(!html.includes('<prod>') && !html.includes('<Lovelace>'));
    assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62; &#34;quoted&#34; &#38; &#39;single&#39;'));
    assert.ok(html.includes('checkout &#60;prod&#62;'));
    assert.ok(html.includes('Ada &#34;the pager&#34; &#60;Lovelace&#62;'));
    assert.ok(html.includes(`href="https://firewatch.example.com/ack/abc123?sig=x&#38;y=1"`), 'the ack link, attribute-escaped');
    assert.ok(html.includes('href="https://firewatch.example.com/incidents/12"'));
  });

  test('sends with the credentials from the URL and reports a refused login as permanent', async () => {
    const logins: string[] = [];
    const server = await smtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.password === 's3cret') callback(null, { user: auth.username });
        else callback(smtpError(535, 'Authentication failed'));
      },
    });
    const good = await mailer(`smtp://relay:s3cret@127.0.0.1:${server.port}`).send({ to: 'a@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    assert.equal(good.ok, true, good.detail);
    const bad = await mailer(`smtp://relay:wrong@127.0.0.1:${server.port}`).send({ to: 'a@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    assert.deepEqual([bad.ok, bad.retryable, bad.status, bad.error], [false, false, 535, 'smtp_auth_failed']);
    assert.deepEqual(logins, ['relay:s3cret', 'relay:wrong']);
    assert.equal(server.messages.length, 1);
  });

  test('a 451 (try later) reply is retryable', async () => {
    const server = await smtp({ onRcptTo: (_a, _s, callback) => callback(smtpError(451, 'Greylisted, try again later')) });
    const result = await mailer(server.url).send({ to: 'ada@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    assert.deepEqual([result.ok, result.retryable, result.status, result.error], [false, true, 451, 'smtp_rejected']);
    assert.match(result.detail ?? '', /SMTP 451 from 127\.0\.0\.1: .*Greylisted/);
  });

  test('a 550 (rejected) reply is permanent', async () => {
    const server = await smtp({
      onData(stream, _s, callback) {
        stream.resume();
        stream.on('end', () => callback(smtpError(550, 'Message rejected as spam')));
      },
    });
    const result = await mailer(server.url).send({ to: 'ada@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    assert.deepEqual([result.ok, result.retryable, result.status, result.error], [false, false, 550, 'smtp_rejected']);
  });

  test('an unreachable server is retryable and fails fast', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const started = performance.now();
    const result = await mailer(`smtp://127.0.0.1:${port}`, 2000).send({ to: 'ada@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    assert.deepEqual([result.ok, result.retryable, result.error], [false, true, 'smtp_unavailable']);
    assert.match(result.detail ?? '', /ECONNREFUSED/);
    assert.ok(performance.now() - started < 2000, 'a refused connection is not waited out');
  });

  test('a server that never greets times out as retryable within the limit', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = performance.now();
      const result = await mailer(`smtp://127.0.0.1:${port}`, 300).send({ to: 'ada@example.com', subject: 's', text: 't', html: '<p>t</p>' });
      assert.deepEqual([result.ok, result.retryable, result.error], [false, true, 'smtp_timeout']);
      assert.ok(performance.now() - started < 1500);
    } finally {
      silent.close();
      // The pool may still hold the half-open socket; closing the server ends it.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  test('without an SMTP URL every send reports email_not_configured', async () => {
    const result = await mailer(null).send({ to: 'ada@example.com', subject: 's', text: 't', html: '<p>t</p>' });
    assert.deepEqual(result, { ok: false, retryable: false, error: 'email_not_configured', detail: 'no SMTP server is configured' });
  });

  test('refuses a recipient that is not exactly one address, without contacting the server', async () => {
    const server = await smtp();
    const m = mailer(server.url);
    for (const to of ['a@example.com, b@example.com', 'a@example.com\r\nBcc: b@example.com', 'Ada <a@example.com>', 'nobody']) {
      const result = await m.send({ to, subject: 's', text: 't', html: '<p>t</p>' });
      assert.deepEqual([result.ok, result.retryable, result.error], [false, false, 'invalid_recipient'], to);
    }
    assert.equal(server.messages.length, 0);
  });

  test('rejects a URL that is not SMTP at construction', () => {
    assert.throws(() => createMailer({ smtpUrl: 'http://mail.example.com', from: 'f@example.com' }), /smtp:\/\/ or smtps:\/\//);
  });
});

describe('notification content', () => {
  test('the subject names the kind, the number and the title on one line', () => {
    const kinds = { triggered: 'TRIGGERED', escalated: 'ESCALATED', renotify: 'REMINDER', acknowledged: 'ACKNOWLEDGED', resolved: 'RESOLVED', unacknowledged: 'UNACKNOWLEDGED', test: 'TEST' } as const;
    for (const [kind, label] of Object.entries(kinds)) {
      const { subject } = renderIncidentEmail({ kind: kind as keyof typeof kinds, incident: { ...incident, title: 'Disk\r\nBcc: x@example.com full' }, recipientName: 'Ada', ackUrl: null, reason: 'r' });
      assert.equal(subject, `[Firewatch] #12 ${label}: Disk Bcc: x@example.com full`);
    }
    const long = renderIncidentEmail({ kind: 'triggered', incident: { ...incident, title: 'x'.repeat(500) }, recipientName: 'Ada', ackUrl: null, reason: 'r' });
    assert.ok(long.subject.length < 200 && long.subject.endsWith('…'));
  });

  test('no acknowledge link without an ack URL, and a non-http link is never clickable', () => {
    const none = renderIncidentEmail({ kind: 'resolved', incident, recipientName: 'Ada', ackUrl: null, reason: 'r' });
    assert.ok(!none.text.includes('Acknowledge') && !none.html.includes('Acknowledge'));
    const evil = renderIncidentEmail({ kind: 'triggered', incident: { ...incident, html_url: 'javascript:alert(1)' }, recipientName: 'Ada', ackUrl: 'javascript:alert(2)', reason: 'r' });
    assert.ok(!evil.html.includes('href="javascript'), evil.html);
  });

  test('hand-off e-mails say when the shift starts or ends, escaped in HTML', () => {
    const starts = renderHandoffEmail({ recipientName: 'Ada', scheduleName: 'Primary <EU>', starts: true, at: '2026-03-29T07:00:00Z', until: '2026-04-05T07:00:00Z', scheduleUrl: 'https://fw.example.com/schedules/p' });
    assert.equal(starts.subject, '[Firewatch] Your on-call shift for Primary <EU> starts');
    assert.ok(starts.text.includes('starts at 2026-03-29 07:00 UTC and lasts until 2026-04-05 07:00 UTC.'));
    assert.ok(starts.html.includes('Primary &#60;EU&#62;') && !starts.html.includes('<EU>'));
    assert.ok(starts.html.includes('href="https://fw.example.com/schedules/p"'));
    const open = renderHandoffEmail({ recipientName: 'Ada', scheduleName: 'Primary', starts: true, at: '2026-03-29T07:00:00Z', until: null, scheduleUrl: 'https://fw.example.com/s' });
    assert.ok(open.text.includes('until further notice'));
    const ends = renderHandoffEmail({ recipientName: 'Ada', scheduleName: 'Primary', starts: false, at: '2026-04-05T07:00:00Z', until: null, scheduleUrl: 'https://fw.example.com/s' });
    assert.equal(ends.subject, '[Firewatch] Your on-call shift for Primary ends');
    assert.ok(ends.text.includes('ends at 2026-04-05 07:00 UTC.'));
  });
});
