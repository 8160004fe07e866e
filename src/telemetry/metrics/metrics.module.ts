import type { FeatureContext, FeatureModule } from '../../features/module.ts';
import type { LogStore } from '../logs/log.types.ts';
import type { DataSources } from './datasource.types.ts';
import { createDatasourcesService, type DatasourcesService } from './datasources.service.ts';
import { registerMetricsRoutes } from './metrics.routes.ts';
import { createRulesService, type RulesService } from './rules.service.ts';

/** Data sources (Prometheus-compatible, Loki, demo) and the alert-rule evaluator. */
export function createMetricsModule(ctx: FeatureContext, deps: { logs: LogStore }): FeatureModule & { datasources: DataSources; datasourcesService: DatasourcesService; rules: RulesService } {
  const datasourcesService = createDatasourcesService({ db: ctx.db, clock: ctx.clock, secrets: ctx.secrets });
  const rules = createRulesService({
    db: ctx.db, clock: ctx.clock, publicUrl: ctx.config.publicUrl, datasources: datasourcesService.datasources, logs: deps.logs,
    intake: ctx.intake, services: ctx.services, servicesRepo: ctx.servicesRepo, log: ctx.log,
  });
  return {
    name: 'metrics',
    datasources: datasourcesService.datasources,
    datasourcesService,
    rules,
    // Data sources before rules: a rule group may name a data source declared in the same document.
    applyKinds: [datasourcesService.applyKind, rules.applyKind],
    registerApi(api, routes) {
      registerMetricsRoutes(api, routes, { datasources: datasourcesService, rules, clock: ctx.clock });
    },
    start() {
      rules.start();
    },
    stop() {
      rules.stop();
    },
  };
}
