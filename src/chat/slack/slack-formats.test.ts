import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convertIncomingPayload, decodeIncomingBody, normaliseColor } from './incoming-payload.ts';
import { markdownToMrkdwn, mrkdwnToMarkdown, mrkdwnToPlain } from './mrkdwn.ts';
import { slackSignature, verifySlackSignature } from './signature.ts';

describe('mrkdwn → Markdown', () => {
  test('links, mentions, emphasis and entities', () => {
    assert.equal(mrkdwnToMarkdown('see <https://grafana.example/d/1|the dashboard> now'), 'see [the dashboard](https://grafana.example/d/1) now');
    assert.equal(mrkdwnToMarkdown('<https://example.com/a>'), '<https://example.com/a>');
    assert.equal(mrkdwnToMarkdown('<!channel> disk full'), '@channel disk full');
    assert.equal(mrkdwnToMarkdown('<!here|here> and <@U0123|alice> in <#C0456|ops>'), '@here and @alice in #ops');
    assert.equal(mrkdwnToMarkdown('*bold* _it_ ~gone~'), '**bold** _it_ ~~gone~~');
    assert.equal(mrkdwnToMarkdown('a &amp; b &lt;c&gt;'), 'a & b <c>');
    assert.equal(mrkdwnToMarkdown('2 * 3 * 4'), '2 * 3 * 4', 'lone asterisks are not emphasis');
  });

  test('unsafe links lose their target; code is left alone', () => {
    assert.equal(mrkdwnToMarkdown('<javascript:alert(1)|click>'), 'click');
    assert.equal(mrkdwnToMarkdown('run `*not bold*` then *bold*'), 'run `*not bold*` then **bold**');
    assert.equal(mrkdwnToMarkdown('```\n*x* <y>\n```'), '```\n*x* <y>\n```');
    assert.equal(mrkdwnToMarkdown('<https://x.example/a_(b)|l]abel>'), '[l\\]abel](https://x.example/a_%28b%29)');
  });

  test('plain text and the reverse direction', () => {
    assert.equal(mrkdwnToPlain('[FIRING:1] <https://x|Disk> &amp; more'), '[FIRING:1] Disk & more');
    assert.equal(markdownToMrkdwn('**Ack** by [alice](https://fw.example/u/1) & <b>'), '*Ack* by <https://fw.example/u/1|alice> &amp; &lt;b&gt;');
    assert.equal(markdownToMrkdwn('~~done~~ `a < b`'), '~done~ `a &lt; b`');
  });
});

