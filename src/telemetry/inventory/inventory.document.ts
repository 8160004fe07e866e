import { z } from 'zod';

/** `inventory:` in `firewatch apply -f`: host providers. */
export const inventoryDocumentSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    name: z.string().trim().min(1).max(100),
    provider: z.literal('static'),
    hosts: z.array(z.strictObject({
      name: z.string().trim().min(1).max(253),
      id: z.string().trim().min(1).max(253).optional(),
      addresses: z.array(z.string().min(1).max(100)).max(50).default([]),
      labels: z.record(z.string(), z.string()).default({}),
    })).max(100_000),
  }),
  z.strictObject({
    name: z.string().trim().min(1).max(100),
    provider: z.literal('prometheus'),
    /** A prometheus data source; its active targets become hosts (target labels → tags). */
    datasource: z.string().trim().min(1).max(100),
    refresh_seconds: z.number().int().min(10).max(86_400).optional(),
  }),
  z.strictObject({
    name: z.string().trim().min(1).max(100),
    provider: z.literal('ec2'),
    region: z.string().min(1).max(50),
    /** DescribeInstances filters, e.g. { "tag:env": ["prod"], "instance-state-name": ["running"] }. */
    filters: z.record(z.string(), z.array(z.string())).optional(),
    /** Omit to use the standard AWS credential chain (env, shared files, instance role). */
    credentials: z.strictObject({ access_key_id: z.string().min(1), secret_access_key: z.string().min(1), session_token: z.string().optional() }).optional(),
    /** For AWS-compatible endpoints and tests. */
    endpoint: z.url().optional(),
    refresh_seconds: z.number().int().min(10).max(86_400).optional(),
  }),
]);
export type InventoryDocument = z.infer<typeof inventoryDocumentSchema>;
