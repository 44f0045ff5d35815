import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import type { Db } from '../db/knex';
import {
  loadSyncInputs,
  recordAccountDisabled,
  recordFailure,
  recordObjectId,
  recordState,
  recordSynced,
} from '../db/provisioning';
import { countGraphRequests, currentTally } from '../graph/client';
import type { GraphConnector } from '../graph/connector';
import { ProvisioningError, toApplicationFailure } from '../graph/errors';
import { generateOneTimePassword } from '../graph/password';
import type { WriteKind } from '../graph/write-budget';
import type { Logger } from '../logger';
import {
  ErrorTypes,
  SYNC_LANES,
  type ProvisioningStateRecord,
  type SyncRequest,
  type SyncResult,
} from '../workflows/messages';
import type { EntraDirectory } from '../graph/directory';
import { explainFederatedUpn, type UpnWrite } from './federated-domain';
import { disableWhileBlocked, planSync, type PlanInput } from './sync-plan';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
  graph: GraphConnector;
  /** Injectable for tests; the default draws from crypto.randomInt. */
  generatePassword?: () => string;
  /** Attempts to wait for Entra's replication before syncing without the manager link (default 5). */
  managerReplicationAttempts?: number;
}

/** Attempt number of the current activity, 1 outside an activity (e.g. the preview). */
function attempt(): number {
  try {
    return activityInfo().attempt;
  } catch {
    return 1;
  }
}

/**
 * When this attempt stops waiting for the write budget: a quarter of its start-to-close timeout (at most 10 s) before
 * the timeout, left for the write itself and recording it. Undefined outside an activity (the preview).
 */
function budgetDeadline(now = Date.now()): number | undefined {
  let timeoutMs: number | undefined;
  try {
    timeoutMs = activityInfo().startToCloseTimeoutMs;
  } catch {
    return undefined;
  }
  return timeoutMs ? now + timeoutMs - Math.min(10_000, timeoutMs / 4) : undefined;
}

/** The activity's cancellation (e.g. the worker shuts down), undefined outside an activity. */
function activityCancellation(): AbortSignal | undefined {
  try {
    return cancellationSignal();
  } catch {
    return undefined;
  }
}

/**
 * Heartbeats while a sync takes longer than `afterMs` (it waits for the write budget): only through a heartbeat does
 * the worker hear that the workflow called the sync off (a leaver's disable supersedes it) and abort the wait. Quick
 * syncs send none. The worker throttles the heartbeats it sends (SYNC_HEARTBEAT_THROTTLE). Returns the stop.
 */
function heartbeatWhileSlow(afterMs = 1_000): () => void {
  try {
    activityInfo();
  } catch {
    return () => undefined; // not in an activity (the preview)
  }
  let every: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    heartbeat();
    every = setInterval(() => heartbeat(), afterMs);
  }, afterMs);
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}

/**
 * Which share of the Graph write budget a sync draws on: its lane (SyncLane), which the workflow chose when it
 * scheduled the sync. Each lane leaves part of every window to the more urgent ones. A sync scheduled before lanes
 * existed is bulk when it reconciles without any attribute change pending (an enrolment), else a change.
 */
export function writeKindOf(req: Pick<SyncRequest, 'reconcile' | 'changedAttributes' | 'lane'>): WriteKind {
  if (req.lane !== undefined && SYNC_LANES.includes(req.lane)) return req.lane;
  return req.reconcile && req.changedAttributes.length === 0 ? 'bulk' : 'change';
}

/**
 * The userPrincipalName a create or PATCH body gives the account, if it sets one; `before` is what the last sync wrote
 * (a rename's origin), `desired` everything the mapping sends.
 */
function upnWriteOf(
  body: Record<string, unknown>,
  desired: Record<string, unknown>,
  before?: Record<string, unknown>,
): UpnWrite | undefined {
  const to = body.userPrincipalName;
  if (typeof to !== 'string') return undefined;
  const from = before?.userPrincipalName;
  return {
    to,
    ...(typeof from === 'string' ? { from } : {}),
    sendsImmutableId: typeof desired.onPremisesImmutableId === 'string',
  };
}

/**
 * The worker's activities. `syncEmployeeToEntra` is the whole "create or update user in Entra ID" step; every
 * failure leaves it classified (src/graph/errors.ts) and mirrored to PostgreSQL before Temporal sees it.
 */
