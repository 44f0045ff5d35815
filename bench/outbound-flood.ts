import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordEmployeeChange } from '../src/db/changes';
import type { Db } from '../src/db/knex';
import { upsertOutboundSettings } from '../src/db/outbound-settings';
import { enrolEmployees } from '../src/db/provisioning';
import { createTenant } from '../src/db/tenants';
import { stopChild } from '../src/dev/temporal-dev-server';
import { benchOutboundSettings, createEmployees } from './lib/hr-data';
import { percentile } from './lib/load';
import { startBenchEmulator, startBenchStack } from './lib/stack';
import { parseNumberOptions } from './lib/args';
import { runAsScript } from './lib/main';

/**
 * bench/outbound-flood — HR changes while a flood of writes waits for Graph's write budget. The worker's budget is set
 * below the flood (`--budget` writes per 150 s, default 300), so the flood spends its share of the window within
 * seconds and the rest of it waits for the window to pass. Meanwhile HR changes a watched attribute of employees
 * already in Entra, once a second: how long until each change (or a later one of the same employee, which supersedes
 * it) reached Graph? Two floods, each with a fresh worker: an initial push (`--enrolments`, the admin enrols employees
 * already in HR) and new hires (`--hires`, employees committed as SCIM commits them, each a first sync that creates
 * an account). Before the worker kept room for changes they waited for the window like the flood (~130 s).
 *
 *   node dist/bench/outbound-flood.js [--enrolments 400] [--hires 400] [--budget 300] [--changes 15]
 */
interface Options {
  enrolments: number;
  hires: number;
  budget: number;
  changes: number;
}

type Flood = 'enrolments' | 'hires';

const DOMAIN = 'flood.example';
/** Employees in Entra before the flood; HR changes them during it. */
const CHANGED_EMPLOYEES = 5;

