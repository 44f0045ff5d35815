import { condition, proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { ProvisioningStateKey } from '../src/workflows/messages';

/** A no-op activity, run once as an activity and once as a local activity. */
export interface TrivialActivities {
  noop(): Promise<number>;
}

const local = proxyLocalActivities<TrivialActivities>({ startToCloseTimeout: '10 seconds' });

/**
 * The ceiling of bench/outbound: the steps an employee's first sync takes on the Temporal side, doing nothing — the
 * local activity that records PENDING, the Graph activity (with the same start-to-close timeout as the bench's
 * syncs), and the search attribute upsert to SYNCED — so its rate is what the Temporal server allows for that shape.
 */
export async function trivialWorkflow(activityTimeoutMs: number): Promise<number> {
  const { noop } = proxyActivities<TrivialActivities>({ startToCloseTimeout: activityTimeoutMs });
  await local.noop();
  const result = await noop();
  upsertSearchAttributes([{ key: ProvisioningStateKey, value: 'SYNCED' }]);
  return result;
}

/**
 * The same steps in a workflow that then stays open, as an employee's does: the ceiling for long-lived workflows
 * (the server keeps their state, where trivial workflows that complete free it).
 */
export async function trivialOpenWorkflow(activityTimeoutMs: number): Promise<never> {
  const { noop } = proxyActivities<TrivialActivities>({ startToCloseTimeout: activityTimeoutMs });
  await local.noop();
  await noop();
  upsertSearchAttributes([{ key: ProvisioningStateKey, value: 'SYNCED' }]);
  await condition(() => false);
  throw new Error('unreachable');
}
