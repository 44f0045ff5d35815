import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { recordEmployeeChange } from '../src/db/changes';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { createDb, ensureDatabase, migrateLatest, type Db } from '../src/db/knex';
import { upsertOutboundSettings } from '../src/db/outbound-settings';
import { createTenant } from '../src/db/tenants';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { ensureEmulatorCertificate, startGraphEmulator } from '../src/emulator';
import { DEFAULT_MAPPING } from '../src/graph/mapping';
import { createLogger } from '../src/logger';
import { createWorkerProcess } from '../src/worker';
import type { employeeSyncWorkflow } from '../src/workflows/employee-sync';
import { employeeSyncWorkflowId, enrolSignal, type EnrolSignal } from '../src/workflows/messages';
import { percentile } from './lib/load';

/**
 * bench/outbound — outbound provisioning end to end on embedded PostgreSQL, a Temporal dev server (SQLite) and the
 * Graph emulator (in this process, Graph's throttling limits on): employee rows + outbox → relay → one workflow per
 * employee → syncEmployeeToEntra → emulator. Prints employees/s for creates and updates, Graph requests per
 * create / update / no-op sync, propagation latency p50/p99 (commit → synced to Entra), RSS, and the rate of a
 * trivial workflow on the same server as the ceiling; ends with one JSON line.
 *
 *   node dist/bench/outbound.js [--employees 300] [--samples 60]
 */
interface Options {
  employees: number;
  samples: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { employees: 300, samples: 60 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '') as keyof Options;
    if (!(key in opts)) throw new Error(`unknown option ${argv[i]}`);
    opts[key] = Number(argv[i + 1]);
  }
  return opts;
}

const ENTRA_TENANT = '7a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const APP_ID = '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const SECRET = 'bench-secret';
const DOMAIN = 'bench.example';

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function countSynced(db: Db, tenantId: string, atLeast: 'version' | Date): Promise<number> {
  const q = db('employee_provisioning as p')
    .join('employees as e', 'e.id', 'p.employee_id')
    .where('p.tenant_id', tenantId)
    .where('p.state', 'SYNCED');
  if (atLeast === 'version') q.whereRaw('p.synced_version >= e.version');
  else q.where('p.last_synced_at', '>=', atLeast);
  const [{ n }] = await q.count<Array<{ n: number }>>({ n: '*' });
  return Number(n);
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const opts = parseArgs(argv);
  try {
    // Keep the SDK's worker lifecycle chatter out of the figures (only once per process).
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed by another benchmark in this process
  }
  const config = loadConfig();
  const logger = createLogger('warn', 'bench-outbound');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-bench-outbound-'));
  const base = 56000 + Math.floor(Math.random() * 4000);
  const stops: Array<() => Promise<void>> = [];
  try {
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: base, persistent: false });
    stops.unshift(() => pg.stop());
    const db = createDb({ url: await ensureDatabase(pg.url, 'bench'), poolMax: 20 });
    stops.unshift(() => db.destroy());
    await migrateLatest(db);

    const temporal = await startTemporalDevServer({
      cliPath: config.TEMPORAL_CLI_PATH,
      dataDir: path.join(dir, 'temporal'),
      host: '127.0.0.1',
      port: base + 1,
      uiPort: base + 2,
      namespace: 'default',
    });
    stops.unshift(() => temporal.stop());

    const cert = ensureEmulatorCertificate(path.join(dir, 'cert'));
    const emulator = await startGraphEmulator({ port: 0, tls: cert, throttling: true });
    stops.unshift(() => emulator.stop());
    emulator.seed({
      tenants: [
        {
          id: ENTRA_TENANT,
          domains: [{ id: DOMAIN, isVerified: true }],
          apps: [
            {
              appId: APP_ID,
              secret: SECRET,
              permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
            },
          ],
        },
      ],
    });
    const requestsSince = await graphRequestCounter(emulator.url, cert.cert);

    const secretsKey = randomBytes(32);
    const tenant = await createTenant(db, { name: 'Bench' });
    await upsertOutboundSettings(
      db,
      tenant.id,
      {
        enabled: true,
        graphTenantId: ENTRA_TENANT,
        clientId: APP_ID,
        clientSecret: SECRET,
        authorityHost: emulator.url,
        graphBaseUrl: emulator.url,
        mapping: DEFAULT_MAPPING,
      },
      secretsKey,
    );
    // The ceiling first, on the fresh server: completed trivial workflows per second.
    const ceiling = await trivialWorkflowRate(temporal.address, opts.employees);
    const taskQueue = 'bench-outbound';
    const worker = await createWorkerProcess({
      db,
      logger,
      temporalAddress: temporal.address,
      taskQueue,
      secretsKey,
      extraCaPem: cert.cert,
      relayPollIntervalMs: 20,
    });
    stops.unshift(() => worker.stop());
    const n = opts.employees;

    // Creates: N new employees committed as fast as one writer can, then wait until every one is in Entra.
    await requestsSince.reset();
    const ids: string[] = [];
    const createStart = Date.now();
    for (let i = 0; i < n; i++) {
      ids.push(
        await db.transaction(async (trx) => {
          const [row] = await trx('employees')
            .insert({
              tenant_id: tenant.id,
              user_name: `user${i}@${DOMAIN}`,
              given_name: `Given${i}`,
              family_name: `Family${i}`,
              job_title: 'Engineer',
              version: 0,
            })
            .returning('id');
          await recordEmployeeChange(trx, {
            tenantId: tenant.id,
            employeeId: row.id,
            changedAttributes: ['userName', 'givenName', 'familyName', 'jobTitle'],
            changes: {},
            action: 'created',
            source: 'scim',
          });
          return row.id as string;
        }),
      );
    }
    await waitFor('creates', async () => (await countSynced(db, tenant.id, 'version')) === n);
    const createSeconds = (Date.now() - createStart) / 1000;
    const createRequests = await requestsSince.count();

    // Updates: one watched attribute of every employee.
    await requestsSince.reset();
    const updateStart = Date.now();
    for (const id of ids) await change(db, tenant.id, id, { job_title: 'Senior Engineer' }, ['jobTitle']);
    await waitFor('updates', async () => (await countSynced(db, tenant.id, 'version')) === n);
    const updateSeconds = (Date.now() - updateStart) / 1000;
    const updateRequests = await requestsSince.count();

    // No-op: enrol everybody again; nothing differs, so only reads may go out.
    await requestsSince.reset();
    const noopStart = new Date();
    await Promise.all(
      ids.map((id) =>
        worker.client.workflow.signalWithStart<typeof employeeSyncWorkflow, [EnrolSignal]>('employeeSyncWorkflow', {
          workflowId: employeeSyncWorkflowId(tenant.id, id),
          taskQueue,
          args: [{ tenantId: tenant.id, employeeId: id }],
          signal: enrolSignal,
          signalArgs: [{ source: 'bench' }],
        }),
      ),
    );
    await waitFor('no-op syncs', async () => (await countSynced(db, tenant.id, noopStart)) === n);
    const noopRequests = await requestsSince.count();

    // Propagation: one change at a time, commit → recorded as synced (after Graph answered the PATCH).
    const latencies: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const id = ids[i % ids.length]!;
      const t0 = performance.now();
      const version = await change(db, tenant.id, id, { department: `Dept ${i}` }, ['department']);
      await waitFor('propagation', async () => {
        const row = await db('employee_provisioning')
          .where({ tenant_id: tenant.id, employee_id: id })
          .first('synced_version');
        return (row?.synced_version ?? 0) >= version;
      });
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    if (process.env.BENCH_DEBUG) console.log('latencies', latencies.map(Math.round).join(' '));
    const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);

    const result = {
      bench: 'outbound',
      employees: n,
      create_employees_per_s: round(n / createSeconds),
      update_employees_per_s: round(n / updateSeconds),
      graph_requests_per_create: round(createRequests.total / n),
      graph_writes_per_create: round(createRequests.writes / n),
      graph_requests_per_update: round(updateRequests.total / n),
      graph_writes_per_update: round(updateRequests.writes / n),
      graph_requests_per_noop: round(noopRequests.total / n),
      graph_writes_per_noop: round(noopRequests.writes / n),
      propagation_p50_ms: round(percentile(latencies, 50)),
      propagation_p99_ms: round(percentile(latencies, 99)),
      rss_mb: rssMb,
      trivial_workflows_per_s: round(ceiling),
    };
    console.log(`employees                 ${n}`);
    console.log(
      `creates                   ${result.create_employees_per_s} employees/s  (${result.graph_requests_per_create} Graph requests, ${result.graph_writes_per_create} writes each)`,
    );
    console.log(
      `updates                   ${result.update_employees_per_s} employees/s  (${result.graph_requests_per_update} Graph requests, ${result.graph_writes_per_update} writes each)`,
    );
    console.log(
      `no-op syncs               ${result.graph_requests_per_noop} Graph requests, ${result.graph_writes_per_noop} writes each`,
    );
    console.log(
      `propagation (commit → Entra) p50 ${result.propagation_p50_ms} ms, p99 ${result.propagation_p99_ms} ms  (${opts.samples} single changes)`,
    );
    console.log(`RSS                       ${rssMb} MB (this process: worker, relay and the emulator)`);
    console.log(
      `ceiling                   ${result.trivial_workflows_per_s} trivial workflows/s on the same Temporal dev server`,
    );
    console.log(JSON.stringify(result));
    return result;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

