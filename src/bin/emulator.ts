import path from 'node:path';
import pino from 'pino';
import { loadConfig, REPO_ROOT } from '../config';
import { defaultDevSeed, ensureEmulatorCertificate, startGraphEmulator, DEV_APP_ID, DEV_TENANT_ID } from '../emulator';

/**
 * Runs the Graph emulator alone: `node dist/src/bin/emulator.js`. Certificate and snapshot live in `.data/`.
 * With EMULATOR_SEED_DOMAIN set, seeds the development tenant (verified domain = that value).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.LOG_LEVEL, name: 'graph-emulator' });
  const dataDir = path.join(REPO_ROOT, '.data');
  const tls = ensureEmulatorCertificate(path.join(dataDir, 'emulator'));
  const emulator = await startGraphEmulator({
    host: config.EMULATOR_HOST,
    port: config.EMULATOR_PORT,
    tls,
    throttling: config.EMULATOR_THROTTLING,
    snapshotPath: config.EMULATOR_SNAPSHOT_PATH ?? path.join(dataDir, 'emulator', 'state.json'),
  });
  if (config.EMULATOR_SEED_DOMAIN) emulator.seed(defaultDevSeed({ domain: config.EMULATOR_SEED_DOMAIN }));
  logger.info(
    {
      url: emulator.url,
      graphBaseUrl: `${emulator.url}/v1.0`,
      authorityHost: emulator.url,
      caCertPath: tls.certPath,
      ...(config.EMULATOR_SEED_DOMAIN ? { tenantId: DEV_TENANT_ID, clientId: DEV_APP_ID } : {}),
    },
    'graph emulator listening',
  );
  // The one line a human or script needs: where it listens.
  process.stdout.write(`${emulator.url}\n`);
  const stop = (): void => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
