import fs from 'node:fs';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Db } from '../db/knex';
import { createGraphConnector, type GraphConnector } from '../graph/connector';
import { WriteBudgets, type WriteBudgetOptions } from '../graph/write-budget';
import type { Logger } from '../logger';
import { OutboxRelay } from '../relay/outbox-relay';

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
  /** Extra quiet period of new workflows before a sync (default 0; see EmployeeSyncInput.debounceMs). */
  debounceMs?: number;
  /** The relay's window of enrolments in flight (default 50; 0 = no limit; see EnrolmentWindow). */
  enrolmentsInFlight?: number;
  /** Start-to-close timeout of one sync attempt in the workflows the relay starts (default 2 minutes). */
  syncAttemptTimeoutMs?: number;
  writeBudget?: Omit<WriteBudgetOptions, 'now' | 'sleep'>;
  /** Replace the Graph connector (tests). */
  graph?: GraphConnector;
  maxConcurrentActivityTaskExecutions?: number;
}

export interface WorkerProcess {
  worker: Worker;
  relay?: OutboxRelay;
  client: Client;
  /** Resolves when the worker stops; rejects if it crashes. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Activity slots beyond the enrolment window, so HR changes find a free one while a push waits for Graph's budget. */
export const CHANGE_ACTIVITY_SLOTS = 16;

/**
 * Sync attempts the worker runs at once: the enrolment window (default 50) plus slots for changes. With exactly the
 * window's 50, a push held every slot while its syncs waited for the write budget, and an HR change's sync could not
 * start until the push's writes left Graph's window (bench/outbound-flood: p50 135 s before, ~40 ms after).
 */
function activitySlots(enrolmentsInFlight = 50): number {
  return (enrolmentsInFlight > 0 ? enrolmentsInFlight : 50) + CHANGE_ACTIVITY_SLOTS;
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

/** Starts the Temporal worker and the outbox relay; `stop()` shuts both down gracefully. */
export async function createWorkerProcess(deps: WorkerProcessDeps): Promise<WorkerProcess> {
  const namespace = deps.namespace ?? 'default';
  const extraCaPem = deps.extraCaPem ?? (deps.extraCaPath ? fs.readFileSync(deps.extraCaPath, 'utf8') : undefined);
  // One native (Rust core) connection serves the worker, the relay's signals and the returned client: no second
  // gRPC stack in JavaScript, whose per-call cost showed in the worker's CPU profile.
  const connection = await NativeConnection.connect({ address: deps.temporalAddress });
  const client = new Client({ connection, namespace });
  await ensureSearchAttributes(connection, namespace, deps.logger);

  const graph =
    deps.graph ??
    createGraphConnector({
      db: deps.db,
      secretsKey: deps.secretsKey,
      extraCaPem,
      allowedOrigins: deps.graphAllowedOrigins,
      budgets: new WriteBudgets(deps.writeBudget),
    });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: deps.taskQueue,
    ...(deps.workflowBundle
      ? { workflowBundle: deps.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({ db: deps.db, logger: deps.logger.child({ component: 'activities' }), graph }),
    maxConcurrentActivityTaskExecutions:
      deps.maxConcurrentActivityTaskExecutions ?? activitySlots(deps.enrolmentsInFlight),
  });
  const done = worker.run();

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
        });
  relay?.start();
  deps.logger.info({ taskQueue: deps.taskQueue, namespace, relay: !!relay }, 'worker started');

  let stopped: Promise<void> | undefined;
  return {
    worker,
    relay,
    client,
    done,
    stop() {
      stopped ??= (async () => {
        await relay?.stop();
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done.catch(() => undefined);
        await connection.close().catch(() => undefined);
      })();
      return stopped;
    },
  };
}
