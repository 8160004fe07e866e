/** The log store as other modules see it (rules, war room, dashboards). Implemented in src/telemetry/logs/. */

export interface LogLine {
  id: string;
  /** ISO-8601 UTC with milliseconds. */
  time: string;
  host: string | null;
  app: string | null;
  service: string | null;
  severity: string | null;
  message: string;
}

export interface LogSearchInput {
  /** Search syntax: terms, "phrases", -negation, host: app: service: severity: filters. */
  query: string;
  from: Date;
  to: Date;
  limit?: number;
}

export interface LogStore {
  search(input: LogSearchInput): Promise<{ lines: LogLine[]; truncated: boolean }>;
  /** Lines matching in [from, to), for log rules. */
  count(query: string, from: Date, to: Date): Promise<number>;
  /** Time of the newest matching line before `before`, or null (for "no line for N minutes"). */
  lastMatch(query: string, before: Date, notBefore: Date): Promise<Date | null>;
}
