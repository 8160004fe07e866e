import type { FeatureContext, FeatureModule } from '../../features/module.ts';
import type { DataSources } from '../metrics/datasource.types.ts';
import { registerInventoryRoutes } from './inventory.routes.ts';
import { createInventoryService, type InventoryService } from './inventory.service.ts';

/** How often `firewatch serve` checks for providers due a refresh. */
const TICK_MS = 10_000;

/** Hosts from static files, Prometheus targets and AWS EC2; look-ups by label, tag or name. */
export function createInventoryModule(ctx: FeatureContext, deps: { datasources: DataSources }): FeatureModule & { inventory: InventoryService } {
  const inventory = createInventoryService({ db: ctx.db, clock: ctx.clock, secrets: ctx.secrets, datasources: deps.datasources, log: ctx.log });
  let timer: NodeJS.Timeout | null = null;
  let running = false;

  async function tick() {
    if (running) return;
    running = true;
    try {
      for (const name of await inventory.dueProviders()) {
        try {
          const p = await inventory.refresh(name);
          ctx.log.info({ provider: name, hosts: p.hosts }, 'inventory refreshed');
        } catch (err) {
          ctx.log.warn({ provider: name, err: err instanceof Error ? err.message : String(err) }, 'inventory refresh failed');
        }
      }
    } catch (err) {
      ctx.log.error({ err: err instanceof Error ? err.message : String(err) }, 'inventory refresh tick failed');
    } finally {
      running = false;
    }
  }

  return {
    name: 'inventory',
    inventory,
    applyKinds: [inventory.applyKind],
    registerApi(api, routes) {
      registerInventoryRoutes(api, routes, { inventory });
    },
    start() {
      void tick();
      timer = setInterval(() => void tick(), TICK_MS);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
