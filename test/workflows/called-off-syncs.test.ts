import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { employeeSyncWorkflow } from '../../src/workflows/employee-sync';
import {
  employeeChangedSignal,
  employeeSyncWorkflowId,
  managerReadySignal,
  statusQuery,
} from '../../src/workflows/messages';
import { createTestWorker, eventually, recordHistory, workflowBundle } from './support/env';
import { change, fakeActivities } from './support/fakes';

/**
 * What happens to a sync that is already running when something changes, on the real dev server (the time-skipping
 * server does not follow the real one here: it retries an activity whose cancel was requested, and delays the
 * request). A running sync cannot be cancelled at once: it ends on its own, and how it ends must not park the employee.
 */
describe('employeeSyncWorkflow: syncs overtaken while running (dev server)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    [env] = await Promise.all([
      TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEST_TEMPORAL_ADDRESS! }),
      workflowBundle(),
    ]);
  }, 120_000);
  afterAll(() => env?.teardown());

  /** A promise released from outside, and one that tells when the gated attempt has started. */
  function gate() {
    let release!: () => void;
    let started!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const entered = new Promise<void>((r) => (started = r));
    return { release, released, started, entered };
  }

  async function start(taskQueue: string, activityTimeoutMs?: number) {
    const tenantId = randomUUID();
    const employeeId = randomUUID();
    const handle = await env.client.workflow.signalWithStart(employeeSyncWorkflow, {
      workflowId: employeeSyncWorkflowId(tenantId, employeeId),
      taskQueue,
      args: [{ tenantId, employeeId, ...(activityTimeoutMs ? { activityTimeoutMs } : {}) }],
      signal: employeeChangedSignal,
      signalArgs: [change(1, ['userName'])],
    });
    return handle;
  }
  const statusOf = (h: Awaited<ReturnType<typeof start>>) =>
    env.client.withDeadline(Date.now() + 2_000, () => h.query(statusQuery));
  /** The first sync done, then an HR change of the department whose sync runs, held at `g`. */
  async function departmentSyncRunning(handle: Awaited<ReturnType<typeof start>>, g: ReturnType<typeof gate>) {
    await eventually(async () => (await statusOf(handle)).syncCount === 1);
    await handle.signal(employeeChangedSignal, change(2, ['department']));
    await g.entered;
  }
  const cancelRequested = async (h: Awaited<ReturnType<typeof start>>) =>
    (await h.fetchHistory()).events!.some((e) => e.activityTaskCancelRequestedEventAttributes);

  it('a called-off change sync that then fails (throttled) is requeued: the leaver syncs, nothing blocks', async () => {
    const g = gate();
    const fake = fakeActivities(async (call) => {
      if (call === 2) {
        g.started();
        await g.released; // it never heartbeats, so it does not hear of the cancel
        throw ApplicationFailure.create({ type: 'GraphThrottled', message: 'throttled', details: [{ version: 3 }] });
      }
      return { syncedVersion: call === 1 ? 1 : 3 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await start(taskQueue);
      await departmentSyncRunning(handle, g);
      await handle.signal(employeeChangedSignal, change(3, ['active']));
      await eventually(() => cancelRequested(handle));
      g.release();
      const done = await eventually(async () => {
        const st = await statusOf(handle);
        return (st.state === 'SYNCED' || st.state === 'BLOCKED') && st;
      });
      expect(done).toMatchObject({ state: 'SYNCED', syncedVersion: 3 });
      expect(fake.syncs.map((x) => [x.req.lane, x.req.changedAttributes])).toEqual([
        ['bulk', ['userName']],
        ['change', ['department']],
        ['lifecycle', ['department', 'active']],
      ]);
      await recordHistory('called-off-sync-failed', handle);
    });
  }, 60_000);

  it('a called-off sync whose attempt times out (its worker died) is requeued, not blocked', async () => {
    const fake = fakeActivities(async (call) => {
      if (call === 2) await new Promise((r) => setTimeout(r, 4_000)); // longer than the attempt may take
      return { syncedVersion: call === 1 ? 1 : 3 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await start(taskQueue, 2_000);
      await eventually(async () => (await statusOf(handle)).syncCount === 1);
      await handle.signal(employeeChangedSignal, change(2, ['department']));
      await eventually(async () => fake.syncs.length === 2);
      await handle.signal(employeeChangedSignal, change(3, ['active']));
      const done = await eventually(async () => {
        const st = await statusOf(handle);
        return (st.state === 'SYNCED' || st.state === 'BLOCKED') && st;
      }, 20_000);
      expect(done).toMatchObject({ state: 'SYNCED', syncedVersion: 3 });
      expect(fake.syncs.at(-1)!.req).toMatchObject({ lane: 'lifecycle' });
      await new Promise((r) => setTimeout(r, 2_500)); // let the abandoned attempt finish before the worker stops
    });
  }, 60_000);

  it("keeps the manager link pending when the manager's account appears during a sync of the latest row", async () => {
    const g = gate();
    const fake = fakeActivities(async (call) => {
      if (call === 2) {
        g.started();
        await g.released;
        return { syncedVersion: 2 };
      }
      return { syncedVersion: call === 1 ? 1 : 2 };
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await start(taskQueue);
      await departmentSyncRunning(handle, g);
      await handle.signal(managerReadySignal, { source: 'manager-in-entra' });
      await new Promise((r) => setTimeout(r, 300));
      g.release();
      await eventually(async () => fake.syncs.length === 3);
      expect(fake.syncs[2]!.req.changedAttributes).toEqual(['managerId']);
      await eventually(async () => (await statusOf(handle)).state === 'SYNCED');
      await recordHistory('manager-ready-during-sync', handle);
    });
  }, 60_000);

  it('writes a block the activity did not record (no row version in the failure, as after a timeout), with its reason', async () => {
    // The real activity attaches the version it read to every failure it records; this one never got that far.
    const fake = fakeActivities(async () => {
      throw ApplicationFailure.create({ type: 'InvalidProperty', message: 'refused', nonRetryable: true });
    });
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    await worker.runUntil(async () => {
      const handle = await start(taskQueue);
      await eventually(async () => (await statusOf(handle)).state === 'BLOCKED');
      await eventually(async () => fake.states.some((x) => x.state === 'BLOCKED'));
      expect(fake.states.find((x) => x.state === 'BLOCKED')).toMatchObject({
        reason: 'refused',
        errorType: 'InvalidProperty',
      });
      await recordHistory('unrecorded-block-mirrored', handle);
    });
  }, 60_000);
});
