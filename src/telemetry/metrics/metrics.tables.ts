/** Table shapes of the data sources, alert rules and their state (conventions in db/schema.ts). */

export interface DatasourcesTable {
  id: string;
  name: string;
  /** prometheus | loki | demo */
  type: string;
  url: string | null;
  /** JSON `{type:'basic',username,password}` or `{type:'bearer',token}`, sealed with the secret box; null without auth. */
  auth_encrypted: string | null;
  timeout_seconds: number | null;
  is_default: number;
  created_at: string;
  updated_at: string;
}

export interface RuleGroupsTable {
  id: string;
  name: string;
  /** The group as written (Prometheus rule-file group plus datasource/service), JSON; exported back unchanged. */
  document: string;
  interval_seconds: number;
  datasource: string | null;
  service: string | null;
  /** When the next evaluation is due (ISO). */
  next_eval_at: string;
  /** Which process holds the evaluation lease, and until when (multi-process on PostgreSQL). */
  lease_owner: string | null;
  lease_until: string | null;
  last_eval_at: string | null;
  last_eval_ms: number | null;
  created_at: string;
  updated_at: string;
}

export interface RulesTable {
  id: string;
  group_id: string;
  position: number;
  /** alert | record | log */
  kind: string;
  name: string;
  /** The rule as written, JSON. */
  spec: string;
  /** unknown | ok | err */
  health: string;
  last_error: string | null;
  last_eval_at: string | null;
  last_eval_ms: number | null;
  /** Recording rules: the last result (at most 100 samples), JSON. */
  last_result: string | null;
  /**
   * Set when `apply` removed or changed the rule while it had firing alerts: the next evaluation of its group
   * resolves them and deletes the rule (until then it is hidden from every view).
   */
  retired_at: string | null;
}

export interface RuleAlertsTable {
  id: string;
  rule_id: string;
  /** sha256 of the sorted alert label set (the dedup key's second half). */
  fingerprint: string;
  labels: string;
  annotations: string;
  /** pending | firing */
  state: string;
  value: number | null;
  active_at: string;
  fired_at: string | null;
  last_seen_at: string;
  keep_firing_since: string | null;
  /** Log rules: the matching lines of the last evaluation, JSON. */
  extra: string | null;
}

export interface RuleEvaluationsTable {
  id: string;
  rule_id: string;
  at: string;
  duration_ms: number;
  health: string;
  error: string | null;
  pending: number;
  firing: number;
  /** Samples returned by the query (or matching lines for log rules). */
  samples: number;
  /** Transitions of this evaluation, JSON list of { fingerprint, labels, from, to }. */
  transitions: string | null;
}

export interface MetricsTables {
  datasources: DatasourcesTable;
  rule_groups: RuleGroupsTable;
  rules: RulesTable;
  rule_alerts: RuleAlertsTable;
  rule_evaluations: RuleEvaluationsTable;
}
