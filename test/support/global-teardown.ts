import type { SharedServers } from './shared';

export default async function globalTeardown(): Promise<void> {
  const shared = (globalThis as { __entraSyncServers?: SharedServers }).__entraSyncServers ?? {};
  await shared.stopTemporal?.();
  await shared.stopPostgres?.();
}
