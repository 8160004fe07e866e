/**
 * The few Slack Web API methods the adapter calls (chat.postMessage, users.info), over fetch with the bot
 * token. The base URL comes from FIREWATCH_SLACK_API_URL (https://slack.com/api/ unless a proxy or test
 * says otherwise). No retries here: mirror posts are lease jobs and the runner retries them.
 */

export const SLACK_API_TIMEOUT_MS = 10_000;

export type SlackApiResult<T> =
  | { ok: true; data: T }
  | { ok: false; retryable: boolean; error: string; retryAfterMs?: number };

export interface SlackUserInfo {
  id: string;
  email: string | null;
  name: string;
  isBot: boolean;
}

export interface SlackApi {
  call<T = Record<string, unknown>>(method: string, body: Record<string, unknown>, encoding?: 'json' | 'form'): Promise<SlackApiResult<T>>;
  userInfo(userId: string): Promise<SlackApiResult<SlackUserInfo>>;
}

/** Slack's errors that the same request may survive later; everything else is final (invalid_auth, channel_not_found …). */
const RETRYABLE_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

export function slackMethodUrl(apiUrl: string, method: string): string {
  return new URL(method, apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`).href;
}

export function createSlackApi(options: { apiUrl: string; botToken: string; fetch?: typeof fetch; timeoutMs?: number }): SlackApi {
  const doFetch = options.fetch ?? fetch;
  // Read methods such as users.info take form bodies only; write methods take JSON.
  async function call<T>(method: string, body: Record<string, unknown>, encoding: 'json' | 'form' = 'json'): Promise<SlackApiResult<T>> {
    let response: Response;
    try {
      response = await doFetch(slackMethodUrl(options.apiUrl, method), {
        method: 'POST',
        headers: {
          'content-type': encoding === 'json' ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded',
          authorization: `Bearer ${options.botToken}`,
        },
        body: encoding === 'json' ? JSON.stringify(body) : new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString(),
        signal: AbortSignal.timeout(options.timeoutMs ?? SLACK_API_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (error) {
      return { ok: false, retryable: true, error: `slack_unreachable: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (response.status === 429) {
      const seconds = Number(response.headers.get('retry-after') ?? '30');
      await response.body?.cancel();
      return { ok: false, retryable: true, error: 'ratelimited', retryAfterMs: Math.min(Number.isFinite(seconds) ? seconds : 30, 3600) * 1000 };
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      return { ok: false, retryable: true, error: `http_${response.status}` };
    }
    let json: { ok?: boolean; error?: string } & Record<string, unknown>;
    try {
      json = await response.json() as typeof json;
    } catch {
      return { ok: false, retryable: response.status >= 500, error: `http_${response.status}_not_json` };
    }
    if (json.ok !== true) {
      const error = typeof json.error === 'string' ? json.error : 'unknown_error';
      return { ok: false, retryable: RETRYABLE_ERRORS.has(error), error };
    }
    return { ok: true, data: json as T };
  }
  return {
    call,
    async userInfo(userId) {
      const result = await call<{ user?: { id?: string; name?: string; real_name?: string; is_bot?: boolean; profile?: { email?: string; real_name?: string; display_name?: string } } }>('users.info', { user: userId }, 'form');
      if (!result.ok) return result;
      const u = result.data.user ?? {};
      return {
        ok: true,
        data: {
          id: u.id ?? userId,
          email: u.profile?.email?.toLowerCase() ?? null,
          name: u.profile?.display_name || u.real_name || u.profile?.real_name || u.name || userId,
          isBot: u.is_bot === true,
        },
      };
    },
  };
}
