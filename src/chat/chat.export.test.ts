import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ExportData, exportLink, renderHtml, renderMarkdown } from './chat.export.ts';
import type { ChatMessage } from './chat.types.ts';

let seq = 0;
function message(partial: Partial<ChatMessage>): ChatMessage {
  seq++;
  return {
    id: `m${seq}`, channel: 'alerts', seq, version_seq: seq, kind: 'message', author: { type: 'integration', id: 'hook-1', name: 'Grafana' },
    text: '', attachments: [], blocks: [], files: [], mentions: [], timeline_entry_id: null, created_at: '2025-01-02T03:04:05.000Z', edited_at: null, deleted_at: null,
    ...partial,
  };
}

function data(messages: ChatMessage[]): ExportData {
  return {
    channel: { id: 'c1', name: 'alerts', topic: '', kind: 'team', incident_number: null, last_seq: messages.length, unread: 0, created_at: '2025-01-01T00:00:00.000Z' },
    messages, files: new Map(), summary: null,
  };
}

/** Blocks as the incoming-hook intake stores them (mrkdwn already turned into Markdown). */
const hookBlocks = [
  { type: 'header', text: { type: 'plain_text', text: 'Disk almost full on db-1' } },
  { type: 'section', text: { type: 'mrkdwn', text: '**/var** at 97% — [runbook](https://runbooks.example/disk)' }, fields: [{ type: 'mrkdwn', text: '**Host:** db-1' }, { type: 'plain_text', text: 'Severity: critical' }] },
  { type: 'context', elements: [{ type: 'image', image_url: 'https://grafana.example/logo.png', alt_text: 'Grafana logo' }, { type: 'plain_text', text: 'Sent by Grafana' }] },
  { type: 'divider' },
  { type: 'image', image_url: 'https://grafana.example/render/disk.png', alt_text: 'Disk usage, last 6h' },
];

const hostile = message({
  blocks: [
    { type: 'header', text: { type: 'plain_text', text: '<script>window.x=1</script>' } },
    { type: 'section', text: { type: 'mrkdwn', text: '<img src=x onerror=alert(1)> [bad](javascript:alert(2))' }, accessory: { type: 'image', image_url: 'javascript:alert(3)', alt_text: 'acc' } },
    { type: 'image', image_url: 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=', alt_text: 'inline svg' },
    { type: 'context', elements: [{ type: 'image', image_url: 'file:///etc/passwd', alt_text: 'local file' }] },
    null, 'text', { type: 'actions', elements: [] },
  ],
  attachments: [
    { title: 'Open "me"', title_link: 'javascript:alert(4)', image_url: '//evil.example/t.png', text: '<b onmouseover=alert(5)>hover</b>' },
    { fields: 'not a list', footer: 42 } as never,
    7 as never,
  ],
});

/** Every href and src in the document. */
function urls(html: string): { hrefs: string[]; srcs: string[] } {
  return { hrefs: [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1]), srcs: [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]) };
}

