import fs from 'node:fs';
import os from 'node:os';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../config';
import { countTenantsInvitingNewEmployees } from '../db/invitations';
import type { Db } from '../db/knex';
import { createGraphConnector, type GraphConnector } from '../graph/connector';
import { postgresWriteLedger } from '../db/graph-write-leases';
import { DEFAULT_WRITE_BUDGET, WriteBudgets, type WriteBudgetOptions } from '../graph/write-budget';
import { InvitationMailer, type InvitationMailerOptions } from '../invitations/mailer';
import type { InvitationDelivery } from '../invitations/transport';
import type { Logger } from '../logger';
import { OutboxPruner } from '../relay/outbox-pruner';
import { OutboxRelay } from '../relay/outbox-relay';
import { FIRST_MESSAGE_CAPABILITY, laneTaskQueue, type SyncLane } from '../workflows/messages';

/**
 * The worker process's parts: the Temporal worker (employeeSyncWorkflow + activities) and the outbox relay,
 * started together and stopped together. Used by src/bin/worker.ts, the dev launcher, e2e tests and the benchmark.
 */
export interface WorkerProcessDeps {
  db: Db;
  logger: Logger;
  temporalAddress: string;
  namespace?: string;
  taskQueue: string;
  /** Decrypts stored Graph client secrets; without it every sync is BLOCKED as NotConfigured. */
  secretsKey?: Buffer;
  /** Keys of before a SECRETS_KEY rotation that still decrypt stored credentials (SECRETS_KEY_PREVIOUS). */
  previousSecretsKeys?: readonly Buffer[];
  /** Extra trusted CA (PEM) for Graph and the identity platform, e.g. the emulator's self-signed certificate. */
  extraCaPem?: string;
  /** Path alternative to `extraCaPem`. */
  extraCaPath?: string;
  /** Origins besides Microsoft's clouds that outbound settings may point at (GRAPH_ALLOWED_ORIGINS). */
  graphAllowedOrigins?: readonly string[];
  /** Pre-built workflow bundle (tests, production images); default: bundle src/workflows at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Run the outbox relay in this process (default true). */
  relay?: boolean;
  relayPollIntervalMs?: number;
  /** The relay LISTENs for new outbox rows (default true; false behind a pooler in transaction mode). */
  relayListen?: boolean;
  /**
   * Delete delivered outbox rows older than this, every hour, in this process next to the relay (OUTBOX_RETENTION_DAYS;
   * default and 0: keep them).
   */
  outboxRetentionMs?: number;
  /** Extra quiet period of new workflows before a sync (default 0; see EmployeeSyncInput.debounceMs). */
  debounceMs?: number;
  /** The relay's window of enrolments in flight (default 50; 0 = no limit; see EnrolmentWindow). */
  enrolmentsInFlight?: number;
  /** Start-to-close timeout of one sync attempt in the workflows the relay starts (default 2 minutes). */
  syncAttemptTimeoutMs?: number;
  writeBudget?: Omit<WriteBudgetOptions, 'now' | 'sleep'>;
  /** Replace the Graph connector (tests). */
  graph?: GraphConnector;
  /**
   * How invitation emails go out (SMTP_URL, or files under `make start`); without it they stay pending and the
   * worker warns at start if a tenant has invitations switched on.
   */
  invitations?: InvitationDelivery & Pick<InvitationMailerOptions, 'retry' | 'pollIntervalMs'>;
}

