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

/**
 * bench/outbound-flood — HR changes while an initial push waits for Graph's write budget. The worker's budget is set
 * below the push (`--budget` writes per 150 s, default 300, for `--enrolments` 400), so the push spends its share of
 * the window within seconds and the rest of it waits for the window to pass. Meanwhile HR changes a watched attribute
 * of employees already in Entra, once a second: how long until each change (or a later one of the same employee,
 * which supersedes it) reached Graph? Before the budget kept a reserve for changes and the worker kept slots beyond
 * the enrolment window, they waited for the window like the push (~130 s).
 *
 *   node dist/bench/outbound-flood.js [--enrolments 400] [--budget 300] [--changes 15]
 */
interface Options {
  enrolments: number;
  budget: number;
  changes: number;
}

const DOMAIN = 'flood.example';
/** Employees in Entra before the push; HR changes them during it. */
const CHANGED_EMPLOYEES = 5;

function parseArgs(argv: string[]): Options {
  return parseNumberOptions<Options>(argv, { enrolments: 400, budget: 300, changes: 15 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function syncedCount(db: Db, ids: string[]): Promise<number> {
  const [{ n }] = await db('employee_provisioning')
    .whereIn('employee_id', ids)
    .where({ state: 'SYNCED' })
    .count<Array<{ n: number }>>({ n: '*' });
  return Number(n);
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const opts = parseArgs(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-bench-flood-'));
  const base = 52000 + Math.floor(Math.random() * 4000);
  const stops: Array<() => Promise<void>> = [];
  try {
    const { db, databaseUrl, temporal } = await startBenchStack({ dir, basePort: base, poolMax: 5, stops });

    /** When the emulator accepted a PATCH carrying each department value. */
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

    const secretsKey = randomBytes(32);
    const tenant = await createTenant(db, { name: 'Flood' });
    await upsertOutboundSettings(db, tenant.id, benchOutboundSettings(emulator.url), secretsKey);
    const changed = await createEmployees(db, tenant.id, DOMAIN, 'changed', CHANGED_EMPLOYEES);
    const pushed = await createEmployees(db, tenant.id, DOMAIN, 'pushed', opts.enrolments);

    const worker = spawn(process.execPath, [path.join(__dirname, '../src/bin/worker.js')], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: 'bench-flood',
        SECRETS_KEY: secretsKey.toString('base64'),
        GRAPH_EXTRA_CA_CERTS: cert.certPath,
        GRAPH_ALLOWED_ORIGINS: emulator.url,
        GRAPH_WRITES_PER_WINDOW: String(opts.budget),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'worker.log'), 'a')],
    });
    stops.unshift(() => stopChild(worker));
    // The HR data was loaded while outbound provisioning was off: the relay passes its rows by before it is on.
    const undelivered = async () =>
      Number((await db('outbox').whereNull('delivered_at').count<Array<{ n: number }>>({ n: '*' }))[0]!.n);
    while ((await undelivered()) > 0) await sleep(200);
    await upsertOutboundSettings(db, tenant.id, { enabled: true }, secretsKey);
    await enrolEmployees(db, tenant.id, changed);
    while ((await syncedCount(db, changed)) < CHANGED_EMPLOYEES) await sleep(200);

    console.log(
      `enrolling ${opts.enrolments} employees with a write budget of ${opts.budget} per 150 s; HR changes 1/s meanwhile…`,
    );
    const t0 = performance.now();
    await enrolEmployees(db, tenant.id, pushed);
    // Until the push has spent its share of the window (each enrolment is one write, a create).
    while ((await syncedCount(db, pushed)) < Math.floor(opts.budget * 0.9)) await sleep(200);
    const spentAfter = performance.now() - t0;

    const sent: Array<{ employee: number; value: string; at: number }> = [];
    for (let i = 0; i < opts.changes; i++) {
      const change = { employee: i % CHANGED_EMPLOYEES, value: `Flood ${i}`, at: performance.now() };
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
        const at = later.employee === sent[i]!.employee ? patched.get(later.value) : undefined;
        if (at !== undefined && (first === undefined || at < first)) first = at;
      }
      return first;
    };
    while (sent.some((_, i) => arrival(i) === undefined)) await sleep(100);
    const latencies = sent.map((s, i) => arrival(i)! - s.at).sort((a, b) => a - b);
    const pushedMeanwhile = await syncedCount(db, pushed);

    const round = (x: number) => Math.round(x * 10) / 10;
    const result = {
      bench: 'outbound-flood',
      enrolments: opts.enrolments,
      budget_per_150s: opts.budget,
      changes: opts.changes,
      change_p50_ms: round(percentile(latencies, 50)),
      change_max_ms: round(latencies.at(-1) ?? 0),
      enrolments_synced_meanwhile: pushedMeanwhile,
    };
    console.log(
      `push           ${Math.floor(opts.budget * 0.9)} of ${opts.enrolments} enrolments synced after ${round(spentAfter / 1000)} s; the rest wait for the window`,
    );
    console.log(
      `HR changes     SCIM commit → Graph PATCH p50 ${result.change_p50_ms} ms, max ${result.change_max_ms} ms (${opts.changes} at 1/s; ${pushedMeanwhile} of the push synced by the last)`,
    );
    console.log(JSON.stringify(result));
    return result;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
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
