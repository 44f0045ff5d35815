import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/knex';
import { invitationDeliveryFromConfig } from '../invitations/transport';
import { createLogger } from '../logger';
import { outboxRetentionMsFromConfig } from '../relay/outbox-pruner';
import { createWorkerProcess, writeBudgetFromConfig } from '../worker';
import { installTemporalLogging } from '../worker/temporal-logging';
import { exitOnStartupFailure, onShutdown } from './shutdown';

/** The worker process: Temporal worker for outbound provisioning, the outbox relay and the invitation mailer. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  installTemporalLogging(logger.child({ component: 'temporal' }));
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (make start sets it to the embedded server)');
  const db = createDb({
    url: config.DATABASE_URL,
    poolMax: config.DATABASE_POOL_MAX,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  });
  await migrateLatest(db);
  const proc = await createWorkerProcess({
    db,
    logger,
    temporalAddress: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    secretsKey: config.SECRETS_KEY ? Buffer.from(config.SECRETS_KEY, 'base64') : undefined,
    previousSecretsKeys: config.SECRETS_KEY_PREVIOUS,
    extraCaPath: config.GRAPH_EXTRA_CA_CERTS,
    graphAllowedOrigins: config.GRAPH_ALLOWED_ORIGINS,
    debounceMs: config.OUTBOUND_DEBOUNCE_MS,
    enrolmentsInFlight: config.OUTBOUND_ENROLMENTS_IN_FLIGHT,
    relayListen: config.OUTBOX_RELAY_LISTEN,
    outboxRetentionMs: outboxRetentionMsFromConfig(config),
    syncAttemptTimeoutMs: config.OUTBOUND_SYNC_ATTEMPT_TIMEOUT_MS,
    writeBudget: writeBudgetFromConfig(config),
    invitations: invitationDeliveryFromConfig(config),
  });
  if (!config.SECRETS_KEY) logger.warn('SECRETS_KEY is not set: stored Graph client secrets cannot be decrypted');
  onShutdown(logger, async () => {
    await proc.stop();
    await db.destroy();
  });
  proc.done.catch((err: unknown) => {
    logger.fatal({ err }, 'Temporal worker crashed');
    process.exit(1);
  });
}

main().catch(exitOnStartupFailure);
