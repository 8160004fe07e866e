import { z } from 'zod';

/** Roles in increasing power. A route names the least role it needs. */
export const ROLES = ['viewer', 'responder', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export function roleAtLeast(actual: Role, needed: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(needed);
}
