import { z } from 'zod';

/** One dashboard panel: a per-instance query (one series per instance) and the aggregated view's queries. */
export const panelSpecSchema = z.strictObject({
  id: z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'lower-case letters, digits, - and _'),
  title: z.string().trim().min(1).max(200),
  unit: z.string().max(30).optional(),
  /** Must return one series per instance, e.g. `sum by (instance) (rate(x{service="$service"}[$__rate_interval]))`. */
  per_instance: z.string().trim().min(1).max(4000),
  /** The aggregated view: one or more queries (e.g. p50, p90, p99); when omitted, the per-instance series averaged. */
  aggregate: z.array(z.strictObject({ label: z.string().max(100), query: z.string().trim().min(1).max(4000) })).max(10).optional(),
  /** The label that names the instance in per_instance's result. */
  instance_label: z.string().max(100).default('instance'),
});
export type PanelSpec = z.output<typeof panelSpecSchema>;

export const PRESETS = ['prometheus', 'demo'] as const;
export type Preset = typeof PRESETS[number];

/** Stored per service (PUT /api/v1/services/{name}/dashboard); everything optional: defaults fill in. */
export const dashboardConfigSchema = z.strictObject({
  /** The data source to query; the default data source when omitted. */
  datasource: z.string().trim().min(1).max(100).nullable().optional(),
  /** Default panels: `prometheus` (node_exporter + HTTP histograms) or `demo` (the demo source's metrics); by the source's type when omitted. */
  preset: z.enum(PRESETS).nullable().optional(),
  /** The label selector that picks the service's series; `$service` is the service's name. */
  selector: z.string().trim().min(1).max(1000).nullable().optional(),
  /** When given, exactly these panels (in this order) instead of the preset's. */
  panels: z.array(panelSpecSchema).max(30).nullable().optional(),
}).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.panels?.forEach((p, i) => {
    if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['panels', i, 'id'], message: `duplicate panel id ${p.id}` });
    seen.add(p.id);
  });
});
export type DashboardConfig = z.output<typeof dashboardConfigSchema>;

export const DEFAULT_SELECTOR = 'service="$service"';

const RI = '$__rate_interval';
const S = '$selector';