export function createActivities(deps: ActivityDeps) {
  const { db, logger } = deps;
  const newPassword = deps.generatePassword ?? (() => generateOneTimePassword());
  const replicationAttempts = deps.managerReplicationAttempts ?? 5;

  async function sync(req: SyncRequest): Promise<SyncResult> {
    const { tenantId, employeeId } = req;
    const inputs = await loadSyncInputs(db, tenantId, employeeId);
    if (!inputs) {
      // Nothing in PostgreSQL to record the block against; the log and the workflow's BLOCKED state show it.
      logger.warn(
        { tenantId, employeeId, errorType: ErrorTypes.EmployeeNotFound },
        'employee no longer in the HR system',
      );
      throw new ProvisioningError(
        ErrorTypes.EmployeeNotFound,
        'The employee no longer exists in the HR system. Fix: nothing to sync; the workflow can be terminated.',
      );
    }
    const { employee } = inputs;
    const log = logger.child({
      tenantId,
      employeeId,
      version: employee.version,
      changedAttributes: req.changedAttributes,
    });
    // Known once signed in: a blocked sync still disables a leaver's account through it.
    let signedIn: EntraDirectory | undefined;
    // The userPrincipalName the write in flight gives the account, to explain a refusal of its domain.
    let upnWrite: UpnWrite | undefined;
    try {
      const { settings, directory } = await deps.graph.forTenant(tenantId, inputs.settings ?? null, {
        signInAfter: req.signInAfter,
      });
      signedIn = directory;
      const manager = settings.setManager && employee.managerId ? inputs.manager : undefined;
      const managerObjectId = manager?.entraObjectId ?? null;
      const planInput = {
        directory,
        settings,
        employee,
        storedObjectId: inputs.entraObjectId,
        managerObjectId,
        awaitStoredAccount: attempt() < replicationAttempts,
      };
      const snapshot = req.reconcile ? undefined : inputs.snapshot;
      let plan = await planSync({ ...planInput, snapshot });
      let patchedFromSnapshot = false;
      if (plan.action === 'update' && plan.fromSnapshot && Object.keys(plan.patch).length > 0) {
        try {
          upnWrite = upnWriteOf(plan.patch, plan.desired, inputs.snapshot?.properties);
          await directory.updateUser(plan.objectId, plan.patch);
          upnWrite = undefined;
          patchedFromSnapshot = true;
          plan = { ...plan, patch: {} };
        } catch (err) {
          // Deleted in Entra since the last sync, or (right after a create) not readable yet: look it up as on a
          // first sync; if still not found, the early attempts retry, the later ones create it again.
          if (!(err instanceof ProvisioningError && err.info.status === 404)) throw err;
          log.warn({ entraObjectId: plan.objectId }, 'account not found in Entra; looking it up again');
          plan = await planSync(planInput);
        }
      }

      let objectId: string;
      let outcome: SyncResult['outcome'];
      if (plan.action === 'create') {
        // The password exists only inside this request body.
        upnWrite = upnWriteOf(plan.body, plan.desired);
        const created = await directory.createUser({
          ...plan.body,
          passwordProfile: { forceChangePasswordNextSignIn: true, password: newPassword() },
        });
        upnWrite = undefined;
        objectId = created.id;
        // First thing after the create, so a retry after a crash finds the account by this id. Without a manager
        // link to set, the final write below follows at once and records it in the same statement.
        if (plan.manager) await recordObjectId(db, tenantId, employeeId, objectId);
        outcome = 'created';
      } else {
        objectId = plan.objectId;
        if (plan.adopted) await recordObjectId(db, tenantId, employeeId, objectId);
        const patched = Object.keys(plan.patch).length > 0;
        upnWrite = upnWriteOf(plan.patch, plan.desired, inputs.snapshot?.properties);
        if (patched) await directory.updateUser(objectId, plan.patch);
        upnWrite = undefined;
        outcome = plan.adopted ? 'adopted' : patched || patchedFromSnapshot || plan.manager ? 'updated' : 'unchanged';
      }

      let managerLinked = plan.managerTarget;
      if (plan.manager && 'remove' in plan.manager) {
        await directory.removeManager(objectId);
      } else if (plan.manager) {
        try {
          await directory.setManager(objectId, plan.manager.set);
        } catch (err) {
          // Entra replicates new objects for a few seconds; a reference to a fresh account can 404 meanwhile.
          if (!(err instanceof ProvisioningError && err.info.status === 404)) throw err;
          if (attempt() < replicationAttempts) {
            throw new ProvisioningError(
              ErrorTypes.GraphUnavailable,
              'Entra has not replicated the account or its manager yet; retrying the manager link shortly.',
              { retryable: true, retryAfterMs: 2000, cause: err },
            );
          }
          log.warn({ managerObjectId: plan.manager.set }, 'manager link not set: manager not found in Entra');
          managerLinked = null;
        }
      }

      await recordSynced(db, tenantId, employeeId, {
        objectId,
        version: employee.version,
        snapshot: { properties: plan.desired, managerObjectId: managerLinked },
        // Reports synced before this account existed are waiting for their manager link.
        linkReports: settings.setManager && (outcome === 'created' || outcome === 'adopted'),
      });
      if (manager?.state === 'PENDING' && !manager.entraObjectId && attempt() < replicationAttempts) {
        // The manager is being provisioned right now (e.g. the initial push enrols everybody at once). The account
        // is synced; one more attempt shortly after sets the manager link, instead of leaving it for the next change.
        throw new ProvisioningError(
          ErrorTypes.GraphUnavailable,
          "Synced; waiting for the manager's Entra account to set the manager relationship.",
          { retryable: true, retryAfterMs: 1000 },
        );
      }
      const graphRequests = currentTally()?.requests ?? 0;
      log.info({ outcome, entraObjectId: objectId, graphRequests }, 'employee synced to Entra ID');
      return { outcome, entraObjectId: objectId, syncedVersion: employee.version, graphRequests };
    } catch (err) {
      // Cancelled (the worker is shutting down; typically while the sync waited for the write budget): nothing is
      // wrong with the employee, so no failure is recorded; Temporal runs the attempt again, which finds whatever
      // this one wrote.
      const cancelled = activityCancellation();
      if (cancelled?.aborted) throw cancelled.reason ?? err;
      if (!(err instanceof ProvisioningError)) {
        // Not classified (a bug, or an answer of a shape we do not know): Temporal retries it; the status shows it.
        log.error({ err }, 'sync failed unexpectedly; Temporal retries it');
        await recordFailure(db, tenantId, employeeId, {
          blocked: false,
          reason: `Unexpected error, retrying: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2000),
          errorType: 'UnexpectedError',
        }).catch((recordErr: unknown) => log.warn({ err: recordErr }, 'could not record the unexpected error'));
        throw err;
      }
      const classified = signedIn && upnWrite ? await explainFederatedUpn(signedIn, err, upnWrite) : err;
      const failure =
        !classified.retryable && signedIn
          ? await disableLeaverWhileBlocked(
              signedIn,
              req,
              // An enrolment or retry does not trust the last sync's snapshot: it disables again (idempotent).
              {
                ...inputs,
                storedObjectId: inputs.entraObjectId,
                snapshot: req.reconcile ? undefined : inputs.snapshot,
              },
              classified,
              log,
            )
          : classified;
      await recordFailure(db, tenantId, employeeId, {
        blocked: !failure.retryable,
        reason: failure.message,
        errorType: failure.type,
        graphCode: failure.info.graphCode,
        requestId: failure.info.requestId,
      });
      // A block a person fixes (HR data, settings, a grant) is expected, not a fault of the worker: warn. Only a Graph
      // failure nobody classified is an error.
      log[failure.type === ErrorTypes.UnknownGraphError ? 'error' : 'warn'](
        { errorType: failure.type, graphCode: failure.info.graphCode, requestId: failure.info.requestId },
        failure.message,
      );
      throw toApplicationFailure(failure, employee.version);
    }
  }

  /**
   * The block `block`, after disabling a leaver's account on its own when the block allows it (disableWhileBlocked);
   * its reason then says so. If that write cannot be made now (throttled, Graph down), the attempt fails retryably
   * with that failure instead, so Temporal tries the disable again rather than parking an enabled leaver.
   */
  async function disableLeaverWhileBlocked(
    directory: EntraDirectory,
    ids: Pick<SyncRequest, 'tenantId' | 'employeeId'>,
    input: Pick<PlanInput, 'employee' | 'storedObjectId' | 'snapshot'>,
    block: ProvisioningError,
    log: Logger,
  ): Promise<ProvisioningError> {
    const step = disableWhileBlocked(input);
    if (!step) return block;
    try {
      await directory.updateUser(step.objectId, step.patch);
    } catch (err) {
      // The worker is shutting down (say while the write waited for the budget): not a failure of the employee's;
      // Temporal runs the attempt again, which disables the account then.
      const cancelled = activityCancellation();
      if (cancelled?.aborted) throw cancelled.reason ?? err;
      if (err instanceof ProvisioningError && err.retryable) return err;
      log.warn(
        { err, entraObjectId: step.objectId },
        "could not disable the leaver's account while the sync is blocked",
      );
      const why = err instanceof Error ? err.message : String(err);
      return new ProvisioningError(block.type, `${block.message} Disabling the account failed too: ${why}`, block.info);
    }
    log.info({ entraObjectId: step.objectId }, "leaver's account disabled although the rest of the sync is blocked");
    // Without it the next change-driven sync would not know (a rehire's enable looks like no change); the account is
    // disabled either way, so a failure here is only logged.
    await recordAccountDisabled(db, ids.tenantId, ids.employeeId).catch((err: unknown) =>
      log.warn({ err }, 'could not record the disabled account in the last sync snapshot'),
    );
    return new ProvisioningError(
      block.type,
      `${block.message} Meanwhile the account was disabled in Entra ID, as the lifecycle "${input.employee.lifecycleStatus}" requires.`,
      block.info,
    );
  }

  return {
    /** Create or update the employee's Entra account from the employee's current row. */
    async syncEmployeeToEntra(req: SyncRequest): Promise<SyncResult> {
      const stopHeartbeats = heartbeatWhileSlow();
      try {
        return (await countGraphRequests(() => sync(req), writeKindOf(req), activityCancellation(), budgetDeadline()))
          .result;
      } catch (err) {
        if (err instanceof ProvisioningError) throw toApplicationFailure(err);
        throw err;
      } finally {
        stopHeartbeats();
      }
    },

    /**
     * Mirrors a workflow state change to PostgreSQL for the admin API: PENDING, NOT_ENROLLED, and BLOCKED when the
     * sync activity did not record the block itself (a timeout).
     */
    async recordProvisioningState(r: ProvisioningStateRecord): Promise<void> {
      await recordState(db, r.tenantId, r.employeeId, r.state, { reason: r.reason, errorType: r.errorType });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