describe('Slack incoming-webhook payloads', () => {
  test('Alertmanager default slack_configs output renders as one attachment', () => {
    // What Alertmanager's default template posts (notify/slack/slack.go, default.tmpl): empty text, one attachment.
    const result = convertIncomingPayload({
      channel: '#ops', username: 'Alertmanager', icon_emoji: '', icon_url: '', link_names: false, text: '',
      attachments: [{
        title: '[FIRING:1] DiskFull (node1 critical)', title_link: 'http://am.example:9093/#/alerts?receiver=slack',
        pretext: '', text: '', fallback: '[FIRING:1] DiskFull (node1 critical) | http://am.example:9093/#/alerts?receiver=slack',
        callback_id: '', footer: '', color: 'danger', mrkdwn_in: ['fallback', 'pretext', 'text'],
      }],
    });
    assert.ok(result.ok);
    assert.equal(result.message.text, '');
    assert.equal(result.message.username, 'Alertmanager');
    assert.deepEqual(result.message.attachments, [{
      color: 'danger', title: '[FIRING:1] DiskFull (node1 critical)', title_link: 'http://am.example:9093/#/alerts?receiver=slack',
      fallback: '[FIRING:1] DiskFull (node1 critical) | http://am.example:9093/#/alerts?receiver=slack',
    }]);
  });

  test('attachments keep fields, footer and images; colours are normalised; unsafe links dropped', () => {
    const result = convertIncomingPayload({
      attachments: [{
        color: '36A64F', pretext: '*heads up*', title: 'Deploy', title_link: 'javascript:alert(1)', text: 'v1.2 &amp; <https://ci.example/1|build>',
        fields: [{ title: 'Env', value: 'prod', short: true }, { title: 'Count', value: 3 }], footer: 'CI', image_url: 'https://img.example/a.png',
        actions: [{ type: 'button', text: 'Runbook', url: 'https://wiki.example/rb' }],
      }],
    });
    assert.ok(result.ok);
    const [a] = result.message.attachments;
    assert.equal(a.color, '#36a64f');
    assert.equal(a.pretext, '**heads up**');
    assert.equal(a.title_link, undefined);
    assert.equal(a.text, 'v1.2 & [build](https://ci.example/1)\n\n[Runbook](https://wiki.example/rb)');
    assert.deepEqual(a.fields, [{ title: 'Env', value: 'prod', short: true }, { title: 'Count', value: '3' }]);
    assert.equal(a.footer, 'CI');
    assert.equal(a.image_url, 'https://img.example/a.png');
    assert.equal(normaliseColor('purple'), undefined);
  });

  test('blocks: section, context, divider, image and header kept; unknown types dropped; malformed refused', () => {
    const result = convertIncomingPayload({
      text: 'fallback',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Outage' } },
        { type: 'section', text: { type: 'mrkdwn', text: '*API* down <!here>' }, fields: [{ type: 'mrkdwn', text: '*Sev*\n1' }] },
        { type: 'divider' },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'by _bot_' }, { type: 'image', image_url: 'https://i.example/x.png', alt_text: 'x' }] },
        { type: 'image', image_url: 'https://i.example/g.png', alt_text: 'graph' },
        { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Go' } }] },
      ],
    });
    assert.ok(result.ok);
    assert.deepEqual(result.message.blocks.map((b) => (b as { type: string }).type), ['header', 'section', 'divider', 'context', 'image']);
    assert.deepEqual((result.message.blocks[1] as { text: unknown }).text, { type: 'mrkdwn', text: '**API** down @here' });
    const bad = convertIncomingPayload({ blocks: [{ type: 'section', text: { type: 'html', text: 'x' } }] });
    assert.deepEqual(bad, { ok: false, status: 400, error: 'invalid_blocks' });
  });

  test('no text, attachments or blocks → no_text; wrong shapes → invalid_payload', () => {
    assert.deepEqual(convertIncomingPayload({ text: '' }), { ok: false, status: 400, error: 'no_text' });
    assert.deepEqual(convertIncomingPayload({ attachments: [{ footer: '' }] }), { ok: false, status: 400, error: 'no_text' });
    assert.deepEqual(convertIncomingPayload({ text: 5 }), { ok: false, status: 400, error: 'invalid_payload' });
    assert.deepEqual(convertIncomingPayload([]), { ok: false, status: 400, error: 'invalid_payload' });
    assert.deepEqual(convertIncomingPayload({ text: 'x'.repeat(40_001) }), { ok: false, status: 400, error: 'invalid_payload' });
  });

  test('bodies: JSON, payload= form (with or without a content type)', () => {
    const json = JSON.stringify({ text: 'hi' });
    assert.deepEqual(decodeIncomingBody('application/json; charset=utf-8', Buffer.from(json)), { text: 'hi' });
    const form = `payload=${encodeURIComponent(json)}`;
    assert.deepEqual(decodeIncomingBody('application/x-www-form-urlencoded', Buffer.from(form)), { text: 'hi' });
    assert.deepEqual(decodeIncomingBody(undefined, Buffer.from(form)), { text: 'hi' });
    assert.equal(decodeIncomingBody('application/json', Buffer.from('{nope')), undefined);
    assert.equal(decodeIncomingBody('application/x-www-form-urlencoded', Buffer.from('text=hi')), undefined);
  });
});

describe('Slack request signatures', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const ts = '1531420618';
  // Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
  const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const documented = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  const now = Number(ts) + 10;
  const check = (sig: string | undefined, t: string | undefined, b: string, at = now) => verifySlackSignature(secret, { signature: sig, timestamp: t }, Buffer.from(b), at);

  test('the documented example verifies', () => {
    assert.equal(slackSignature(secret, ts, body), documented);
    assert.deepEqual(verifySlackSignature(secret, { signature: documented, timestamp: ts }, Buffer.from(body), now), { ok: true });
  });

  test('tampered body, wrong secret, replayed or future timestamps and missing headers are refused', () => {
    assert.deepEqual(check(documented, ts, body.replace('text=', 'text=ack')), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(check(slackSignature('another-secret', ts, body), ts, body), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(check(documented, ts, body, Number(ts) + 301), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(check(documented, ts, body, Number(ts) - 301), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(check(undefined, ts, body), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(check(documented.replace('v0=', 'v1='), ts, body), { ok: false, reason: 'unknown_version' });
    assert.deepEqual(check('v0=abc', ts, body), { ok: false, reason: 'bad_signature' });
  });
});
