/** Name of the migrated database each test file clones. */
export const TEMPLATE_DB = 'entra_sync_test_template';

export interface SharedServers {
  stopPostgres?: () => Promise<void>;
  stopTemporal?: () => Promise<void>;
}
