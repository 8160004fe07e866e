import type { IncidentStatus, Urgency } from '../types.ts';

export function StatusBadge(props: { status: IncidentStatus | string }) {
  return <span className={`badge status-${safeClass(props.status)}`}>{props.status}</span>;
}

export function UrgencyBadge(props: { urgency: Urgency | string }) {
  return <span className={`badge urgency-${safeClass(props.urgency)}`}>{props.urgency === 'high' ? 'high urgency' : 'low urgency'}</span>;
}

export function SeverityBadge(props: { severity: string }) {
  return <span className={`badge severity-${safeClass(props.severity)}`}>{props.severity}</span>;
}

const NOTIFICATION_STATUS: Record<string, string> = { pending: 'pending', sent: 'sent', failed: 'retrying', dead: 'failed for good', cancelled: 'cancelled' };

export function NotificationStatusBadge(props: { status: string }) {
  return <span className={`badge notification notification-${safeClass(props.status)}`}>{NOTIFICATION_STATUS[props.status] ?? props.status}</span>;
}

// Values come from the server; only known words become class names.
function safeClass(value: string): string {
  return /^[a-z_-]{1,32}$/.test(value) ? value : 'other';
}