/** node_exporter (CPU, memory, disk I/O) and HTTP request-duration histograms (rate, latency, errors). */
const PROMETHEUS_PANELS: PanelSpec[] = [
  { id: 'cpu', title: 'CPU busy', unit: 'ratio', instance_label: 'instance',
    per_instance: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",${S}}[${RI}]))`,
    aggregate: [{ label: 'all instances', query: `1 - avg(rate(node_cpu_seconds_total{mode="idle",${S}}[${RI}]))` }] },
  { id: 'memory', title: 'Memory used', unit: 'ratio', instance_label: 'instance',
    per_instance: `1 - sum by (instance) (node_memory_MemAvailable_bytes{${S}}) / sum by (instance) (node_memory_MemTotal_bytes{${S}})`,
    aggregate: [{ label: 'all instances', query: `1 - sum(node_memory_MemAvailable_bytes{${S}}) / sum(node_memory_MemTotal_bytes{${S}})` }] },
  { id: 'io', title: 'Disk I/O', unit: 'bytes/s', instance_label: 'instance',
    per_instance: `sum by (instance) (rate(node_disk_read_bytes_total{${S}}[${RI}]) + rate(node_disk_written_bytes_total{${S}}[${RI}]))`,
    aggregate: [{ label: 'total', query: `sum(rate(node_disk_read_bytes_total{${S}}[${RI}]) + rate(node_disk_written_bytes_total{${S}}[${RI}]))` }] },
  { id: 'requests', title: 'Request rate', unit: 'req/s', instance_label: 'instance',
    per_instance: `sum by (instance) (rate(http_request_duration_seconds_count{${S}}[${RI}]))`,
    aggregate: [{ label: 'total', query: `sum(rate(http_request_duration_seconds_count{${S}}[${RI}]))` }] },
  { id: 'latency', title: 'Latency (p99 per instance)', unit: 's', instance_label: 'instance',
    per_instance: `histogram_quantile(0.99, sum by (le, instance) (rate(http_request_duration_seconds_bucket{${S}}[${RI}])))`,
    aggregate: ['0.5', '0.9', '0.99'].map((q) => ({ label: `p${Number(q) * 100}`, query: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${S}}[${RI}])))` })) },
  { id: 'errors', title: 'Error rate (5xx share)', unit: 'ratio', instance_label: 'instance',
    per_instance: `sum by (instance) (rate(http_request_duration_seconds_count{code=~"5..",${S}}[${RI}])) / sum by (instance) (rate(http_request_duration_seconds_count{${S}}[${RI}]))`,
    aggregate: [{ label: 'all instances', query: `sum(rate(http_request_duration_seconds_count{code=~"5..",${S}}[${RI}])) / sum(rate(http_request_duration_seconds_count{${S}}[${RI}]))` }] },
];

/** The demo source's metrics (src/telemetry/metrics/demo.source.ts): already rates and ratios. */
const DEMO_PANELS: PanelSpec[] = [
  { id: 'cpu', title: 'CPU usage', unit: 'ratio', instance_label: 'instance', per_instance: `max by (instance) (cpu_usage{${S}})`, aggregate: [{ label: 'average', query: `avg(cpu_usage{${S}})` }] },
  { id: 'memory', title: 'Memory', unit: 'bytes', instance_label: 'instance', per_instance: `max by (instance) (memory_usage{${S}})`, aggregate: [{ label: 'total', query: `sum(memory_usage{${S}})` }] },
  { id: 'io', title: 'Disk I/O', unit: 'bytes/s', instance_label: 'instance', per_instance: `max by (instance) (disk_io{${S}})`, aggregate: [{ label: 'total', query: `sum(disk_io{${S}})` }] },
  { id: 'requests', title: 'Request rate', unit: 'req/s', instance_label: 'instance', per_instance: `sum by (instance) (http_requests_rate{${S}})`, aggregate: [{ label: 'total', query: `sum(http_requests_rate{${S}})` }] },
  { id: 'latency', title: 'Latency (p99 per instance)', unit: 's', instance_label: 'instance', per_instance: `max by (instance) (http_latency_seconds{quantile="0.99",${S}})`,
    aggregate: ['0.5', '0.9', '0.99'].map((q) => ({ label: `p${Number(q) * 100}`, query: `avg(http_latency_seconds{quantile="${q}",${S}})` })) },
  { id: 'errors', title: 'Errors', unit: 'err/s', instance_label: 'instance', per_instance: `sum by (instance) (http_errors_rate{${S}})`, aggregate: [{ label: 'total', query: `sum(http_errors_rate{${S}})` }] },
];

export function presetPanels(preset: Preset): PanelSpec[] {
  return preset === 'demo' ? DEMO_PANELS : PROMETHEUS_PANELS;
}

/** Escapes a value for a PromQL double-quoted string. */
const esc = (s: string) => s.replaceAll('\\', '\\\\').replaceAll('"', '\\"');

/** Prometheus duration of whole seconds: 90 → "90s". */
const secs = (n: number) => `${Math.max(1, Math.round(n))}s`;

/**
 * Fills a query's variables: $service, $selector (the service's label selector), $instance (a regex, `.+` for all),
 * $__interval (the step) and $__rate_interval (max(4 × step, 1m), so rate() always spans several scrapes).
 * Values are escaped for a PromQL double-quoted string.
 */
export function expandQuery(query: string, vars: { service: string; selector?: string | null; instance?: string | null; step: number }): string {
  const selector = (vars.selector ?? DEFAULT_SELECTOR).replaceAll('$service', esc(vars.service));
  return query
    .replaceAll('$selector', selector)
    .replaceAll('$__rate_interval', secs(Math.max(4 * vars.step, 60)))
    .replaceAll('$__interval', secs(vars.step))
    .replaceAll('$service', esc(vars.service))
    .replaceAll('$instance', vars.instance ? esc(vars.instance) : '.+');
}
