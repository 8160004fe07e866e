import { z } from 'zod';

/** What the API returns for users and sessions (zod only; the web UI derives its types here). */
export const ROLES = ['viewer', 'responder', 'admin'] as const;
export const roleSchema = z.enum(ROLES);

export const userSchema = z.object({ id: z.string(), email: z.string(), name: z.string(), role: roleSchema, created_at: z.string() });

export const sessionSchema = z.object({
  principal: z.object({ kind: z.string(), id: z.string(), name: z.string(), role: roleSchema, user_id: z.string().nullable() }),
  user: userSchema.nullable(),
  csrf_token: z.string().nullable(),
});
