import cluster from 'node:cluster';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { loadConfig, publicBaseUrl, type Config } from '../config';
import { createDb, migrateLatest } from '../db/knex';
import { createLogger, type Logger } from '../logger';
import { exitOnStartupFailure, onShutdown } from './shutdown';

/**
 * The api process: SCIM, admin REST, probes, metrics. Temporal is connected lazily so SCIM keeps answering
 * without it. With API_WORKERS > 1 the primary migrates once, then forks that many HTTP workers sharing the port.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'api');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (make start sets it to the embedded server)');
  if (cluster.isPrimary) {
    const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
    await migrateLatest(db);
    await db.destroy();
    if (config.API_WORKERS > 1) return superviseWorkers(config, logger);
  }
  await serve(config, logger);
}

async function serve(config: Config, logger: Logger): Promise<void> {
  const db = createDb({
    url: config.DATABASE_URL!,
    poolMax: config.DATABASE_POOL_MAX,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  });
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
    previousSecretsKeys: config.SECRETS_KEY_PREVIOUS,
    graphExtraCaPem: config.GRAPH_EXTRA_CA_CERTS ? fs.readFileSync(config.GRAPH_EXTRA_CA_CERTS, 'utf8') : undefined,
    graphAllowedOrigins: config.GRAPH_ALLOWED_ORIGINS,
    inviteSwitchBy: config.INVITE_SWITCH_BY,
  });
  const server = app.listen(config.API_PORT, config.API_HOST, () => {
    logger.info({ url: publicBaseUrl(config), pid: process.pid }, 'api listening');
  });
  // Keep-alive longer than typical load balancers' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;
  onShutdown(logger, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close().catch(() => undefined);
    await db.destroy();
  });
}

function superviseWorkers(config: Config, logger: Logger): void {
  let stopping = false;
  for (let i = 0; i < config.API_WORKERS; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'api worker died; starting another');
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(exitOnStartupFailure);