export interface WorkerProcess {
  /** Polls the task queue: the workflows, their bulk syncs (enrolments, first syncs) and local activities. */
  worker: Worker;
  /**
   * Poll the queues of the lifecycle and change lanes (`<taskQueue>-lifecycle`, `<taskQueue>-changes`): syncs of
   * accounts already in Entra, activities only.
   */
  laneWorkers: Record<Exclude<SyncLane, 'bulk'>, Worker>;
  relay?: OutboxRelay;
  mailer?: InvitationMailer;
  client: Client;
  /** Resolves when the worker stops; rejects if it crashes. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Sync attempts the change lane runs at once: syncs of accounts already in Entra (SyncLane), on their own task queue
 * with their own slots, so a push or a flood of new hires waiting for Graph's write budget holds none of them. With
 * one queue and one pool, an HR change's sync waited behind such a flood for up to a whole budget window
 * (bench/outbound-flood).
 */
export const CHANGE_LANE_SLOTS = 50;

/**
 * Sync attempts the lifecycle lane runs at once: accounts enabled or disabled (leavers, returns), on a queue of their
 * own, so a mass update waiting for Graph's write budget in the change lane's slots holds none of them either.
 */
export const LIFECYCLE_LANE_SLOTS = 10;

/**
 * How often a sync waiting for the write budget tells the server it is alive, and so learns that its workflow called
 * it off. Only syncs taking longer than a second heartbeat. Given as both the default and the maximum throttle: with
 * a heartbeat timeout (SYNC_HEARTBEAT_TIMEOUT_MS, 20 s) the SDK would otherwise throttle to 0.8 × that timeout (16 s),
 * and a called-off sync would go on waiting that long.
 */
export const SYNC_HEARTBEAT_THROTTLE = '2 seconds';

/**
 * Sync attempts the bulk lane runs at once: the enrolment window (default 50), which the relay fills, and 16 more, as
 * the single pool had before the lanes. The server hands a workflow task's new bulk sync straight back to its worker
 * (eager execution) only while that worker has a free slot, and the relay starts the next enrolment once a sync has
 * written its result, which can be before its slot is given back. Push at 2,000 with exactly 50 slots: 82.7, 66.4 % of the
 * ceiling; with 66: 83.5, 77.7, 78.5 % (the previous worker 78.6, 82.4, 81.3 % alternating) — within the runs' spread,
 * so the headroom is kept as the cheaper side of the doubt.
 */
function bulkLaneSlots(enrolmentsInFlight = 50): number {
  return (enrolmentsInFlight > 0 ? enrolmentsInFlight : 50) + 16;
}

/**
 * The write budget of GRAPH_WRITES_PER_WINDOW per 150 s: GRAPH_CHANGE_RESERVE_PERCENT of it left by bulk writes to
 * changes, GRAPH_LIFECYCLE_RESERVE_PERCENT left by both to lifecycle changes.
 */
export function writeBudgetFromConfig(
  config: Pick<Config, 'GRAPH_WRITES_PER_WINDOW' | 'GRAPH_CHANGE_RESERVE_PERCENT' | 'GRAPH_LIFECYCLE_RESERVE_PERCENT'>,
): Omit<WriteBudgetOptions, 'now' | 'sleep'> {
  const capacity = config.GRAPH_WRITES_PER_WINDOW;
  // A reserve asked for is at least one write, also under a small GRAPH_WRITES_PER_WINDOW.
  const share = (percent: number) => (percent > 0 ? Math.max(1, Math.floor((capacity * percent) / 100)) : 0);
  return {
    capacity,
    windowMs: DEFAULT_WRITE_BUDGET.windowMs,
    reservedForChanges: share(config.GRAPH_CHANGE_RESERVE_PERCENT),
    reservedForLifecycle: share(config.GRAPH_LIFECYCLE_RESERVE_PERCENT),
  };
}

const SEARCH_ATTRIBUTES = { ProvisioningState: 2, TenantId: 2 } as const; // 2 = INDEXED_VALUE_TYPE_KEYWORD

/**
 * Registers ProvisioningState and TenantId when the server lacks them (a fresh dev server). Best effort: a
 * managed cluster may forbid it, and then they must be created by its operator (docs/outbound.md).
 */
async function ensureSearchAttributes(connection: NativeConnection, namespace: string, logger: Logger): Promise<void> {
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.fromEntries(
      Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {}))),
    );
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      logger.info({ added: Object.keys(missing) }, 'registered search attributes');
    }
  } catch (err) {
    logger.warn({ err }, 'could not check or register search attributes ProvisioningState/TenantId');
  }
}

/** Once at start, when this worker cannot send invitations: say so if some tenant expects them. */
async function warnIfInvitationsWait(db: Db, logger: Logger): Promise<void> {
  try {
    const tenants = await countTenantsInvitingNewEmployees(db);
    if (tenants > 0) {
      logger.warn(
        { tenants },
        'tenants have inviteNewEmployees on, but SMTP_URL is not set: their invitations stay pending until it is',
      );
    }
  } catch (err) {
    logger.warn({ err }, 'could not check whether tenants have invitations switched on');
  }
}

