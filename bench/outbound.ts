import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createApp } from '../src/api/app';
import type { Db } from '../src/db/knex';
import { upsertOutboundSettings } from '../src/db/outbound-settings';
import { enrolEmployees } from '../src/db/provisioning';
import { createTenant } from '../src/db/tenants';
import { issueToken } from '../src/db/tokens';
import { stopChild } from '../src/dev/temporal-dev-server';
import type { RequestLogEntry } from '../src/emulator';
import { silentLogger } from '../src/logger';
import { cpuByComponent, cpuDelta, formatCpuPerUnit } from './lib/cpu';
import { benchOutboundSettings, changeEmployees, createEmployees } from './lib/hr-data';
import { JsonClient, percentile } from './lib/load';
import { startBenchEmulator, startBenchStack } from './lib/stack';
import { parseNumberOptions } from './lib/args';
import { runAsScript } from './lib/main';

/**
 * bench/outbound — outbound provisioning end to end: embedded PostgreSQL, a Temporal dev server (SQLite), the Graph
 * emulator, the api (for SCIM) in this process, and the real worker process (`dist/src/bin/worker.js`, relay included).
 *
 *   1. unthrottled (emulator throttling off), the initial push: N employees already in the HR system when outbound
 *      provisioning is switched on are enrolled at once (the admin API's enrol) → employees/s, Graph requests per
 *      create; then N new hires committed the way the SCIM server commits them → employees/s; then the enrolled
 *      employees updated (a watched attribute), then changed in a way Entra does not see (lifecycle active →
 *      offboarding) → Graph requests per update / no-op;
 *   2. propagation: SCIM PATCHes of a watched attribute at 20 changes/s → time until the emulator answered the Graph
 *      PATCH carrying that value (p50/p99);
 *   3. the ceiling: a trivial workflow with the same activities on the same server, as many as N, measured before
 *      the initial push, between it and the new hires, and after them; each phase is compared with the mean of
 *      the measurements on either side (the server slows down as its SQLite database fills); each measured phase
 *      starts once the timers of the phase before it have fired (TIMERS_FIRED_MS); and once, after the second, the
 *      same trivial workflow staying open afterwards as an employee's does (printed as the open ceiling), and once
 *      started eagerly on the trivial worker's own connection, as the relay starts a new employee's workflow (printed
 *      as the eager ceiling: the ceiling's workflows are otherwise started the ordinary way);
 *   4. throttled at Graph's real limits (3,000 writes per 150 s per app and tenant): N more employees created, then
 *      updated (2·N writes) → the share of the first window's write budget used, and how many ended up blocked; HR
 *      changes at 1/s meanwhile → how long a live change waits behind those writes for its share of the budget.
 *
 *   node dist/bench/outbound.js [--employees 2000] [--changes 200] [--throttled 1]
 * A 10,000-employee run: --employees 10000 --throttled 0 (the throttled phase alone would take ~17 minutes).
 */
interface Options {
  employees: number;
  changes: number;
  throttled: number;
}

function parseArgs(argv: string[]): Options {
  return parseNumberOptions<Options>(argv, { employees: 2000, changes: 200, throttled: 1 });
}

const DOMAIN = 'bench.example';
const TASK_QUEUE = 'bench-outbound';
const WRITE_BUDGET = 3000;
const WRITE_WINDOW_MS = 150_000;
const round = (x: number): number => Math.round(x * 100) / 100;
/** Employees synced before the initial push; HR changes them during it. */
const EARLY_EMPLOYEES = 20;
/**
 * Every workflow leaves timers on the server that fire after it is done: its workflow tasks' timeouts (10 s) and its
 * activity's start-to-close timeout. A phase measured while the previous phase's timers fire pays for them: the push
 * used to start 3 s after the ceiling, and the trivial workflows' 2,000 activity timeouts, each loading its closed
 * workflow from the database, fell into it. So the unthrottled worker's sync attempts and the trivial activity share
 * one short timeout, and each measured phase starts once the timers of the phase before it have fired.
 */