async function change(
  db: Db,
  tenantId: string,
  id: string,
  cols: Record<string, unknown>,
  attrs: string[],
): Promise<number> {
  return db.transaction(async (trx) => {
    await trx('employees').where({ tenant_id: tenantId, id }).update(cols);
    return recordEmployeeChange(trx, {
      tenantId,
      employeeId: id,
      changedAttributes: attrs,
      changes: {},
      action: 'updated',
      source: 'scim',
    });
  });
}

/** Graph requests (not identity) the emulator answered since the last reset, from its request log. */
async function graphRequestCounter(url: string, ca: string) {
  const https = await import('node:https');
  const agent = new https.Agent({ keepAlive: true, ca });
  const call = (method: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request(`${url}/_emulator/requests`, { method, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
  return {
    reset: async () => void (await call('DELETE')),
    count: async () => {
      const entries = (await call('GET'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { method: string; url: string })
        .filter((e) => e.url.includes('/v1.0/'));
      const writes = entries.filter(
        (e) => e.method !== 'GET' && !e.url.includes('getAvailableExtensionProperties'),
      ).length;
      return { total: entries.length, writes };
    },
  };
}

/** Completed trivial workflows per second (start + complete, 50 in flight) on the same server. */
async function trivialWorkflowRate(address: string, count: number): Promise<number> {
  const taskQueue = `bench-trivial-${randomUUID()}`;
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: require.resolve('./outbound-trivial-workflow'),
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  try {
    return await worker.runUntil(async () => {
      const queue = Array.from({ length: count }, (_, i) => i);
      const start = Date.now();
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
            await client.workflow.execute('trivialWorkflow', { taskQueue, workflowId: `trivial-${taskQueue}-${i}` });
          }
        }),
      );
      return count / ((Date.now() - start) / 1000);
    });
  } finally {
    await connection.close();
    await native.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
