/**
 * employeeSyncWorkflow: one long-lived workflow per employee that keeps the employee's Entra account in step with
 * the HR row (design.md, "Outbound"). Signal handlers only record what happened; the main loop decides when to
 * sync, so a burst of changes becomes one sync of the latest row, and a failure a person must fix parks the
 * workflow in BLOCKED until an admin retries or the data changes again.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type { createActivities } from '../activities';
import {
  employeeChangedSignal,
  enrolSignal,
  laneTaskQueue,
  LIFECYCLE_ATTRIBUTES,
  managerReadySignal,
  NON_RETRYABLE_ERROR_TYPES,
  ProvisioningStateKey,
  retrySignal,
  retryUpdate,
  statusQuery,
  SYNC_HEARTBEAT_TIMEOUT_MS,
  TenantIdKey,
  type BlockedInfo,
  type EmployeeChangedSignal,
  type EmployeeSyncStatus,
  type FirstMessage,
  type ProvisioningState,
  type SyncLane,
} from './messages';

/** Everything a run hands to its continuation. */
export interface CarriedState {
  state: ProvisioningState;
  enrolled: boolean;
  /** A sync must run even without a watched change (enrolment, or never synced successfully). */
  forceSync: boolean;
  desiredVersion: number;
  syncedVersion?: number;
  entraObjectId?: string;
  /** Attributes changed since the last successful sync. */
  pendingAttributes: string[];
  /** Whether one of `pendingAttributes` is watched. */
  pendingWatched: boolean;
  blocked?: BlockedInfo;
  /** Set by a retry of a PermissionDenied block until the next successful sync (see SyncRequest.signInAfter). */
  signInAfter?: number;
  syncCount: number;
}

export interface EmployeeSyncInput {
  tenantId: string;
  employeeId: string;
  /** Set by continue-as-new only. */
  carried?: CarriedState;
  /** The message that started this run, when the relay started it with a start rather than signal-with-start. */
  firstMessage?: FirstMessage;
  /**
   * Extra quiet period (a timer) before each sync. Default 0: bursts already coalesce without it — signals that
   * arrive together are handled in one workflow task, and changes during a running sync collapse into one
   * follow-up sync. Server timers fire with about one second of granularity, so any value costs ~1 s latency.
   */
  debounceMs?: number;
  /** Start-to-close timeout of one sync attempt (default 2 minutes); also bounds how long a crashed worker's attempt blocks. */
  activityTimeoutMs?: number;
  /** Test hook: continue-as-new after this many syncs even if the server does not suggest it yet. */
  maxSyncsBeforeContinueAsNew?: number;
}

type Activities = ReturnType<typeof createActivities>;

/**
 * Patches (workflow.patched) for behaviour changed after histories were recorded: each guards a branch that now issues
 * other commands, so a history recorded before it replays as it ran.
 */
const PATCHES = {
  /** A called-off sync that then failed or timed out (the server no longer retries it) is requeued, not blocked. */
  calledOffSyncFailed: 'called-off-sync-failed-is-requeued',
  /** A block the activity did not record (a timeout: its worker died) is written to PostgreSQL by the workflow. */
  mirrorUnrecordedBlock: 'mirror-unrecorded-block',
  /** A manager link that became possible during a sync stays pending after that sync. */
  managerReadyDuringSync: 'manager-ready-during-sync-kept',
  /** A sync that succeeded while changes wait for a follow-up sync leaves PostgreSQL at PENDING, not SYNCED. */
  followUpShowsPending: 'follow-up-sync-shows-pending',
  /** A failure is re-run for a newer row once per version; if the row never gets there, the employee blocks. */
  rerunOncePerVersion: 'rerun-once-per-version',
} as const;

/**
 * Activity options of the sync; `heartbeatTimeout` is how long a dead worker's attempt blocks a retry. `taskQueue`
 * absent: the workflow's own queue.
 */
