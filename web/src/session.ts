import { createContext, useContext } from 'react';
import type { Role, Session } from './types.ts';

export interface SessionContextValue {
  session: Session;
  signOut: () => Promise<void>;
  /** Reloads the session (after a password change, for instance). */
  reload: () => Promise<void>;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

/** The signed-in session; only used below <App>'s signed-in branch. */
export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in app');
  return value;
}

const RANK: Record<Role, number> = { viewer: 0, responder: 1, admin: 2 };

/** Whether the signed-in role may do what `needed` allows (the server checks again). */
export function can(session: Session, needed: Role): boolean {
  return RANK[session.principal.role] >= RANK[needed];
}
