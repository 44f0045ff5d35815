import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { loadConfig } from '../../../src/config';
import type { Activities } from '../../../src/activities';
import { laneTaskQueue } from '../../../src/workflows/messages';

// Worker chatter drowns test output: many tests fail activities on purpose, and each failure logs a warning with
// its stack. Errors only by default; TEST_TEMPORAL_LOG_LEVEL=WARN (or DEBUG) shows more when a test needs a look.
// Runtime.install works once per process.
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
const level = LOG_LEVELS.find((l) => l === process.env.TEST_TEMPORAL_LOG_LEVEL) ?? 'ERROR';
try {
  Runtime.install({ logger: new DefaultLogger(level) });
} catch {
  // already installed by another test file in this jest worker
}

/** The time-skipping test server, with the search attributes the workflow upserts registered on it. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: loadConfig().TEMPORAL_TEST_SERVER_PATH } },
  });
  // 2 = INDEXED_VALUE_TYPE_KEYWORD; the test server knows only its Custom* attributes until told (temporal.md §1.4).
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: { ProvisioningState: 2, TenantId: 2 },
  });
  return env;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundled once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../../src/workflows'), logger: quietLogger });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/**
 * A worker for one test, polling every queue the worker process polls: the task queue (workflows, bulk syncs) and the
 * lifecycle and change lanes' (`<taskQueue>-lifecycle`, `<taskQueue>-changes`). `worker.runUntil` runs them all.
 */
export async function createTestWorker(
  env: TestWorkflowEnvironment,
  activities: Activities,
  /** The lanes polled besides bulk; leave one out to keep its syncs queued, as behind a mass update. */
  lanes: ReadonlyArray<'lifecycle' | 'change'> = ['lifecycle', 'change'],
) {
  const taskQueue = `tq-${randomUUID()}`;
  const main = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const laneWorkers = await Promise.all(
    lanes.map((lane) =>
      Worker.create({ connection: env.nativeConnection, taskQueue: laneTaskQueue(taskQueue, lane), activities }),
    ),
  );
  const worker = {
    runUntil: <R>(fn: () => Promise<R>): Promise<R> =>
      main.runUntil(laneWorkers.reduce((inner, w) => () => w.runUntil(inner), fn)),
  };
  return { worker, taskQueue };
}

/** Polls `fn` until it returns a truthy value (real time, for queries; queries do not skip time). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      // One attempt may hang (a query that reached a run while it continued as new): bound it and ask again. An
      // abandoned attempt may still reject later (e.g. "Channel has been shut down" at teardown): `within` ignores it.
      const v = await within(Math.min(2_000, Math.max(1, deadline - Date.now())), 'one attempt', fn());
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `promise`, or a clear failure naming `what` after `ms` (instead of jest's bare timeout for the whole test). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * With RECORD_HISTORIES=1, saves the workflow's history as test/workflows/histories/<name>.json for the replay test —
 * only if no history of that name exists: a recorded history is what an older version of the workflow did, and
 * replaying it against today's code is the point (record a new name for new behaviour).
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const file = path.join(__dirname, '../histories', `${name}.json`);
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, historyToJSON(await handle.fetchHistory()) + '\n');
}
