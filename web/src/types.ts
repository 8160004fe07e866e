// Shapes of the Firewatch REST API as the UI reads them (see GET /api/v1/openapi.json).

export type Role = 'viewer' | 'responder' | 'admin';
export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';
export type Urgency = 'high' | 'low';
export type IntegrationType = 'pagerduty' | 'alertmanager' | 'webhook' | 'heartbeat';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

export interface Session {
  principal: { kind: string; id: string; name: string; role: Role; user_id: string | null };
  user: User | null;
  csrf_token: string | null;
}

export interface Incident {
  id: string;
  number: number;
  title: string;
  status: IncidentStatus;
  urgency: Urgency;
  service: { id: string; name: string };
  created_at: string;
  updated_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  alert_count: number;
  html_url: string;
}

export interface IncidentPage {
  incidents: Incident[];
  next_cursor: number | null;
}

export interface Alert {
  id: string;
  dedup_key: string;
  status: string;
  summary: string;
  severity: string;
  source: string;
  component: string | null;
  group: string | null;
  class: string | null;
  custom_details: unknown;
  /** As sent by the source: usually `{ href, text }`, but never trusted to be. */
  links: unknown[];
  images: unknown[];
  client: string | null;
  client_url: string | null;
  first_seen_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  trigger_count: number;
}

export interface TimelineEntry {
  id: string;
  type: string;
  at: string;
  actor: { type: string; id: string | null; name: string };
  message: string;
  data: unknown;
}

export interface IncidentDetail {
  incident: Incident;
  alerts: Alert[];
  timeline: TimelineEntry[];
}

export interface Integration {
  id: string;
  service_id: string;
  name: string;
  type: IntegrationType;
  key: string;
  url: string;
  config: Record<string, unknown>;
  last_event_at: string | null;
  created_at: string;
}

export interface Service {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  integrations: Integration[];
}

export interface IncidentFilters {
  status: string;
  service: string;
  urgency: string;
}

/** What GET /api/v1/stream sends. */
export type LiveEvent =
  | { type: 'incident.changed'; reason: string; incident: { id: string; number: number; status: IncidentStatus; title: string; urgency: Urgency; service_id: string; updated_at: string } }
  | { type: 'timeline.appended'; incident_number: number; entry_id: string; entry_type: string };
