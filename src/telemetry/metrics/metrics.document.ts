import { z } from 'zod';

const nameSchema = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'use letters, digits, ., - and _ (at most 100)');

/** `datasources:` in `firewatch apply -f`. Credentials are encrypted at rest and exported as written. */
export const datasourceDocumentSchema = z.strictObject({
  name: nameSchema,
  type: z.enum(['prometheus', 'loki', 'demo']),
  /** Base URL (Prometheus, VictoriaMetrics, Thanos, Mimir, Loki); not used by `demo`. */
  url: z.url().optional(),
  auth: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('basic'), username: z.string().min(1).max(200), password: z.string().max(1000) }),
    z.strictObject({ type: z.literal('bearer'), token: z.string().min(1).max(4000) }),
  ]).optional(),
  timeout_seconds: z.number().positive().max(300).optional(),
  /** The data source charts and rules use when they name none. */
  default: z.boolean().optional(),
}).refine((d) => d.type === 'demo' || d.url !== undefined, { message: 'url is required for prometheus and loki', path: ['url'] });
export type DatasourceDocument = z.infer<typeof datasourceDocumentSchema>;

/** A Prometheus duration: 30s, 1m, 1h30m, 2d … */
export const promDurationSchema = z.string().regex(/^((\d+)(ms|s|m|h|d|w|y))+$/, 'a Prometheus duration like 30s, 5m or 1h30m');

/**
 * `rules:` in `firewatch apply -f`: Prometheus rule-file groups, unchanged (an imported rule file's
 * `groups:` list fits as is), plus Firewatch's own group keys: which data source to query and which
 * service receives the alerts. Log rules use `log:` instead of `expr:`.
 */
export const ruleGroupDocumentSchema = z.object({
  name: z.string().trim().min(1).max(200),
  interval: promDurationSchema.optional(),
  limit: z.number().int().min(0).optional(),
  query_offset: promDurationSchema.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  datasource: nameSchema.optional(),
  service: z.string().trim().min(1).max(100).optional(),
  rules: z.array(z.object({
    alert: z.string().min(1).max(200).optional(),
    record: z.string().min(1).max(200).optional(),
    expr: z.union([z.string(), z.number()]).transform(String).optional(),
    log: z.strictObject({
      search: z.string().min(1).max(2000),
      window: promDurationSchema.default('1m'),
      /** Fires when more than this many lines match in the window … */
      above: z.number().int().min(0).optional(),
      /** … or when no line has matched for this long. */
      absent_for: promDurationSchema.optional(),
    }).optional(),
    for: promDurationSchema.optional(),
    keep_firing_for: promDurationSchema.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })).max(10_000),
});
export type RuleGroupDocument = z.infer<typeof ruleGroupDocumentSchema>;
