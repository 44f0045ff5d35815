import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { employeeSyncWorkflow, type EmployeeSyncInput } from '../../src/workflows/employee-sync';
import {
  employeeChangedSignal,
  employeeSyncWorkflowId,
  enrolSignal,
  ErrorTypes,
  managerReadySignal,
  ProvisioningStateKey,
  retrySignal,
  retryUpdate,
  statusQuery,
  TenantIdKey,
  type EmployeeChangedSignal,
  type SyncRequest,
} from '../../src/workflows/messages';
import {
  createTestWorker,
  createTimeSkippingEnv,
  eventually,
  recordHistory,
  within,
  workflowBundle,
} from './support/env';
import { change, fakeActivities } from './support/fakes';

/** What the activity throws for a failure a person must fix, after reading employee version `version`. */
const blockingFailure = (type: string, message: string, version = 1): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ version }] });

describe('employeeSyncWorkflow (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    [env] = await Promise.all([createTimeSkippingEnv(), workflowBundle()]);
  }, 120_000);
  afterAll(() => env?.teardown());

  /**
   * The status query with a gRPC deadline: on the time-skipping server a query can hang when it reaches a run that is
   * continuing as new; the deadline cancels the call instead of leaving it pending until teardown.
   */
  const statusOf = (h: { query: WorkflowHandle['query'] }) =>
    env.client.withDeadline(Date.now() + 2_000, () => h.query(statusQuery));

  function ids() {
    const tenantId = randomUUID();
    const employeeId = randomUUID();
    return { tenantId, employeeId, workflowId: employeeSyncWorkflowId(tenantId, employeeId) };
  }

  async function signalWithStart(
    taskQueue: string,
    input: EmployeeSyncInput,
    signal: typeof employeeChangedSignal | typeof enrolSignal,
    arg: EmployeeChangedSignal | { source: string },
  ): Promise<WorkflowHandle<typeof employeeSyncWorkflow>> {
    return env.client.workflow.signalWithStart(employeeSyncWorkflow, {
      workflowId: employeeSyncWorkflowId(input.tenantId, input.employeeId),
      taskQueue,
      args: [input],
      signal: signal as typeof employeeChangedSignal,
      signalArgs: [arg as EmployeeChangedSignal],
    });
  }

  it('coalesces a burst of changes into one sync of the latest version', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities(() => ({ syncedVersion: 5 }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    // All five signals land before any worker picks the workflow up.
    let handle!: WorkflowHandle<typeof employeeSyncWorkflow>;
    for (let v = 1; v <= 5; v++) {
      handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId, debounceMs: 100 },
        employeeChangedSignal,
        change(v, v % 2 ? ['department'] : ['jobTitle']),
      );
    }
    await worker.runUntil(async () => {
      const status = await eventually(async () => {
        const s = await statusOf(handle);
        return s.state === 'SYNCED' && s;
      });
      expect(status).toMatchObject({ desiredVersion: 5, syncedVersion: 5, entraObjectId: 'obj-1', syncCount: 1 });
      await recordHistory('coalesced-burst', handle);
    });
    expect(fake.syncs).toHaveLength(1);
    expect(fake.syncs[0]!.req.changedAttributes.sort()).toEqual(['department', 'jobTitle']);
  });

  it('runs new accounts and enrolments in the bulk lane, leavers in the lifecycle lane, other changes in the change lane', async () => {
    const { tenantId, employeeId, workflowId } = ids();
    const fake = fakeActivities((call) => {
      if (call === 4) throw blockingFailure(ErrorTypes.InvalidProperty, 'Graph rejected the department', 3);
      // The row's version when each sync read it: the enrolment (call 3) read version 2 again.
      return { syncedVersion: [1, 2, 2, 3, 3, 4, 5][call - 1], entraObjectId: 'obj-lanes' };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    const lanes = () => fake.syncs.map((x) => [x.req.lane, x.taskQueue]);
    await worker.runUntil(async () => {
      // A new hire: no account yet, so the first sync (a create) is bulk although it comes from an HR change.
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId },
        employeeChangedSignal,
        change(1, ['id']),
      );
      await eventually(async () => (await statusOf(handle)).syncCount === 1);
      // HR changes the account now in Entra: a change.
      await handle.signal(employeeChangedSignal, change(2, ['department']));
      await eventually(async () => (await statusOf(handle)).syncCount === 2);
      // The admin enrols everyone again: a reconcile with nothing changed is bulk.
      await handle.signal(enrolSignal, { source: 'admin' });
      await eventually(async () => (await statusOf(handle)).syncCount === 3);
      // A change that Graph refuses, retried by an admin after the fix: still the change it was.
      await handle.signal(employeeChangedSignal, change(3, ['department']));
      await eventually(async () => (await statusOf(handle)).state === 'BLOCKED');
      await env.client.workflow.getHandle(workflowId).executeUpdate(retryUpdate, { args: [{}] });
      await eventually(async () => (await statusOf(handle)).syncCount === 4);
      // The employee leaves (SCIM active → false): the account must be disabled ahead of any mass update.
      await handle.signal(employeeChangedSignal, change(4, ['active', 'lifecycleStatus']));
      await eventually(async () => (await statusOf(handle)).syncCount === 5);
      // A return from leave together with another change: still a lifecycle sync.
      await handle.signal(employeeChangedSignal, change(5, ['jobTitle', 'lifecycleStatus']));
      await eventually(async () => (await statusOf(handle)).syncCount === 6);
    });
    expect(lanes()).toEqual([
      ['bulk', taskQueue],
      ['change', `${taskQueue}-changes`],
      ['bulk', taskQueue],
      ['change', `${taskQueue}-changes`],
      ['change', `${taskQueue}-changes`],
      ['lifecycle', `${taskQueue}-lifecycle`],
      ['lifecycle', `${taskQueue}-lifecycle`],
    ]);
  });

  it('syncs again exactly once for changes that arrive while a sync is running', async () => {
    const { tenantId, employeeId } = ids();
    let release!: () => void;
    const firstRunning = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inFirst = new Promise<void>((r) => (entered = r));
    const fake = fakeActivities(async (call) => {
      if (call === 1) {
        entered();
        await firstRunning;
        return { syncedVersion: 1 };
      }
      return { syncedVersion: 4 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId, debounceMs: 10 },
        employeeChangedSignal,
        change(1, ['givenName']),
      );
      await inFirst;
      for (let v = 2; v <= 4; v++) await handle.signal(employeeChangedSignal, change(v, ['department']));
      release();
      await eventually(async () => {
        const s = await statusOf(handle);
        return s.state === 'SYNCED' && s.syncedVersion === 4;
      });
      await recordHistory('follow-up-shows-pending', handle);
    });
    expect(fake.syncs).toHaveLength(2);
    expect(fake.syncs[1]!.req.changedAttributes).toEqual(['department']);
    // PostgreSQL says PENDING again after the first sync (whose activity wrote SYNCED) while the follow-up is due.
    expect(fake.states.map((s) => s.state)).toEqual(['PENDING', 'PENDING']);
  });

  it('ignores a redelivered change whose version is already synced (the relay delivers at least once)', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities(() => ({ syncedVersion: 2 }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId, debounceMs: 10 },
        employeeChangedSignal,
        change(2, ['jobTitle']),
      );
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      await handle.signal(employeeChangedSignal, change(2, ['jobTitle']));
      await handle.signal(employeeChangedSignal, change(1, ['givenName']));
      await new Promise((r) => setTimeout(r, 300));
      expect(await statusOf(handle)).toMatchObject({ state: 'SYNCED', pendingAttributes: [] });
    });
    expect(fake.syncs).toHaveLength(1);
  });

  it('syncs once more when its manager gets an Entra account, even with no newer version; not when not enrolled', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities(() => ({ syncedVersion: 2 }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const quiet = ids();
      const notEnrolled = await signalWithStart(
        taskQueue,
        { tenantId: quiet.tenantId, employeeId: quiet.employeeId },
        employeeChangedSignal,
        change(1, ['jobTitle'], false),
      );
      await notEnrolled.signal(managerReadySignal, { source: 'manager-in-entra' });

      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId },
        employeeChangedSignal,
        change(2, ['jobTitle']),
      );
      await eventually(async () => (await statusOf(handle)).syncCount === 1);
      await handle.signal(managerReadySignal, { source: 'manager-in-entra' });
      const status = await eventually(async () => {
        const st = await statusOf(handle);
        return st.syncCount === 2 && st.state === 'SYNCED' && st;
      });
      expect(status).toMatchObject({ syncedVersion: 2, pendingAttributes: [] });
      expect((await statusOf(notEnrolled)).state).toBe('NOT_ENROLLED');
      await recordHistory('manager-ready-after-sync', handle);
    });
    expect(fake.syncs.map((c) => [c.req.employeeId, c.req.changedAttributes, c.req.reconcile])).toEqual([
      [employeeId, ['jobTitle'], true],
      [employeeId, ['managerId'], false],
    ]);
  });

  it('enrols by itself on a watched change, and does not sync for changes to unwatched attributes only', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities(() => ({ syncedVersion: 2 }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId, debounceMs: 10 },
        employeeChangedSignal,
        change(1, ['teams'], false),
      );
      // An unwatched change leaves a never-enrolled employee alone.
      await new Promise((r) => setTimeout(r, 300));
      expect(await statusOf(handle)).toMatchObject({ state: 'NOT_ENROLLED', desiredVersion: 1 });
      expect(fake.syncs).toHaveLength(0);

      await handle.signal(employeeChangedSignal, change(2, ['jobTitle']));
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      expect(fake.syncs).toHaveLength(1);

      // Synced, then only an unwatched attribute changes: no sync, still SYNCED.
      await handle.signal(employeeChangedSignal, change(3, ['customAttributes.shoeSize'], false));
      await new Promise((r) => setTimeout(r, 300));
      expect(await statusOf(handle)).toMatchObject({ state: 'SYNCED', desiredVersion: 3 });
      expect(fake.syncs).toHaveLength(1);
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(ProvisioningStateKey)).toBe('SYNCED');
    });
    expect(fake.states.map((s) => s.state)).toEqual(['PENDING']);
  });

  it('started PENDING by a watched change (as the relay does), upserts its state only once the sync is done', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities((call) => ({ syncedVersion: call }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.signalWithStart(employeeSyncWorkflow, {
        workflowId: employeeSyncWorkflowId(tenantId, employeeId),
        taskQueue,
        args: [{ tenantId, employeeId }],
        signal: employeeChangedSignal,
        signalArgs: [change(1, ['givenName'])],
        typedSearchAttributes: [
          { key: TenantIdKey, value: tenantId },
          { key: ProvisioningStateKey, value: 'PENDING' },
        ],
      });
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      expect((await handle.describe()).typedSearchAttributes.get(ProvisioningStateKey)).toBe('SYNCED');
      const upserts = (await handle.fetchHistory()).events!.filter(
        (e) => e.upsertWorkflowSearchAttributesEventAttributes,
      );
      expect(upserts).toHaveLength(1);
      // The PostgreSQL mirror still hears of PENDING before the sync.
      expect(fake.states.map((st) => st.state)).toEqual(['PENDING']);

      // A later watched change in the same run upserts PENDING again, then SYNCED.
      await handle.signal(employeeChangedSignal, change(2, ['jobTitle']));
      await eventually(async () => (await statusOf(handle)).syncedVersion === 2);
      const after = (await handle.fetchHistory()).events!.filter(
        (e) => e.upsertWorkflowSearchAttributesEventAttributes,
      );
      expect(after).toHaveLength(3);
      await recordHistory('started-pending-by-relay', handle);
    });
  });

  it("handles the message it was started with (the relay's eager start) as that signal, before signals sent with it", async () => {
    const fake = fakeActivities((_call, req) => ({ syncedVersion: req.employeeId.endsWith('b') ? 2 : 1 }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    const tenantId = randomUUID();
    const start = (employeeId: string, firstMessage: EmployeeSyncInput['firstMessage'], extra = {}) =>
      env.client.workflow.start(employeeSyncWorkflow, {
        workflowId: employeeSyncWorkflowId(tenantId, employeeId),
        taskQueue,
        args: [{ tenantId, employeeId, firstMessage, ...extra }],
      });
    // Enrolled by its first message, and a continued run does not take it for a new enrolment.
    const enrolled = await start(
      `${randomUUID()}-a`,
      { signal: 'enrol', arg: { source: 'admin' } },
      {
        maxSyncsBeforeContinueAsNew: 1,
      },
    );
    // A new hire's first change, and a second change signalled before any worker ran the workflow.
    const hired = await start(`${randomUUID()}-b`, { signal: 'employeeChanged', arg: change(1, ['id']) });
    await hired.signal(employeeChangedSignal, change(2, ['jobTitle']));
    // A change of unwatched attributes only: not enrolled.
    const unwatched = await start(`${randomUUID()}-c`, {
      signal: 'employeeChanged',
      arg: change(1, ['customAttributes.shoeSize'], false),
    });
    await worker.runUntil(async () => {
      await eventually(async () => (await statusOf(hired)).state === 'SYNCED');
      await eventually(
        async () => (await statusOf(env.client.workflow.getHandle(enrolled.workflowId))).syncCount === 1,
      );
      const firstRun = env.client.workflow.getHandle(enrolled.workflowId, enrolled.firstExecutionRunId);
      await eventually(async () => (await firstRun.describe()).status.name === 'CONTINUED_AS_NEW');
      await new Promise((r) => setTimeout(r, 300));
      expect(await statusOf(unwatched)).toMatchObject({ state: 'NOT_ENROLLED', desiredVersion: 1 });
      expect(await statusOf(env.client.workflow.getHandle(enrolled.workflowId))).toMatchObject({
        state: 'SYNCED',
        syncCount: 1,
      });
      expect(await statusOf(hired)).toMatchObject({ desiredVersion: 2, syncedVersion: 2 });
      await recordHistory('started-with-first-message', hired);
    });
    const byEmployee = new Map(fake.syncs.map((x) => [x.req.employeeId.slice(-1), x.req]));
    expect(fake.syncs).toHaveLength(2);
    expect(byEmployee.get('a')).toMatchObject({ reconcile: true, lane: 'bulk' });
    // Both changes in one sync: the started-with message first, the signal after it.
    expect(byEmployee.get('b')).toMatchObject({ changedAttributes: ['id', 'jobTitle'], reconcile: true, lane: 'bulk' });
  });

  it('goes BLOCKED with the reason on a non-retryable failure, rejects retry until then, and syncs after an admin retry', async () => {
    const { tenantId, employeeId } = ids();
    const reason = 'The email domain "nope.test" is not a verified domain. Fix: correct the email.';
    const fake = fakeActivities((call) => {
      if (call === 1) throw blockingFailure(ErrorTypes.DomainNotVerified, reason);
      return { syncedVersion: 1 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(taskQueue, { tenantId, employeeId, debounceMs: 10 }, enrolSignal, {
        source: 'admin',
      });
      const blocked = await eventually(async () => {
        const s = await statusOf(handle);
        return s.state === 'BLOCKED' && s;
      });
      expect(blocked.blocked).toEqual({ reason, errorType: 'DomainNotVerified', atVersion: 1, at: expect.any(Number) });
      expect((await handle.describe()).typedSearchAttributes.get(ProvisioningStateKey)).toBe('BLOCKED');
      // Nothing happens while blocked and nobody acts.
      await new Promise((r) => setTimeout(r, 200));
      expect(fake.syncs).toHaveLength(1);

      await expect(handle.executeUpdate(retryUpdate, { args: [{ requestedBy: 'test' }] })).resolves.toEqual({
        accepted: true,
        state: 'PENDING',
      });
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      expect(fake.syncs).toHaveLength(2);
      // Not a permission problem: the retry may keep the signed-in client.
      expect(fake.syncs[1]!.req.signInAfter).toBeUndefined();

      // Not blocked any more: the validator rejects at once, and nothing is written to history.
      await expect(handle.executeUpdate(retryUpdate, { args: [{}] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await handle.signal(retrySignal, {});
      await new Promise((r) => setTimeout(r, 200));
      expect(fake.syncs).toHaveLength(2);
      await recordHistory('blocked-then-admin-retry', handle);
    });
  });

  it('asks for a fresh sign-in on the retry after a PermissionDenied block, and only then', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities((call) => {
      if (call === 1)
        throw blockingFailure(
          ErrorTypes.PermissionDenied,
          'The app registration may not read verified domains. Fix: grant Domain.Read.All, then retry.',
        );
      return { syncedVersion: 1 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(taskQueue, { tenantId, employeeId }, enrolSignal, { source: 'admin' });
      const blocked = await eventually(async () => {
        const s = await statusOf(handle);
        return s.state === 'BLOCKED' && s;
      });
      expect(fake.syncs[0]!.req.signInAfter).toBeUndefined();
      await handle.signal(retrySignal, {});
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      // A token from before the retry may lack the permission granted since: the retry's attempt signs in afresh
      // (after the retry, not just the block — a client made in between would still lack it).
      expect(fake.syncs[1]!.req.signInAfter).toBeGreaterThan(blocked.blocked!.at!);
      // Later syncs keep the client.
      await handle.signal(employeeChangedSignal, change(2, ['department']));
      await eventually(async () => fake.syncs.length === 3);
      expect(fake.syncs[2]!.req.signInAfter).toBeUndefined();
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      await recordHistory('enrolled-blocked-permission-then-retried', handle);
    });
  });

  it('leaves BLOCKED by itself when the employee changes again (the change may be the fix)', async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities((call) => {
      if (call === 1) throw blockingFailure(ErrorTypes.MissingName, 'no last name');
      return { syncedVersion: 2 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId, debounceMs: 10 },
        employeeChangedSignal,
        change(1, ['givenName']),
      );
      await eventually(async () => (await statusOf(handle)).state === 'BLOCKED');
      await handle.signal(employeeChangedSignal, change(2, ['familyName']));
      const synced = await eventually(async () => {
        const s = await statusOf(handle);
        return s.state === 'SYNCED' && s;
      });
      expect(synced.blocked).toBeUndefined();
      expect(synced.syncedVersion).toBe(2);
      await recordHistory('blocked-then-new-change', handle);
    });
    expect(fake.syncs).toHaveLength(2);
  });

  it('does not block on a failure when the employee changed after the failing attempt read the row', async () => {
    const { tenantId, employeeId } = ids();
    let changeArrived!: () => void;
    const arrived = new Promise<void>((r) => (changeArrived = r));
    let handle!: WorkflowHandle<typeof employeeSyncWorkflow>;
    const fake = fakeActivities(async (call) => {
      if (call === 1) {
        // The attempt read version 1; version 2 (the fix) lands before it fails.
        await handle.signal(employeeChangedSignal, change(2, ['userName']));
        changeArrived();
        throw blockingFailure(ErrorTypes.DomainNotVerified, 'bad domain');
      }
      return { syncedVersion: 2 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId },
        employeeChangedSignal,
        change(1, ['userName']),
      );
      await arrived;
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
    });
    expect(fake.syncs).toHaveLength(2);
    expect(fake.states.map((s) => s.state)).toEqual(['PENDING', 'PENDING']);
  });

  it('re-runs a failure for a newer signalled version once, then blocks if the row never gets there', async () => {
    const { tenantId, employeeId } = ids();
    // The row is at version 3 (say the database was restored from a backup), but a change of version 9 was signalled.
    const fake = fakeActivities(() => {
      throw blockingFailure(ErrorTypes.DomainNotVerified, 'bad domain', 3);
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId },
        employeeChangedSignal,
        change(9, ['userName']),
      );
      const blocked = await eventually(async () => {
        const s = await statusOf(handle);
        return s.state === 'BLOCKED' && s;
      });
      expect(blocked.blocked).toMatchObject({ errorType: ErrorTypes.DomainNotVerified, atVersion: 3 });
      await recordHistory('rerun-once-then-blocked', handle);
    });
    expect(fake.syncs).toHaveLength(2);
  });

  it("honours Graph's Retry-After through skipped time", async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities((call) => {
      if (call === 1) {
        throw ApplicationFailure.create({
          type: ErrorTypes.GraphThrottled,
          message: 'throttled',
          nextRetryDelay: '7 minutes',
        });
      }
      return { syncedVersion: 1 };
    });
    // Counts attempts only. This test used to read the test server's clock from inside the activity, a call into the
    // server while the test had it skipping time; one CI run hung in this test until jest's timeout (session 10).
    const attempts: SyncRequest[] = [];
    const { worker, taskQueue } = await createTestWorker(env, {
      ...fake.activities,
      syncEmployeeToEntra: async (req) => {
        attempts.push(req);
        return fake.activities.syncEmployeeToEntra(req);
      },
    });
    await worker.runUntil(async () => {
      const handle = await signalWithStart(taskQueue, { tenantId, employeeId, debounceMs: 10 }, enrolSignal, {
        source: 'admin',
      });
      await eventually(async () => attempts.length === 1);
      expect((await statusOf(handle)).state).toBe('PENDING');
      // Bounded waits: a run once hung here until jest's timeout, which said nothing about where.
      await within(20_000, 'the time-skipping server to skip 6 minutes', env.sleep('6 minutes'));
      await new Promise((r) => setTimeout(r, 500));
      // A retry on the activity's own backoff (1 s) would have run long before.
      expect(attempts).toHaveLength(1);
      expect((await statusOf(handle)).state).toBe('PENDING');
      await within(20_000, 'the time-skipping server to skip 2 more minutes', env.sleep('2 minutes'));
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      await recordHistory('throttled-then-synced', handle);
    });
    expect(attempts).toHaveLength(2);
  });

  it('continues as new with its whole state and keeps syncing', async () => {
    const { tenantId, employeeId, workflowId } = ids();
    const fake = fakeActivities((call) => ({ syncedVersion: call, entraObjectId: 'obj-can' }));
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId, debounceMs: 10, maxSyncsBeforeContinueAsNew: 2 },
        employeeChangedSignal,
        change(1, ['department']),
      );
      const firstRunId = (await handle.describe()).runId;
      for (let v = 2; v <= 3; v++) {
        await eventually(
          async () => (await statusOf(env.client.workflow.getHandle(workflowId))).syncedVersion === v - 1,
        );
        await env.client.workflow.getHandle(workflowId).signal(employeeChangedSignal, change(v, ['department']));
      }
      const latest = env.client.workflow.getHandle(workflowId);
      const status = await eventually(async () => {
        const s = await statusOf(latest);
        return s.syncedVersion === 3 && s.state === 'SYNCED' && s;
      });
      expect(status).toMatchObject({ entraObjectId: 'obj-can', syncCount: 3, desiredVersion: 3 });
      expect((await latest.describe()).runId).not.toBe(firstRunId);
      expect((await env.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name).toBe(
        'CONTINUED_AS_NEW',
      );
      await recordHistory('continued-as-new', env.client.workflow.getHandle(workflowId, firstRunId));
      await recordHistory('after-continue-as-new', latest);
    });
  });

  // Last on purpose: after an activity was cancelled before any worker started it, this test server (1.40.0) stops
  // skipping time, and the Retry-After test above, run after it, waited forever. Not examined further.
  it("calls off an HR change's sync still queued when the employee leaves, and syncs both in the lifecycle lane", async () => {
    const { tenantId, employeeId } = ids();
    const fake = fakeActivities((call) => ({ syncedVersion: [1, 3][call - 1], entraObjectId: 'obj-leaver' }));
    // No worker polls the change lane: its syncs stay queued, as behind a mass update at Graph's limits.
    const { worker, taskQueue } = await createTestWorker(env, fake.activities, ['lifecycle']);
    await worker.runUntil(async () => {
      const handle = await signalWithStart(
        taskQueue,
        { tenantId, employeeId },
        employeeChangedSignal,
        change(1, ['id']),
      );
      await eventually(async () => (await statusOf(handle)).syncCount === 1);
      await handle.signal(employeeChangedSignal, change(2, ['department']));
      const scheduled = async () =>
        (await handle.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes).length;
      await eventually(async () => (await scheduled()) === 2);
      await handle.signal(employeeChangedSignal, change(3, ['active', 'lifecycleStatus']));
      const status = await eventually(async () => {
        const st = await statusOf(handle);
        return st.state === 'SYNCED' && st;
      });
      expect(status).toMatchObject({ syncedVersion: 3, syncCount: 2 });
      const events = (await handle.fetchHistory()).events!;
      expect(events.filter((e) => e.activityTaskCanceledEventAttributes)).toHaveLength(1);
      await recordHistory('superseded-by-leaver', handle);
    });
    expect(fake.syncs.map((x) => [x.req.lane, [...x.req.changedAttributes].sort()])).toEqual([
      ['bulk', ['id']],
      ['lifecycle', ['active', 'department', 'lifecycleStatus']],
    ]);
  });
});