describe('export: Slack blocks and attachments', () => {
  test('a hook message made only of blocks exports its header, text, fields, context, divider and image (as a link) in HTML', () => {
    const html = renderHtml(data([message({ blocks: hookBlocks })]));
    assert.match(html, /<h3 class="block-header">Disk almost full on db-1<\/h3>/);
    assert.match(html, /<strong>\/var<\/strong> at 97%/);
    assert.match(html, /<a href="https:\/\/runbooks\.example\/disk"[^>]*>runbook<\/a>/);
    assert.match(html, /<strong>Host:<\/strong> db-1/);
    assert.match(html, /Severity: critical/);
    assert.match(html, /Sent by Grafana/);
    assert.match(html, /<hr>/);
    // External images are links with their alt text, never loaded: the export opens offline.
    assert.match(html, /<a href="https:\/\/grafana\.example\/render\/disk\.png"[^>]*>Disk usage, last 6h<\/a>/);
    assert.match(html, /<a href="https:\/\/grafana\.example\/logo\.png"[^>]*>Grafana logo<\/a>/);
    assert.deepEqual(urls(html).srcs, []);
  });

  test('the same message in Markdown: text, fields, divider and image links', () => {
    const md = renderMarkdown(data([message({ blocks: hookBlocks })]));
    assert.match(md, /^### Disk almost full on db-1$/m);
    assert.match(md, /\*\*\/var\*\* at 97% — \[runbook\]\(https:\/\/runbooks\.example\/disk\)/);
    assert.match(md, /^- \*\*Host:\*\* db-1$/m);
    assert.match(md, /^- Severity: critical$/m);
    assert.match(md, /Sent by Grafana/);
    assert.match(md, /^\* \* \*$/m);
    assert.match(md, /\[Disk usage, last 6h\]\(https:\/\/grafana\.example\/render\/disk\.png\)/);
  });

  test('attachments keep their title link and image (as a link), in HTML and Markdown', () => {
    const m = message({
      attachments: [{ color: 'danger', pretext: 'Firing', title: '[FIRING:1] DiskFull', title_link: 'https://am.example/#/alerts?x=(1)', text: 'disk **97%**', fields: [{ title: 'host', value: 'db-1' }], image_url: 'https://grafana.example/p.png', footer: 'Alertmanager' }],
    });
    const html = renderHtml(data([m]));
    assert.match(html, /<a href="https:\/\/am\.example\/#\/alerts\?x=\(1\)"[^>]*>\[FIRING:1\] DiskFull<\/a>/);
    assert.match(html, /<strong>97%<\/strong>/);
    assert.match(html, /<dt>host<\/dt><dd>db-1<\/dd>/);
    assert.match(html, /<a href="https:\/\/grafana\.example\/p\.png"[^>]*>\[FIRING:1\] DiskFull<\/a>/);
    assert.match(html, /Alertmanager/);
    assert.deepEqual(urls(html).srcs, []);
    const md = renderMarkdown(data([m]));
    assert.match(md, /\*\*\[\\\[FIRING:1\\\] DiskFull\]\(https:\/\/am\.example\/#\/alerts\?x=%281%29\)\*\*/);
    assert.match(md, /> \*\*host:\*\* db-1/);
    assert.match(md, /\(https:\/\/grafana\.example\/p\.png\)/);
  });

  test('hostile blocks and attachments stay inert: no script, no handler, only http(s) links, no remote or data: images', () => {
    const html = renderHtml(data([hostile]));
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /<b\b/i);
    assert.doesNotMatch(html, /<[^>]+\son\w+=/i, 'no element carries an event handler');
    assert.match(html, /&lt;script&gt;window\.x=1&lt;\/script&gt;/);
    const { hrefs, srcs } = urls(html);
    assert.deepEqual(srcs, []);
    for (const href of hrefs) assert.match(href, /^https?:\/\//, href);
    // What could not be a link is still there, as text.
    assert.match(html, /inline svg/);
    assert.match(html, /local file/);
    assert.match(html, /Open &quot;me&quot;/);
    assert.match(html, /Content-Security-Policy/);

    const md = renderMarkdown(data([hostile]));
    // Markdown the sender wrote is kept as written (as message text is); the links the export makes are http(s) only.
    assert.doesNotMatch(md, /alert\(3\)|alert\(4\)|evil\.example|file:/);
    assert.doesNotMatch(md, /data:image\/svg/);
    assert.match(md, /\\<script\\>/);
  });

  test('exportLink accepts only absolute http(s) URLs', () => {
    assert.equal(exportLink('https://a.example/x y'), 'https://a.example/x%20y');
    assert.equal(exportLink(' http://a.example '), 'http://a.example/');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', '/api/v1/files/1', '//evil.example', 'mailto:a@b', 'file:///etc/passwd', 42, null]) {
      assert.equal(exportLink(bad), null, String(bad));
    }
  });
});