/** Starts the Temporal worker, the outbox relay and the invitation mailer; `stop()` shuts them down gracefully. */
export async function createWorkerProcess(deps: WorkerProcessDeps): Promise<WorkerProcess> {
  const namespace = deps.namespace ?? 'default';
  const extraCaPem = deps.extraCaPem ?? (deps.extraCaPath ? fs.readFileSync(deps.extraCaPath, 'utf8') : undefined);
  // One native (Rust core) connection serves the worker, the relay's signals and the returned client: no second
  // gRPC stack in JavaScript, whose per-call cost showed in the worker's CPU profile.
  const connection = await NativeConnection.connect({ address: deps.temporalAddress });
  const client = new Client({ connection, namespace });
  await ensureSearchAttributes(connection, namespace, deps.logger);

  // Graph's write quota is per Entra tenant and app: every worker process leases its writes from PostgreSQL.
  const budgetLog = deps.logger.child({ component: 'write-budget' });
  const budgets = new WriteBudgets(
    {
      ...(deps.writeBudget ?? DEFAULT_WRITE_BUDGET),
      onLedgerError: (err, during) =>
        during === 'lease'
          ? budgetLog.warn({ err }, 'could not lease Graph writes from PostgreSQL; trying again')
          : budgetLog.warn(
              { err },
              'could not hand unspent Graph writes back to PostgreSQL; they count against the quota until their lease span (the 150 s window and a margin) ends',
            ),
    },
    (key) => postgresWriteLedger(deps.db, key),
  );
  const graph =
    deps.graph ??
    createGraphConnector({
      db: deps.db,
      secretsKey: deps.secretsKey,
      previousSecretsKeys: deps.previousSecretsKeys,
      extraCaPem,
      allowedOrigins: deps.graphAllowedOrigins,
      budgets,
    });
  // One set of activities for every lane: they share the Graph connector, and with it each tenant's write budget.
  const activities = createActivities({ db: deps.db, logger: deps.logger.child({ component: 'activities' }), graph });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: deps.taskQueue,
    // The SDK's default identity, plus what this workflow code understands (the relay looks at its pollers').
    identity: `${process.pid}@${os.hostname()} ${FIRST_MESSAGE_CAPABILITY}`,
    ...(deps.workflowBundle
      ? { workflowBundle: deps.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities,
    maxConcurrentActivityTaskExecutions: bulkLaneSlots(deps.enrolmentsInFlight),
    defaultHeartbeatThrottleInterval: SYNC_HEARTBEAT_THROTTLE,
    maxHeartbeatThrottleInterval: SYNC_HEARTBEAT_THROTTLE,
  });
  const laneWorker = (lane: SyncLane, slots: number) =>
    Worker.create({
      connection,
      namespace,
      taskQueue: laneTaskQueue(deps.taskQueue, lane),
      activities,
      maxConcurrentActivityTaskExecutions: slots,
      defaultHeartbeatThrottleInterval: SYNC_HEARTBEAT_THROTTLE,
      maxHeartbeatThrottleInterval: SYNC_HEARTBEAT_THROTTLE,
    });
  const laneWorkers = {
    lifecycle: await laneWorker('lifecycle', LIFECYCLE_LANE_SLOTS),
    change: await laneWorker('change', CHANGE_LANE_SLOTS),
  };
  const workers = [worker, laneWorkers.lifecycle, laneWorkers.change];
  const runs = workers.map((w) => w.run());
  const done = Promise.all(runs).then(() => undefined);

  const relay =
    deps.relay === false
      ? undefined
      : new OutboxRelay({
          db: deps.db,
          temporal: client,
          taskQueue: deps.taskQueue,
          logger: deps.logger.child({ component: 'relay' }),
          pollIntervalMs: deps.relayPollIntervalMs,
          listen: deps.relayListen,
          debounceMs: deps.debounceMs,
          enrolmentsInFlight: deps.enrolmentsInFlight,
          syncAttemptTimeoutMs: deps.syncAttemptTimeoutMs,
          // The relay's client is on the worker's connection: new employees' first workflow tasks come straight here.
          eagerStart: true,
        });
  relay?.start();
  const pruner =
    relay && deps.outboxRetentionMs
      ? new OutboxPruner({
          db: deps.db,
          logger: deps.logger.child({ component: 'outbox-pruner' }),
          retentionMs: deps.outboxRetentionMs,
        })
      : undefined;
  pruner?.start();
  const mailer = deps.invitations
    ? new InvitationMailer({
        db: deps.db,
        logger: deps.logger.child({ component: 'mailer' }),
        listen: deps.relayListen,
        ...deps.invitations,
      })
    : undefined;
  mailer?.start();
  if (!mailer) await warnIfInvitationsWait(deps.db, deps.logger);
  deps.logger.info(
    { taskQueue: deps.taskQueue, namespace, relay: !!relay, mailer: !!mailer, outboxPruner: !!pruner },
    'worker started',
  );

  let stopped: Promise<void> | undefined;
  return {
    worker,
    laneWorkers,
    relay,
    client,
    done,
    stop() {
      stopped ??= (async () => {
        await Promise.all([relay?.stop(), pruner?.stop(), mailer?.stop()]);
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(runs);
        await budgets.release();
        await connection.close().catch(() => undefined);
      })();
      return stopped;
    },
  };
}
