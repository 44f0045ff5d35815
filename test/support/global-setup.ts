import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { createDb, migrateLatest, withDatabase } from '../../src/db/knex';
import { freePort } from './ports';
import { TEMPLATE_DB, type SharedServers } from './shared';

/**
 * Starts the real servers every test file shares: PostgreSQL (embedded, or DATABASE_URL's server) with a migrated
 * template database, and a Temporal dev server (or TEMPORAL_ADDRESS). Test files reach them through env vars.
 */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  const shared: SharedServers = {};

  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-test-pg-'));
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'data'),
      port: await freePort(),
      persistent: false,
    });
    shared.stopPostgres = async () => {
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    adminUrl = pg.url;
  }
  const admin = createDb({ url: adminUrl, poolMax: 1 });
  await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [TEMPLATE_DB]);
  await admin.raw('CREATE DATABASE ??', [TEMPLATE_DB]);
  await admin.destroy();
  const template = createDb({ url: withDatabase(adminUrl, TEMPLATE_DB), poolMax: 1 });
  await migrateLatest(template);
  await template.destroy();
  process.env.TEST_PG_ADMIN_URL = adminUrl;

  if (!process.env.TEMPORAL_ADDRESS) {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: config.TEMPORAL_CLI_PATH },
        ip: '127.0.0.1',
        extraArgs: [
          '--search-attribute',
          'ProvisioningState=Keyword',
          '--search-attribute',
          'TenantId=Keyword',
          '--sqlite-pragma',
          'journal_mode=WAL',
          '--sqlite-pragma',
          'synchronous=OFF',
        ],
      },
    });
    shared.stopTemporal = () => env.teardown();
    process.env.TEST_TEMPORAL_ADDRESS = env.address;
  } else {
    process.env.TEST_TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS;
  }
  (globalThis as { __entraSyncServers?: SharedServers }).__entraSyncServers = shared;
}