function syncActivity(timeoutMs: number | undefined, taskQueue?: string) {
  return proxyActivities<Pick<Activities, 'syncEmployeeToEntra'>>({
    ...(taskQueue ? { taskQueue } : {}),
    startToCloseTimeout: timeoutMs ?? '2 minutes',
    // A dead worker's attempt is retried after this, not after the start-to-close timeout.
    heartbeatTimeout: SYNC_HEARTBEAT_TIMEOUT_MS,
    // A sync called off for a more urgent one (a leaver's, see `supersedable`) ends before the next starts: never two
    // syncs of one employee at once. Not started yet, it is removed from its queue at once; waiting for the write
    // budget, it hears of it through its heartbeat and leaves without writing.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      // Unlimited attempts for transient failures; person-must-act types end the attempt at once (also thrown
      // as non-retryable by the activity; listed here so the contract is visible in the workflow).
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  }).syncEmployeeToEntra;
}

const { recordProvisioningState } = proxyLocalActivities<Pick<Activities, 'recordProvisioningState'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

export function initialState(): CarriedState {
  return {
    state: 'NOT_ENROLLED',
    enrolled: false,
    forceSync: false,
    desiredVersion: 0,
    pendingAttributes: [],
    pendingWatched: false,
    syncCount: 0,
  };
}

