import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { loadConfig, publicBaseUrl } from '../config';
import { createDb, migrateLatest } from '../db/knex';
import { createLogger } from '../logger';
import { onShutdown } from './shutdown';

/** The api process: SCIM, admin REST, probes. Temporal is connected lazily so SCIM keeps answering without it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'api');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (make start sets it to the embedded server)');
  const db = createDb({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX });
  await migrateLatest(db);
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = createApp({
    db,
    logger,
    publicBaseUrl: publicBaseUrl(config),
    maxBodyBytes: config.MAX_BODY_BYTES,
    temporal,
    temporalTaskQueue: config.TEMPORAL_TASK_QUEUE,
    secretsKey: config.SECRETS_KEY ? Buffer.from(config.SECRETS_KEY, 'base64') : undefined,
  });
  const server = app.listen(config.API_PORT, config.API_HOST, () => {
    logger.info({ url: publicBaseUrl(config) }, 'api listening');
  });
  // Keep-alive longer than typical load balancers' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;
  onShutdown(logger, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close().catch(() => undefined);
    await db.destroy();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
