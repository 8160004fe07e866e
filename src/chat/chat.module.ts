import type { FeatureContext, FeatureModule } from '../features/module.ts';
import { createChannelsKind } from './chat.apply.ts';
import { startFileSweeper, sweepUnattachedFiles } from './chat.files-gc.ts';
import { registerChatRoutes } from './chat.routes.ts';
import { createChatService, type ChatServiceImpl } from './chat.service.ts';
import { createChatHub } from './chat.ws.ts';

/** The war room: channels, messages, WebSocket live view, bot posts, incoming chat hooks, export, and the sweep of files no message shows. */
export function createChatModule(ctx: FeatureContext): FeatureModule & { chat: ChatServiceImpl; sweepFiles(): Promise<number> } {
  const chat = createChatService({
    db: ctx.db, dialect: ctx.handle.dialect, durable: ctx.handle.durable, now: () => ctx.clock.now(), bus: ctx.bus, secrets: ctx.secrets,
    publicUrl: ctx.config.publicUrl, log: ctx.log,
    notifyMention: (tx, userId, mention, now) => ctx.notifier.notifyMention(tx, userId, mention, now),
  });
  const hub = createChatHub({ chat, bus: ctx.bus, log: ctx.log, publicUrl: ctx.config.publicUrl });
  let sweeper: { stop(): void } | null = null;
  return {
    name: 'chat',
    chat,
    /** One pass of the unattached-file sweep (start() runs it periodically). */
    sweepFiles: () => sweepUnattachedFiles(ctx.db, ctx.clock.now()),
    hooks: chat.hooks,
    applyKinds: [createChannelsKind({ db: ctx.db, secrets: ctx.secrets, onChange: () => chat.forgetFollowers() })],
    async registerApi(api, routes) {
      await registerChatRoutes(api, routes, { chat, onlineIn: (channel) => hub.onlineIn(channel) });
      await hub.register(api);
    },
    start() {
      sweeper = startFileSweeper({ db: ctx.db, now: () => ctx.clock.now(), log: ctx.log });
    },
    stop() {
      sweeper?.stop();
      sweeper = null;
      hub.close();
    },
  };
}
