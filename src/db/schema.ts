/**
 * Table shapes as stored. Conventions, the same on SQLite and PostgreSQL:
 * ids are text UUIDv7; timestamps are ISO-8601 UTC text with milliseconds (they sort as text);
 * booleans are 0/1 integers; JSON is text. Repositories convert at the boundary.
 */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  role: string;
  password_hash: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  token_hash: string;
  role: string;
  user_id: string | null;
  created_at: string;
  last_used_at: string | null;
}

export interface TeamsTable {
  id: string;
  name: string;
  description: string;
  created_at: string;
}

export interface TeamMembersTable {
  team_id: string;
  user_id: string;
}

export interface ServicesTable {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface IntegrationsTable {
  id: string;
  service_id: string;
  name: string;
  type: string;
  key_hash: string;
  key_encrypted: string;
  config: string;
  last_event_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertsTable {
  id: string;
  service_id: string;
  integration_id: string | null;
  incident_id: string;
  dedup_key: string;
  status: string;
  summary: string;
  severity: string;
  source: string;
  component: string | null;
  group_name: string | null;
  class: string | null;
  custom_details: string;
  links: string;
  images: string;
  client: string | null;
  client_url: string | null;
  first_seen_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  trigger_count: number;
  /** 1 while not resolved; NULL after, so the partial-free unique index allows history. */
  open: number | null;
}

export interface IncidentsTable {
  id: string;
  number: number;
  title: string;
  service_id: string;
  integration_id: string | null;
  group_key: string | null;
  status: string;
  urgency: string;
  created_at: string;
  updated_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  open: number | null;
}

export interface TimelineEntriesTable {
  id: string;
  incident_id: string;
  type: string;
  at: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string;
  message: string;
  data: string;
}

export interface ChangeEventsTable {
  id: string;
  service_id: string;
  integration_id: string;
  summary: string;
  source: string | null;
  timestamp: string;
  custom_details: string;
  links: string;
  images: string;
  created_at: string;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface HeartbeatsTable {
  integration_id: string;
  interval_seconds: number;
  last_ping_at: string | null;
  /** When the next check is due: last ping + interval. NULL until the first ping arms it. */
  due_at: string | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  services: ServicesTable;
  integrations: IntegrationsTable;
  alerts: AlertsTable;
  incidents: IncidentsTable;
  timeline_entries: TimelineEntriesTable;
  change_events: ChangeEventsTable;
  counters: CountersTable;
  heartbeats: HeartbeatsTable;
}
