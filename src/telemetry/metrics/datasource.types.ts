/**
 * Data sources as every consumer sees them (charts, rules, dashboards, /graph, inventory). Implemented in
 * src/telemetry/metrics/ for prometheus (and compatibles), loki and demo.
 */

/** One time series: labels and [unix seconds, value] points (values parsed from Prometheus' strings; NaN kept). */
export interface Series {
  labels: Record<string, string>;
  points: [number, number][];
}

export interface RangeQuery {
  /** Unix seconds. */
  start: number;
  end: number;
  /** Seconds; when omitted the source picks one that stays under 11,000 points per series. */
  step?: number;
}

export interface InstantResult {
  resultType: 'vector' | 'scalar' | 'matrix' | 'string';
  /** For vectors: one point each, at the query time. */
  series: Series[];
  warnings: string[];
}

export interface RangeResult {
  series: Series[];
  /** The step actually used. */
  step: number;
  warnings: string[];
}

export interface ScrapeTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

/** Errors carry a stable code: bad_query (4xx from the source), datasource_unreachable, datasource_timeout, datasource_error. */
export interface MetricsSource {
  name: string;
  type: 'prometheus' | 'demo';
  query(expr: string, at: Date): Promise<InstantResult>;
  queryRange(expr: string, range: RangeQuery): Promise<RangeResult>;
  series(matchers: string[], start?: number, end?: number): Promise<Record<string, string>[]>;
  labels(): Promise<string[]>;
  labelValues(name: string): Promise<string[]>;
  targets(): Promise<ScrapeTarget[]>;
}

export interface DataSources {
  /** The named metrics source, or the default one when name is omitted; throws AppError datasource_not_found. */
  metrics(name?: string | null): Promise<MetricsSource>;
  list(): Promise<{ name: string; type: string; url: string | null; default: boolean }[]>;
}
