import { api } from '../api.ts';
import type { User } from '../types.ts';
import { useResource } from './useResource.ts';

/** Everyone who can be paged or put on a rotation, by name. */
export function useUsers(): { users: User[]; error: string | null } {
  const resource = useResource('users', async () => (await api.listUsers()).users.toSorted((a, b) => a.name.localeCompare(b.name)));
  return { users: resource.data ?? [], error: resource.error };
}
