import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

/** No-op activities with the same shapes as an employee sync's: one activity, two local ones. */
export interface TrivialActivities {
  noop(): Promise<number>;
}

const { noop } = proxyActivities<TrivialActivities>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<TrivialActivities>({ startToCloseTimeout: '10 seconds' });

/**
 * The ceiling of bench/outbound: as many activities as one employee sync (a local activity before and after the
 * Graph activity, like the state mirror), doing nothing, so its rate is what the Temporal server allows.
 */
export async function trivialWorkflow(): Promise<number> {
  await local.noop();
  await noop();
  return local.noop();
}
