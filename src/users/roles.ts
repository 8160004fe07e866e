import type { z } from 'zod';
import { ROLES, roleSchema } from './user.schemas.ts';

/** Roles in increasing power. A route names the least role it needs. */
export { ROLES, roleSchema };
export type Role = z.infer<typeof roleSchema>;

export function roleAtLeast(actual: Role, needed: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(needed);
}
