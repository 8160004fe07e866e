import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError, notFound } from '../errors.ts';
import { apiRoute, type RegisteredRoute } from '../http/route.ts';
import { requirePrincipal } from '../http/principal.ts';
import type { Clock } from '../clock.ts';
import { createLoginLimiter } from './login-limiter.ts';
import { roleSchema } from './roles.ts';
import { sessionSchema, userSchema as userOut } from './user.schemas.ts';
import type { UsersRepo } from './users.repo.ts';
import { emailSchema, presentUser, SESSION_TTL_MS, type UsersService } from './users.service.ts';

export const SESSION_COOKIE = 'fw_session';

const passwordSchema = z.string().min(12, 'at least 12 characters').max(1024);

export function registerAuthRoutes(app: FastifyInstance, routes: RegisteredRoute[], deps: { users: UsersService; repo: UsersRepo; clock: Clock; secureCookies: boolean }) {
  const { users, repo } = deps;
  const limiter = createLoginLimiter(deps.clock);

  const setSessionCookie = (reply: FastifyReply, token: string) =>
    reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: deps.secureCookies, path: '/', maxAge: SESSION_TTL_MS / 1000 });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/auth/login', auth: 'public', tags: ['auth'],
    summary: 'Sign in with email and password; sets an HttpOnly session cookie and returns the CSRF token.',
    body: z.strictObject({ email: z.string().min(1).max(320), password: z.string().min(1).max(1024) }),
    response: z.object({ user: userOut, csrf_token: z.string() }),
    handler: async ({ body, request, reply }) => {
      const keys = [`ip:${request.ip}`, `email:${body.email.toLowerCase()}`];
      const wait = limiter.retryAfterMs(keys);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new AppError('too_many_attempts', 429, 'too many failed sign-ins; try again later');
      }
      try {
        const session = await users.login(body.email, body.password);
        limiter.succeed(keys);
        setSessionCookie(reply, session.token);
        return { user: presentUser(session.user), csrf_token: session.csrfToken };
      } catch (error) {
        if (error instanceof AppError && error.code === 'invalid_credentials') limiter.fail(keys);
        throw error;
      }
    },
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/auth/logout', auth: 'viewer', tags: ['auth'],
    summary: 'End the current session.',
    handler: async ({ request, reply }) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await users.logout(token);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/auth/session', auth: 'viewer', tags: ['auth'],
    summary: 'Who is signed in, with the CSRF token to send as X-CSRF-Token on changes.',
    response: sessionSchema,
    handler: async ({ principal }) => {
      const p = requirePrincipal(principal);
      const user = p.userId ? await repo.findById(p.userId) : undefined;
      return { principal: { kind: p.kind, id: p.id, name: p.name, role: p.role, user_id: p.userId }, user: user ? presentUser(user) : null, csrf_token: p.csrfToken };
    },
  });

  apiRoute(app, routes, {
    method: 'PUT', url: '/api/v1/auth/password', auth: 'viewer', tags: ['auth'],
    summary: 'Change your own password.',
    body: z.strictObject({ current_password: z.string().max(1024), new_password: passwordSchema }),
    handler: async ({ principal, body }) => {
      const p = requirePrincipal(principal);
      if (!p.userId) throw new AppError('user_required', 400, 'this token does not belong to a user');
      if (!(await users.checkPassword(p.userId, body.current_password))) throw new AppError('invalid_credentials', 401, 'the current password is wrong');
      await users.setPassword(p.userId, body.new_password);
    },
  });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/users', auth: 'viewer', tags: ['users'],
    summary: 'List users.',
    response: z.object({ users: z.array(userOut) }),
    handler: async () => ({ users: (await repo.list()).map(presentUser) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/users', auth: 'admin', tags: ['users'], successStatus: 201,
    summary: 'Create a user.',
    body: z.strictObject({ email: emailSchema, name: z.string().trim().min(1).max(200).optional(), role: roleSchema, password: passwordSchema.optional() }),
    response: z.object({ user: userOut }),
    handler: async ({ body }) => ({ user: presentUser(await users.createUser(body)) }),
  });

  const idParam = z.object({ id: z.string().min(1).max(64) });

  apiRoute(app, routes, {
    method: 'PATCH', url: '/api/v1/users/:id', auth: 'admin', tags: ['users'],
    summary: "Change a user's name, role or password.",
    params: idParam,
    body: z.strictObject({ name: z.string().trim().min(1).max(200).optional(), role: roleSchema.optional(), password: passwordSchema.optional() }),
    response: z.object({ user: userOut }),
    handler: async ({ params, body }) => {
      const user = await repo.findById(params.id);
      if (!user) throw notFound('user');
      if (body.name || body.role) await repo.update(user.id, { name: body.name ?? user.name, role: body.role ?? user.role, updated_at: deps.clock.now().toISOString() });
      if (body.password) await users.setPassword(user.id, body.password);
      return { user: presentUser((await repo.findById(user.id))!) };
    },
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/users/:id', auth: 'admin', tags: ['users'],
    summary: 'Delete a user (their sessions and tokens go with them).',
    params: idParam,
    handler: async ({ params, principal }) => {
      if (principal?.userId === params.id) throw new AppError('cannot_delete_self', 409, 'you cannot delete yourself');
      if ((await repo.deleteUser(params.id)) === 0) throw notFound('user');
    },
  });

  const tokenOut = z.object({ id: z.string(), name: z.string(), role: roleSchema, user_id: z.string().nullable(), created_at: z.string(), last_used_at: z.string().nullable() });

  apiRoute(app, routes, {
    method: 'GET', url: '/api/v1/tokens', auth: 'admin', tags: ['tokens'],
    summary: 'List API tokens (never their values).',
    response: z.object({ tokens: z.array(tokenOut) }),
    handler: async () => ({ tokens: (await repo.listTokens()).map((t) => ({ ...t, role: t.role as 'admin' })) }),
  });

  apiRoute(app, routes, {
    method: 'POST', url: '/api/v1/tokens', auth: 'admin', tags: ['tokens'], successStatus: 201,
    summary: 'Create an API token; its value is shown only in this response.',
    body: z.strictObject({ name: z.string().trim().min(1).max(100), role: roleSchema, user_email: z.email().optional() }),
    response: z.object({ id: z.string(), token: z.string() }),
    handler: async ({ body }) => users.createToken({ name: body.name, role: body.role, userEmail: body.user_email }),
  });

  apiRoute(app, routes, {
    method: 'DELETE', url: '/api/v1/tokens/:id', auth: 'admin', tags: ['tokens'],
    summary: 'Revoke an API token.',
    params: idParam,
    handler: async ({ params }) => {
      if ((await repo.deleteToken(params.id)) === 0) throw notFound('token');
    },
  });
}
