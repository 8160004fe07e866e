import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { toIso } from '../db/codec.ts';
import { isUniqueViolation } from '../db/database.ts';
import { AppError, conflict, notFound } from '../errors.ts';
import { newId, sha256Hex } from '../ids.ts';
import { generatePassword, hashPassword, verifyPassword } from '../security/passwords.ts';
import type { Role } from './roles.ts';
import type { UserRow, UsersRepo } from './users.repo.ts';

export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
export const FIRST_ADMIN_EMAIL = 'admin@firewatch.local';

/** Who is making a request: a signed-in user, or an API token (which may belong to a user). */
export interface Principal {
  kind: 'session' | 'token';
  id: string;
  name: string;
  role: Role;
  userId: string | null;
  csrfToken: string | null;
}

export const emailSchema = z.email().max(320).transform((e) => e.toLowerCase());

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

export const presentUser = (u: UserRow): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role as Role,
  created_at: u.created_at,
});

// A fixed hash to verify against when the email is unknown, so both paths take the same time.
const dummyHashPromise = hashPassword(randomBytes(16).toString('hex'));

export function createUsersService(deps: { repo: UsersRepo; clock: Clock }) {
  const { repo, clock } = deps;

  async function createUser(input: { email: string; name?: string; role: Role; password?: string }): Promise<UserRow> {
    const now = toIso(clock.now());
    const email = emailSchema.parse(input.email);
    const row: UserRow = {
      id: newId(),
      email,
      name: input.name?.trim() || email.split('@')[0],
      role: input.role,
      password_hash: input.password ? await hashPassword(input.password) : null,
      created_at: now,
      updated_at: now,
    };
    try {
      await repo.insert(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('user_exists', `a user with email ${email} already exists`);
      throw error;
    }
    return row;
  }

  return {
    createUser,

    /** On an empty database, creates the first admin and returns its one-time password; otherwise null. */
    async ensureFirstAdmin(): Promise<{ email: string; password: string } | null> {
      if ((await repo.count()) > 0) return null;
      const password = generatePassword();
      try {
        await createUser({ email: FIRST_ADMIN_EMAIL, name: 'Administrator', role: 'admin', password });
      } catch (error) {
        // Another process created it first (PostgreSQL, several processes starting together).
        if (error instanceof AppError && error.code === 'user_exists') return null;
        throw error;
      }
      return { email: FIRST_ADMIN_EMAIL, password };
    },

    async setPassword(userId: string, password: string): Promise<void> {
      await repo.update(userId, { password_hash: await hashPassword(password), updated_at: toIso(clock.now()) });
    },

    async checkPassword(userId: string, password: string): Promise<boolean> {
      const user = await repo.findById(userId);
      return !!user?.password_hash && (await verifyPassword(password, user.password_hash));
    },

    /** Verifies a password and opens a server-side session. The session token is returned once. */
    async login(email: string, password: string): Promise<{ token: string; csrfToken: string; user: UserRow; expiresAt: Date }> {
      const user = await repo.findByEmail(email);
      const ok = user?.password_hash
        ? await verifyPassword(password, user.password_hash)
        : (await verifyPassword(password, await dummyHashPromise), false);
      if (!user || !ok) throw new AppError('invalid_credentials', 401, 'email or password is wrong');
      const token = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(24).toString('base64url');
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
      await repo.deleteExpiredSessions(toIso(now));
      await repo.insertSession({
        id_hash: sha256Hex(token),
        user_id: user.id,
        csrf_token: csrfToken,
        created_at: toIso(now),
        expires_at: toIso(expiresAt),
      });
      return { token, csrfToken, user, expiresAt };
    },

    async logout(sessionToken: string): Promise<void> {
      await repo.deleteSession(sha256Hex(sessionToken));
    },

    async principalFromSession(sessionToken: string): Promise<Principal | null> {
      const session = await repo.findSession(sha256Hex(sessionToken));
      if (!session || session.expires_at <= toIso(clock.now())) return null;
      const user = await repo.findById(session.user_id);
      if (!user) return null;
      return { kind: 'session', id: user.id, name: user.name, role: user.role as Role, userId: user.id, csrfToken: session.csrf_token };
    },

    /** Creates an API token; the plain token is returned once and only its SHA-256 is stored. */
    async createToken(input: { name: string; role: Role; userEmail?: string }): Promise<{ token: string; id: string }> {
      let userId: string | null = null;
      if (input.userEmail) {
        const user = await repo.findByEmail(input.userEmail);
        if (!user) throw notFound('user', `no user with email ${input.userEmail}`);
        userId = user.id;
      }
      const token = `fw_${randomBytes(32).toString('base64url')}`;
      const id = newId();
      await repo.insertToken({
        id,
        name: input.name,
        token_hash: sha256Hex(token),
        role: input.role,
        user_id: userId,
        created_at: toIso(clock.now()),
        last_used_at: null,
      });
      return { token, id };
    },

    async principalFromToken(token: string): Promise<Principal | null> {
      const row = await repo.findTokenByHash(sha256Hex(token));
      if (!row) return null;
      const now = clock.now();
      // Record use at most once a minute: a busy script must not turn every read into a write.
      if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > 60_000) {
        await repo.touchToken(row.id, toIso(now));
      }
      let name = `token:${row.name}`;
      if (row.user_id) {
        const user = await repo.findById(row.user_id);
        if (user) name = user.name;
      }
      return { kind: 'token', id: row.id, name, role: row.role as Role, userId: row.user_id, csrfToken: null };
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
