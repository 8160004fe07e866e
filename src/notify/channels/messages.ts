/**
 * What a notification says: e-mail subject, text and HTML, and the outbound webhook envelope. Pure
 * functions of their input; every piece of user text (titles, names) is escaped in HTML.
 */

/** What a notification needs to know about an incident; built by the caller from the incident and its assignments. */
export interface IncidentSummary {
  /** The incident's id (text), `data.id` of the webhook envelope. */
  id: string;
  number: number;
  title: string;
  status: string;
  urgency: string;
  service: { id: string; name: string };
  created_at: string;
  html_url: string;
  alert_count: number;
  assignees: { id: string; name: string; email: string }[];
  escalation_level?: number | null;
}

export type NotificationKind = 'triggered' | 'escalated' | 'renotify' | 'acknowledged' | 'resolved' | 'unacknowledged' | 'test';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const SUBJECT_LABEL: Record<NotificationKind, string> = {
  triggered: 'TRIGGERED',
  escalated: 'ESCALATED',
  renotify: 'REMINDER',
  acknowledged: 'ACKNOWLEDGED',
  resolved: 'RESOLVED',
  unacknowledged: 'UNACKNOWLEDGED',
  test: 'TEST',
};

/** Long titles are cut in the subject (mail clients show ~80 characters anyway); the body has them whole. */
const SUBJECT_TITLE_MAX = 150;

export function renderIncidentEmail(input: {
  kind: NotificationKind;
  incident: IncidentSummary;
  recipientName: string;
  /** One-click acknowledge link, or null where acknowledging makes no sense (resolved, acknowledged). */
  ackUrl: string | null;
  /** Why this person gets this message, e.g. "you are on call for Primary (escalation level 1)". */
  reason: string;
}): RenderedEmail {
  const { kind, incident, recipientName, ackUrl, reason } = input;
  const headline = headlineFor(kind, incident);
  const title = oneLine(incident.title);
  const subject = `[Firewatch] #${incident.number} ${SUBJECT_LABEL[kind]}: ${truncate(title, SUBJECT_TITLE_MAX)}`;
  const facts: [string, string][] = [
    ['Service', incident.service.name],
    ['Status', incident.status],
    ['Urgency', incident.urgency],
    ['Alerts', String(incident.alert_count)],
    ['Assigned to', incident.assignees.length > 0 ? incident.assignees.map((a) => a.name).join(', ') : 'nobody'],
    ...(incident.escalation_level != null ? [['Escalation level', String(incident.escalation_level)] as [string, string]] : []),
    ['Opened', formatUtc(incident.created_at)],
  ];

  const text = [
    `Hi ${recipientName},`,
    '',
    headline,
    '',
    `#${incident.number}: ${title}`,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    ...(ackUrl ? [`Acknowledge: ${ackUrl}`] : []),
    `View incident: ${incident.html_url}`,
    '',
    '--',
    `You are receiving this because ${reason}.`,
  ].join('\n');

  const html = page([
    `<p>Hi ${escapeHtml(recipientName)},</p>`,
    `<p><strong>${escapeHtml(headline)}</strong></p>`,
    `<h2 style="font-size:18px;margin:16px 0 8px">#${incident.number}: ${escapeHtml(title)}</h2>`,
    `<table style="border-collapse:collapse;font-size:14px">${facts
      .map(([k, v]) => `<tr><td style="padding:2px 12px 2px 0;color:#555">${escapeHtml(k)}</td><td style="padding:2px 0">${escapeHtml(v)}</td></tr>`)
      .join('')}</table>`,
    `<p style="margin:20px 0">${[
      ackUrl ? link(ackUrl, 'Acknowledge', 'background:#c62828;color:#fff;padding:8px 16px;border-radius:4px;text-decoration:none;margin-right:12px') : '',
      link(incident.html_url, 'View incident', ''),
    ].join('')}</p>`,
    `<p style="color:#777;font-size:12px">You are receiving this because ${escapeHtml(reason)}.</p>`,
  ]);
  return { subject, text, html };
}

/** "Your on-call shift starts / ends" e-mail, sent at a schedule hand-off. */
export function renderHandoffEmail(input: {
  recipientName: string;
  scheduleName: string;
  /** true: the shift begins at `at`; false: it ends at `at`. */
  starts: boolean;
  at: string;
  /** End of the starting shift, when known. */
  until: string | null;
  scheduleUrl: string;
}): RenderedEmail {
  const { recipientName, scheduleName, starts, at, until, scheduleUrl } = input;
  const schedule = oneLine(scheduleName);
  const subject = `[Firewatch] Your on-call shift for ${truncate(schedule, SUBJECT_TITLE_MAX)} ${starts ? 'starts' : 'ends'}`;
  const sentence = starts
    ? `Your on-call shift for ${schedule} starts at ${formatUtc(at)} and lasts ${until ? `until ${formatUtc(until)}` : 'until further notice'}.`
    : `Your on-call shift for ${schedule} ends at ${formatUtc(at)}.`;
  const text = [`Hi ${recipientName},`, '', sentence, '', `Schedule: ${scheduleUrl}`].join('\n');
  const html = page([
    `<p>Hi ${escapeHtml(recipientName)},</p>`,
    `<p>${escapeHtml(sentence)}</p>`,
    `<p>${link(scheduleUrl, 'View schedule', '')}</p>`,
  ]);
  return { subject, text, html };
}