export async function employeeSyncWorkflow(input: EmployeeSyncInput): Promise<void> {
  const { tenantId, employeeId } = input;
  const s: CarriedState = input.carried ? { ...input.carried } : initialState();
  const debounceMs = input.debounceMs ?? 0;
  // Changing the queue of a scheduled activity does not break replay (Core matches activity id and type only; the
  // recorded histories, most scheduled on the workflow's queue before the lanes, replay in
  // test/workflows/replay.test.ts).
  const queueOf = (lane: SyncLane) => laneTaskQueue(workflowInfo().taskQueue, lane);
  const syncIn: Record<SyncLane, ReturnType<typeof syncActivity>> = {
    lifecycle: syncActivity(input.activityTimeoutMs, queueOf('lifecycle')),
    change: syncActivity(input.activityTimeoutMs, queueOf('change')),
    bulk: syncActivity(input.activityTimeoutMs),
  };
  let syncsThisRun = 0;
  let mirroredState: ProvisioningState | undefined;
  /** A sync of an account in Entra outside the lifecycle lane, while it runs: a lifecycle change calls it off. */
  let supersedable: { scope: CancellationScope; superseded: boolean } | undefined;
  /** Whether a sync is running, and whether the manager's account appeared meanwhile (managerReadySignal). */
  let syncing = false;
  let managerReadyWhileSyncing = false;
  /** The newest version a failed sync was re-run for (the row had changed since the failing attempt read it). */
  let rerunForVersion: number | undefined;

  const needsSync = (): boolean => s.enrolled && !s.blocked && (s.forceSync || s.pendingWatched);

  /** Clears a block; after a missing permission, the next sync signs in afresh to see the admin's grant. */
  const unblock = (): void => {
    // Signed in after the retry, not just after the block: a client made in between may predate the admin's grant.
    if (s.blocked?.errorType === 'PermissionDenied') s.signInAfter = Date.now();
    s.blocked = undefined;
  };

  const onEmployeeChanged = (change: EmployeeChangedSignal): void => {
    s.desiredVersion = Math.max(s.desiredVersion, change.version);
    // Redelivered or late: the last successful sync read this version or a newer one, so Entra has it already.
    if (s.syncedVersion !== undefined && change.version <= s.syncedVersion) return;
    for (const a of change.changedAttributes) if (!s.pendingAttributes.includes(a)) s.pendingAttributes.push(a);
    const watched = change.touchesWatched !== false;
    if (watched) {
      s.pendingWatched = true;
      // As in the vendor article: a change to a watched attribute enrols the employee by itself.
      if (!s.enrolled) {
        s.enrolled = true;
        s.forceSync = true;
      }
    }
    // New data may be the fix: a blocked employee tries again on any change after the failure.
    if (s.blocked && change.version > s.blocked.atVersion) unblock();
    // A leaver must not wait for this employee's place in a mass update: call that sync off and run one in the
    // lifecycle lane with everything pending.
    if (supersedable && watched && change.changedAttributes.some((a) => LIFECYCLE_ATTRIBUTES.includes(a))) {
      supersedable.superseded = true;
      supersedable.scope.cancel();
    }
  };
  const onEnrol = (): void => {
    s.enrolled = true;
    s.forceSync = true;
    unblock();
  };
  const onManagerReady = (): void => {
    // Only the link is missing: a sync from the last snapshot sets it (one Graph request), no version involved.
    if (!s.enrolled || s.blocked) return;
    if (!s.pendingAttributes.includes('managerId')) s.pendingAttributes.push('managerId');
    s.pendingWatched = true;
    if (syncing) managerReadyWhileSyncing = true;
  };
  // Before the handlers are set: signals that arrived with the start are delivered when they are, so they come after.
  if (input.firstMessage && !input.carried) applyFirstMessage(input.firstMessage);
  setHandler(employeeChangedSignal, onEmployeeChanged);
  setHandler(enrolSignal, onEnrol);
  setHandler(managerReadySignal, onManagerReady);

  function applyFirstMessage(m: FirstMessage): void {
    if (m.signal === 'employeeChanged') onEmployeeChanged(m.arg);
    else if (m.signal === 'enrol') onEnrol();
    else if (m.signal === 'managerReady') onManagerReady();
  }

  const retry = (): void => {
    unblock();
    s.forceSync = true;
  };
  setHandler(retrySignal, () => {
    if (s.blocked) retry();
  });
  setHandler(
    retryUpdate,
    (_input) => {
      retry();
      return { accepted: true as const, state: 'PENDING' as const };
    },
    {
      // Synchronous on purpose: an async validator's rejection would not reject the update (temporal.md §1.3).
      validator: (_input) => {
        if (!s.blocked) {
          throw ApplicationFailure.create({
            type: 'NotBlocked',
            message: `retry is only possible while BLOCKED; the employee is ${s.state}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(statusQuery, (): EmployeeSyncStatus => ({
    tenantId,
    employeeId,
    state: s.state,
    blocked: s.blocked,
    entraObjectId: s.entraObjectId,
    desiredVersion: s.desiredVersion,
    syncedVersion: s.syncedVersion,
    pendingAttributes: [...s.pendingAttributes],
    syncCount: s.syncCount,
  }));

  // What the ProvisioningState search attribute says before this run first upserts it: the value the run was
  // started with (the relay starts a run for a watched change or an enrolment as PENDING, else NOT_ENROLLED).
  let startedAs: unknown = input.carried ? undefined : workflowInfo().typedSearchAttributes.get(ProvisioningStateKey);

  /**
   * Moves to `next` and mirrors it to search attributes, Temporal UI details and PostgreSQL; returns the PostgreSQL
   * write to await, if there is one. Not `async`, like the loop below, which awaits only what is pending: the SDK
   * records a stack trace for every promise a workflow creates (for Temporal UI's stack trace view), and those were
   * the largest part of this workflow's own cost beyond a trivial workflow's (bench/outbound).
   */
  function transition(next: ProvisioningState): Promise<void> | undefined {
    s.state = next;
    if (mirroredState === next) return undefined;
    mirroredState = next;
    // A run started as PENDING already shows PENDING: no upsert (and no visibility write) for its first sync.
    if (startedAs !== next) {
      upsertSearchAttributes([
        { key: ProvisioningStateKey, value: next },
        { key: TenantIdKey, value: tenantId },
      ]);
    }
    startedAs = undefined;
    setCurrentDetails(details(s));
    // BLOCKED and SYNCED rows are written by the sync activity together with their details.
    return next === 'PENDING' || next === 'NOT_ENROLLED'
      ? recordProvisioningState({ tenantId, employeeId, state: next })
      : undefined;
  }

  // A continued run starts from its carried state; a new one shows NOT_ENROLLED until enrolled.
  mirroredState = input.carried ? undefined : 'NOT_ENROLLED';
  if (input.carried) {
    upsertSearchAttributes([
      { key: ProvisioningStateKey, value: s.state },
      { key: TenantIdKey, value: tenantId },
    ]);
    setCurrentDetails(details(s));
    mirroredState = s.state;
  }

  const shouldContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested ||
    (input.maxSyncsBeforeContinueAsNew !== undefined && syncsThisRun >= input.maxSyncsBeforeContinueAsNew);

  for (;;) {
    if (!needsSync() && !shouldContinueAsNew()) await condition(() => needsSync() || shouldContinueAsNew());
    if (shouldContinueAsNew()) {
      // Hand the whole state to a fresh run before the history grows long. Handlers must be done first so no
      // message is lost; signals landing during the hand-over make the server retry the task with them applied.
      await condition(allHandlersFinished);
      await continueAsNew<typeof employeeSyncWorkflow>({ ...input, firstMessage: undefined, carried: { ...s } });
    }

    await transition('PENDING');
    if (debounceMs > 0) await sleep(debounceMs);
    if (!needsSync()) continue;

    // Move the pending changes "in flight"; changes arriving during the sync collect afresh.
    const inFlight = { attributes: s.pendingAttributes, watched: s.pendingWatched, force: s.forceSync };
    s.pendingAttributes = [];
    s.pendingWatched = false;
    s.forceSync = false;
    const lane = laneOf(s.entraObjectId, inFlight);
    const request = {
      tenantId,
      employeeId,
      changedAttributes: inFlight.attributes,
      reconcile: inFlight.force,
      lane,
      ...(s.signInAfter !== undefined ? { signInAfter: s.signInAfter } : {}),
    };
    /** Puts the in-flight changes back: nothing was synced. */
    const requeue = (): void => {
      s.pendingAttributes = [
        ...inFlight.attributes,
        ...s.pendingAttributes.filter((a) => !inFlight.attributes.includes(a)),
      ];
      s.pendingWatched ||= inFlight.watched;
      s.forceSync ||= inFlight.force;
    };
    // Only a sync of an account already in Entra can be superseded: a first sync stays bulk whatever changed. No
    // scope otherwise (each costs the workflow a few promises; an initial push has thousands of first syncs).
    supersedable =
      lane !== 'lifecycle' && s.entraObjectId !== undefined
        ? { scope: new CancellationScope(), superseded: false }
        : undefined;
    const run = () => syncIn[lane](request);
    syncing = true;
    managerReadyWhileSyncing = false;
    try {
      const result = await (supersedable ? supersedable.scope.run(run) : run());
      s.signInAfter = undefined;
      s.entraObjectId = result.entraObjectId;
      s.syncedVersion = Math.max(s.syncedVersion ?? 0, result.syncedVersion);
      s.syncCount++;
      syncsThisRun++;
      if (s.syncedVersion >= s.desiredVersion) {
        // The activity read the current row, so changes that arrived meanwhile are already in Entra.
        s.pendingAttributes = [];
        s.pendingWatched = false;
        // Except the manager link: the manager's account may have appeared after the sync read it.
        if (managerReadyWhileSyncing && patched(PATCHES.managerReadyDuringSync)) {
          s.pendingAttributes = ['managerId'];
          s.pendingWatched = true;
        }
      }
      const next = needsSync() ? 'PENDING' : 'SYNCED';
      const recording = transition(next);
      if (recording) await recording;
      else if (next === 'PENDING' && patched(PATCHES.followUpShowsPending)) {
        // The activity wrote SYNCED with the sync; changes that came meanwhile are still to go.
        await recordProvisioningState({ tenantId, employeeId, state: 'PENDING' });
      }
    } catch (err) {
      if (supersedable?.superseded && !CancellationScope.current().consideredCancelled && endedByCallOff(err)) {
        requeue();
        continue;
      }
      // Cancellation and workflow bugs propagate; every activity failure parks the employee instead of ending
      // the workflow (with unlimited retries only classified, non-retryable failures normally get here).
      if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
      const failure =
        err.cause instanceof ApplicationFailure
          ? err.cause
          : ApplicationFailure.create({
              type: 'UnknownError',
              message: `The sync failed unexpectedly: ${err.cause?.message ?? err.message}`,
            });
      syncsThisRun++;
      // Nothing was synced: the in-flight changes are still pending.
      requeue();
      const readVersion = versionFromDetails(failure.details) ?? s.desiredVersion;
      // A signalled version the row never reaches (a database restored from a backup, a hand-made signal) would re-run
      // forever without a pause: once per version, then the employee blocks.
      const rerun =
        s.desiredVersion > readVersion &&
        !(rerunForVersion === s.desiredVersion && patched(PATCHES.rerunOncePerVersion));
      if (rerun) {
        // The row changed after the failing attempt read it: the change may be the fix, so try again. The
        // activity already wrote BLOCKED to PostgreSQL, so write PENDING again even though the workflow never left it.
        rerunForVersion = s.desiredVersion;
        mirroredState = undefined;
        await transition('PENDING');
        continue;
      }
      s.blocked = {
        reason: failure.message,
        errorType: failure.type ?? 'UnknownError',
        atVersion: readVersion,
        at: Date.now(),
      };
      mirroredState = undefined; // always refresh details: the reason may differ from the last block
      await transition('BLOCKED');
      // The activity records the blocks it classifies (with the version it read). One it never saw — an attempt timed
      // out because its worker died — is written here, so the admin API lists the employee as BLOCKED too.
      if (
        versionFromDetails(failure.details) === undefined &&
        failure.type !== 'EmployeeNotFound' &&
        patched(PATCHES.mirrorUnrecordedBlock)
      ) {
        await recordProvisioningState({
          tenantId,
          employeeId,
          state: 'BLOCKED',
          reason: s.blocked.reason,
          errorType: s.blocked.errorType,
        });
      }
    } finally {
      supersedable = undefined;
      syncing = false;
    }
  }
}

/**
 * Bulk: a sync that will create or adopt the account (no Entra object id yet: a new hire, an enrolment) or that only
 * reconciles it (an enrolment or a retry of one, nothing changed in HR). Lifecycle: HR changed the lifecycle of an
 * account already in Entra (LIFECYCLE_ATTRIBUTES, with or without other changes). Change: any other HR change of
 * such an account. A blocked sync's retry keeps the lane of what it retries.
 */
function laneOf(entraObjectId: string | undefined, sync: { attributes: string[]; force: boolean }): SyncLane {
  if (entraObjectId === undefined) return 'bulk';
  if (sync.attributes.some((a) => LIFECYCLE_ATTRIBUTES.includes(a))) return 'lifecycle';
  return sync.force && sync.attributes.length === 0 ? 'bulk' : 'change';
}

/**
 * Whether a sync ended because the workflow called it off: cancelled, or — when the attempt was already running and
 * failed or timed out after the cancel request — a failure the server no longer retries (retry state
 * CANCEL_REQUESTED). Either way it synced nothing the workflow relies on.
 */
function endedByCallOff(err: unknown): boolean {
  if (isCancellation(err)) return true;
  return (
    err instanceof ActivityFailure &&
    err.retryState === RetryState.CANCEL_REQUESTED &&
    patched(PATCHES.calledOffSyncFailed)
  );
}

/** The activity attaches `{ version }` (the row version it read) to its failures. */
function versionFromDetails(details: unknown[] | undefined | null): number | undefined {
  const first = details?.[0];
  if (first && typeof first === 'object' && 'version' in first && typeof first.version === 'number')
    return first.version;
  return undefined;
}

/** Markdown for Temporal UI's "Current Details". */
function details(s: CarriedState): string {
  const lines = [`**State:** ${s.state}`];
  if (s.blocked) {
    lines.push(`**Blocked (${s.blocked.errorType}):** ${s.blocked.reason}`);
    lines.push(
      '',
      'Fix the cause, then send the signal `retry` (input `{}`) to this workflow, or change the employee.',
    );
  }
  if (s.entraObjectId) lines.push(`**Entra object id:** ${s.entraObjectId}`);
  if (s.syncedVersion !== undefined) lines.push(`**Synced version:** ${s.syncedVersion}`);
  return lines.join('\n');
}
