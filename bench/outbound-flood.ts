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
import { benchOutboundSettings, changeEmployees, createEmployees } from './lib/hr-data';
import { percentile } from './lib/load';
import { startBenchEmulator, startBenchStack } from './lib/stack';
import { parseNumberOptions } from './lib/args';
import { runAsScript } from './lib/main';

/**
 * bench/outbound-flood — HR changes while a flood of writes waits for Graph's write budget. The worker's budget is set
 * below the flood (`--budget` writes per 150 s, default 300), so the flood spends its share of the window within
 * seconds and the rest of it waits for the window to pass. Meanwhile HR changes employees already in Entra, once a
 * second: how long until each change (or a later one of the same employee, which supersedes it) reached Graph? Three
 * floods, each with a fresh worker:
 * - an initial push (`--enrolments`: the admin enrols employees already in HR), HR changing a department meanwhile;
 * - new hires (`--hires`: employees committed as SCIM commits them, each a first sync that creates an account), HR
 *   changing a department meanwhile;
 * - a mass update (`--updates`: the department of that many accounts already in Entra changes at once, a
 *   reorganisation), employees leaving meanwhile whose own new department still waits (each a disable, the
 *   lifecycle lane, which calls the waiting sync off). The leavers get 5 % of the
 *   scaled-down budget (`GRAPH_LIFECYCLE_RESERVE_PERCENT`, default 1 % = 30 of Graph's 3,000), so their 15 fit the
 *   window as the 15 department changes fit the changes' 5 % in the other floods.
 * Before the worker kept room for changes they waited for the window like the flood (~130 s).
 *
 *   node dist/bench/outbound-flood.js [--enrolments 400] [--hires 400] [--updates 400] [--budget 300] [--changes 15]
 */
interface Options {
  enrolments: number;
  hires: number;
  updates: number;
  budget: number;
  changes: number;
}

type Flood = 'enrolments' | 'hires' | 'updates';

const DOMAIN = 'flood.example';
/** Employees in Entra before the flood whose department HR changes during it (the leavers are one per change). */
const CHANGED_EMPLOYEES = 5;
/** The department the mass update gives everyone. */
const REORGANISED = 'Reorganised';

function parseArgs(argv: string[]): Options {
  return parseNumberOptions<Options>(argv, { enrolments: 400, hires: 400, updates: 400, budget: 300, changes: 15 });
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
  /**
   * When the emulator accepted a PATCH carrying each department value, and (`disabled <object id>`) each PATCH that
   * disabled an account.
   */
  patched: Map<string, number>;
  /** PATCHes that carried the mass update's department. */
  reorganised: { count: number };
}

