import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import { upsertOutboundSettings } from '../../src/db/outbound-settings';
import { DEFAULT_MAPPING } from '../../src/graph/mapping';
import { silentLogger } from '../../src/logger';
import { createWorkerProcess, type WorkerProcess } from '../../src/worker';
import { createTestDb, type TestDb } from '../support/db';
import { buildTestApp, seedTenant, type SeededTenant } from '../support/app';
import {
  emulatorConnection,
  startTestEmulator,
  testSecretsKey,
  VERIFIED,
  type TestEmulator,
} from '../integration/outbound/support';
import { workflowBundle } from '../workflows/support/env';
import { scimRequest, until } from './support/http';

/**
 * Two worker processes on one task queue (as an operator scales out for availability) against an Entra tenant whose
 * write quota is scaled down to 6 writes per 10 minutes. Graph counts the quota per app and tenant, not per worker: the
 * two together must send 6 creates, let the other new hires wait, and draw no 429.
 */
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const QUOTA = 6;
const WINDOW_MS = 10 * 60_000;

describe('outbound with two worker processes: one Graph write quota between them', () => {
  let t: TestDb;
  let em: TestEmulator;
  let app: Express;
  let tenant: SeededTenant;
  let connection: Connection;
  const workers: WorkerProcess[] = [];
  const taskQueue = `e2e-two-workers-${Date.now()}`;

  beforeAll(async () => {
    [t, em] = await Promise.all([
      createTestDb(),
      startTestEmulator({ throttling: { appTenantWrites: QUOTA, appTenantWriteWindowMs: WINDOW_MS } }),
    ]);
    tenant = await seedTenant(t.db, 'two workers e2e');
    const secretsKey = testSecretsKey();
    await upsertOutboundSettings(
      t.db,
      tenant.tenantId,
      { ...emulatorConnection(em), graphBaseUrl: `${em.url}/v1.0`, mapping: [...DEFAULT_MAPPING], setManager: false },
      secretsKey,
    );
    const bundle = await workflowBundle();
    for (let i = 0; i < 2; i++) {
      workers.push(
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
          // Each worker's own budget is the whole quota, as GRAPH_WRITES_PER_WINDOW is for every worker.
          writeBudget: { capacity: QUOTA, windowMs: WINDOW_MS, reservedForChanges: 0, reservedForLifecycle: 0 },
        }),
      );
    }
    connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    app = buildTestApp(t.db, { temporal: new Client({ connection }), temporalTaskQueue: taskQueue, secretsKey });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
    await em?.stop();
    await t?.drop();
  });

  it('sends as many creates as the quota allows, whichever worker runs them, and no write draws a 429', async () => {
    const hires = 12;
    for (let i = 0; i < hires; i++) {
      const res = await scimRequest(app, tenant.scimToken, 'post', '/Users', {
        schemas: [CORE],
        userName: `hire${i}@${VERIFIED}`,
        active: true,
        name: { givenName: 'Ada', familyName: `Lovelace ${i}` },
      });
      expect(res.status).toBe(201);
    }
    await until('the creates the quota allows', async () => (await em.users()).length === QUOTA);
    // Give the waiting syncs time to try: they wait for the window instead of writing.
    await new Promise((r) => setTimeout(r, 3_000));
    const writes = (await em.requests()).filter((r) => r.method === 'POST' && r.url.endsWith('/users'));
    expect(writes.filter((r) => r.status === 429)).toEqual([]);
    expect(writes).toHaveLength(QUOTA);
    expect(await em.users()).toHaveLength(QUOTA);
    // The writes were leased from the quota the workers share in PostgreSQL.
    const leased = await t.db('graph_write_leases').sum('writes as n');
    expect(Number(leased[0].n)).toBe(QUOTA);
    // The others are PENDING, not BLOCKED: they go out when the window has room.
    const states = await t
      .db('employee_provisioning')
      .where({ tenant_id: tenant.tenantId })
      .select('state')
      .then((rows: Array<{ state: string }>) => rows.map((r) => r.state));
    expect(states.filter((s) => s === 'BLOCKED')).toEqual([]);
    expect(states.filter((s) => s === 'PENDING')).toHaveLength(hires - QUOTA);
  }, 60_000);
});
