import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { TokenService } from './auth';
import { FaultState } from './faults';
import { RequestLog, type RequestLogEntry } from './request-log';
import { applySeed, DEV_APP_ID, DEV_CLIENT_SECRET, DEV_TENANT_ID, type SeedInput, type SeedResult } from './seed';
import { createRequestHandler } from './server';
import { readSnapshot, SnapshotWriter, writeSnapshot } from './state/snapshot';
import { EmulatorStore } from './state/store';
import { DEFAULT_THROTTLE_LIMITS, Throttle, type ThrottleLimits } from './throttle';
import type { EmulatorContext } from './types';

/**
 * Local stand-in for Microsoft Graph v1.0 and the identity platform's token endpoint. Every outbound feature is
 * built and tested against it, so it copies Graph's contract strictly (docs/graph-emulator.md).
 */

export type { SeedInput, SeedResult, SeedApp, SeedDomain, SeedUser, SeedExtensionProperty } from './seed';
export {
  defaultDevSeed,
  DEV_APP_ID,
  DEV_APP_OBJECT_ID,
  DEV_CLIENT_SECRET,
  DEV_PERMISSIONS,
  DEV_TENANT_ID,
} from './seed';
export { DEFAULT_THROTTLE_LIMITS, type ThrottleLimits } from './throttle';
export type { RequestLogEntry } from './request-log';
export { ensureEmulatorCertificate } from './certificate';

export interface GraphEmulatorOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  tls: { cert: string; key: string };
  /** Graph's limits by default; `false` for raw-speed benchmarks; an object overrides single limits. */
  throttling?: boolean | Partial<ThrottleLimits>;
  /** Load state from this JSON file at start (if present) and write it back after changes. */
  snapshotPath?: string;
  /** Keep the request log (`GET /_emulator/requests`); default true. */
  logRequests?: boolean;
  /** Called in-process with every answered request (redacted like the log), whether or not the log is kept. */
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface RunningGraphEmulator {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  stop(): Promise<void>;
  seed(input: SeedInput): SeedResult;
  reset(): void;
}

export function startGraphEmulator(options: GraphEmulatorOptions): Promise<RunningGraphEmulator> {
  const store = new EmulatorStore();
  const faults = new FaultState();
  const throttleOpt = options.throttling ?? true;
  const throttle = new Throttle(
    throttleOpt !== false,
    typeof throttleOpt === 'object' ? { ...DEFAULT_THROTTLE_LIMITS, ...throttleOpt } : DEFAULT_THROTTLE_LIMITS,
  );
  const ctx: EmulatorContext = { store, faults, now: Date.now };
  const tokens = new TokenService(store);
  const log = new RequestLog(options.logRequests ?? true, undefined, options.onRequest);

  let snapshot: SnapshotWriter | undefined;
  if (options.snapshotPath) {
    const file = options.snapshotPath;
    const key = readSnapshot(file, store);
    if (key) tokens.signingKey = key;
    snapshot = new SnapshotWriter(file, () => writeSnapshot(file, store, tokens.signingKey));
    store.onChange = () => snapshot!.schedule();
  }

  const reset = (): void => {
    store.reset();
    throttle.reset();
    faults.reset();
    log.clear();
    tokens.clearCache();
  };

  const handler = createRequestHandler({ ctx, throttle, tokens, log, operator: { ctx, throttle, log, tokens, reset } });
  const server = https.createServer(
    { cert: options.tls.cert, key: options.tls.key, keepAliveTimeout: 65_000 },
    handler,
  );
  const host = options.host ?? '127.0.0.1';

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `https://${urlHost}:${port}`,
        port,
        seed: (input) => applySeed(ctx, input),
        reset,
        stop: () =>
          new Promise<void>((done) => {
            snapshot?.flush();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
export { trustCertificateInProcess } from './trust';

/** The `"graph"` block the dev launcher writes to `.data/dev.json` after seeding `defaultDevSeed`. */
export interface DevGraphConnection {
  emulatorUrl: string;
  graphBaseUrl: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPath: string;
}

export function devGraphConnection(emulatorUrl: string, caCertPath: string): DevGraphConnection {
  return {
    emulatorUrl,
    graphBaseUrl: `${emulatorUrl}/v1.0`,
    authorityHost: emulatorUrl,
    tenantId: DEV_TENANT_ID,
    clientId: DEV_APP_ID,
    clientSecret: DEV_CLIENT_SECRET,
    caCertPath,
  };
}