const ATTEMPT_TIMEOUT_MS = 10_000;
const TIMERS_FIRED_MS = ATTEMPT_TIMEOUT_MS + 2_000;

/** What the emulator answered, per phase: Graph requests, writes, accepted writes' times, and PATCHed values. */
class GraphObserver {
  requests = 0;
  writes = 0;
  acceptedWriteTimes: number[] = [];
  throttled = 0;
  readonly patchedDepartments = new Map<string, number>();
  /** Graph requests that carried a department starting with this prefix (changes made during the push). */
  sideRequests = 0;
  sidePrefix = '\u0000';

  reset(): void {
    this.requests = 0;
    this.writes = 0;
    this.acceptedWriteTimes = [];
    this.throttled = 0;
    this.sideRequests = 0;
  }

  record = (e: RequestLogEntry): void => {
    if (!e.url.includes('/v1.0/')) return;
    this.requests++;
    const isWrite = e.method !== 'GET' && !e.url.includes('getAvailableExtensionProperties');
    if (!isWrite) return;
    this.writes++;
    if (e.status === 429) this.throttled++;
    if (e.status < 300) this.acceptedWriteTimes.push(Date.now());
    const department = (e.body as { department?: unknown } | null)?.department;
    if (typeof department === 'string' && department.startsWith(this.sidePrefix)) this.sideRequests++;
    if (e.method === 'PATCH' && e.status < 300 && typeof department === 'string') {
      this.patchedDepartments.set(department, performance.now());
    }
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 1_800_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // Coarse enough that the polling query does not compete with the work it measures (phases last many seconds).
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Employees whose current row is in Entra: synced since `since`, of those whose userName starts with `prefix`. */
async function syncedCount(db: Db, tenantId: string, only: { since?: Date; prefix?: string } = {}): Promise<number> {
  const q = db('employee_provisioning as p')
    .join('employees as e', 'e.id', 'p.employee_id')
    .where({ 'p.tenant_id': tenantId, 'p.state': 'SYNCED' })
    .whereRaw('p.synced_version >= e.version');
  if (only.since) q.where('p.last_synced_at', '>=', only.since);
  if (only.prefix) q.whereLike('e.user_name', `${only.prefix}%`);
  const [{ n }] = await q.count<Array<{ n: number }>>({ n: '*' });
  return Number(n);
}

/** Waits until the timers of a phase that ended at `phaseEnd` (Date.now()) have fired. */
async function timersFired(phaseEnd: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, phaseEnd + TIMERS_FIRED_MS - Date.now())));
}

async function undeliveredCount(db: Db): Promise<number> {
  const [{ n }] = await db('outbox').whereNull('delivered_at').count<Array<{ n: number }>>({ n: '*' });
  return Number(n);
}

