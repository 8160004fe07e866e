import type { FeatureContext, FeatureModule } from '../../features/module.ts';
import type { ChatService } from '../../chat/chat.types.ts';
import type { DataSources } from '../metrics/datasource.types.ts';
import type { InventoryService } from '../inventory/inventory.service.ts';
import { registerDashboardsRoutes } from './dashboards.routes.ts';
import { createDashboardsService, type DashboardsService } from './dashboards.service.ts';

/** Service dashboards (standard panels, aggregate and per instance) and outlier detection across instances. */
export function createDashboardsModule(ctx: FeatureContext, deps: { datasources: DataSources; chat: ChatService; inventory: InventoryService }): FeatureModule & { dashboards: DashboardsService } {
  const dashboards = createDashboardsService({ db: ctx.db, clock: ctx.clock, datasources: deps.datasources, chat: deps.chat, incidents: ctx.incidents, inventory: deps.inventory });
  return {
    name: 'dashboards',
    dashboards,
    registerApi(api, routes) {
      registerDashboardsRoutes(api, routes, { dashboards, clock: ctx.clock });
    },
  };
}
