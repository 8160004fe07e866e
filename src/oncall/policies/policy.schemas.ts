import { z } from 'zod';

/** Escalation policies: request, response and declarative-file shapes (zod only). */

export const policyNameSchema = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._ -]*$/, 'letters, digits, dot, dash, underscore and space; starting with a letter or digit');

export const MAX_LEVELS = 20;
export const MAX_TARGETS = 50;
export const MAX_REPEAT = 9;

/** A target as written by people: a user by email, a schedule by name. */
export type TargetRef = { type: 'user'; email: string } | { type: 'schedule'; name: string };

export const targetInSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('user'), email: z.email().max(320).transform((e) => e.toLowerCase()) }),
  z.strictObject({ type: z.literal('schedule'), name: z.string().trim().min(1).max(100) }),
]);

const targetKey = (t: TargetRef) => (t.type === 'user' ? `user:${t.email}` : `schedule:${t.name}`);

/** Levels as written by people, whichever notation the targets use. */
const levelsSchema = <T extends z.ZodType<TargetRef>>(target: T) => z.array(z.strictObject({
  // Minutes this level waits for an acknowledgement before the next level (or the next loop) is paged.
  delay_minutes: z.number().int().min(1).max(1440),
  strategy: z.enum(['all', 'round_robin']).default('all'),
  targets: z.array(target).min(1).max(MAX_TARGETS).superRefine((targets, ctx) => {
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      const key = targetKey(t);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `${key} is listed twice` });
      seen.add(key);
    });
  }),
})).min(1).max(MAX_LEVELS);

export const levelsInSchema = levelsSchema(targetInSchema);
export type LevelsIn = z.output<typeof levelsInSchema>;

export const policyCreateSchema = z.strictObject({
  name: policyNameSchema,
  description: z.string().max(2000).default(''),
  repeat: z.number().int().min(0).max(MAX_REPEAT).default(0),
  levels: levelsInSchema,
});

export const policyPatchSchema = z.strictObject({
  name: policyNameSchema.optional(),
  description: z.string().max(2000).optional(),
  repeat: z.number().int().min(0).max(MAX_REPEAT).optional(),
  levels: levelsInSchema.optional(),
});

/** In the declarative file targets read `{ user: email }` or `{ schedule: name }`. */
const targetDocSchema = z.union([
  z.strictObject({ user: z.email().max(320) }),
  z.strictObject({ schedule: z.string().trim().min(1).max(100) }),
]).transform((t): TargetRef => ('user' in t ? { type: 'user', email: t.user.toLowerCase() } : { type: 'schedule', name: t.schedule }));

export const policyDocumentSchema = z.strictObject({
  name: policyNameSchema,
  description: z.string().max(2000).optional(),
  repeat: z.number().int().min(0).max(MAX_REPEAT).default(0),
  levels: levelsSchema(targetDocSchema),
});
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
/** What export writes: the input form of a policy document. */
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;

export const policyTargetOutSchema = z.discriminatedUnion('type', [
  // email and name are null when the user no longer exists.
  z.object({ type: z.literal('user'), id: z.string(), email: z.string().nullable(), name: z.string().nullable() }),
  // name is null when the schedule no longer exists.
  z.object({ type: z.literal('schedule'), id: z.string(), name: z.string().nullable() }),
]);

export const policyOutSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  repeat: z.number(),
  levels: z.array(z.object({ delay_minutes: z.number(), strategy: z.enum(['all', 'round_robin']), targets: z.array(policyTargetOutSchema) })),
  /** Names of the services that escalate through this policy. */
  services: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});
