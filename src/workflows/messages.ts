/**
 * The outbound workflow's contract, defined once and imported by the workflow, the relay, the admin API, the
 * worker and the tests: workflow id, signals, update, query, search attribute keys, states and error types.
 * Deterministic (no Node built-ins), because the workflow bundle includes it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** Business key, no PII: one workflow per employee and tenant. */
export function employeeSyncWorkflowId(tenantId: string, employeeId: string): string {
  return `employee-sync/${tenantId}/${employeeId}`;
}

export const PROVISIONING_STATES = ['NOT_ENROLLED', 'PENDING', 'SYNCED', 'BLOCKED'] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];

/**
 * Stable failure types: the activity throws `ApplicationFailure`s with these `type`s, the workflow shows them,
 * PostgreSQL stores them and the admin API and docs key their advice on them. Never rename one.
 */
export const ErrorTypes = {
  /** The user principal name's domain is not a verified domain of the Entra tenant. */
  DomainNotVerified: 'DomainNotVerified',
  /** Another Entra object already uses the user principal name. */
  UpnConflict: 'UpnConflict',
  /** Graph rejected a property value, or the mapping names a property Graph does not accept. */
  InvalidProperty: 'InvalidProperty',
  /**
   * The UPN moves into a federated domain without onPremisesImmutableId, or out of one (which needs a new password).
   */
  FederatedDomain: 'FederatedDomain',
  /** The mapping targets a multi-valued directory extension property, or the HR value is a list. */
  MultiValuedExtension: 'MultiValuedExtension',
  /** First or last name (givenName/surname) is empty; Entra accounts need both. */
  MissingName: 'MissingName',
  /** The app registration lacks a Graph application permission. */
  PermissionDenied: 'PermissionDenied',
  /** Outbound provisioning is switched off or has no Graph connection for the tenant. */
  NotConfigured: 'NotConfigured',
  /** The client id or secret is wrong or expired. */
  InvalidCredentials: 'InvalidCredentials',
  /** The HR employee row does not exist (any more). */
  EmployeeNotFound: 'EmployeeNotFound',
  /** Any Graph failure we have no specific advice for; the reason keeps Graph's code and request id. */
  UnknownGraphError: 'UnknownGraphError',
  /** Transient: 429/503/504; Temporal retries after Retry-After. */
  GraphThrottled: 'GraphThrottled',
  /** Transient: 5xx or network failure; Temporal retries with backoff. */
  GraphUnavailable: 'GraphUnavailable',
} as const;
export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

/** Types that need a person to act; the workflow goes BLOCKED on them instead of retrying. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorTypes.DomainNotVerified,
  ErrorTypes.UpnConflict,
  ErrorTypes.InvalidProperty,
  ErrorTypes.FederatedDomain,
  ErrorTypes.MultiValuedExtension,
  ErrorTypes.MissingName,
  ErrorTypes.PermissionDenied,
  ErrorTypes.NotConfigured,
  ErrorTypes.InvalidCredentials,
  ErrorTypes.EmployeeNotFound,
  ErrorTypes.UnknownGraphError,
];

export type ChangeSource = 'scim' | 'admin' | 'system' | 'enrol';

/** An employee row changed (sent by the outbox relay). Carries versions and names, never data. */
export interface EmployeeChangedSignal {
  version: number;
  /** HR attribute names as in outbox.changed_attributes. */
  changedAttributes: string[];
  source: ChangeSource | string;
  /**
   * Whether a changed attribute is one of the tenant's watched attributes, decided by the relay from the settings
   * at delivery time. Absent (e.g. a hand-written signal from Temporal UI) counts as watched.
   */
  touchesWatched?: boolean;
}

/** Admin enrolment ("push now"): enrols and syncs even if no watched attribute changed. */
export interface EnrolSignal {
  source: string;
}

export interface RetryInput {
  /** Who asked, for the workflow's log; free text. */
  requestedBy?: string;
}

export interface RetryResult {
  accepted: true;
  state: ProvisioningState;
}

export interface BlockedInfo {
  reason: string;
  errorType: string;
  /** Desired version when the failure happened. */
  atVersion: number;
  /** When it was blocked (epoch ms, workflow time); absent in runs blocked before this field existed. */
  at?: number;
}

export interface ManagerReadySignal {
  /** What queued it (the outbox row's source). */
  source: string;
}

export interface EmployeeSyncStatus {
  tenantId: string;
  employeeId: string;
  state: ProvisioningState;
  blocked?: BlockedInfo;
  entraObjectId?: string;
  /** Highest employee version seen in a change signal. */
  desiredVersion: number;
  /** Employee version the last successful sync wrote (or found already in place). */
  syncedVersion?: number;
  /** Attributes changed since the last successful sync. */
  pendingAttributes: string[];
  syncCount: number;
}

/**
 * A relay message carried in the input of the run it starts, instead of a signal: the relay starts a new employee's
 * workflow that way (a start, which the server can hand straight to the relay's own worker, where signal-with-start
 * goes through the task queue). The run handles it exactly as that signal, before any signal it receives.
 */
export type FirstMessage =
  | { signal: 'employeeChanged'; arg: EmployeeChangedSignal }
  | { signal: 'enrol'; arg: EnrolSignal }
  | { signal: 'managerReady'; arg: ManagerReadySignal };

