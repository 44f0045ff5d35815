import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, REPO_ROOT } from '../config';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../db/embedded-postgres';
import { createDb, ensureDatabase, migrateLatest, withDatabase } from '../db/knex';
import { seedDefaultOutboundSettings } from '../db/outbound-settings';
import { ensureDefaultTenant } from '../dev/default-tenant';
import {
  defaultDevSeed,
  ensureEmulatorCertificate,
  startGraphEmulator,
  devGraphConnection,
  type DevGraphConnection,
} from '../emulator';
import {
  assertPortFree,
  startTemporalDevServer,
  stopChild,
  waitForPort,
  type TemporalDevServer,
} from '../dev/temporal-dev-server';
import { createLogger } from '../logger';

/**
 * `make start`: the whole stack in one process tree with state in .data/ — embedded PostgreSQL, the Temporal dev
 * server with its Web UI, the api and the worker — then prints where everything is and writes .data/dev.json.
 * DATABASE_URL and TEMPORAL_ADDRESS switch to external servers. Ctrl-C stops every child.
 */
const DATA_DIR = path.join(REPO_ROOT, '.data');
const DEV_JSON = path.join(DATA_DIR, 'dev.json');
const DEV_SECRETS = path.join(DATA_DIR, 'dev-secrets.json');
/** Invitation emails land here as .eml files unless SMTP_URL is set. */
const MAIL_DIR = path.join(DATA_DIR, 'mail');
const PG_PORT = 5433;
const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;
/** Email domain of the default HR tenant's people; verified in the emulated Entra tenant. */
const DEV_EMAIL_DOMAIN = 'contoso.example';

