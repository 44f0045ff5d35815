import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { OutboxRelay, RELAY_LOCK_KEY, type OutboxRelayOptions } from '../../../src/relay/outbox-relay';
import { silentLogger } from '../../../src/logger';
import { enrolEmployees, getProvisioning, recordState } from '../../../src/db/provisioning';
import {
  employeeChangedSignal,
  employeeSyncWorkflowId,
  TenantIdKey,
  FIRST_MESSAGE_CAPABILITY,
  type EmployeeChangedSignal,
  type FirstMessage,
} from '../../../src/workflows/messages';
import { eventually, workflowBundle } from '../../workflows/support/env';
import { change, fakeActivities } from '../../workflows/support/fakes';
import { createTestDb, type TestDb } from '../../support/db';
import { createEmployee, createOutboundTenant, testSecretsKey, updateEmployee, VERIFIED } from './support';

/**
 * The relay on real PostgreSQL and the real Temporal dev server. No worker runs here: what reached Temporal is read
 * from the workflows' histories (signals in order, with their payloads).
 */
describe('outbox relay', () => {
  let t: TestDb;
  let connection: Connection;
  let temporal: Client;
  const secretsKey = testSecretsKey();
  const taskQueue = `relay-test-${Date.now()}`;
  const fakeGraph = { url: 'https://127.0.0.1:1' };

  beforeAll(async () => {
    t = await createTestDb();
    connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    temporal = new Client({ connection });
  });
  afterAll(async () => {
    await connection?.close();
    await t?.drop();
  });

  const relay = (client = temporal, options: Partial<OutboxRelayOptions> = {}) =>
    new OutboxRelay({ db: t.db, temporal: client, taskQueue, logger: silentLogger(), ...options });

  async function signalsOf(tenantId: string, employeeId: string): Promise<EmployeeChangedSignal[]> {
    const history = await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, employeeId)).fetchHistory();
    const converter = temporal.options.loadedDataConverter.payloadConverter;
    return (history.events ?? [])
      .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'employeeChanged')
      .map(
        (e) =>
          converter.fromPayload(
            e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!,
          ) as EmployeeChangedSignal,
      );
  }

  const signalNames = async (tenantId: string, employeeId: string): Promise<string[]> => {
    const history = await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, employeeId)).fetchHistory();
    return (history.events ?? []).flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
  };

  const undelivered = () => t.db('outbox').whereNull('delivered_at').select('id', 'attempts', 'last_error');

  it('signals-with-start each employee workflow once per row, in order, and marks rows delivered', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `a@${VERIFIED}` });
    const b = await createEmployee(t.db, tenantId, { user_name: `b@${VERIFIED}` });
    await updateEmployee(t.db, tenantId, a.id, { department: 'Sales' });
    await updateEmployee(t.db, tenantId, a.id, { custom_attributes: { x: 1 } });

    const round = await relay().runOnce();
    expect(round).toMatchObject({ delivered: 4, failed: 0, ran: true });
    expect(await undelivered()).toEqual([]);

    const signals = await signalsOf(tenantId, a.id);
    expect(signals.map((s) => s.version)).toEqual([1, 2, 3]);
    expect(signals[1]).toEqual({ version: 2, changedAttributes: ['department'], source: 'scim', touchesWatched: true });
    expect(signals[2]).toMatchObject({ changedAttributes: ['customAttributes'], touchesWatched: false });
    expect((await signalsOf(tenantId, b.id)).map((s) => s.version)).toEqual([1]);

    const description = await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, a.id)).describe();
    expect(description.typedSearchAttributes.get(TenantIdKey)).toBe(tenantId);
    await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, a.id)).terminate('test done');
    await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, b.id)).terminate('test done');
  });

  it("starts workflows with the worker's sync attempt timeout, and without one when none is set", async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `timeout.a@${VERIFIED}` });
    await relay(temporal, { syncAttemptTimeoutMs: 15_000 }).runOnce();
    const b = await createEmployee(t.db, tenantId, { user_name: `timeout.b@${VERIFIED}` });
    await relay().runOnce();

    const inputOf = async (employeeId: string) => {
      const history = await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, employeeId)).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
      return temporal.options.loadedDataConverter.payloadConverter.fromPayload(started.input!.payloads![0]!);
    };
    expect(await inputOf(a.id)).toEqual({ tenantId, employeeId: a.id, activityTimeoutMs: 15_000 });
    expect(await inputOf(b.id)).toEqual({ tenantId, employeeId: b.id });
    for (const id of [a.id, b.id])
      await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, id)).terminate('test done');
  });

  it("delivers the admin API's enrolment as the enrol signal, after the employee's earlier changes", async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `enrol.a@${VERIFIED}` });
    const b = await createEmployee(t.db, tenantId, { user_name: `enrol.b@${VERIFIED}` });
    expect(await enrolEmployees(t.db, tenantId, [a.id])).toBe(1);
    expect(await getProvisioning(t.db, tenantId, a.id)).toMatchObject({ state: 'PENDING' });
    expect(await getProvisioning(t.db, tenantId, b.id)).toBeUndefined();

    expect(await relay().runOnce()).toMatchObject({ delivered: 3, failed: 0 });
    expect(await signalNames(tenantId, a.id)).toEqual(['employeeChanged', 'enrol']);
    expect(await signalNames(tenantId, b.id)).toEqual(['employeeChanged']);

    // "all" enrols every employee of the tenant, and only of this tenant.
    const other = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    await createEmployee(t.db, other, { user_name: `enrol.c@${VERIFIED}` });
    expect(await enrolEmployees(t.db, tenantId, 'all')).toBe(2);
    await relay().runOnce();
    expect(await signalNames(tenantId, a.id)).toEqual(['employeeChanged', 'enrol', 'enrol']);
    expect(await signalNames(tenantId, b.id)).toEqual(['employeeChanged', 'enrol']);
    for (const id of [a.id, b.id])
      await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, id)).terminate('test done');
  });

  /** A worker on the relay's task queue sharing the relay's native connection, as in the worker process. */
  const eagerQueue = `${taskQueue}-eager`;
  async function withWorkerProcessConnection(
    fn: (nativeClient: Client, fake: ReturnType<typeof fakeActivities>) => Promise<void>,
    worker: { taskQueue: string; identity: string } = {
      taskQueue: eagerQueue,
      identity: `test ${FIRST_MESSAGE_CAPABILITY}`,
    },
  ): Promise<void> {
    const native = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    const fake = fakeActivities((_call, req) => ({ syncedVersion: 1, entraObjectId: `obj-${req.employeeId}` }));
    try {
      const running = await Worker.create({
        connection: native,
        ...worker,
        workflowBundle: await workflowBundle(),
        activities: fake.activities,
      });
      await running.runUntil(async () => {
        // The relay decides by the task queue's pollers: wait until the server lists this worker among them.
        await eventually(async () => {
          const { pollers } = await temporal.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: worker.taskQueue },
            taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          });
          return pollers?.some((p) => p.identity === worker.identity);
        });
        await fn(new Client({ connection: native }), fake);
      });
    } finally {
      await native.close();
    }
  }

  const startedWith = async (tenantId: string, employeeId: string): Promise<FirstMessage | undefined> => {
    const history = await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, employeeId)).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = temporal.options.loadedDataConverter.payloadConverter.fromPayload(started!.input!.payloads![0]!);
    return (input as { firstMessage?: FirstMessage }).firstMessage;
  };

  /** The employee's workflow was started by signal-with-start: no first message, one employeeChanged signal. Ends it. */
  async function expectSignalledWithStart(tenantId: string, employeeId: string): Promise<void> {
    expect(await startedWith(tenantId, employeeId)).toBeUndefined();
    expect(await signalNames(tenantId, employeeId)).toEqual(['employeeChanged']);
    await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, employeeId)).terminate('test done');
  }

  const relayed = (tenantId: string) =>
    t.db('relayed_employees').where({ tenant_id: tenantId }).orderBy('employee_id').pluck('employee_id');

  it("starts a new employee's workflow with the row's message, handed straight to the relay's own worker", async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `eager.a@${VERIFIED}` });
    await updateEmployee(t.db, tenantId, a.id, { department: 'Sales' });
    const b = await createEmployee(t.db, tenantId, { user_name: `eager.b@${VERIFIED}` });
    expect(await enrolEmployees(t.db, tenantId, [b.id])).toBe(1);

    await withWorkerProcessConnection(async (nativeClient, fake) => {
      const eager = relay(nativeClient, { eagerStart: true, taskQueue: eagerQueue });
      expect(await eager.runOnce()).toMatchObject({ delivered: 4, startedEagerly: 2, failed: 0 });
      // The first row started the run; the employee's next row was a signal to it.
      expect(await startedWith(tenantId, a.id)).toMatchObject({
        signal: 'employeeChanged',
        arg: { version: 1, changedAttributes: ['userName'], source: 'scim' },
      });
      // (A signal shows in the history once the workflow task running meanwhile has completed.)
      const versions = async () => (await signalsOf(tenantId, a.id)).map((x) => x.version);
      expect(await eventually(async () => (await versions()).length > 0 && versions())).toEqual([2]);
      expect(await startedWith(tenantId, b.id)).toMatchObject({ signal: 'employeeChanged' });
      expect(
        await eventually(async () => (await signalNames(tenantId, b.id)).length > 0 && signalNames(tenantId, b.id)),
      ).toEqual(['enrol']);
      expect(await relayed(tenantId)).toEqual([a.id, b.id].sort());

      // Reached before: a later change is a signal to the same run, not another start.
      await updateEmployee(t.db, tenantId, a.id, { department: 'Legal' });
      const runId = (await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, a.id)).describe()).runId;
      expect(await eager.runOnce()).toMatchObject({ delivered: 1, startedEagerly: 0 });
      expect(await eventually(async () => (await versions()).length > 1 && versions())).toEqual([2, 3]);
      const after = await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, a.id)).describe();
      expect(after.runId).toBe(runId);
      // The worker got the workflows and ran their first syncs.
      await eventually(async () => fake.syncs.length >= 2);
      expect(new Set(fake.syncs.map((x) => x.req.employeeId))).toEqual(new Set([a.id, b.id]));
    });
    for (const id of [a.id, b.id])
      await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, id)).terminate('test done');
  });

  it('signals a running workflow the relay has no record of (started before an upgrade) instead of starting it', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `unrecorded.a@${VERIFIED}` });
    await t.db('outbox').where({ tenant_id: tenantId }).update({ delivered_at: t.db.fn.now() });
    const handle = await temporal.workflow.signalWithStart('employeeSyncWorkflow', {
      workflowId: employeeSyncWorkflowId(tenantId, a.id),
      taskQueue: eagerQueue,
      args: [{ tenantId, employeeId: a.id }],
      signal: employeeChangedSignal,
      signalArgs: [change(1, ['userName'])],
    });
    await updateEmployee(t.db, tenantId, a.id, { department: 'Sales' });
    expect(await relayed(tenantId)).toEqual([]);

    await withWorkerProcessConnection(async (nativeClient) => {
      expect(await relay(nativeClient, { eagerStart: true, taskQueue: eagerQueue }).runOnce()).toMatchObject({
        delivered: 1,
        startedEagerly: 0,
        failed: 0,
      });
    });
    const versions = async () => (await signalsOf(tenantId, a.id)).map((x) => x.version);
    expect(await eventually(async () => (await versions()).length > 1 && versions())).toEqual([1, 2]);
    expect((await handle.describe()).runId).toBe(handle.signaledRunId);
    expect(await relayed(tenantId)).toEqual([a.id]);
    await handle.terminate('test done');
  });

  it('starts new workflows by signal-with-start while a worker of an older version polls the task queue', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `older.a@${VERIFIED}` });
    const olderQueue = `${taskQueue}-older`;
    // The SDK's default identity: workflow code from before the first message, which would ignore it.
    await withWorkerProcessConnection(
      async (nativeClient) => {
        const round = await relay(nativeClient, { eagerStart: true, taskQueue: olderQueue }).runOnce();
        expect(round).toMatchObject({ delivered: 1, startedEagerly: 0, failed: 0 });
      },
      { taskQueue: olderQueue, identity: `${process.pid}@older-host` },
    );
    await expectSignalledWithStart(tenantId, a.id);
  });

  it('starts new workflows by signal-with-start while no worker polls the task queue yet', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `unpolled.a@${VERIFIED}` });
    // A worker of an older version may be about to poll again (a server restart); nothing says it is not one.
    const native = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    try {
      const round = await relay(new Client({ connection: native }), {
        eagerStart: true,
        taskQueue: `${taskQueue}-unpolled`,
      }).runOnce();
      expect(round).toMatchObject({ delivered: 1, startedEagerly: 0, failed: 0 });
    } finally {
      await native.close();
    }
    await expectSignalledWithStart(tenantId, a.id);
  });

  it('starts new workflows by signal-with-start when its client cannot start them eagerly (not on a NativeConnection)', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const a = await createEmployee(t.db, tenantId, { user_name: `grpc.a@${VERIFIED}` });
    expect(await relay(temporal, { eagerStart: true }).runOnce()).toMatchObject({ delivered: 1, failed: 0 });
    await expectSignalledWithStart(tenantId, a.id);
  });

  it('lets a window of enrolments out at a time, the next as first syncs finish, and changes pass the waiting ones', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    for (const n of ['a', 'b', 'c', 'd', 'e'])
      await createEmployee(t.db, tenantId, { user_name: `window.${n}@${VERIFIED}` });
    const r = relay(temporal, { enrolmentsInFlight: 2 });
    await r.runOnce(); // the employees' creations
    expect(await enrolEmployees(t.db, tenantId, 'all')).toBe(5);
    // a…e in the order their enrolments were queued.
    const ids: string[] = await t
      .db('outbox')
      .where({ tenant_id: tenantId, kind: 'enrol' })
      .orderBy('id')
      .pluck('employee_id');
    const [a, b, c, , e] = ids as [string, string, string, string, string];
    const enrolled = async () => {
      const names = await Promise.all(ids.map((id) => signalNames(tenantId, id)));
      return names.map((n) => n.filter((s) => s === 'enrol').length);
    };

    // The two oldest enrolments go out; the other three wait in the outbox.
    expect(await r.runOnce()).toMatchObject({ delivered: 2, failed: 0 });
    expect(await enrolled()).toEqual([1, 1, 0, 0, 0]);

    // While both are in flight no further enrolment goes out, but changes do: a's at once; e's only after e's own
    // enrolment, which is still waiting.
    await updateEmployee(t.db, tenantId, a, { department: 'Sales' });
    await updateEmployee(t.db, tenantId, e, { department: 'Legal' });
    expect(await r.runOnce()).toMatchObject({ delivered: 1, failed: 0 });
    expect(await signalNames(tenantId, a)).toEqual(['employeeChanged', 'enrol', 'employeeChanged']);
    expect(await signalNames(tenantId, e)).toEqual(['employeeChanged']);

    // a's first sync finishes (the worker writes SYNCED): one place is free.
    await recordState(t.db, tenantId, a, 'SYNCED');
    expect(await r.runOnce()).toMatchObject({ delivered: 1 });
    expect(await enrolled()).toEqual([1, 1, 1, 0, 0]);

    // b's and c's finish (BLOCKED counts as finished too): d and e go out, e's change right after its enrolment.
    await recordState(t.db, tenantId, b, 'SYNCED');
    await t.db('employee_provisioning').where({ tenant_id: tenantId, employee_id: c }).update({ state: 'BLOCKED' });
    expect(await r.runOnce()).toMatchObject({ delivered: 3 });
    expect(await enrolled()).toEqual([1, 1, 1, 1, 1]);
    expect(await signalNames(tenantId, e)).toEqual(['employeeChanged', 'enrol', 'employeeChanged']);
    expect(await undelivered()).toEqual([]);
    for (const id of ids)
      await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, id)).terminate('test done');
  });

  it('frees the place of an enrolment whose sync takes too long, and has no window when its size is 0', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const ids: string[] = [];
    for (const n of ['s1', 's2', 's3'])
      ids.push((await createEmployee(t.db, tenantId, { user_name: `${n}@${VERIFIED}` })).id);
    await relay().runOnce();
    await enrolEmployees(t.db, tenantId, ids);

    const slow = relay(temporal, { enrolmentsInFlight: 1, enrolmentReleaseAfterMs: 200 });
    expect(await slow.runOnce()).toMatchObject({ delivered: 1 });
    expect(await slow.runOnce()).toMatchObject({ delivered: 0 });
    // Still PENDING (no worker runs here), but held for longer than 200 ms: the next one may go.
    await new Promise((res) => setTimeout(res, 250));
    expect(await slow.runOnce()).toMatchObject({ delivered: 1 });
    expect((await getProvisioning(t.db, tenantId, ids[0]!))?.state).toBe('PENDING');

    await enrolEmployees(t.db, tenantId, ids);
    expect(await relay(temporal, { enrolmentsInFlight: 0 }).runOnce()).toMatchObject({ delivered: 4 });
    expect(await undelivered()).toEqual([]);
    for (const id of ids)
      await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, id)).terminate('test done');
  });

  it('loses nothing while Temporal is unreachable: rows wait with the error, then go out in order', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `outage@${VERIFIED}` });
    await updateEmployee(t.db, tenantId, e.id, { job_title: 'X' });

    // Temporal's frontend refusing connections, as the client reports it.
    const down = {
      withDeadline: <R>(_d: unknown, fn: () => Promise<R>) => fn(),
      workflow: {
        signalWithStart: async () => {
          throw new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7233');
        },
      },
    } as unknown as Client;
    const during = await relay(down).runOnce();
    expect(during).toMatchObject({ delivered: 0, failed: 1 });
    const waiting = await undelivered();
    // The employee's second row was not even tried: order is kept.
    expect(waiting).toHaveLength(2);
    expect(waiting.find((r) => r.attempts === 1)?.last_error).toBeTruthy();

    expect(await relay().runOnce()).toMatchObject({ delivered: 2, failed: 0 });
    expect((await signalsOf(tenantId, e.id)).map((s) => s.version)).toEqual([1, 2]);
    await temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, e.id)).terminate('test done');
  });

  it('starts no workflow for a tenant whose outbound provisioning is off, but still drains its rows', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey, { enabled: false });
    const e = await createEmployee(t.db, tenantId, { user_name: `off@${VERIFIED}` });
    expect(await relay().runOnce()).toMatchObject({ delivered: 0, skipped: 1 });
    await expect(temporal.workflow.getHandle(employeeSyncWorkflowId(tenantId, e.id)).describe()).rejects.toThrow(
      /not found/i,
    );
  });

  it('lets only one relay deliver at a time (several worker processes may run one)', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    for (let i = 0; i < 5; i++) await createEmployee(t.db, tenantId, { user_name: `p${i}@${VERIFIED}` });
    // Another relay is in the middle of a round: it holds the lock.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const other = t.db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [RELAY_LOCK_KEY]);
      locked();
      await held;
    });
    await isLocked;
    expect(await relay().runOnce()).toEqual({ delivered: 0, startedEagerly: 0, failed: 0, skipped: 0, ran: false });
    expect(await undelivered()).toHaveLength(5);
    release();
    await other;
    expect(await relay().runOnce()).toMatchObject({ delivered: 5, ran: true });
  });

  /** Waits until `check` holds, polling every 20 ms; fails after `ms`. */
  async function within(ms: number, what: string, check: () => Promise<boolean> | boolean): Promise<void> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > ms) throw new Error(`${what} not within ${ms} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  it('is woken by new rows at once instead of polling: delivers within a second while its idle poll is a minute', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const r = relay(temporal, { idlePollIntervalMs: 60_000 });
    r.start();
    try {
      await within(5000, 'LISTEN', () => r.listening);
      await new Promise((res) => setTimeout(res, 300)); // now in its minute-long idle sleep
      const e = await createEmployee(t.db, tenantId, { user_name: `woken@${VERIFIED}` });
      await within(1000, 'delivery', async () => (await undelivered()).length === 0);
      expect((await signalsOf(tenantId, e.id)).map((s) => s.version)).toEqual([1]);

      // Its LISTEN connection dies: it polls at the short interval meanwhile, then listens again.
      await t.db.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN entra_sync_outbox' AND datname = current_database()`,
      );
      await within(2000, 'noticing the lost connection', () => !r.listening);
      const during = await createEmployee(t.db, tenantId, { user_name: `during@${VERIFIED}` });
      await within(2000, 'delivery while not listening', async () => (await undelivered()).length === 0);
      expect((await signalsOf(tenantId, during.id)).map((s) => s.version)).toEqual([1]);
      await within(5000, 'LISTEN again', () => r.listening);
      await new Promise((res) => setTimeout(res, 300));
      const after = await createEmployee(t.db, tenantId, { user_name: `after@${VERIFIED}` });
      await within(1000, 'delivery after reconnecting', async () => (await undelivered()).length === 0);
      expect((await signalsOf(tenantId, after.id)).map((s) => s.version)).toEqual([1]);
    } finally {
      await r.stop();
    }
  });

  it('is woken only by statements that inserted outbox rows, at commit', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const listener = (await t.db.client.acquireRawConnection()) as {
      query(sql: string): Promise<unknown>;
      on(event: 'notification', fn: (msg: { channel: string }) => void): void;
    };
    const heard: string[] = [];
    listener.on('notification', (msg) => heard.push(msg.channel));
    try {
      await listener.query('LISTEN entra_sync_outbox');
      const settle = () => new Promise((res) => setTimeout(res, 300));
      // What every sync runs for manager rows, inserting none here; and a rolled-back insert.
      await t.db.raw(
        `INSERT INTO outbox (tenant_id, employee_id, version, changed_attributes, source, kind)
         SELECT tenant_id, id, version, '[]', 'test', 'manager' FROM employees WHERE false`,
      );
      const e = await createEmployee(t.db, tenantId, { user_name: `heard@${VERIFIED}` });
      await t.db
        .transaction(async (trx) => {
          await trx('outbox').insert({
            tenant_id: tenantId,
            employee_id: e.id,
            version: 9,
            changed_attributes: JSON.stringify([]),
            source: 'test',
          });
          throw new Error('roll back');
        })
        .catch(() => undefined);
      await settle();
      expect(heard).toEqual(['entra_sync_outbox']); // the employee's own commit only
    } finally {
      await t.db.client.destroyRawConnection(listener);
    }
  });

  it('runs continuously once started and delivers new rows within a poll interval', async () => {
    const tenantId = await createOutboundTenant(t.db, fakeGraph, secretsKey);
    const r = relay();
    r.start();
    try {
      const e = await createEmployee(t.db, tenantId, { user_name: `live@${VERIFIED}` });
      const started = Date.now();
      while ((await undelivered()).length > 0) {
        if (Date.now() - started > 5000) throw new Error('row not delivered within 5 s');
        await new Promise((res) => setTimeout(res, 20));
      }
      expect((await signalsOf(tenantId, e.id)).map((s) => s.version)).toEqual([1]);
    } finally {
      await r.stop();
    }
  });
});
