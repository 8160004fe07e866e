import type { FeatureContext, FeatureModule } from '../../features/module.ts';
import type { CommandRegistry } from '../../commands/command.types.ts';
import type { ChannelSettings } from '../chat.types.ts';
import { createForwarder } from './forward.ts';
import { type AdapterChat, createSlackAdapter, type SlackAdapter, type SlackReply } from './slack-adapter.ts';
import { createSlackApi } from './slack-api.ts';
import { createSlackLinks } from './slack-links.ts';
import { registerIncomingHookRoutes, registerSlackRoutes } from './slack.routes.ts';
import { startSocketMode } from './socket-mode.ts';

/** How long a "this came from Slack" mark waits for its message before it is forgotten. */
const FROM_SLACK_TTL_MS = 60_000;

/** Follow-ups go only to Slack's own response URLs (or the configured API host, for proxies and tests). */
export function isSlackResponseUrl(url: string, apiUrl: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'https:' && (u.hostname === 'hooks.slack.com' || u.hostname.endsWith('.slack.com'))) return true;
    return u.origin === new URL(apiUrl).origin;
  } catch {
    return false;
  }
}

/** The Slack app adapter (HTTP with signature verification, or Socket Mode through Bolt), incoming chat hooks and outbound chat webhooks. */
export function createSlackModule(ctx: FeatureContext, deps: { chat: AdapterChat; registry: CommandRegistry }): FeatureModule & { adapter: SlackAdapter | null } {
  const { config, chat, log } = { config: ctx.config, chat: deps.chat, log: ctx.log };
  const slackApi = config.slack.botToken ? createSlackApi({ apiUrl: config.slack.apiUrl, botToken: config.slack.botToken }) : null;
  const links = createSlackLinks(ctx.db, ctx.handle.durable);

  // Messages the adapter posted from Slack, so the mirror does not echo them back.
  const fromSlack = new Map<string, number>();
  const markFromSlack = (key: string) => {
    const now = Date.now();
    for (const [k, at] of fromSlack) if (now - at > FROM_SLACK_TTL_MS) fromSlack.delete(k);
    fromSlack.set(key, now);
  };
  const takeFromSlack = (key: string) => fromSlack.delete(key);

  async function channelForSlack(slackChannel: string): Promise<ChannelSettings | null> {
    const row = await ctx.db.selectFrom('chat_channels').select('name').where('slack_channel', '=', slackChannel).orderBy('created_at').executeTakeFirst();
    return row ? chat.channelSettings(row.name) : null;
  }

  async function respond(responseUrl: string, body: SlackReply & { replace_original?: boolean }): Promise<void> {
    if (!isSlackResponseUrl(responseUrl, config.slack.apiUrl)) {
      log.warn({ responseUrl }, 'slack response_url is not a Slack URL; not used');
      return;
    }
    const res = await fetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000), redirect: 'error' });
    await res.body?.cancel();
    if (!res.ok) log.warn({ status: res.status }, 'slack response_url refused the reply');
  }

  // The adapter answers commands as soon as a bot token (users.info) is there; HTTP mode also needs the signing secret.
  const adapter = slackApi
    ? createSlackAdapter({ api: slackApi, chat, links, registry: deps.registry, usersRepo: ctx.usersRepo, clock: ctx.clock, log, channelForSlack, respond, markFromSlack })
    : null;

  const forwarder = createForwarder({
    db: ctx.db, chat, jobs: ctx.jobs, wake: ctx.wake, log, now: () => ctx.clock.now(), publicUrl: config.publicUrl,
    webhookPolicy: { allowPrivate: config.webhookAllowPrivate, allowList: config.webhookAllowList }, slackApi, links, takeFromSlack,
  });
  const unsubscribe = chat.onMessage(forwarder.onMessage);
  let stopSocket: (() => Promise<void>) | null = null;

  return {
    name: 'slack',
    adapter,
    jobHandlers: forwarder.handlers,
    async registerPublic(app) {
      await registerIncomingHookRoutes(app, { chat, log });
      await registerSlackRoutes(app, { signingSecret: config.slack.signingSecret, adapter, clock: ctx.clock, log });
    },
    async start() {
      if (config.slack.appToken && adapter) stopSocket = await startSocketMode({ appToken: config.slack.appToken, botToken: config.slack.botToken as string, apiUrl: config.slack.apiUrl, adapter, log });
    },
    async stop() {
      unsubscribe();
      await stopSocket?.();
      stopSocket = null;
    },
  };
}
