import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import { upsertOutboundSettings } from '../../../src/db/outbound-settings';
import type { ThrottleLimits } from '../../../src/emulator';
import { DEFAULT_MAPPING } from '../../../src/graph/mapping';
import type { WriteBudgetOptions } from '../../../src/graph/write-budget';
import { silentLogger } from '../../../src/logger';
import { createWorkerProcess, type WorkerProcess } from '../../../src/worker';
import { buildTestApp, seedTenant, type SeededTenant } from '../../support/app';
import { createTestDb, type TestDb } from '../../support/db';
import {
  emulatorConnection,
  startTestEmulator,
  testSecretsKey,
  type TestEmulator,
} from '../../integration/outbound/support';
import { workflowBundle } from '../../workflows/support/env';

export interface OutboundStack {
  t: TestDb;
  em: TestEmulator;
  app: Express;
  tenant: SeededTenant;
  /** The worker processes (in this process), all on one task queue. */
  workers: WorkerProcess[];
  connection: Connection;
}

export interface OutboundStackOptions {
  /** Each worker's write budget (GRAPH_WRITES_PER_WINDOW and the reserves, scaled down). */
  writeBudget: Omit<WriteBudgetOptions, 'now' | 'sleep' | 'ledger'>;
  workers?: number;
  enrolmentsInFlight?: number;
  /** The emulator's limits; off by default. */
  throttling?: Partial<ThrottleLimits>;
}

/**
 * SCIM in, emulator out: a tenant whose outbound provisioning is on against the emulator, and worker processes (relay
 * included) on a task queue of their own. Registers the set-up and the tear-down with jest; the stack is filled in
 * `beforeAll`.
 */
export function outboundStack(name: string, opts: OutboundStackOptions): OutboundStack {
  const stack = { workers: [] as WorkerProcess[] } as OutboundStack;
  const secretsKey = testSecretsKey();
  const taskQueue = `e2e-${name}-${Date.now()}`;

  beforeAll(async () => {
    [stack.t, stack.em] = await Promise.all([
      createTestDb(),
      startTestEmulator(opts.throttling ? { throttling: opts.throttling } : {}),
    ]);
    const { t, em } = stack;
    stack.tenant = await seedTenant(t.db, `${name} e2e`);
    await upsertOutboundSettings(
      t.db,
      stack.tenant.tenantId,
      { ...emulatorConnection(em), graphBaseUrl: `${em.url}/v1.0`, mapping: [...DEFAULT_MAPPING], setManager: false },
      secretsKey,
    );
    const bundle = await workflowBundle();
    for (let i = 0; i < (opts.workers ?? 1); i++) {
      stack.workers.push(
        await createWorkerProcess({
          db: t.db,
          logger: silentLogger(),
          temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!,
          taskQueue,
          secretsKey,
          extraCaPem: em.ca,
          graphAllowedOrigins: [em.url],
          workflowBundle: bundle,
          relayPollIntervalMs: 25,
          ...(opts.enrolmentsInFlight !== undefined ? { enrolmentsInFlight: opts.enrolmentsInFlight } : {}),
          writeBudget: opts.writeBudget,
        }),
      );
    }
    stack.connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    stack.app = buildTestApp(t.db, {
      temporal: new Client({ connection: stack.connection }),
      temporalTaskQueue: taskQueue,
      secretsKey,
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(stack.workers.map((w) => w.stop()));
    await stack.connection?.close();
    await stack.em?.stop();
    await stack.t?.drop();
  });

  return stack;
}