interface DevJson {
  tenantId: string;
  scim: { baseUrl: string; token: string };
  admin: { baseUrl: string; token: string };
  temporal: { address: string; namespace: string; uiUrl: string | null };
  graph: DevGraphConnection;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writePrivateJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

/** The key that encrypts stored Graph client secrets; generated once per checkout unless SECRETS_KEY is set. */
function devSecretsKey(configured: string | undefined): string {
  if (configured) return configured;
  const saved = readJson<{ secretsKey: string }>(DEV_SECRETS);
  if (saved?.secretsKey) return saved.secretsKey;
  const secretsKey = randomBytes(32).toString('base64');
  writePrivateJson(DEV_SECRETS, { secretsKey });
  return secretsKey;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'dev');
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    // Everything is signalled at once: embedded-postgres installs its own exit hook that ends this process after
    // stopping PostgreSQL, so a sequential shutdown could leave the Temporal server running.
    await Promise.allSettled([
      ...children.map((child) => stopChild(child)),
      ...stops.map((stop) => stop().catch((err: unknown) => logger.warn({ err }, 'stop failed'))),
    ]);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    // PostgreSQL
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      await assertPortFree('127.0.0.1', PG_PORT, 'PostgreSQL');
      const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({
        dataDir: path.join(DATA_DIR, 'postgres'),
        port: PG_PORT,
        persistent: true,
      });
      stops.push(() => pg.stop());
      await ensureDatabase(pg.url, 'entra_sync');
      // The api and worker run on this machine: the Unix socket spares them the loopback TCP stack.
      databaseUrl = withDatabase(pg.socketUrl, 'entra_sync');
    }
    const db = createDb({ url: databaseUrl, poolMax: 2 });
    await migrateLatest(db);

    // Temporal
    let temporal: TemporalDevServer | undefined;
    const temporalAddress = config.temporalAddressGiven ? config.TEMPORAL_ADDRESS : undefined;
    if (!temporalAddress) {
      temporal = await startTemporalDevServer({
        cliPath: config.TEMPORAL_CLI_PATH,
        dataDir: path.join(DATA_DIR, 'temporal'),
        host: '127.0.0.1',
        port: TEMPORAL_PORT,
        uiPort: TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
      });
      stops.push(() => temporal!.stop());
    }

    // Graph emulator (in this process), state kept in .data/emulator across restarts
    const emulatorDir = path.join(DATA_DIR, 'emulator');
    const cert = ensureEmulatorCertificate(emulatorDir);
    const snapshotPath = path.join(emulatorDir, 'state.json');
    const freshEmulator = !fs.existsSync(snapshotPath);
    await assertPortFree(config.EMULATOR_HOST, config.EMULATOR_PORT, 'Graph emulator');
    const emulator = await startGraphEmulator({
      host: config.EMULATOR_HOST,
      port: config.EMULATOR_PORT,
      tls: { cert: cert.cert, key: cert.key },
      snapshotPath,
    });
    stops.push(() => emulator.stop());
    if (freshEmulator) emulator.seed(defaultDevSeed({ domain: DEV_EMAIL_DOMAIN }));
    const graph = devGraphConnection(emulator.url, cert.certPath);

    // Default tenant and its tokens
    const previous = readJson<DevJson>(DEV_JSON);
    const creds = await ensureDefaultTenant(
      db,
      previous && {
        tenantId: previous.tenantId,
        scimToken: previous.scim?.token,
        adminToken: previous.admin?.token,
      },
    );
    const secretsKey = devSecretsKey(config.SECRETS_KEY);
    // The default tenant provisions into the emulated Entra tenant; an admin's later mapping changes are kept.
    await seedDefaultOutboundSettings(
      db,
      creds.tenantId,
      {
        graphTenantId: graph.tenantId,
        clientId: graph.clientId,
        clientSecret: graph.clientSecret,
        authorityHost: graph.authorityHost,
        graphBaseUrl: graph.emulatorUrl,
      },
      Buffer.from(secretsKey, 'base64'),
    );
    await db.destroy();

    // api and worker as child processes, like in production
    const apiBase = `http://${config.API_HOST}:${config.API_PORT}`;
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal?.address ?? config.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
      SECRETS_KEY: secretsKey,
      // The emulator's self-signed certificate, trusted by the Graph client (and by Node, which reads
      // NODE_EXTRA_CA_CERTS only at process start).
      GRAPH_EXTRA_CA_CERTS: cert.certPath,
      // The emulator is where the default tenant's settings point; Microsoft's clouds are always allowed.
      GRAPH_ALLOWED_ORIGINS: [graph.emulatorUrl, graph.authorityHost, process.env.GRAPH_ALLOWED_ORIGINS ?? '']
        .filter(Boolean)
        .join(','),
      NODE_EXTRA_CA_CERTS: cert.certPath,
      // Invitations (tenants' inviteNewEmployees) as files a developer can open, unless SMTP_URL sends them.
      ...(!config.SMTP_URL && { INVITE_MAIL_DIR: config.INVITE_MAIL_DIR ?? MAIL_DIR }),
      INVITE_FROM: config.INVITE_FROM ?? `"entra-sync (dev)" <no-reply@${DEV_EMAIL_DOMAIN}>`,
      INVITE_SIGN_IN_URL: config.INVITE_SIGN_IN_URL ?? `https://hr.${DEV_EMAIL_DOMAIN}/sign-in`,
    };
    const worker = spawn(process.execPath, [path.join(__dirname, 'worker.js')], { env: childEnv, stdio: 'inherit' });
    children.push(worker);
    worker.once('exit', (code) => {
      if (!stopping) {
        logger.error({ code }, 'worker exited');
        void stopAll(1);
      }
    });
    await assertPortFree(config.API_HOST, config.API_PORT, 'api');
    const api = spawn(process.execPath, [path.join(__dirname, 'api.js')], { env: childEnv, stdio: 'inherit' });
    children.push(api);
    api.once('exit', (code) => {
      if (!stopping) {
        logger.error({ code }, 'api exited');
        void stopAll(1);
      }
    });
    await waitForPort(config.API_HOST, config.API_PORT, api, 30_000);

    const dev: DevJson = {
      tenantId: creds.tenantId,
      scim: { baseUrl: `${apiBase}/scim/v2`, token: creds.scimToken },
      admin: { baseUrl: `${apiBase}/admin/v1`, token: creds.adminToken },
      temporal: {
        address: temporal?.address ?? config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        uiUrl: temporal?.uiUrl ?? null,
      },
      graph,
    };
    writePrivateJson(DEV_JSON, dev);
    console.log(
      [
        '',
        'entra-sync is running',
        `  SCIM base URL   ${dev.scim.baseUrl}`,
        `  SCIM token      ${dev.scim.token}`,
        `  Admin API       ${dev.admin.baseUrl}   (OpenAPI: ${dev.admin.baseUrl}/openapi.json)`,
        `  Admin token     ${dev.admin.token}`,
        `  Temporal        ${dev.temporal.address}   namespace ${dev.temporal.namespace}`,
        `  Temporal UI     ${dev.temporal.uiUrl ?? '(external server)'}`,
        `  Graph emulator  ${graph.emulatorUrl}   (Graph base ${graph.graphBaseUrl}; users: ${graph.emulatorUrl}/_emulator/users)`,
        `  Emulated Entra  tenant ${graph.tenantId}, app ${graph.clientId}, verified domain ${DEV_EMAIL_DOMAIN}`,
        `  Invitations     ${config.SMTP_URL ? 'sent by SMTP (SMTP_URL)' : `${path.relative(process.cwd(), config.INVITE_MAIL_DIR ?? MAIL_DIR)}/ (.eml files)`}   when a tenant's inviteNewEmployees is on`,
        `  Everything above is also in ${path.relative(process.cwd(), DEV_JSON)}. Ctrl-C stops it all.`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    logger.error({ err }, 'start failed');
    await stopAll(1);
  }
}

void main();
