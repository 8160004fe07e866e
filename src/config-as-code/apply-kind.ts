import type { Tx } from '../db/database.ts';
import type { ApplyReport, ConfigDocument } from './config-document.ts';

/** Document keys a feature module applies (their schemas live in config-document.ts, imported from the module). */
export type ModuleKindKey = 'channels' | 'datasources' | 'rules' | 'inventory';

/**
 * One kind of `firewatch apply -f` owned by a feature module: applied in the same transaction as the core
 * kinds (after users, teams, schedules, policies, services and silences), and exported back.
 */
export interface ApplyKind<K extends ModuleKindKey = ModuleKindKey> {
  key: K;
  /** Creates or updates the document's items; reports `kind/name` under created, updated or unchanged. */
  apply(tx: Tx, items: ConfigDocument[K], report: ApplyReport, now: string): Promise<void>;
  /** The current items, as apply accepts them (an empty list when there are none). */
  export(): Promise<NonNullable<ConfigDocument[K]>>;
}