function parseArgs(argv: string[]): Options {
  return parseNumberOptions<Options>(argv, { enrolments: 400, hires: 400, budget: 300, changes: 15 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function syncedCount(db: Db, ids: string[]): Promise<number> {
  const [{ n }] = await db('employee_provisioning')
    .whereIn('employee_id', ids)
    .where({ state: 'SYNCED' })
    .count<Array<{ n: number }>>({ n: '*' });
  return Number(n);
}

interface Stack {
  db: Db;
  databaseUrl: string;
  temporalAddress: string;
  emulatorUrl: string;
  certPath: string;
  dir: string;
  /** When the emulator accepted a PATCH carrying each department value. */
  patched: Map<string, number>;
}

/** One flood of `size` writes with a fresh tenant and worker process; returns the changes' figures. */
async function measureFlood(stack: Stack, flood: Flood, size: number, opts: Options) {
  const { db } = stack;
  const secretsKey = randomBytes(32);
  const tenant = await createTenant(db, { name: `Flood ${flood}` });
  await upsertOutboundSettings(db, tenant.id, benchOutboundSettings(stack.emulatorUrl), secretsKey);
  const changed = await createEmployees(db, tenant.id, DOMAIN, `${flood}-changed`, CHANGED_EMPLOYEES);
  const pushed = flood === 'enrolments' ? await createEmployees(db, tenant.id, DOMAIN, 'pushed', size) : [];

  const worker = spawn(process.execPath, [path.join(__dirname, '../src/bin/worker.js')], {
    env: {
      ...process.env,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_TASK_QUEUE: `bench-flood-${flood}`,
      SECRETS_KEY: secretsKey.toString('base64'),
      GRAPH_EXTRA_CA_CERTS: stack.certPath,
      GRAPH_ALLOWED_ORIGINS: stack.emulatorUrl,
      GRAPH_WRITES_PER_WINDOW: String(opts.budget),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', fs.openSync(path.join(stack.dir, `worker-${flood}.log`), 'a')],
  });
  try {
    // The HR data was loaded while outbound provisioning was off: the relay passes its rows by before it is on.
    const undelivered = async () =>
      Number((await db('outbox').whereNull('delivered_at').count<Array<{ n: number }>>({ n: '*' }))[0]!.n);
    while ((await undelivered()) > 0) await sleep(200);
    await upsertOutboundSettings(db, tenant.id, { enabled: true }, secretsKey);
    await enrolEmployees(db, tenant.id, changed);
    while ((await syncedCount(db, changed)) < CHANGED_EMPLOYEES) await sleep(200);

    console.log(
      `${flood}: ${size} with a write budget of ${opts.budget} per 150 s; HR changes of accounts in Entra 1/s meanwhile…`,
    );
    const t0 = performance.now();
    const flooded =
      flood === 'enrolments'
        ? (await enrolEmployees(db, tenant.id, pushed), pushed)
        : await createEmployees(db, tenant.id, DOMAIN, 'hired', size);
    // Until the flood has spent its share of the window (each employee is one write, a create).
    while ((await syncedCount(db, flooded)) < Math.floor(opts.budget * 0.9)) await sleep(200);
    const spentAfter = performance.now() - t0;

    const sent: Array<{ employee: number; value: string; at: number }> = [];
    for (let i = 0; i < opts.changes; i++) {
      const change = { employee: i % CHANGED_EMPLOYEES, value: `Flood ${flood} ${i}`, at: performance.now() };
      sent.push(change);
      await db.transaction((trx) =>
        recordEmployeeChange(
          trx,
          {
            tenantId: tenant.id,
            employeeId: changed[change.employee]!,
            changedAttributes: ['department'],
            changes: {},
            action: 'updated',
            source: 'scim',
          },
          { department: change.value },
        ),
      );
      await sleep(1000);
    }
    /** The first PATCH carrying this change or a later one of the same employee (a sync reads the current row). */
    const arrival = (i: number): number | undefined => {
      let first: number | undefined;
      for (const later of sent.slice(i)) {
        const at = later.employee === sent[i]!.employee ? stack.patched.get(later.value) : undefined;
        if (at !== undefined && (first === undefined || at < first)) first = at;
      }
      return first;
    };
    while (sent.some((_, i) => arrival(i) === undefined)) await sleep(100);
    const latencies = sent.map((s, i) => arrival(i)! - s.at).sort((a, b) => a - b);
    const syncedMeanwhile = await syncedCount(db, flooded);
    const round = (x: number) => Math.round(x * 10) / 10;
    const figures = {
      p50: round(percentile(latencies, 50)),
      max: round(latencies.at(-1) ?? 0),
      syncedMeanwhile,
    };
    console.log(
      `  flood        ${Math.floor(opts.budget * 0.9)} of ${size} synced after ${round(spentAfter / 1000)} s; the rest wait for the window`,
    );
    console.log(
      `  HR changes   SCIM commit → Graph PATCH p50 ${figures.p50} ms, max ${figures.max} ms (${opts.changes} at 1/s; ${syncedMeanwhile} of the flood synced by the last)`,
    );
    return figures;
  } finally {
    await stopChild(worker);
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const opts = parseArgs(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-bench-flood-'));
  const base = 52000 + Math.floor(Math.random() * 4000);
  const stops: Array<() => Promise<void>> = [];
  try {
    const { db, databaseUrl, temporal } = await startBenchStack({ dir, basePort: base, poolMax: 5, stops });
    const patched = new Map<string, number>();
    const { emulator, cert } = await startBenchEmulator({
      dir,
      domain: DOMAIN,
      stops,
      onRequest: (e) => {
        const department = (e.body as { department?: unknown } | null)?.department;
        if (e.method === 'PATCH' && e.status < 300 && typeof department === 'string') {
          patched.set(department, performance.now());
        }
      },
    });
    const stack: Stack = {
      db,
      databaseUrl,
      temporalAddress: temporal.address,
      emulatorUrl: emulator.url,
      certPath: cert.certPath,
      dir,
      patched,
    };

    const result: Record<string, unknown> = {
      bench: 'outbound-flood',
      budget_per_150s: opts.budget,
      changes: opts.changes,
    };
    for (const flood of ['enrolments', 'hires'] as const) {
      if (opts[flood] <= 0) continue;
      const f = await measureFlood(stack, flood, opts[flood], opts);
      Object.assign(result, {
        [flood]: opts[flood],
        [`${flood}_change_p50_ms`]: f.p50,
        [`${flood}_change_max_ms`]: f.max,
        [`${flood}_synced_meanwhile`]: f.syncedMeanwhile,
      });
    }
    console.log(JSON.stringify(result));
    return result;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(() => main());
