import type { FeatureContext, FeatureModule } from '../features/module.ts';
import type { ChatService } from '../chat/chat.types.ts';
import { createSchedulesRepo } from '../oncall/schedules/schedules.repo.ts';
import { createSchedulesService } from '../oncall/schedules/schedules.service.ts';
import type { DataSources } from '../telemetry/metrics/datasource.types.ts';
import { builtinCommands } from './builtins.ts';
import type { CommandRegistry } from './command.types.ts';
import { registerCommandsRoutes } from './commands.routes.ts';
import { graphCommand } from './graph.command.ts';
import { createCommandRegistry } from './registry.ts';

/** The command registry and the built-in commands (/ack, /resolve, /note, /page, /oncall, /graph, /incident, /help). */
export function createCommandsModule(ctx: FeatureContext, deps: { chat: ChatService; datasources: DataSources }): FeatureModule & { registry: CommandRegistry } {
  const registry = createCommandRegistry();
  const schedules = createSchedulesService({ db: ctx.db, repo: createSchedulesRepo(ctx.db), clock: ctx.clock, secrets: ctx.secrets, publicUrl: ctx.config.publicUrl });
  for (const def of builtinCommands(ctx, { schedules, registry })) registry.register(def);
  registry.register(graphCommand(ctx, deps) as never);

  // Chat lines starting with `/` run here; the war room posts the line and the reply (or shows it to the caller only).
  deps.chat.setCommandRunner(async (line, c) => {
    try {
      const result = await registry.run(line, { ...c, now: ctx.clock.now() });
      return { text: result.text, visibility: result.visibility, attachments: result.attachments, files: result.files };
    } catch (error) {
      ctx.log.error({ err: error, line }, 'chat command failed');
      return { text: 'The command failed unexpectedly; the error is in the server log.', visibility: 'caller' };
    }
  });

  return {
    name: 'commands',
    registry,
    registerApi(api, routes) {
      registerCommandsRoutes(api, routes, { registry, chat: deps.chat, clock: ctx.clock, log: ctx.log });
    },
  };
}
