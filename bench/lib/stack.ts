import path from 'node:path';
import { loadConfig } from '../../src/config';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { createDb, ensureDatabase, migrateLatest, withDatabase, type Db } from '../../src/db/knex';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-dev-server';
import {
  ensureEmulatorCertificate,
  startGraphEmulator,
  type RequestLogEntry,
  type RunningGraphEmulator,
} from '../../src/emulator';
import { benchGraphTenant } from './hr-data';

export interface BenchStack {
  db: Db;
  /** The database over PostgreSQL's Unix socket, for the worker processes a benchmark spawns. */
  databaseUrl: string;
  temporal: TemporalDevServer;
}

/**
 * Embedded PostgreSQL (migrated database `bench`) and a Temporal dev server in `dir`, on ports from `basePort`; each
 * stop is put at the front of `stops`, so stopping them in order stops the last started first.
 */
export async function startBenchStack(opts: {
  dir: string;
  basePort: number;
  poolMax: number;
  stops: Array<() => Promise<void>>;
}): Promise<BenchStack> {
  const { dir, basePort, stops } = opts;
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: basePort, persistent: false });
  stops.unshift(() => pg.stop());
  await ensureDatabase(pg.url, 'bench');
  const databaseUrl = withDatabase(pg.socketUrl, 'bench');
  const db = createDb({ url: databaseUrl, poolMax: opts.poolMax });
  stops.unshift(() => db.destroy());
  await migrateLatest(db);
  const temporal = await startTemporalDevServer({
    cliPath: loadConfig().TEMPORAL_CLI_PATH,
    dataDir: path.join(dir, 'temporal'),
    host: '127.0.0.1',
    port: basePort + 1,
    uiPort: basePort + 2,
    namespace: 'default',
  });
  stops.unshift(() => temporal.stop());
  return { db, databaseUrl, temporal };
}

/**
 * The Graph emulator over HTTPS (its certificate in `dir`), throttling and request log off, seeded with the bench's
 * Entra tenant (`domain` verified); `onRequest` sees every answered request.
 */
export async function startBenchEmulator(opts: {
  dir: string;
  domain: string;
  stops: Array<() => Promise<void>>;
  onRequest: (e: RequestLogEntry) => void;
}): Promise<{ emulator: RunningGraphEmulator; cert: ReturnType<typeof ensureEmulatorCertificate> }> {
  const cert = ensureEmulatorCertificate(path.join(opts.dir, 'cert'));
  const emulator = await startGraphEmulator({
    port: 0,
    tls: cert,
    throttling: false,
    logRequests: false,
    onRequest: opts.onRequest,
  });
  opts.stops.unshift(() => emulator.stop());
  emulator.seed({ tenants: [benchGraphTenant(opts.domain)] });
  return { emulator, cert };
}
