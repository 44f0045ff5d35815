import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { recordEmployeeChange } from '../../src/db/changes';
import { getProvisioning } from '../../src/db/provisioning';
import type { employeeSyncWorkflow } from '../../src/workflows/employee-sync';
import {
  employeeSyncWorkflowId,
  enrolSignal,
  statusQuery,
  SYNC_HEARTBEAT_TIMEOUT_MS,
  type EnrolSignal,
} from '../../src/workflows/messages';
import { createTestDb, type TestDb } from '../support/db';
import {
  createOutboundTenant,
  emulatorCertificate,
  startTestEmulator,
  testSecretsKey,
  VERIFIED,
  type TestEmulator,
} from '../integration/outbound/support';
import { spawnWorkerProcess } from './support/worker-process';

/**
 * The worker process (src/bin/worker.ts, as deployed) is SIGKILLed while Graph is creating an account: Graph has
 * created it, the worker never saw the answer, so no object id was stored. A second worker process takes over and
 * must end up with exactly one Entra account for the employee, and takes over once the dead attempt stops heartbeating.
 */
describe('worker killed mid-sync', () => {
  let t: TestDb;
  let em: TestEmulator;
  let connection: Connection;
  let client: Client;
  const secretsKey = testSecretsKey();
  const taskQueue = `e2e-kill-${Date.now()}`;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
    connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    client = new Client({ connection });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await connection?.close();
    await em?.stop();
    await t?.drop();
  });

  function startWorker(): ChildProcess {
    const child = spawnWorkerProcess(
      t.url,
      {
        TEMPORAL_TASK_QUEUE: taskQueue,
        SECRETS_KEY: secretsKey.toString('base64'),
        GRAPH_EXTRA_CA_CERTS: emulatorCertificate().certPath,
        GRAPH_ALLOWED_ORIGINS: em.url,
        LOG_LEVEL: 'error',
      },
      ['ignore', 'ignore', 'inherit'],
    );
    children.push(child);
    return child;
  }

  async function until<T>(
    what: string,
    fn: () => Promise<T | undefined | false | null>,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn().catch(() => undefined);
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('leaves exactly one Entra account after the worker dies between Graph creating it and the object id being stored', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const upn = `killed.mid.sync@${VERIFIED}`;
    const employeeId = await t.db.transaction(async (trx) => {
      const [row] = await trx('employees')
        .insert({ tenant_id: tenantId, user_name: upn, given_name: 'Kim', family_name: 'Kill', version: 0 })
        .returning('id');
      await recordEmployeeChange(trx, {
        tenantId,
        employeeId: row.id,
        changedAttributes: ['userName'],
        changes: {},
        action: 'created',
        source: 'scim',
      });
      return row.id as string;
    });
    // Started here first (the relay then signals the running workflow), with an attempt timeout far longer than the
    // test: only the heartbeat timeout (SYNC_HEARTBEAT_TIMEOUT_MS) can give the dead worker's attempt up in time.
    await client.workflow.signalWithStart<typeof employeeSyncWorkflow, [EnrolSignal]>('employeeSyncWorkflow', {
      workflowId: employeeSyncWorkflowId(tenantId, employeeId),
      taskQueue,
      args: [{ tenantId, employeeId, activityTimeoutMs: 30 * 60_000 }],
      signal: enrolSignal,
      signalArgs: [{ source: 'admin' }],
    });
    // Graph answers slowly, so the account exists in Entra well before the worker hears about it.
    await em.operator('PATCH', '/_emulator/faults', { latencyMs: 1000 });

    const first = startWorker();
    await until(
      'Graph to create the account',
      async () => (await em.users()).some((u) => u.userPrincipalName === upn),
      60_000,
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect((await getProvisioning(t.db, tenantId, employeeId))?.entraObjectId ?? null).toBeNull();

    await em.operator('PATCH', '/_emulator/faults', { latencyMs: 0 });
    const killedAt = Date.now();
    startWorker();
    const handle = client.workflow.getHandle(employeeSyncWorkflowId(tenantId, employeeId));
    await until('SYNCED', async () => (await handle.query(statusQuery)).state === 'SYNCED', 60_000);
    // Retried once the dead attempt missed its heartbeats (20 s), not after its 30-minute start-to-close timeout.
    expect(Date.now() - killedAt).toBeLessThan(SYNC_HEARTBEAT_TIMEOUT_MS + 30_000);

    const accounts = (await em.users()).filter((u) => u.userPrincipalName === upn);
    expect(accounts).toHaveLength(1);
    expect((await getProvisioning(t.db, tenantId, employeeId))?.entraObjectId).toBe(accounts[0]!.id);
  }, 120_000);
});
