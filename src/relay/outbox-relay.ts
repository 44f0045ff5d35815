import { InternalConnectionLikeSymbol, type Client, type InternalConnectionLike } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { employeeKey, relayedBefore, rememberRelayed, type EmployeeKey } from '../db/relayed-employees';
import type { Logger } from '../logger';
import type { employeeSyncWorkflow } from '../workflows/employee-sync';
import { EnrolmentWindow } from './enrolment-window';
import { OutboxListener } from './outbox-listener';
import {
  employeeChangedSignal,
  employeeSyncWorkflowId,
  enrolSignal,
  FIRST_MESSAGE_CAPABILITY,
  managerReadySignal,
  ProvisioningStateKey,
  TenantIdKey,
  type EmployeeChangedSignal,
  type FirstMessage,
} from '../workflows/messages';

/**
 * The outbox relay: turns every outbox row into a signal-with-start of `employee-sync/<tenant>/<employee>` and
 * marks it delivered: `employeeChanged` for an employee write, `enrol` for the admin API's initial push,
 * `managerReady` when the employee's manager has just got an Entra account (kind `manager`, queued by that sync).
 *
 * - A new employee's first row (one the relay has not reached before, `relayed_employees`) becomes a start of the
 *   workflow carrying the same message instead (`eagerStart`): the server hands a started workflow's first task
 *   straight to the relay's own worker, which a signal-with-start never gets. If the workflow runs already (it was
 *   started before the relay kept track), the start is refused and the relay signals it as usual.
 *
 * - At least once: a row is marked delivered in the same transaction that delivered it; a crash rolls the marks
 *   back and the rows go out again. Redelivery is harmless: the workflow keeps the highest version and ignores
 *   versions it has already synced.
 * - In order per employee: one relay at a time holds the batch (a transaction-scoped advisory lock, so several
 *   worker processes can run relays safely); rows of one employee go out sequentially by id, and after a failed
 *   row the employee's later rows wait for the next round.
 * - A Temporal outage only delays: failed rows stay undelivered with `attempts` and `last_error`, and the relay
 *   backs off.
 * - Enrolments go out through a window (`enrolmentsInFlight`, see EnrolmentWindow): an initial push of thousands
 *   waits in the outbox rather than in Temporal's task queue, and changes pass it — except an employee's changes
 *   queued after its own waiting enrolment, which keep their order.
 *
 * Tenants whose outbound provisioning is off get no workflows; their rows are marked delivered without a signal
 * (an admin enrols employees after switching it on).
 */
export interface OutboxRelayOptions {
  db: Db;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  batchSize?: number;
  /** How soon the relay looks again while enrolments are in flight, or while it cannot LISTEN (default 100 ms). */
  pollIntervalMs?: number;
  /**
   * How soon it looks again when idle and LISTENing: new rows wake it at once (migration 027's trigger), so this is
   * only a safety net (default 5 s). `listen: false` polls at `pollIntervalMs` always.
   */
  idlePollIntervalMs?: number;
  listen?: boolean;
  /** Parallel signals for different employees. */
  concurrency?: number;
  /** Passed to newly started workflows (tests shorten it). */
  debounceMs?: number;
  /** Passed to newly started workflows as their sync attempt's start-to-close timeout (default: the workflow's). */
  syncAttemptTimeoutMs?: number;
  /** Enrolments delivered whose first sync has not finished, at most (default 50; 0 = no limit). */
  enrolmentsInFlight?: number;
  /** An enrolment stops counting as in flight after this long even if its sync has not finished (default 2 min). */
  enrolmentReleaseAfterMs?: number;
  /**
   * Start the workflow of an employee the relay has not reached before with a start request carrying the row's
   * message, asking the server to hand its first workflow task straight to this process's worker (eager start),
   * instead of signal-with-start, which the server cannot hand over. Needs `temporal` on the worker's
   * NativeConnection. Only while every poller of the task queue's workflow tasks understands a first message
   * (FIRST_MESSAGE_CAPABILITY in its identity; looked up every `pollerCheckIntervalMs`, default 30 s): during a
   * rolling upgrade an older worker would drop it. Default false.
   */
  eagerStart?: boolean;
  /** How often the relay looks up the workflow task queue's pollers for `eagerStart` (default 30 s). */
  pollerCheckIntervalMs?: number;
}

