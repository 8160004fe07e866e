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
  escalation_policy_id: string | null;
  /** Seconds after which an acknowledged incident returns to triggered; NULL = never. */
  ack_timeout_seconds: number | null;
  /** 1: notify the assignees again when a new alert joins an open incident. */
  renotify_on_new_alerts: number;
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

export interface SchedulesTable {
  id: string;
  name: string;
  description: string;
  time_zone: string;
  /** JSON array of LayerSpec (oncall/schedule/schedule.ts), members as user ids, bottom to top. */
  layers: string;
  created_at: string;
  updated_at: string;
}

export interface ScheduleOverridesTable {
  id: string;
  schedule_id: string;
  name: string | null;
  user_id: string;
  replaces_user_id: string | null;
  starts_at: string;
  ends_at: string;
  reason: string;
  created_by: string;
  created_at: string;
}

export interface ShiftSwapsTable {
  id: string;
  schedule_id: string;
  requester_id: string;
  taker_id: string | null;
  override_id: string | null;
  starts_at: string;
  ends_at: string;
  /** open | taken | cancelled */
  status: string;
  note: string;
  created_at: string;
  updated_at: string;
}

export interface CalendarFeedsTable {
  key_hash: string;
  /** schedule | user */
  owner_type: string;
  owner_id: string;
  key_encrypted: string;
  created_at: string;
}

export interface EscalationPoliciesTable {
  id: string;
  name: string;
  description: string;
  repeat: number;
  /** JSON array of levels: {delay_minutes, strategy, targets: [{type, id}]}. */
  levels: string;
  created_at: string;
  updated_at: string;
}

export interface IncidentEscalationsTable {
  incident_id: string;
  policy_id: string | null;
  /** Index of the level last notified; -1 before the first. */
  level: number;
  loop: number;
  /** JSON array of user ids currently assigned. */
  assignees: string;
  next_at: string | null;
  snoozed_until: string | null;
  /** The silence holding notifications back, when one matched at trigger time. */
  suppressed_by: string | null;
  updated_at: string;
}

export interface ContactMethodsTable {
  id: string;
  user_id: string;
  /** email | webhook | in_app */
  type: string;
  label: string;
  address: string;
  secret_encrypted: string | null;
  created_at: string;
}

export interface NotificationRulesTable {
  id: string;
  user_id: string;
  /** high | low */
  urgency: string;
  contact_method_id: string;
  delay_minutes: number;
  created_at: string;
}

export interface NotificationsTable {
  id: string;
  incident_id: string | null;
  user_id: string | null;
  contact_method_id: string | null;
  channel: string;
  address: string;
  kind: string;
  /** pending | sent | failed (will retry) | dead (gave up) | cancelled */
  status: string;
  attempts: number;
  last_error: string | null;
  payload: string;
  created_at: string;
  due_at: string;
  sent_at: string | null;
  read_at: string | null;
}

export interface JobsTable {
  id: string;
  kind: string;
  due_at: string;
  incident_id: string | null;
  ref: string | null;
  payload: string;
  unique_key: string | null;
  attempts: number;
  locked_until: string | null;
  locked_by: string | null;
  created_at: string;
}

export interface SilencesTable {
  id: string;
  name: string | null;
  /** JSON array of {field, op: '=', '!=', '=~', '!~', value}. */
  matchers: string;
  starts_at: string;
  ends_at: string | null;
  recurrence: string | null;
  comment: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

import type { ChatTables } from '../chat/chat.tables.ts';
import type { InventoryTables } from '../telemetry/inventory/inventory.tables.ts';
import type { LogsTables } from '../telemetry/logs/logs.tables.ts';
import type { MetricsTables } from '../telemetry/metrics/metrics.tables.ts';

export interface Database extends ChatTables, LogsTables, MetricsTables, InventoryTables {
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
  schedules: SchedulesTable;
  schedule_overrides: ScheduleOverridesTable;
  shift_swaps: ShiftSwapsTable;
  calendar_feeds: CalendarFeedsTable;
  escalation_policies: EscalationPoliciesTable;
  incident_escalations: IncidentEscalationsTable;
  contact_methods: ContactMethodsTable;
  notification_rules: NotificationRulesTable;
  notifications: NotificationsTable;
  jobs: JobsTable;
  silences: SilencesTable;
}
