/** Shapes of the dashboards, snapshots and inventory API (src/telemetry/dashboards, src/telemetry/inventory). */
import type { z } from 'zod';
import type { hostOutSchema } from '../../../src/telemetry/inventory/inventory.routes.ts';

export type Point = [number, number | null];

export interface NamedSeries {
  name: string;
  labels: Record<string, string>;
  points: Point[];
}

export interface InstanceStats {
  instance: string;
  mean: number | null;
  amplitude: number | null;
  score: number;
  amplitude_score: number;
  outlier: boolean;
  reason: 'high' | 'low' | 'amplitude' | null;
}

export interface PanelData {
  id: string;
  title: string;
  unit: string | null;
  queries: { per_instance: string; aggregate: { label: string; query: string }[] };
  aggregate: NamedSeries[];
  per_instance: NamedSeries[];
  outliers: { threshold: number; instances: InstanceStats[]; top: { instance: string; score: number; reason: string } | null; note: string | null } | null;
  warnings: string[];
  error: { code: string; message: string } | null;
}

export interface DashboardData {
  service: string;
  datasource: string | null;
  preset: string | null;
  from: number;
  to: number;
  panels: PanelData[];
  outliers: { panel: string; panel_title: string; instance: string; score: number; reason: string }[];
  top_outlier: { instance: string; panels: string[]; score: number } | null;
  error: { code: string; message: string } | null;
}

/** As the server's zod schema declares it (one source for validation, OpenAPI and the UI). */
export type Host = z.infer<typeof hostOutSchema>;

export interface IncidentTelemetry {
  window: { from: number; to: number };
  dashboard_url: string;
  dashboard: DashboardData;
  affected_hosts: { value: string; label: string; hosts: Host[] }[];
}

/** Range presets of the pickers, in seconds. */
export const RANGES: { label: string; seconds: number }[] = [
  { label: '15m', seconds: 900 }, { label: '1h', seconds: 3600 }, { label: '3h', seconds: 10_800 },
  { label: '12h', seconds: 43_200 }, { label: '24h', seconds: 86_400 }, { label: '7d', seconds: 604_800 },
];

/** A query-string time (unix seconds or ISO) → unix seconds, or `fallback`. */
export function readTime(value: string | null, fallback: number): number {
  if (!value) return fallback;
  const n = Number(value);
  if (Number.isFinite(n)) return n;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms / 1000 : fallback;
}

/** The current time in unix seconds (for event handlers). */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