/** A SCIM PATCH of the department (a watched attribute), as Entra ID's provisioning service would send it. */
async function patchDepartment(scim: JsonClient, id: string, value: string): Promise<void> {
  const res = await scim.request('PATCH', `/Users/${id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [
      { op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value },
    ],
  });
  if (res.status !== 200 && res.status !== 204) throw new Error(`SCIM PATCH ${res.status} ${res.body}`);
}

interface SentChange {
  employeeId: string;
  value: string;
  at: number;
}

/**
 * HR changes made while a phase runs: a SCIM PATCH of a watched attribute every second, to employees already in
 * Entra, each value starting with `prefix`. `stop()` ends the loop and returns what was sent.
 */
function changesMeanwhile(scim: JsonClient, employeeIds: string[], prefix: string): { stop(): Promise<SentChange[]> } {
  let stopped = false;
  const sending = (async () => {
    const sent: SentChange[] = [];
    for (let i = 0; !stopped; i++) {
      const change = {
        employeeId: employeeIds[i % employeeIds.length]!,
        value: `${prefix} ${i}`,
        at: performance.now(),
      };
      sent.push(change);
      await patchDepartment(scim, change.employeeId, change.value);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return sent;
  })();
  return {
    stop() {
      stopped = true;
      return sending;
    },
  };
}

/**
 * Milliseconds from each change to the first Graph PATCH carrying it or a later value of the same employee (a sync
 * reads the current row, so changes made before it coalesce); undefined while none has arrived.
 */
function propagationLatencies(sent: SentChange[], observer: GraphObserver): Array<number | undefined> {
  return sent.map((change, i) => {
    let first: number | undefined;
    for (const later of sent.slice(i)) {
      const at = later.employeeId === change.employeeId ? observer.patchedDepartments.get(later.value) : undefined;
      if (at !== undefined && (first === undefined || at < first)) first = at;
    }
    return first === undefined ? undefined : first - change.at;
  });
}

/** Peak resident set of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const opts = parseArgs(argv);
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed by another benchmark in this process
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-bench-outbound-'));
  const base = 56000 + Math.floor(Math.random() * 4000);
  const stops: Array<() => Promise<void>> = [];
  const n = opts.employees;
  try {
    const { db, databaseUrl, temporal } = await startBenchStack({ dir, basePort: base, poolMax: 10, stops });

    const observer = new GraphObserver();
    const { emulator, cert } = await startBenchEmulator({ dir, domain: DOMAIN, stops, onRequest: observer.record });
    const operator = (method: string, p: string, body: unknown) =>
      new Promise<void>((resolve, reject) => {
        const req = https.request(
          `${emulator.url}/_emulator${p}`,
          { method, ca: cert.cert, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${p}: ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });

    const secretsKey = randomBytes(32);
    const tenant = await createTenant(db, { name: 'Bench' });
    await upsertOutboundSettings(
      db,
      tenant.id,
      // Off while the HR data is loaded: the initial push enrols employees who existed before it was switched on.
      benchOutboundSettings(emulator.url),
      secretsKey,
    );
    const { token: scimToken } = await issueToken(db, { tenantId: tenant.id, kind: 'scim', name: 'bench' });
    const api = createApp({ db, logger: silentLogger(), publicBaseUrl: 'http://bench', maxBodyBytes: 1 << 20 });
    const apiServer = api.listen(0, '127.0.0.1');
    await new Promise((r) => apiServer.once('listening', r));
    stops.unshift(() => new Promise<void>((r) => apiServer.close(() => r())));
    const scim = new JsonClient(
      `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}/scim/v2`,
      { authorization: `Bearer ${scimToken}` },
      16,
    );
    stops.unshift(async () => scim.close());

    // The ceiling is measured before the initial push, between it and the new hires, and after them; each phase is
    // compared with the mean of the two around it. On a shared 2-core machine one measurement alone varied by ±20 %
    // from run to run, and the server slows down as its SQLite file fills.
    console.log(`ceiling: ${n} trivial workflows with the same activities…`);
    const trivial = await TrivialCeiling.start(temporal.address);
    stops.unshift(() => trivial.stop());
    let cpu = cpuByComponent(componentLabel);
    const ceilingBefore = await trivial.rate(n);
    let phaseEnd = Date.now();
    const ceilingCpu = formatCpuPerUnit(cpuDelta(cpu, cpuByComponent(componentLabel)), n);

    // BENCH_WORKER_NODE_ARGS passes flags to the worker's node, e.g. "--cpu-prof".
    const workerNodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    // The worker's JSON log lines (its own and the Temporal SDK's) and anything else it prints.
    const workerLog = fs.openSync(path.join(dir, 'worker.log'), 'a');
    const spawnWorker = (writesPerWindow: number, attemptTimeoutMs?: number): ChildProcess =>
      spawn(process.execPath, [...workerNodeArgs, path.join(__dirname, '../src/bin/worker.js')], {
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          TEMPORAL_ADDRESS: temporal.address,
          TEMPORAL_TASK_QUEUE: TASK_QUEUE,
          SECRETS_KEY: secretsKey.toString('base64'),
          GRAPH_EXTRA_CA_CERTS: cert.certPath,
          GRAPH_ALLOWED_ORIGINS: emulator.url,
          // Unthrottled phases measure raw speed; the throttled phase runs with Graph's real quota.
          GRAPH_WRITES_PER_WINDOW: String(writesPerWindow),
          // Throttled attempts may wait for the write budget, so they keep the default timeout.
          ...(attemptTimeoutMs ? { OUTBOUND_SYNC_ATTEMPT_TIMEOUT_MS: String(attemptTimeoutMs) } : {}),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', workerLog, workerLog],
      });
    let worker = spawnWorker(1_000_000, ATTEMPT_TIMEOUT_MS);
    stops.unshift(() => stopChild(worker));
    // The HR system's employees, loaded while outbound provisioning is off: the relay passes their rows by.
    const ids = await createEmployees(db, tenant.id, DOMAIN, 'user', n);
    await waitFor('the relay to pass the rows by', async () => (await undeliveredCount(db)) === 0, 120_000);
    await upsertOutboundSettings(db, tenant.id, { enabled: true }, secretsKey);
    // Warm-up: the worker bundles its workflows and connects; new employees through the whole path. They are
    // already in Entra when the push starts, and HR changes them during it.
    const early = await createEmployees(db, tenant.id, DOMAIN, 'warmup', EARLY_EMPLOYEES);
    await waitFor('the worker to start', async () => (await syncedCount(db, tenant.id)) === EARLY_EMPLOYEES, 120_000);
    let population = EARLY_EMPLOYEES + n;
    const runId = randomUUID().slice(0, 8);

    console.log(`unthrottled: initial push (enrol ${n} existing employees), HR changes 1/s meanwhile…`);
    observer.reset();
    observer.sidePrefix = `Push ${runId}`;
    await timersFired(phaseEnd);
    let t0 = Date.now();
    cpu = cpuByComponent(componentLabel);
    await enrolEmployees(db, tenant.id, ids);
    let relayedSeconds: number | undefined;
    const duringPush = changesMeanwhile(scim, early, observer.sidePrefix);
    await waitFor('the initial push', async () => {
      relayedSeconds ??= (await undeliveredCount(db)) === 0 ? (Date.now() - t0) / 1000 : undefined;
      return (await syncedCount(db, tenant.id)) === population;
    });
    // The push ends here: the HR changes' loop may still be sleeping, and its last change is not part of the push.
    const createSeconds = (Date.now() - t0) / 1000;
    const createCpu = formatCpuPerUnit(cpuDelta(cpu, cpuByComponent(componentLabel)), n);
    const sentDuringPush = await duringPush.stop();
    await waitFor(
      'changes made during the push',
      async () => !propagationLatencies(sentDuringPush, observer).includes(undefined),
      600_000,
    );
    const perCreate = (observer.requests - observer.sideRequests) / n;
    const pushLatencies = (propagationLatencies(sentDuringPush, observer) as number[]).sort((a, b) => a - b);
    console.log(`ceiling again: ${n} trivial workflows…`);
    await timersFired(Date.now());
    const ceilingAfter = await trivial.rate(n);
    const ceiling = (ceilingBefore + ceilingAfter) / 2;
    console.log(`ceiling started eagerly: ${n} trivial workflows, each started as a new employee's is…`);
    await timersFired(Date.now());
    const eagerCeiling = await trivial.rate(n, { eager: true });
    console.log(`ceiling with open workflows: ${n} trivial workflows that stay open…`);
    await timersFired(Date.now());
    const openCeiling = await trivial.openRate(n);
    phaseEnd = Date.now();

    console.log(`unthrottled: ${n} new hires over SCIM…`);
    observer.reset();
    await timersFired(phaseEnd);
    t0 = Date.now();
    await createEmployees(db, tenant.id, DOMAIN, 'hire', n);
    population += n;
    await waitFor('new hires', async () => (await syncedCount(db, tenant.id)) === population);
    const hireSeconds = (Date.now() - t0) / 1000;
    const perHire = observer.requests / n;
    console.log(`ceiling a third time: ${n} trivial workflows…`);
    await timersFired(Date.now());
    const ceilingAfterHires = await trivial.rate(n);
    const hireCeiling = (ceilingAfter + ceilingAfterHires) / 2;

    console.log(`unthrottled: ${n} updates…`);
    observer.reset();
    t0 = Date.now();
    await changeEmployees(db, tenant.id, ids, ['jobTitle'], { job_title: 'Senior Engineer' });
    await waitFor('updates', async () => (await syncedCount(db, tenant.id)) === population);
    const updateSeconds = (Date.now() - t0) / 1000;
    const perUpdate = observer.requests / n;

    console.log(`unthrottled: ${n} no-op changes…`);
    // A watched attribute changes but Entra's user stays the same (active and offboarding both mean enabled).
    observer.reset();
    const noopSince = new Date();
    await changeEmployees(db, tenant.id, ids, ['lifecycleStatus'], { lifecycle_status: 'offboarding' });
    await waitFor('no-op syncs', async () => (await syncedCount(db, tenant.id, { since: noopSince })) >= n);
    const perNoop = observer.requests / n;

    console.log(`propagation: ${opts.changes} SCIM PATCHes at 20 changes/s…`);
    const sent: SentChange[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: opts.changes }, async (_, i) => {
        await new Promise((r) => setTimeout(r, Math.max(0, start + i * 50 - performance.now())));
        const change = { employeeId: ids[i % ids.length]!, value: `Dept ${runId} ${i}`, at: performance.now() };
        sent.push(change);
        await patchDepartment(scim, change.employeeId, change.value);
      }),
    );
    await waitFor('propagation', async () => !propagationLatencies(sent, observer).includes(undefined), 60_000);
    const latencies = (propagationLatencies(sent, observer) as number[]).sort((a, b) => a - b);
    if (percentile(latencies, 99) > 1000) {
      // The worker logs warnings only (retries, relay failures): what it said is the first clue to a slow change.
      const log = fs.readFileSync(path.join(dir, 'worker.log'), 'utf8').trim().split('\n').slice(-20).join('\n');
      console.error(`propagation p99 above 1 s; the worker's last warnings:\n${log || '(none)'}`);
    }
    const workerRssMb = peakRssMb(worker.pid!);

    let budgetUsed: number | null = null;
    let blocked = 0;
    let throttledSeconds: number | null = null;
    let throttledResponses = 0;
    let throttledChangeLatencies: number[] = [];
    if (opts.throttled) {
      console.log(`throttled at Graph's limits: ${n} creates, then ${n} updates (${2 * n} writes)…`);
      await stopChild(worker);
      // Graph's quota starts afresh, as the emulator's counters do below: the unthrottled phases' writes, which went to
      // an emulator without limits, are not counted against it (the workers share the quota through these leases).
      await db('graph_write_leases').del();
      worker = spawnWorker(WRITE_BUDGET);
      await operator('PUT', '/throttling', { enabled: true, reset: true });
      observer.reset();
      t0 = Date.now();
      // HR keeps changing employees already in Entra while the budget is spent; their writes share it.
      const meanwhile = changesMeanwhile(scim, early, `Throttled ${runId}`);
      const more = await createEmployees(db, tenant.id, DOMAIN, 'throttled', n);
      const throttledSynced = () => syncedCount(db, tenant.id, { prefix: 'throttled' });
      await waitFor('throttled creates', async () => (await throttledSynced()) === n);
      await changeEmployees(db, tenant.id, more, ['jobTitle'], { job_title: 'Principal Engineer' });
      await waitFor('throttled updates', async () => (await throttledSynced()) === n);
      throttledSeconds = (Date.now() - t0) / 1000;
      const sentThrottled = await meanwhile.stop();
      await waitFor(
        'changes made during the throttled phase',
        async () => !propagationLatencies(sentThrottled, observer).includes(undefined),
        600_000,
      );
      throttledChangeLatencies = (propagationLatencies(sentThrottled, observer) as number[]).sort((a, b) => a - b);
      const first = observer.acceptedWriteTimes[0] ?? t0;
      const inFirstWindow = observer.acceptedWriteTimes.filter((t) => t < first + WRITE_WINDOW_MS).length;
      budgetUsed = inFirstWindow / Math.min(WRITE_BUDGET, 2 * n);
      throttledResponses = observer.throttled;
      const [{ b }] = await db('employee_provisioning')
        .where({ tenant_id: tenant.id, state: 'BLOCKED' })
        .count<Array<{ b: number }>>({ b: '*' });
      blocked = Number(b);
    }

    const result = {
      bench: 'outbound',
      employees: n,
      employees_per_s: round(n / createSeconds),
      ceiling_per_s: round(ceiling),
      throttled_budget_used: budgetUsed === null ? null : round(budgetUsed),
      blocked,
      requests_per_create: round(perCreate),
      requests_per_update: round(perUpdate),
      requests_per_noop: round(perNoop),
      propagation_p50_ms: round(percentile(latencies, 50)),
      propagation_p99_ms: round(percentile(latencies, 99)),
      worker_rss_mb: workerRssMb,
    };
    console.log(
      `initial push   ${result.employees_per_s} employees/s (ceiling: ${result.ceiling_per_s} trivial workflows/s, mean of ${round(ceilingBefore)} before and ${round(ceilingAfter)} after; ${Math.round((result.employees_per_s / result.ceiling_per_s) * 100)} %); all relayed after ${round(relayedSeconds ?? createSeconds)} s, all synced after ${round(createSeconds)} s`,
    );
    console.log(
      `eager ceiling  ${round(eagerCeiling)} trivial workflows/s started eagerly, as the relay starts a new employee's (${Math.round((eagerCeiling / ceilingAfter) * 100)} % of the ordinary ceiling measured just before it; push: ${Math.round((result.employees_per_s / eagerCeiling) * 100)} % of it)`,
    );
    console.log(
      `open ceiling   ${round(openCeiling)} trivial workflows/s that stay open, as employees' do (push: ${Math.round((result.employees_per_s / openCeiling) * 100)} % of it)`,
    );
    console.log(
      `during push    SCIM PATCH → Graph PATCH p50 ${round(percentile(pushLatencies, 50))} ms, max ${round(pushLatencies.at(-1) ?? 0)} ms (${pushLatencies.length} changes at 1/s to employees already in Entra)`,
    );
    console.log(`cpu            per enrolled employee: ${createCpu}; per trivial workflow: ${ceilingCpu}`);
    console.log(
      `new hires      ${round(n / hireSeconds)} employees/s (${Math.round((n / hireSeconds / hireCeiling) * 100)} % of the ceiling around them, ${round(hireCeiling)}/s; row commits included), ${round(perHire)} Graph requests each`,
    );
    console.log(`updates        ${round(n / updateSeconds)} employees/s`);
    console.log(
      `Graph requests ${result.requests_per_create} per create, ${result.requests_per_update} per update, ${result.requests_per_noop} per no-op`,
    );
    console.log(
      `propagation    SCIM PATCH → Graph PATCH p50 ${result.propagation_p50_ms} ms, p99 ${result.propagation_p99_ms} ms (${opts.changes} changes at 20/s)`,
    );
    console.log(`worker         peak RSS ${workerRssMb} MB`);
    if (opts.throttled) {
      console.log(
        `throttled      ${2 * n} writes in ${throttledSeconds} s; ${Math.round(budgetUsed! * 100)} % of the first 150 s window's budget used; ${throttledResponses} answered 429; ${blocked} blocked`,
      );
      console.log(
        `  meanwhile    SCIM PATCH → Graph PATCH p50 ${round(percentile(throttledChangeLatencies, 50))} ms, max ${round(throttledChangeLatencies.at(-1) ?? 0)} ms (${throttledChangeLatencies.length} changes at 1/s to employees already in Entra, sharing the write budget)`,
      );
    }
    console.log(JSON.stringify(result));
    return result;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU is grouped by process kind; the trivial workflows' worker and the emulator run in the bench process. */
