import { activityInfo } from '@temporalio/activity';
import type { Activities } from '../../../src/activities';
import type {
  EmployeeChangedSignal,
  ProvisioningStateRecord,
  SyncRequest,
  SyncResult,
} from '../../../src/workflows/messages';

/** Fake activities: records calls (and the queue each sync ran on); `behaviour` decides each sync's outcome. */
export function fakeActivities(
  behaviour: (call: number, req: SyncRequest) => Promise<Partial<SyncResult>> | Partial<SyncResult>,
) {
  const syncs: Array<{ req: SyncRequest; taskQueue: string }> = [];
  const states: ProvisioningStateRecord[] = [];
  const activities: Activities = {
    async syncEmployeeToEntra(req) {
      syncs.push({ req, taskQueue: activityInfo().taskQueue });
      const r = await behaviour(syncs.length, req);
      return { outcome: 'updated', entraObjectId: 'obj-1', syncedVersion: 1, graphRequests: 2, ...r };
    },
    async recordProvisioningState(r) {
      states.push(r);
    },
  };
  return { activities, syncs, states };
}

/** An HR change as the relay signals it. */
export const change = (version: number, attrs: string[], touchesWatched = true): EmployeeChangedSignal => ({
  version,
  changedAttributes: attrs,
  source: 'scim',
  touchesWatched,
});
