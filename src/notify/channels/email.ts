import { createTransport } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type { DeliveryResult } from './retry.ts';

/**
 * E-mail through one SMTP relay (the admin's: Postfix, SES, Mailgun, ...). One attempt per send; the
 * runner retries what comes back retryable.
 */

export interface OutgoingEmail {
  /** One address. */
  to: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  send(message: OutgoingEmail): Promise<DeliveryResult>;
  /** Closes pooled connections; sends after this fail. */
  close(): void;
}

/** Connect, greeting and idle-socket limits; SMTP relays can be slow, nodemailer's defaults (minutes) are too patient. */
export const SMTP_TIMEOUT_MS = 30_000;

/** Codes nodemailer gives failures that happened before the server judged the message: worth another try. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROXY', 'EMAXLIMIT']);

/** A single plain address: a comma, angle bracket or line break would mean other recipients or headers. */
const SINGLE_ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+$/;

const NOT_CONFIGURED: DeliveryResult = { ok: false, retryable: false, error: 'email_not_configured', detail: 'no SMTP server is configured' };

/**
 * A mailer over a pooled SMTP transport. `smtpUrl` is `smtp://user:pass@host:587` (STARTTLS when offered)
 * or `smtps://user:pass@host:465`; nodemailer's query options (`?tls.rejectUnauthorized=false`) work too.
 * With no URL every send reports `email_not_configured`, so a fresh install runs without mail.
 */
export function createMailer(options: { smtpUrl: string | null; from: string; timeoutMs?: number }): Mailer {
  const { smtpUrl, from } = options;
  if (!smtpUrl) return { send: async () => NOT_CONFIGURED, close() {} };
  const server = new URL(smtpUrl);
  if (server.protocol !== 'smtp:' && server.protocol !== 'smtps:') throw new Error('smtpUrl must start with smtp:// or smtps://');
  const host = server.hostname;
  const timeoutMs = options.timeoutMs ?? SMTP_TIMEOUT_MS;
  const transport = createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 2,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // The runner retries; a message silently requeued inside the pool would only hide a flapping relay.
    maxRequeues: 0,
  });

  return {
    async send(message) {
      if (!SINGLE_ADDRESS.test(message.to)) {
        return { ok: false, retryable: false, error: 'invalid_recipient', detail: `not a single e-mail address: ${JSON.stringify(message.to).slice(0, 100)}` };
      }
      try {
        const info = await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          // RFC 3834, and Exchange's equivalent: no vacation replies to the pager.
          headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All', ...message.headers },
        });
        const status = Number.parseInt(String(info.response), 10);
        return { ok: true, retryable: false, ...(Number.isNaN(status) ? {} : { status }), detail: `SMTP ${Number.isNaN(status) ? '' : `${status} `}accepted by ${host}` };
      } catch (err) {
        return classifySmtpError(err as NodemailerError, host);
      }
    },
    close() {
      transport.close();
    },
  };
}

/** SMTP 4xx and connection trouble may pass later; 5xx (but 503, a session mix-up) will not. */
function classifySmtpError(err: NodemailerError, host: string): DeliveryResult {
  if (typeof err.responseCode === 'number') {
    const status = err.responseCode;
    const permanent = err.permanent ?? (status >= 500 && status !== 503);
    const reply = oneLine(err.response ?? err.message);
    return {
      ok: false,
      retryable: !permanent,
      status,
      error: err.code === 'EAUTH' ? 'smtp_auth_failed' : 'smtp_rejected',
      detail: `SMTP ${status} from ${host}: ${reply}`,
    };
  }
  if (err.code && TRANSIENT_CODES.has(err.code)) {
    const cause = err.originalCode ?? err.code;
    return { ok: false, retryable: true, error: err.code === 'ETIMEDOUT' ? 'smtp_timeout' : 'smtp_unavailable', detail: `SMTP server ${host} unreachable (${cause}): ${oneLine(err.message)}` };
  }
  // Configuration problems (no credentials, bad options) and anything unknown: retrying will not fix them.
  return { ok: false, retryable: false, error: 'smtp_error', detail: `${err.code ?? 'error'} from mailer: ${oneLine(err.message)}` };
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
