import type {
  ContactMethod, ContactMethodInput, EscalationPolicy, EscalationState, Incident, IncidentDetail, IncidentFilters, IncidentPage, Integration, IntegrationType,
  NotificationRecord, NotificationRule, OnCallOverview, Override, OverrideInput, PolicyInput, RenderedSchedule, Schedule, ScheduleInput, Service, ServiceOnCallPatch,
  Session, Swap, SwapInput, CalendarFeed, User,
} from './types.ts';

/** An error answer of the API (`{"error": {"code", "message", "details"}}`), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds from a Retry-After header, when the server sent one. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: unknown = undefined, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

// The session's CSRF token: every cookie-authenticated change must echo it in X-CSRF-Token.
let csrfToken: string | null = null;
let signedOutHandler: () => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The session's CSRF token, for requests `send` cannot make (raw-body uploads). */
export function currentCsrfToken(): string | null {
  return csrfToken;
}

/** Called when an authenticated request answers 401 (the session ended or expired). */
export function onSignedOut(handler: () => void): void {
  signedOutHandler = handler;
}

const SESSION_PATH = '/api/v1/auth/session';

/**
 * One API request. A 401 signs the UI out, except where it is an expected answer (`quiet401`: the session
 * probe on page load, a failed login).
 */
export async function send<T>(method: string, path: string, body?: unknown, options: { quiet401?: boolean; retried?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  // Fastify refuses an empty body declared as JSON, so the header goes only with a body.
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;

  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network_error', 'Cannot reach the Firewatch server. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const data: unknown = await response.json().catch(() => null);
  if (response.ok) return data as T;

  const error = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  const retryAfter = Number(response.headers.get('retry-after')) || null;
  const failure = new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? `The server answered ${response.status}.`, error?.details, retryAfter);

  if (failure.code === 'csrf_failed' && !options.retried) {
    // Another tab signed in again and the token changed: pick up the current one and retry once.
    const session = await send<Session>('GET', SESSION_PATH);
    csrfToken = session.csrf_token;
    return send<T>(method, path, body, { ...options, retried: true });
  }
  if (response.status === 401 && !options.quiet401) signedOutHandler();
  throw failure;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const incidentPath = (number: number) => `/api/v1/incidents/${encodeURIComponent(String(number))}`;
const servicePath = (name: string) => `/api/v1/services/${encodeURIComponent(name)}`;
const schedulePath = (name: string) => `/api/v1/schedules/${encodeURIComponent(name)}`;
const policyPath = (name: string) => `/api/v1/escalation-policies/${encodeURIComponent(name)}`;
const ME = '/api/v1/users/me';

export const api = {
  login: (email: string, password: string) => send<{ user: User; csrf_token: string }>('POST', '/api/v1/auth/login', { email, password }, { quiet401: true }),
  /** Who is signed in; a 401 just means "nobody" (used on page load). */
  session: () => send<Session>('GET', SESSION_PATH, undefined, { quiet401: true }),
  /** Like `session`, but a 401 signs the UI out (used when the live stream is refused). */
  checkSession: () => send<Session>('GET', SESSION_PATH),
  logout: () => send<void>('POST', '/api/v1/auth/logout'),
  changePassword: (currentPassword: string, newPassword: string) =>
    send<void>('PUT', '/api/v1/auth/password', { current_password: currentPassword, new_password: newPassword }),

  listIncidents: (filters: IncidentFilters, page: { before?: number; limit?: number } = {}) =>
    send<IncidentPage>('GET', `/api/v1/incidents${query({
      status: filters.status === 'all' ? undefined : filters.status,
      service: filters.service,
      urgency: filters.urgency,
      before: page.before,
      limit: page.limit,
    })}`),
  getIncident: (number: number) => send<IncidentDetail>('GET', incidentPath(number)),
  acknowledge: (number: number) => send<{ incident: Incident }>('POST', `${incidentPath(number)}/acknowledge`),
  resolve: (number: number) => send<{ incident: Incident }>('POST', `${incidentPath(number)}/resolve`),
  addNote: (number: number, text: string) => send<{ incident: Incident }>('POST', `${incidentPath(number)}/notes`, { text }),

  listServices: () => send<{ services: Service[] }>('GET', '/api/v1/services'),
  createService: (name: string, description: string) => send<{ service: Service }>('POST', '/api/v1/services', { name, description }),
  addIntegration: (service: string, name: string, type: IntegrationType) =>
    send<{ integration: Integration }>('POST', `${servicePath(service)}/integrations`, { name, type }),
  updateService: (name: string, patch: ServiceOnCallPatch) => send<{ service: Service }>('PATCH', servicePath(name), patch),

  listUsers: () => send<{ users: User[] }>('GET', '/api/v1/users'),

  // On call now, schedules, overrides, swaps and calendar feeds
  onCallNow: () => send<OnCallOverview>('GET', '/api/v1/oncall'),
  listSchedules: () => send<{ schedules: Schedule[] }>('GET', '/api/v1/schedules'),
  getSchedule: (name: string) => send<{ schedule: Schedule }>('GET', schedulePath(name)),
  createSchedule: (input: ScheduleInput) => send<{ schedule: Schedule }>('POST', '/api/v1/schedules', input),
  updateSchedule: (name: string, patch: Partial<ScheduleInput>) => send<{ schedule: Schedule }>('PATCH', schedulePath(name), patch),
  deleteSchedule: (name: string) => send<void>('DELETE', schedulePath(name)),
  renderSchedule: (name: string, from: Date, to: Date) =>
    send<RenderedSchedule>('GET', `${schedulePath(name)}/render${query({ from: from.toISOString(), to: to.toISOString() })}`),
  listOverrides: (name: string, window: { from?: Date; to?: Date } = {}) =>
    send<{ overrides: Override[] }>('GET', `${schedulePath(name)}/overrides${query({ from: window.from?.toISOString(), to: window.to?.toISOString() })}`),
  createOverride: (name: string, input: OverrideInput) => send<{ override: Override }>('POST', `${schedulePath(name)}/overrides`, input),
  deleteOverride: (name: string, id: string) => send<void>('DELETE', `${schedulePath(name)}/overrides/${encodeURIComponent(id)}`),
  listSwaps: (name: string) => send<{ swaps: Swap[] }>('GET', `${schedulePath(name)}/swaps`),
  requestSwap: (name: string, input: SwapInput) => send<{ swap: Swap }>('POST', `${schedulePath(name)}/swaps`, input),
  takeSwap: (name: string, id: string) => send<{ swap: Swap }>('POST', `${schedulePath(name)}/swaps/${encodeURIComponent(id)}/take`),
  cancelSwap: (name: string, id: string) => send<{ swap: Swap }>('POST', `${schedulePath(name)}/swaps/${encodeURIComponent(id)}/cancel`),
  scheduleFeed: (name: string) => send<CalendarFeed>('GET', `${schedulePath(name)}/feed`),
  rotateScheduleFeed: (name: string) => send<CalendarFeed>('POST', `${schedulePath(name)}/feed`),
  myFeed: () => send<CalendarFeed>('GET', `${ME}/feed`),
  rotateMyFeed: () => send<CalendarFeed>('POST', `${ME}/feed`),

  // Escalation policies
  listPolicies: () => send<{ escalation_policies: EscalationPolicy[] }>('GET', '/api/v1/escalation-policies'),
  getPolicy: (name: string) => send<{ escalation_policy: EscalationPolicy }>('GET', policyPath(name)),
  createPolicy: (input: PolicyInput) => send<{ escalation_policy: EscalationPolicy }>('POST', '/api/v1/escalation-policies', input),
  updatePolicy: (name: string, input: Partial<PolicyInput>) => send<{ escalation_policy: EscalationPolicy }>('PATCH', policyPath(name), input),
  deletePolicy: (name: string) => send<void>('DELETE', policyPath(name)),

  // My contact methods, notification rules and in-app inbox
  listContactMethods: () => send<{ contact_methods: ContactMethod[] }>('GET', `${ME}/contact-methods`),
  createContactMethod: (input: ContactMethodInput) => send<{ contact_method: ContactMethod }>('POST', `${ME}/contact-methods`, input),
  deleteContactMethod: (id: string) => send<void>('DELETE', `${ME}/contact-methods/${encodeURIComponent(id)}`),
  testContactMethod: (id: string) => send<{ notification_id: string }>('POST', `${ME}/contact-methods/${encodeURIComponent(id)}/test`),
  getNotification: (id: string) => send<{ notification: NotificationRecord }>('GET', `/api/v1/notifications/${encodeURIComponent(id)}`),
  listNotificationRules: () => send<{ notification_rules: NotificationRule[]; defaults: { high: boolean; low: boolean } }>('GET', `${ME}/notification-rules`),
  createNotificationRule: (input: { urgency: 'high' | 'low'; contact_method: string; delay_minutes: number }) =>
    send<{ notification_rule: NotificationRule }>('POST', `${ME}/notification-rules`, input),
  deleteNotificationRule: (id: string) => send<void>('DELETE', `${ME}/notification-rules/${encodeURIComponent(id)}`),
  inbox: () => send<{ notifications: NotificationRecord[]; unread: number }>('GET', `${ME}/notifications`),
  markRead: (ids: string[]) => send<void>('POST', `${ME}/notifications/read`, { ids }),

  // Escalation of one incident
  incidentOnCall: (number: number) => send<{ escalation: EscalationState; notifications: NotificationRecord[] }>('GET', `${incidentPath(number)}/oncall`),
  escalateNow: (number: number) => send<{ escalation: EscalationState }>('POST', `${incidentPath(number)}/escalate`),
  snooze: (number: number, seconds: number) => send<{ escalation: EscalationState }>('POST', `${incidentPath(number)}/snooze`, { duration_seconds: seconds }),
  reassign: (number: number, users: string[]) => send<{ escalation: EscalationState }>('POST', `${incidentPath(number)}/reassign`, { users }),
  pageResponders: (number: number, users: string[], message: string) =>
    send<{ paged: string[] }>('POST', `${incidentPath(number)}/responders`, { users, message }),
  deadLetters: () => send<{ notifications: NotificationRecord[] }>('GET', '/api/v1/notifications/dead-letters'),
  retryNotification: (id: string) => send<{ retried: boolean }>('POST', `/api/v1/notifications/${encodeURIComponent(id)}/retry`),

  /** The API's route list (OpenAPI), to offer actions only where the server has them. */
  openApiPaths: () => send<{ paths: Record<string, unknown> }>('GET', '/api/v1/openapi.json'),
};

/** A sentence for the person, from any error an API call threw. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'validation_failed' && Array.isArray(error.details) && error.details.length > 0) {
      const first = error.details[0] as { path?: string; message?: string };
      const field = first.path?.split('.').slice(1).join('.') || 'input';
      return `Check ${field.replaceAll('_', ' ')}: ${first.message ?? 'invalid value'}.`;
    }
    if (error.code === 'forbidden') return 'Your role does not allow this.';
    return sentence(error.message);
  }
  return sentence(error instanceof Error ? error.message : String(error));
}

// Server messages are lower-case fragments ("the current password is wrong"); show them as sentences.
function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return 'Something went wrong.';
  const capitalised = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