function componentLabel(p: { comm: string }): string {
  return p.comm === 'node' ? 'worker' : p.comm;
}

/**
 * The trivial workflows' worker, in this process. Started once, before the first measurement: creating a worker
 * bundles its workflow code with webpack, and that CPU is not part of running trivial workflows.
 */
class TrivialCeiling {
  private batches = 0;

  private constructor(
    private readonly taskQueue: string,
    private readonly worker: Worker,
    private readonly running: Promise<void>,
    private readonly native: NativeConnection,
    private readonly client: Client,
    /** Called when a trivial activity ran (the open workflows' progress). */
    private readonly hooks: { activityDone: () => void },
  ) {}

  static async start(address: string): Promise<TrivialCeiling> {
    const native = await NativeConnection.connect({ address });
    const taskQueue = `bench-trivial-${randomUUID()}`;
    const hooks = { activityDone: () => undefined as void };
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowsPath: require.resolve('./outbound-trivial-workflow'),
      activities: {
        noop: async () => {
          hooks.activityDone();
          return 1;
        },
      },
    });
    const client = new Client({ connection: await Connection.connect({ address }) });
    return new TrivialCeiling(taskQueue, worker, worker.run(), native, client, hooks);
  }

  /**
   * Trivial workflows that stay open, per second, measured as the push is: 50 in flight, a place freed when a
   * workflow's activity has run (the push's window frees one when the sync has recorded SYNCED), until visibility
   * shows every one upserted. They are terminated afterwards, outside the measurement.
   */
  async openRate(count: number): Promise<number> {
    const batch = this.batches++;
    const id = (i: number) => `trivial-open-${this.taskQueue}-${batch}-${i}`;
    let next = 0;
    let done = 0;
    const start = Date.now();
    await new Promise<void>((resolve, reject) => {
      const launch = () => {
        if (next >= count) return;
        const workflowId = id(next++);
        this.client.workflow
          .start('trivialOpenWorkflow', { taskQueue: this.taskQueue, workflowId, args: [ATTEMPT_TIMEOUT_MS] })
          .catch(reject);
      };
      this.hooks.activityDone = () => {
        if (++done === count) resolve();
        else launch();
      };
      for (let i = 0; i < 50; i++) launch();
    });
    this.hooks.activityDone = () => undefined;
    const query = `WorkflowType = 'trivialOpenWorkflow' AND ExecutionStatus = 'Running' AND ProvisioningState = 'SYNCED'`;
    while ((await this.client.workflow.count(query)).count < count) await new Promise((r) => setTimeout(r, 50));
    const rate = count / ((Date.now() - start) / 1000);
    let closing = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = closing++; i < count; i = closing++) await this.client.workflow.getHandle(id(i)).terminate();
      }),
    );
    return rate;
  }

  /**
   * Completed trivial workflows per second (start → complete, 50 in flight). `eager`: each started as the relay starts
   * a new employee's workflow, on the worker's own connection with `requestEagerStart`, so the server hands the first
   * workflow task straight back to this worker when it has a free slot.
   */
  async rate(count: number, { eager = false } = {}): Promise<number> {
    const batch = this.batches++;
    const client = eager ? this.eagerClient : this.client;
    let next = 0;
    const start = Date.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = next++; i < count; i = next++) {
          await client.workflow.execute('trivialWorkflow', {
            taskQueue: this.taskQueue,
            workflowId: `trivial-${this.taskQueue}-${batch}-${i}`,
            args: [ATTEMPT_TIMEOUT_MS],
            ...(eager ? { requestEagerStart: true } : {}),
          });
        }
      }),
    );
    return count / ((Date.now() - start) / 1000);
  }

  /** A client on the worker's NativeConnection: the SDK starts workflows eagerly only through one. */
  private get eagerClient(): Client {
    return (this.eager ??= new Client({ connection: this.native }));
  }
  private eager: Client | undefined;

  async stop(): Promise<void> {
    this.worker.shutdown();
    await this.running.catch(() => undefined);
    await this.client.connection.close();
    await this.native.close();
  }
}

if (require.main === module) runAsScript(() => main());
