import { z } from 'zod';

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;
export type Urgency = 'high' | 'low';

/** PagerDuty's dynamic-notification mapping: critical and error page now, warning and info can wait. */
export function urgencyFromSeverity(severity: Severity): Urgency {
  return severity === 'critical' || severity === 'error' ? 'high' : 'low';
}

export interface AlertLink {
  href: string;
  text?: string;
}
export interface AlertImage {
  src: string;
  href?: string;
  alt?: string;
}

/** The integration an event arrived through, as the intake needs it. */
export interface IntegrationRef {
  id: string;
  serviceId: string;
  name: string;
  type: string;
}

/**
 * One alert-level event in the shape every source is translated to. `dedupKey` identifies the alert
 * within its integration; `groupKey` the incident it belongs to while that incident is open.
 */
export interface AlertEvent {
  action: 'trigger' | 'acknowledge' | 'resolve';
  integration: IntegrationRef;
  dedupKey: string;
  groupKey: string;
  summary: string;
  severity: Severity;
  source: string;
  component?: string | null;
  group?: string | null;
  class?: string | null;
  customDetails?: unknown;
  links?: AlertLink[];
  images?: AlertImage[];
  client?: string | null;
  clientUrl?: string | null;
  /** The title an incident opened by this event gets; defaults to the summary. */
  incidentTitle?: string;
  /**
   * For snapshot sources (Alertmanager re-sends the whole group): a repeat of an open alert only refreshes it,
   * it is not a new trigger on the timeline.
   */
  snapshot?: boolean;
}

/** What happened to one event, for the caller's response and metrics. */
export interface EventOutcome {
  dedupKey: string;
  result: 'created' | 'appended' | 'repeated' | 'acknowledged' | 'resolved' | 'dropped';
  incidentNumber: number | null;
}
