/** A small client for the REST API, used by the CLI's client commands. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string;

  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
    const url = env.FIREWATCH_URL;
    const token = env.FIREWATCH_TOKEN;
    const missing = [!url && 'FIREWATCH_URL', !token && 'FIREWATCH_TOKEN'].filter(Boolean);
    if (missing.length) throw new CliError(`set ${missing.join(' and ')} (create a token with: firewatch token create --name cli --role responder)`);
    return new ApiClient(url!, token!);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new CliError(`cannot reach ${this.baseUrl}: ${(error as Error).cause ?? (error as Error).message}`);
    }
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new CliError(`${response.status} ${err?.code ?? ''}: ${err?.message ?? text}`.trim());
    }
    return json as T;
  }
}

/** An error meant for the person at the terminal: printed without a stack, exit code 1. */
export class CliError extends Error {}