function spawnWorker(stack: Stack, flood: Flood, secretsKey: Buffer, env: Record<string, string>) {
  // The worker's JSON log lines (its own and the Temporal SDK's) and anything else it prints.
  const log = fs.openSync(path.join(stack.dir, `worker-${flood}.log`), 'a');
  return spawn(process.execPath, [path.join(__dirname, '../src/bin/worker.js')], {
    env: {
      ...process.env,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_TASK_QUEUE: `bench-flood-${flood}`,
      SECRETS_KEY: secretsKey.toString('base64'),
      GRAPH_EXTRA_CA_CERTS: stack.certPath,
      GRAPH_ALLOWED_ORIGINS: stack.emulatorUrl,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', log, log],
  });
}

/** One flood of `size` writes with a fresh tenant and worker process; returns the changes' figures. */
async function measureFlood(stack: Stack, flood: Flood, size: number, opts: Options) {
  const { db } = stack;
  const secretsKey = randomBytes(32);
  const tenant = await createTenant(db, { name: `Flood ${flood}` });
  await upsertOutboundSettings(db, tenant.id, benchOutboundSettings(stack.emulatorUrl), secretsKey);
  const changedCount = flood === 'updates' ? opts.changes : CHANGED_EMPLOYEES;
  const changed = await createEmployees(db, tenant.id, DOMAIN, `${flood}-changed`, changedCount);
  const existing = flood === 'hires' ? [] : await createEmployees(db, tenant.id, DOMAIN, `${flood}-existing`, size);
  // The accounts in Entra before the flood: all that the flood will not create, synced by a worker without a budget.
  const before = flood === 'updates' ? [...changed, ...existing] : changed;
  const setup = spawnWorker(stack, flood, secretsKey, { GRAPH_WRITES_PER_WINDOW: '1000000' });
  try {
    // The HR data was loaded while outbound provisioning was off: the relay passes its rows by before it is on.
    const undelivered = async () =>
      Number((await db('outbox').whereNull('delivered_at').count<Array<{ n: number }>>({ n: '*' }))[0]!.n);
    while ((await undelivered()) > 0) await sleep(200);
    await upsertOutboundSettings(db, tenant.id, { enabled: true }, secretsKey);
    await enrolEmployees(db, tenant.id, before);
    while ((await syncedCount(db, before)) < before.length) await sleep(200);
  } finally {
    await stopChild(setup);
  }
  // The setup's writes are not the flood's: its worker's budget (shared through these leases) starts empty.
  await db('graph_write_leases').del();

  const worker = spawnWorker(stack, flood, secretsKey, {
    GRAPH_WRITES_PER_WINDOW: String(opts.budget),
    ...(flood === 'updates' ? { GRAPH_LIFECYCLE_RESERVE_PERCENT: '5' } : {}),
  });
  try {
    const measured = flood === 'updates' ? 'employees leaving' : 'HR changes of accounts in Entra';
    console.log(`${flood}: ${size} with a write budget of ${opts.budget} per 150 s; ${measured} 1/s meanwhile…`);
    const t0 = performance.now();
    const share = Math.floor(opts.budget * 0.9);
    // Each employee of the flood is one write: a create, or the mass update's PATCH.
    let written: () => Promise<number>;
    if (flood === 'updates') {
      // The leavers-to-be are part of it, last: their own new department is among the writes left waiting.
      await changeEmployees(db, tenant.id, [...existing, ...changed], ['department'], { department: REORGANISED });
      written = async () => stack.reorganised.count;
    } else {
      const flooded =
        flood === 'enrolments'
          ? (await enrolEmployees(db, tenant.id, existing), existing)
          : await createEmployees(db, tenant.id, DOMAIN, 'hired', size);
      written = () => syncedCount(db, flooded);
    }
    // Until the flood has spent its share of the window.
    while ((await written()) < share) await sleep(200);
    const spentAfter = performance.now() - t0;

    const objectIds = new Map<string, string>(
      (await db('employee_provisioning').whereIn('employee_id', changed).select('employee_id', 'entra_object_id')).map(
        (r: { employee_id: string; entra_object_id: string }) => [r.employee_id, r.entra_object_id],
      ),
    );
    const sent: Array<{ employee: number; key: string; at: number }> = [];
    for (let i = 0; i < opts.changes; i++) {
      const employee = i % changedCount;
      const employeeId = changed[employee]!;
      const leaving = flood === 'updates';
      const key = leaving ? `disabled ${objectIds.get(employeeId)}` : `Flood ${flood} ${i}`;
      sent.push({ employee, key, at: performance.now() });
      await db.transaction((trx) =>
        recordEmployeeChange(
          trx,
          {
            tenantId: tenant.id,
            employeeId,
            changedAttributes: leaving ? ['active', 'lifecycleStatus'] : ['department'],
            changes: {},
            action: leaving ? 'deactivated' : 'updated',
            source: 'scim',
          },
          leaving
            ? { active: false, lifecycle_status: 'deactivated', deactivated_at: trx.fn.now() }
            : { department: key },
        ),
      );
      await sleep(1000);
    }
    /** The first PATCH carrying this change or a later one of the same employee (a sync reads the current row). */
    const arrival = (i: number): number | undefined => {
      let first: number | undefined;
      for (const later of sent.slice(i)) {
        const at = later.employee === sent[i]!.employee ? stack.patched.get(later.key) : undefined;
        if (at !== undefined && (first === undefined || at < first)) first = at;
      }
      return first;
    };
    while (sent.some((_, i) => arrival(i) === undefined)) await sleep(100);
    const latencies = sent.map((s, i) => arrival(i)! - s.at).sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 10) / 10;
    const figures = {
      p50: round(percentile(latencies, 50)),
      max: round(latencies.at(-1) ?? 0),
      syncedMeanwhile: await written(),
    };
    console.log(
      `  flood        ${share} of ${size} written after ${round(spentAfter / 1000)} s; the rest wait for the window`,
    );
    console.log(
      `  ${leavingOrChanges(flood)} SCIM commit → Graph PATCH p50 ${figures.p50} ms, max ${figures.max} ms (${opts.changes} at 1/s)`,
    );
    return figures;
  } finally {
    await stopChild(worker);
  }
}

const leavingOrChanges = (flood: Flood) => (flood === 'updates' ? 'leavers   ' : 'HR changes');

export async function main(argv: string[] = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const opts = parseArgs(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-bench-flood-'));
  const base = 52000 + Math.floor(Math.random() * 4000);
  const stops: Array<() => Promise<void>> = [];
  try {
    const { db, databaseUrl, temporal } = await startBenchStack({ dir, basePort: base, poolMax: 5, stops });
    const patched = new Map<string, number>();
    const reorganised = { count: 0 };
    const { emulator, cert } = await startBenchEmulator({
      dir,
      domain: DOMAIN,
      stops,
      onRequest: (e) => {
        if (e.method !== 'PATCH' || e.status >= 300) return;
        const body = e.body as { department?: unknown; accountEnabled?: unknown } | null;
        if (body?.department === REORGANISED) reorganised.count++;
        else if (typeof body?.department === 'string') patched.set(body.department, performance.now());
        if (body?.accountEnabled === false) patched.set(`disabled ${e.url.split('/').pop()}`, performance.now());
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
      reorganised,
    };

    const result: Record<string, unknown> = {
      bench: 'outbound-flood',
      budget_per_150s: opts.budget,
      changes: opts.changes,
    };
    for (const flood of ['enrolments', 'hires', 'updates'] as const) {
      if (opts[flood] <= 0) continue;
      const f = await measureFlood(stack, flood, opts[flood], opts);
      Object.assign(result, {
        [flood]: opts[flood],
        [`${flood}_${flood === 'updates' ? 'leaver' : 'change'}_p50_ms`]: f.p50,
        [`${flood}_${flood === 'updates' ? 'leaver' : 'change'}_max_ms`]: f.max,
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