/**
 * Part of the identity of every worker whose workflow code reads `firstMessage`. The relay starts workflows with a
 * first message only while every poller of the workflow task queue carries it: an older worker would take the message
 * for no message at all (during a rolling upgrade).
 */
export const FIRST_MESSAGE_CAPABILITY = 'entra-sync:first-message';

export const employeeChangedSignal = defineSignal<[EmployeeChangedSignal]>('employeeChanged');
export const enrolSignal = defineSignal<[EnrolSignal]>('enrol');
/**
 * The employee's manager has just got an Entra account: set the manager link that an earlier sync had to leave out.
 * Sent by the relay for outbox rows of kind `manager`; ignored unless enrolled and not blocked.
 */
export const managerReadySignal = defineSignal<[ManagerReadySignal]>('managerReady');
/** Fire-and-forget retry for Temporal UI's "Signal" action; ignored unless BLOCKED. */
export const retrySignal = defineSignal<[RetryInput]>('retry');
/** Retry with an immediate answer: the validator rejects it unless BLOCKED (admin API → 409). */
export const retryUpdate = defineUpdate<RetryResult, [RetryInput]>('retry');
export const statusQuery = defineQuery<EmployeeSyncStatus>('status');

export const ProvisioningStateKey = defineSearchAttributeKey('ProvisioningState', SearchAttributeType.KEYWORD);
export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);

/** What the sync activity reports back; never the one-time password. */
export interface SyncResult {
  outcome: 'created' | 'adopted' | 'updated' | 'unchanged';
  entraObjectId: string;
  syncedVersion: number;
  /** Graph requests this attempt made, for the benchmark and logs. */
  graphRequests: number;
}

/**
 * Which of the worker's three lanes a sync runs in, most urgent first. `lifecycle`: HR changed the lifecycle of an
 * account already in Entra, which decides whether it is enabled (a leaver, a return from leave; see
 * LIFECYCLE_ATTRIBUTES): access must follow at once, even during a mass update. `change`: any other HR change of an account already in Entra, which HR is waiting
 * for (a department change must not queue behind a thousand new hires). `bulk`: enrolments (the initial push,
 * re-enrolments) and first syncs, which create or adopt an account. Each lane but bulk runs on its own activity task
 * queue with its own slots, and each leaves part of Graph's write budget to the lanes above it (WriteBudget).
 */
export const SYNC_LANES = ['lifecycle', 'change', 'bulk'] as const;
export type SyncLane = (typeof SYNC_LANES)[number];

/**
 * HR attributes that decide whether the Entra account is enabled (the lifecycle → accountEnabled table): a sync with
 * one of them changed runs in the lifecycle lane. Names only: the workflow never sees the values, so a return from
 * leave is as urgent as a leaver, and so is a change that leaves the account as it was (active → offboarding).
 */
export const LIFECYCLE_ATTRIBUTES: readonly string[] = ['active', 'lifecycleStatus'];

/**
 * The activity task queue of a lane, next to the workflow's own queue. Bulk syncs stay on the workflow's queue: there
 * the server can hand a workflow task's new activity straight back to its worker (eager execution), as it does for the
 * trivial workflow of the benchmark's ceiling. With bulk syncs on a queue of their own, a push of 2,000 was 68.0 and
 * 65.6 % of the ceiling against 83.3 and 77.3 % before, the server spending ~5–7 ms more per employee.
 */
export function laneTaskQueue(taskQueue: string, lane: SyncLane): string {
  switch (lane) {
    case 'bulk':
      return taskQueue;
    case 'change':
      return `${taskQueue}-changes`;
    case 'lifecycle':
      return `${taskQueue}-lifecycle`;
  }
}

export interface SyncRequest {
  tenantId: string;
  employeeId: string;
  /** Changed attributes since the last successful sync, for the log. */
  changedAttributes: string[];
  /**
   * Compare with the account in Entra rather than with what the last sync wrote (enrolment, retry): catches edits
   * made in Entra meanwhile, at the cost of a read.
   */
  reconcile?: boolean;
  /**
   * Epoch ms: a Graph client (and its cached token) made before this must sign in afresh. Set on the retry of an
   * employee blocked by PermissionDenied: a token carries the permissions granted when it was issued, so only a new
   * one has the permission the admin granted since.
   */
  signInAfter?: number;
  /** The lane the workflow scheduled this sync in; absent in syncs scheduled before lanes existed. */
  lane?: SyncLane;
}

export interface ProvisioningStateRecord {
  tenantId: string;
  employeeId: string;
  state: ProvisioningState;
  reason?: string | null;
  errorType?: string | null;
}

/**
 * Heartbeat timeout of a sync attempt: how soon the server gives up an attempt whose worker died (a deploy, an OOM
 * kill) and retries it elsewhere, instead of after the whole start-to-close timeout (2 minutes by default). Attempts
 * longer than a second heartbeat every second (throttled to one every SYNC_HEARTBEAT_THROTTLE, 2 s, by the worker), so
 * a live attempt misses ten in a row before it is given up.
 */
export const SYNC_HEARTBEAT_TIMEOUT_MS = 20_000;
