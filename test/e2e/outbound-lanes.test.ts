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
 * A flood of new hires at Graph's write limit must not hold up a change to an account already in Entra: new accounts
 * run in the bulk lane, which leaves the budget's reserve to changes; a leaver's disable runs in the change lane, on
 * its own task queue with its own slots. Scaled down: a budget of 10 writes per 10 minutes, 3 of them reserved for
 * changes, 3 bulk slots.
 */
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const NEW_HIRES = 10;

describe('outbound lanes: HR changes pass a flood of new hires waiting for the write budget', () => {
  let t: TestDb;
  let em: TestEmulator;
  let app: Express;
  let tenant: SeededTenant;
  let worker: WorkerProcess;
  let connection: Connection;
  const secretsKey = testSecretsKey();
  const taskQueue = `e2e-lanes-${Date.now()}`;

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
    tenant = await seedTenant(t.db, 'Lanes e2e');
    await upsertOutboundSettings(
      t.db,
      tenant.tenantId,
      {
        ...emulatorConnection(em),
        graphBaseUrl: `${em.url}/v1.0`,
        mapping: [...DEFAULT_MAPPING],
        setManager: false,
      },
      secretsKey,
    );
    worker = await createWorkerProcess({
      db: t.db,
      logger: silentLogger(),
      temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!,
      taskQueue,
      secretsKey,
      extraCaPem: em.ca,
      graphAllowedOrigins: [em.url],
      workflowBundle: await workflowBundle(),
      relayPollIntervalMs: 25,
      enrolmentsInFlight: 3,
      writeBudget: { capacity: 10, windowMs: 10 * 60_000, reservedForChanges: 3 },
    });
    connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    app = buildTestApp(t.db, { temporal: new Client({ connection }), temporalTaskQueue: taskQueue, secretsKey });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await em?.stop();
    await t?.drop();
  });

  const scim = (method: 'post' | 'patch', path: string, body: unknown) =>
    scimRequest(app, tenant.scimToken, method, path, body);

  async function hire(userName: string): Promise<string> {
    const res = await scim('post', '/Users', {
      schemas: [CORE],
      userName,
      active: true,
      name: { givenName: 'Grace', familyName: 'Hopper' },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const entraUser = async (upn: string) => (await em.users()).find((u) => u.userPrincipalName === upn);

  it("disables a leaver's account at once while new hires wait for Graph's write budget", async () => {
    const before = (await em.users()).length;
    const leaverId = await hire(`leaver@${VERIFIED}`);
    await until('the leaver’s account', () => entraUser(`leaver@${VERIFIED}`));

    for (let i = 0; i < NEW_HIRES; i++) await hire(`hire${i}@${VERIFIED}`);
    // Bulk writes may use 7 of the 10: the leaver's create and 6 new hires; the other 4 wait for the window.
    await until('the new hires the budget lets through', async () => (await em.users()).length === before + 7);

    const started = Date.now();
    const res = await scim('patch', `/Users/${leaverId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(res.status).toBe(200);
    await until('the disabled account', async () => (await entraUser(`leaver@${VERIFIED}`))?.accountEnabled === false);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The flood is still waiting: the change did not get through by the budget running free.
    expect(await em.users()).toHaveLength(before + 7);
  });

  it('stops promptly while syncs wait for the write budget, leaving them to Temporal to run again', async () => {
    const started = Date.now();
    await worker.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