/** "Ana mentioned you in #incident-12", sent through the mentioned user's contact methods. */
export function renderMentionEmail(input: {
  recipientName: string;
  authorName: string;
  channelName: string;
  /** The message, cut to a few hundred characters. */
  excerpt: string;
  /** The message in the web UI. */
  url: string;
}): RenderedEmail {
  const { recipientName, authorName, channelName, excerpt, url } = input;
  const author = oneLine(authorName);
  const subject = `[Firewatch] ${truncate(author, 80)} mentioned you in #${channelName}`;
  const sentence = `${author} mentioned you in #${channelName}:`;
  const text = [`Hi ${recipientName},`, '', sentence, '', ...excerpt.split('\n').map((l) => `> ${l}`), '', `Open the channel: ${url}`].join('\n');
  const html = page([
    `<p>Hi ${escapeHtml(recipientName)},</p>`,
    `<p>${escapeHtml(sentence)}</p>`,
    `<blockquote style="border-left:3px solid #ccc;margin:8px 0;padding:4px 12px;white-space:pre-wrap">${escapeHtml(excerpt)}</blockquote>`,
    `<p>${link(url, 'Open the channel', '')}</p>`,
  ]);
  return { subject, text, html };
}

export interface WebhookAgent {
  type: string;
  id: string | null;
  name: string;
}

/**
 * The body of an outbound webhook, shaped like PagerDuty Webhooks v3 so receivers written for PagerDuty
 * need little change: one event per POST, `data` an incident with `*_reference` objects.
 */
export function buildWebhookEnvelope(input: {
  /** Event id; stays the same across retries (it is also sent as X-Webhook-Id). */
  id: string;
  /** e.g. `incident.triggered`, `incident.acknowledged`, `incident.resolved`, `incident.escalated`. */
  eventType: string;
  occurredAt: string;
  /** Who caused it (user, integration, or the system); null when nobody did. */
  agent: WebhookAgent | null;
  incident: IncidentSummary;
}) {
  const { id, eventType, occurredAt, agent, incident } = input;
  return {
    event: {
      id,
      event_type: eventType,
      resource_type: 'incident' as const,
      occurred_at: occurredAt,
      agent: agent ? { id: agent.id, type: reference(agent.type), summary: agent.name } : null,
      client: { name: 'Firewatch' as const },
      data: {
        id: incident.id,
        type: 'incident' as const,
        number: incident.number,
        status: incident.status,
        title: incident.title,
        urgency: incident.urgency,
        html_url: incident.html_url,
        created_at: incident.created_at,
        service: { id: incident.service.id, name: incident.service.name, type: 'service_reference' as const },
        assignees: incident.assignees.map((a) => ({ id: a.id, summary: a.name, type: 'user_reference' as const })),
        escalation_level: incident.escalation_level ?? null,
      },
    },
  };
}

export type WebhookEnvelope = ReturnType<typeof buildWebhookEnvelope>;

function headlineFor(kind: NotificationKind, incident: IncidentSummary): string {
  const on = `Incident #${incident.number} on ${incident.service.name}`;
  switch (kind) {
    case 'triggered':
      return `${on} has been triggered.`;
    case 'escalated':
      return `${on} has been escalated to you${incident.escalation_level != null ? ` (level ${incident.escalation_level})` : ''}.`;
    case 'renotify':
      return `${on} is still not acknowledged.`;
    case 'acknowledged':
      return `${on} has been acknowledged.`;
    case 'resolved':
      return `${on} has been resolved.`;
    case 'unacknowledged':
      return `${on} is no longer acknowledged and needs someone.`;
    case 'test':
      return 'This is a test notification from Firewatch; nothing needs doing.';
  }
}

function reference(type: string): string {
  return type.endsWith('_reference') ? type : `${type}_reference`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Links only for http(s) URLs: anything else (javascript:, data:) is shown as text, never made clickable. */
function link(url: string, label: string, style: string): string {
  if (!/^https?:\/\//i.test(url)) return `${escapeHtml(label)}: ${escapeHtml(url)}`;
  return `<a href="${escapeHtml(url)}"${style ? ` style="${style}"` : ''}>${escapeHtml(label)}</a>`;
}

function page(parts: string[]): string {
  return `<!doctype html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">${parts.join('\n')}</body></html>`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `2026-01-05 09:00 UTC`: recipients' time zones are unknown here, and UTC is unambiguous. */
function formatUtc(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
