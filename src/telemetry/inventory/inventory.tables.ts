/** Table shapes of the host inventory and the per-service dashboard settings (conventions in db/schema.ts). */
export interface InventoryProvidersTable {
  id: string;
  name: string;
  /** static | prometheus | ec2 */
  type: string;
  /** The provider's document as applied, JSON; EC2 credentials inside are encrypted (secret_access_key_encrypted). */
  config: string;
  last_refresh_at: string | null;
  /** The last refresh's error, or NULL after a good one. */
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface HostsTable {
  id: string;
  provider_id: string;
  /** The provider's id for the host (EC2 instance id, target address, static id or name); unique per provider. */
  external_id: string;
  name: string;
  /** JSON string[]: IPs, DNS names, host:port of scrape targets. */
  addresses: string;
  /** JSON Record<string,string>: tags (EC2), target labels (Prometheus), labels (static). */
  labels: string;
  /** Lower-cased words of id, name, addresses and label values, space-separated, for look-ups. */
  search_text: string;
  updated_at: string;
  seen_at: string;
}

export interface DashboardsTable {
  service_id: string;
  /** JSON: { datasource?: string, preset?: string, panels?: PanelSpec[] }. */
  config: string;
  updated_at: string;
  updated_by: string;
}

export interface InventoryTables {
  inventory_providers: InventoryProvidersTable;
  hosts: HostsTable;
  service_dashboards: DashboardsTable;
}
