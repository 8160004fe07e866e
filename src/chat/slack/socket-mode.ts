import type { FeatureLog } from '../../features/module.ts';
import type { SlackAdapter } from './slack-adapter.ts';
import { blockActionsSchema, slashCommandSchema } from './slack-payloads.ts';

/**
 * Socket Mode (FIREWATCH_SLACK_APP_TOKEN set): a Bolt App over Slack's WebSocket instead of a public
 * Request URL. Requests arrive already authenticated by the app token, so no signature is checked; the
 * handlers are the HTTP mode's. Bolt's client reconnects by itself; a failed first connection is
 * logged and retried, never thrown at the server.
 */

const RECONNECT_MS = 30_000;

export async function startSocketMode(options: { appToken: string; botToken: string; apiUrl: string; adapter: SlackAdapter; log: FeatureLog }): Promise<() => Promise<void>> {
  const { adapter, log } = options;
  // Loaded only when Socket Mode is used: Bolt and its WebSocket client stay out of every other process.
  const { App, LogLevel } = await import('@slack/bolt');
  const app = new App({
    token: options.botToken,
    appToken: options.appToken,
    socketMode: true,
    clientOptions: { slackApiUrl: options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/` },
    logLevel: LogLevel.WARN,
    logger: {
      debug: () => {}, info: () => {}, setLevel: () => {}, getLevel: () => LogLevel.WARN, setName: () => {},
      warn: (...msgs: unknown[]) => log.warn({ slack: msgs.map(String).join(' ') }, 'slack socket mode'),
      error: (...msgs: unknown[]) => log.error({ slack: msgs.map(String).join(' ') }, 'slack socket mode'),
    },
  });

  app.command(/.*/, async ({ command, ack }) => {
    const parsed = slashCommandSchema.safeParse(command);
    if (!parsed.success) {
      await ack({ response_type: 'ephemeral', text: 'Firewatch could not read this command.' });
      return;
    }
    const reply = await adapter.handleCommand(parsed.data);
    await ack(reply ?? undefined);
  });
  app.action(/^firewatch_(ack|resolve)$/, async ({ body, ack }) => {
    await ack();
    const parsed = blockActionsSchema.safeParse(body);
    if (parsed.success) await adapter.handleActions(parsed.data);
  });
  app.event('message', async ({ event, body }) => {
    await adapter.handleEvent((body as { event_id: string }).event_id, event as { type: string });
  });
  app.error(async (error) => {
    log.error({ err: error }, 'slack socket mode handler failed');
  });

  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    try {
      await app.start();
      log.info({}, 'slack socket mode connected');
    } catch (error) {
      log.error({ err: error }, `slack socket mode could not connect; retrying in ${RECONNECT_MS / 1000} s`);
      if (!stopped) retry = setTimeout(() => void connect(), RECONNECT_MS);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await app.stop().catch(() => {});
  };
}
