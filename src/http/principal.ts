import { AppError } from '../errors.ts';
import type { Actor } from '../incidents/lifecycle.ts';
import type { Principal } from '../users/users.service.ts';

export function requirePrincipal(principal: Principal | null): Principal {
  if (!principal) throw new AppError('authentication_required', 401, 'sign in or send Authorization: Bearer <token>');
  return principal;
}

/** How a principal is written on the timeline. */
export function actorOf(principal: Principal | null): Actor {
  const p = requirePrincipal(principal);
  return p.userId ? { type: 'user', id: p.userId, name: p.name } : { type: 'token', id: p.id, name: p.name };
}