/** Advisory lock key of the relay ("outbox" in ASCII), so concurrent relays take turns. */
export const RELAY_LOCK_KEY = 0x6f7574626f78;

interface OutboxRow {
  id: number;
  tenant_id: string;
  employee_id: string;
  version: number;
  changed_attributes: string[];
  source: string;
  kind: 'change' | 'enrol' | 'manager';
}

export interface RelayRoundResult {
  delivered: number;
  /** Workflows this round started with their first message whose first task the server handed to this process. */
  startedEagerly: number;
  failed: number;
  skipped: number;
  /** False when another relay held the lock. */
  ran: boolean;
}

export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** Rows were committed since the current round began reading: look again at once. */
  private notified = false;
  /** Whether the current sleep ends on new rows (not while backing off after failures). */
  private wakeOnRows = true;
  private readonly listener?: OutboxListener;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly idlePollIntervalMs: number;
  private readonly concurrency: number;
  private readonly enrolments: EnrolmentWindow;
  /** `eagerStart`, when the client's connection can do it (a NativeConnection). */
  private readonly eagerStart: boolean;
  /** Whether the workflow task queue's pollers all understand a first message, and when that was looked up. */
  private firstMessageUnderstood?: { yes: boolean; at: number };

  constructor(private readonly opts: OutboxRelayOptions) {
    this.batchSize = opts.batchSize ?? 200;
    this.pollIntervalMs = opts.pollIntervalMs ?? 100;
    this.idlePollIntervalMs = opts.idlePollIntervalMs ?? 5000;
    if (opts.listen !== false) {
      this.listener = new OutboxListener(opts.db, opts.logger, () => {
        this.notified = true;
        if (this.wakeOnRows) this.wake?.();
      });
    }
    // 64 signals in flight (was 16: bench/outbound at 2,000 employees went 42.3 → 45.1 creates/s in one paired run,
    // within this machine's noise). Without the enrolment window the relay delivered a 2,000-employee push within
    // 8–12 s of a 43–58 s push: delivery is not what limits the syncs.
    this.concurrency = opts.concurrency ?? 64;
    // 50 keeps the machine's two cores busy (the README has the figures); the ceiling in bench/outbound also runs
    // 50 trivial workflows at a time.
    this.enrolments = new EnrolmentWindow(opts.enrolmentsInFlight ?? 50, opts.enrolmentReleaseAfterMs ?? 120_000);
    const connection = opts.temporal.connection as InternalConnectionLike | undefined;
    const canStartEagerly = connection?.[InternalConnectionLikeSymbol]?.supportsEagerStart === true;
    if (opts.eagerStart && !canStartEagerly) {
      opts.logger.warn('the relay client is not on a NativeConnection: new workflows are started by signal-with-start');
    }
    this.eagerStart = opts.eagerStart === true && canStartEagerly;
  }

  /** Whether new rows wake the relay at once (its LISTEN connection is up). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.listener?.start();
    this.loop = this.run();
  }

  /** Stops after the current round; undelivered rows stay for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await Promise.all([this.loop, this.listener?.stop()]);
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    while (this.running) {
      let result: RelayRoundResult | undefined;
      // Cleared before the round reads: a commit after the read notifies again, so it is never missed.
      this.notified = false;
      try {
        result = await this.runOnce();
        backoffMs = result.failed > 0 ? Math.min(Math.max(backoffMs * 2, 500), 10_000) : 0;
      } catch (err) {
        // PostgreSQL unreachable, for instance: keep trying, slower.
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), 10_000);
        this.opts.logger.warn({ err }, 'outbox relay round failed');
      }
      const busy = result !== undefined && result.delivered + result.skipped >= this.batchSize && backoffMs === 0;
      if (!busy) await (backoffMs > 0 ? this.sleep(backoffMs, false) : this.sleep(this.idleInterval(), true));
    }
  }

  /**
   * Until the next look when nothing woke the relay: short while enrolments are in flight (their first syncs free
   * places in the window, which no notification announces) or while not LISTENing; otherwise the safety-net interval.
   */
  private idleInterval(): number {
    return this.listener?.listening && this.enrolments.isEmpty() ? this.idlePollIntervalMs : this.pollIntervalMs;
  }

  /** Waits `ms`; `stop()` ends it, and so do new rows unless the relay is backing off after failures. */
  private sleep(ms: number, wakeOnRows: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (wakeOnRows && this.notified) return resolve();
      const timer = setTimeout(resolve, ms);
      this.wakeOnRows = wakeOnRows;
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One round: deliver up to `batchSize` undelivered rows. Exposed for tests. */
  async runOnce(): Promise<RelayRoundResult> {
    const { db } = this.opts;
    return db.transaction(async (trx) => {
      const lock = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS ok', [RELAY_LOCK_KEY]);
      if (!lock.rows[0]?.ok) return { delivered: 0, startedEagerly: 0, failed: 0, skipped: 0, ran: false };

      const rows = await this.nextRows(trx);
      if (rows.length === 0) return { delivered: 0, startedEagerly: 0, failed: 0, skipped: 0, ran: true };

      const tenantIds = [...new Set(rows.map((r) => r.tenant_id))];
      const settings = await trx('outbound_settings')
        .whereIn('tenant_id', tenantIds)
        .select<Array<{ tenant_id: string; enabled: boolean; watched_attributes: string[] }>>(
          'tenant_id',
          'enabled',
          'watched_attributes',
        );
      const watchedByTenant = new Map(
        settings.filter((s) => s.enabled).map((s) => [s.tenant_id, new Set(s.watched_attributes)]),
      );

      const delivered: number[] = [];
      const skipped: number[] = [];
      const failed: Array<{ id: number; error: string }> = [];
      const byEmployee = new Map<string, OutboxRow[]>();
      for (const row of rows) {
        if (!watchedByTenant.has(row.tenant_id)) {
          skipped.push(row.id);
          continue;
        }
        const key = employeeKey({ tenantId: row.tenant_id, employeeId: row.employee_id });
        const list = byEmployee.get(key) ?? [];
        list.push(row);
        byEmployee.set(key, list);
      }

      const queues = [...byEmployee.values()];
      const employees = queues.map(([row]) => ({ tenantId: row!.tenant_id, employeeId: row!.employee_id }));
      const reached = await relayedBefore(trx, employees);
      const anyNew = employees.some((e) => !reached.has(employeeKey(e)));
      const startNew = anyNew && this.eagerStart && (await this.pollersUnderstandFirstMessage());
      let startedEagerly = 0;
      const newlyReached: EmployeeKey[] = [];
      const workers = Array.from({ length: Math.min(this.concurrency, queues.length) }, async () => {
        for (let q = queues.shift(); q; q = queues.shift()) {
          for (const [i, row] of q.entries()) {
            try {
              const employee = { tenantId: row.tenant_id, employeeId: row.employee_id };
              const firstReach = i === 0 && !reached.has(employeeKey(employee));
              const how = await this.deliver(row, watchedByTenant.get(row.tenant_id)!, firstReach && startNew);
              if (how === 'started-eagerly') startedEagerly++;
              if (firstReach) newlyReached.push(employee);
              delivered.push(row.id);
              if (row.kind === 'enrol') this.enrolments.delivered(row.tenant_id, row.employee_id);
            } catch (err) {
              // Keep the employee's order: its later rows wait for the next round.
              failed.push({ id: row.id, error: err instanceof Error ? err.message : String(err) });
              break;
            }
          }
        }
      });
      await Promise.all(workers);

      await rememberRelayed(trx, newlyReached);
      const done = [...delivered, ...skipped];
      if (done.length > 0)
        await trx('outbox')
          .whereIn('id', done)
          .update({ delivered_at: trx.fn.now(), attempts: trx.raw('attempts + 1') });
      for (const f of failed) {
        await trx('outbox')
          .where({ id: f.id })
          .update({ attempts: trx.raw('attempts + 1'), last_error: f.error.slice(0, 1000) });
      }
      if (failed.length > 0) {
        this.opts.logger.warn(
          { failed: failed.length, error: failed[0]!.error },
          'outbox rows not delivered; will retry',
        );
      }
      return { delivered: delivered.length, startedEagerly, failed: failed.length, skipped: skipped.length, ran: true };
    });
  }

  /**
   * This round's rows in id order: the oldest waiting enrolments, as many as the window has room for, and up to a
   * batch of changes — but no change of an employee whose earlier enrolment still waits outside the window.
   */
  private async nextRows(trx: Knex.Transaction): Promise<OutboxRow[]> {
    const columns = ['id', 'tenant_id', 'employee_id', 'version', 'changed_attributes', 'source', 'kind'];
    const room = Math.min(await this.enrolments.capacity(trx), this.batchSize);
    const enrolments: OutboxRow[] =
      room > 0
        ? await trx('outbox')
            .whereNull('delivered_at')
            .where({ kind: 'enrol' })
            .orderBy('id')
            .limit(room)
            .select(columns)
        : [];
    // Enrolments go out oldest first, so every waiting one not taken this round has a higher id than those taken.
    const lastTaken = enrolments.at(-1)?.id ?? 0;
    // Changes and manager rows, each read in id order along the (kind, id) index (an IN over both kinds would read
    // and sort the whole backlog every round); the first batch of the two merged is exactly the oldest batch of both.
    const passing = (kind: 'change' | 'manager'): Promise<OutboxRow[]> =>
      trx('outbox as o')
        .whereNull('o.delivered_at')
        .where('o.kind', kind)
        .whereNotExists((waiting) =>
          waiting
            .from('outbox as w')
            .whereNull('w.delivered_at')
            .where('w.kind', 'enrol')
            .whereRaw('w.employee_id = o.employee_id AND w.tenant_id = o.tenant_id AND w.id < o.id')
            .where('w.id', '>', lastTaken),
        )
        .orderBy('o.id')
        .limit(this.batchSize)
        .select(columns.map((c) => `o.${c}`));
    const [changes, managers] = [await passing('change'), await passing('manager')];
    const byId = (a: OutboxRow, b: OutboxRow) => a.id - b.id;
    const others = [...changes, ...managers].sort(byId).slice(0, this.batchSize);
    return [...enrolments, ...others].sort(byId);
  }

  /**
   * Whether every worker polling the workflow task queue runs workflow code that reads a first message (its identity
   * says so). Looked up at most every `pollerCheckIntervalMs`; a failed lookup is a no. None polling yet (the workers
   * are starting, or the server has just restarted and not every worker has polled again) is a no that is not kept:
   * the next round looks again, so a worker of an older version that has not polled yet is never taken for a newer one.
   */
  private async pollersUnderstandFirstMessage(): Promise<boolean> {
    const now = Date.now();
    const known = this.firstMessageUnderstood;
    if (known && now - known.at < (this.opts.pollerCheckIntervalMs ?? 30_000)) return known.yes;
    let yes = false;
    try {
      const { pollers } = await this.opts.temporal.workflowService.describeTaskQueue({
        namespace: this.opts.temporal.options.namespace,
        taskQueue: { name: this.opts.taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if (!pollers?.length) return false;
      yes = pollers.every((p) => p.identity?.includes(FIRST_MESSAGE_CAPABILITY));
      if (!yes && known?.yes !== false) {
        this.opts.logger.info(
          { taskQueue: this.opts.taskQueue },
          'a worker of an older version polls the task queue: new workflows are started by signal-with-start',
        );
      }
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not list the task queue pollers; starting new workflows by signal');
    }
    this.firstMessageUnderstood = { yes, at: now };
    return yes;
  }

  /**
   * Delivers one row: as a start carrying its message when `startNew` (the employee's first row the relay sees, and
   * every worker understands a first message), falling back to signal-with-start when the workflow runs already; else
   * signal-with-start.
   */
  private async deliver(
    row: OutboxRow,
    watched: Set<string>,
    startNew: boolean,
  ): Promise<'signalled' | 'started' | 'started-eagerly'> {
    const { message, state } = messageOf(row, watched);
    const input = {
      tenantId: row.tenant_id,
      employeeId: row.employee_id,
      debounceMs: this.opts.debounceMs,
      activityTimeoutMs: this.opts.syncAttemptTimeoutMs,
    };
    const options = {
      workflowId: employeeSyncWorkflowId(row.tenant_id, row.employee_id),
      taskQueue: this.opts.taskQueue,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
      // A workflow it starts shows `state` until its first upsert.
      typedSearchAttributes: [
        { key: TenantIdKey, value: row.tenant_id },
        { key: ProvisioningStateKey, value: state },
      ],
    };
    // A hanging frontend must not hold the batch (and its lock) for long.
    return this.opts.temporal.withDeadline(Date.now() + 10_000, async () => {
      if (startNew) {
        try {
          const started = await this.opts.temporal.workflow.start<typeof employeeSyncWorkflow>('employeeSyncWorkflow', {
            ...options,
            args: [{ ...input, firstMessage: message }],
            workflowIdConflictPolicy: 'FAIL',
            requestEagerStart: true,
          });
          return started.eagerlyStarted ? 'started-eagerly' : 'started';
        } catch (err) {
          // Running already (started before the relay kept track, or by a round that then failed to commit).
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
      }
      await this.opts.temporal.workflow.signalWithStart<typeof employeeSyncWorkflow, [unknown]>(
        'employeeSyncWorkflow',
        {
          ...options,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          signal: SIGNALS[message.signal],
          signalArgs: [message.arg],
        },
      );
      return 'signalled';
    });
  }
}

const SIGNALS = {
  employeeChanged: employeeChangedSignal,
  enrol: enrolSignal,
  managerReady: managerReadySignal,
} as const;

/** The workflow message of an outbox row, and the state a workflow it starts shows until its first upsert. */
function messageOf(row: OutboxRow, watched: Set<string>): { message: FirstMessage; state: 'NOT_ENROLLED' | 'PENDING' } {
  if (row.kind === 'enrol') return { message: { signal: 'enrol', arg: { source: row.source } }, state: 'PENDING' };
  if (row.kind === 'manager') {
    // Sent to reports that are in Entra already; a workflow started by it stays NOT_ENROLLED and ignores it.
    return { message: { signal: 'managerReady', arg: { source: row.source } }, state: 'NOT_ENROLLED' };
  }
  const changed = Array.isArray(row.changed_attributes) ? row.changed_attributes : [];
  const arg: EmployeeChangedSignal = {
    version: row.version,
    changedAttributes: changed,
    source: row.source,
    touchesWatched: changed.some((a) => watched.has(a) || watched.has(a.split('.')[0]!)),
  };
  // A new workflow syncs at once for a watched change, so it starts out PENDING (saving an upsert).
  return { message: { signal: 'employeeChanged', arg }, state: arg.touchesWatched ? 'PENDING' : 'NOT_ENROLLED' };
}
