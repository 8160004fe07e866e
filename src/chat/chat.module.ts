import type { FeatureContext, FeatureModule } from '../features/module.ts';
import { createChannelsKind } from './chat.apply.ts';
import { registerChatRoutes } from './chat.routes.ts';
import { createChatService, type ChatServiceImpl } from './chat.service.ts';
import { createChatHub } from './chat.ws.ts';

/** The war room: channels, messages, WebSocket live view, bot posts, incoming chat hooks, export. */
export function createChatModule(ctx: FeatureContext): FeatureModule & { chat: ChatServiceImpl } {
  const chat = createChatService({
    db: ctx.db, dialect: ctx.handle.dialect, durable: ctx.handle.durable, now: () => ctx.clock.now(), bus: ctx.bus, secrets: ctx.secrets,
    publicUrl: ctx.config.publicUrl, log: ctx.log,
    notifyMention: (tx, userId, mention, now) => ctx.notifier.notifyMention(tx, userId, mention, now),
  });
  const hub = createChatHub({ chat, bus: ctx.bus, log: ctx.log, publicUrl: ctx.config.publicUrl });
  return {
    name: 'chat',
    chat,
    hooks: chat.hooks,
    applyKinds: [createChannelsKind({ db: ctx.db, secrets: ctx.secrets, onChange: () => chat.forgetFollowers() })],
    async registerApi(api, routes) {
      await registerChatRoutes(api, routes, { chat, onlineIn: (channel) => hub.onlineIn(channel) });
      await hub.register(api);
    },
    stop() {
      hub.close();
    },
  };
}
