import type { Knex } from 'knex';
import type { EmployeeRow } from './employees';
import type { Db } from './knex';
import {
  settingsFromColumns,
  type OutboundSettings,
  type OutboundSettingsRow,
  type SealedColumns,
} from './outbound-settings';
import type { HrEmployee } from '../graph/mapping';
import { PROVISIONING_STATES, type ProvisioningState } from '../workflows/messages';

/** One employee's outbound state as the admin API shows it. */
export interface ProvisioningRecord {
  tenantId: string;
  employeeId: string;
  state: ProvisioningState;
  reason: string | null;
  errorType: string | null;
  graphErrorCode: string | null;
  graphRequestId: string | null;
  entraObjectId: string | null;
  syncedVersion: number | null;
  lastAttemptAt: Date | null;
  lastSyncedAt: Date | null;
  updatedAt: Date | null;
}

interface Row {
  tenant_id: string;
  employee_id: string;
  state: ProvisioningState;
  reason: string | null;
  error_type: string | null;
  graph_error_code: string | null;
  graph_request_id: string | null;
  entra_object_id: string | null;
  synced_version: number | null;
  last_attempt_at: Date | null;
  last_synced_at: Date | null;
  updated_at: Date;
}

function fromRow(r: Row): ProvisioningRecord {
  return {
    tenantId: r.tenant_id,
    employeeId: r.employee_id,
    state: r.state,
    reason: r.reason,
    errorType: r.error_type,
    graphErrorCode: r.graph_error_code,
    graphRequestId: r.graph_request_id,
    entraObjectId: r.entra_object_id,
    syncedVersion: r.synced_version,
    lastAttemptAt: r.last_attempt_at,
    lastSyncedAt: r.last_synced_at,
    updatedAt: r.updated_at,
  };
}

/** An employee never touched by outbound provisioning has no row; it reads as NOT_ENROLLED. */
export function notEnrolled(tenantId: string, employeeId: string): ProvisioningRecord {
  return {
    tenantId,
    employeeId,
    state: 'NOT_ENROLLED',
    reason: null,
    errorType: null,
    graphErrorCode: null,
    graphRequestId: null,
    entraObjectId: null,
    syncedVersion: null,
    lastAttemptAt: null,
    lastSyncedAt: null,
    updatedAt: null,
  };
}

export async function getProvisioning(
  db: Db,
  tenantId: string,
  employeeId: string,
): Promise<ProvisioningRecord | undefined> {
  const row = await db<Row>('employee_provisioning').where({ tenant_id: tenantId, employee_id: employeeId }).first();
  return row ? fromRow(row) : undefined;
}

export async function listProvisioning(
  db: Db,
  tenantId: string,
  opts: { state?: ProvisioningState; errorType?: string; limit: number; after?: string },
): Promise<ProvisioningRecord[]> {
  // Employees without a row are NOT_ENROLLED; a left join lists them too.
  const q = db('employees as e')
    .leftJoin('employee_provisioning as p', function on() {
      this.on('p.employee_id', '=', 'e.id').andOn('p.tenant_id', '=', 'e.tenant_id');
    })
    .where('e.tenant_id', tenantId)
    .select(
      'e.tenant_id',
      db.raw('e.id as employee_id'),
      db.raw(`coalesce(p.state, 'NOT_ENROLLED') as state`),
      'p.reason',
      'p.error_type',
      'p.graph_error_code',
      'p.graph_request_id',
      'p.entra_object_id',
      'p.synced_version',
      'p.last_attempt_at',
      'p.last_synced_at',
      'p.updated_at',
    )
    .orderBy('e.id')
    .limit(opts.limit);
  if (opts.state) q.whereRaw(`coalesce(p.state, 'NOT_ENROLLED') = ?`, [opts.state]);
  if (opts.errorType) q.where('p.error_type', opts.errorType);
  if (opts.after) q.where('e.id', '>', opts.after);
  return ((await q) as Row[]).map(fromRow);
}

export interface ProvisioningSummary {
  /** Employees per state; every state is present (0 when none). */
  states: Record<ProvisioningState, number>;
  /** BLOCKED employees per error type. */
  blockedBy: Record<string, number>;
}

/** How many of the tenant's employees are in each state, and what blocks the blocked ones: one grouped read. */
export async function summarizeProvisioning(db: Db, tenantId: string): Promise<ProvisioningSummary> {
  const rows = await db('employees as e')
    .leftJoin('employee_provisioning as p', function on() {
      this.on('p.employee_id', '=', 'e.id').andOn('p.tenant_id', '=', 'e.tenant_id');
    })
    .where('e.tenant_id', tenantId)
    .groupByRaw(`1, 2`)
    .select<Array<{ state: ProvisioningState; error_type: string | null; n: string }>>(
      db.raw(`coalesce(p.state, 'NOT_ENROLLED') as state`),
      db.raw(`case when p.state = 'BLOCKED' then p.error_type end as error_type`),
      db.raw('count(*) as n'),
    );
  const states = Object.fromEntries(PROVISIONING_STATES.map((s) => [s, 0])) as Record<ProvisioningState, number>;
  const blockedBy: Record<string, number> = {};
  for (const r of rows) {
    states[r.state] += Number(r.n);
    if (r.state === 'BLOCKED') {
      const type = r.error_type ?? 'Unclassified';
      blockedBy[type] = (blockedBy[type] ?? 0) + Number(r.n);
    }
  }
  return { states, blockedBy };
}

/**
 * Enrols all of a tenant's employees, or the listed ones, in one transaction: PENDING for each, and an outbox row
 * of kind `enrol` that the relay delivers as the workflow's `enrol` signal. Returns how many were enrolled.
 */
export async function enrolEmployees(db: Db, tenantId: string, which: 'all' | string[]): Promise<number> {
  const targets = db('employees').where({ tenant_id: tenantId }).select('id', 'version');
  if (which !== 'all') targets.whereIn('id', which);
  return enrolTargets(db, tenantId, targets);
}

/**
 * Retries every BLOCKED employee of the tenant (those blocked with `errorType`, when given) the way an enrolment
 * does: PENDING now, an `enrol` outbox row each, which clears the block and syncs against the account in Entra.
 * For a cause that blocked many at once (a missing permission, an unverified domain) once it is fixed.
 */
export async function retryBlockedEmployees(db: Db, tenantId: string, errorType?: string): Promise<number> {
  const targets = db('employees as e')
    .join('employee_provisioning as p', function () {
      this.on('p.tenant_id', '=', 'e.tenant_id').andOn('p.employee_id', '=', 'e.id');
    })
    .where({ 'e.tenant_id': tenantId, 'p.state': 'BLOCKED' })
    .select('e.id as id', 'e.version as version');
  if (errorType !== undefined) targets.where('p.error_type', errorType);
  return enrolTargets(db, tenantId, targets);
}

/** Marks `targets` (a query of employee `id`, `version`) PENDING and queues an enrolment each, in one statement. */
async function enrolTargets(db: Db, tenantId: string, targets: Knex.QueryBuilder): Promise<number> {
  const { sql, bindings } = targets.toSQL();
  const result = await db.raw<{ rows: Array<{ n: string }> }>(
    `WITH targets AS (${sql}),
     pending AS (
       INSERT INTO employee_provisioning (tenant_id, employee_id, state)
       SELECT ?, id, 'PENDING' FROM targets
       ON CONFLICT (tenant_id, employee_id) DO UPDATE SET state = 'PENDING', reason = NULL, error_type = NULL,
         graph_error_code = NULL, graph_request_id = NULL, updated_at = now()
     ),
     queued AS (
       INSERT INTO outbox (tenant_id, employee_id, version, changed_attributes, source, kind)
       SELECT ?, id, version, '[]'::jsonb, 'admin', 'enrol' FROM targets
       RETURNING 1
     )
     SELECT count(*) AS n FROM queued`,
    [...(bindings as Knex.RawBinding[]), tenantId, tenantId],
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * Sets the state (PENDING on enrol or change, NOT_ENROLLED; BLOCKED with its reason when the workflow blocks on a
 * failure the activity did not record); clears the last failure otherwise.
 */
export async function recordState(
  db: Db,
  tenantId: string,
  employeeId: string,
  state: ProvisioningState,
  failure: { reason?: string | null; errorType?: string | null } = {},
): Promise<void> {
  await db('employee_provisioning')
    .insert({ tenant_id: tenantId, employee_id: employeeId, state })
    .onConflict(['tenant_id', 'employee_id'])
    .merge({
      state,
      reason: failure.reason ?? null,
      error_type: failure.errorType ?? null,
      graph_error_code: null,
      graph_request_id: null,
      updated_at: db.fn.now(),
    });
}

/**
 * Stores the Entra object id the moment an account is created or adopted, before anything else happens, so a
 * retried attempt after a crash finds the account by id instead of creating a second one.
 */
export async function recordObjectId(db: Db, tenantId: string, employeeId: string, objectId: string): Promise<void> {
  // A new (or newly adopted) account: whatever was remembered of the previous one no longer describes it.
  const values = { entra_object_id: objectId, synced_properties: null, synced_manager_object_id: null };
  await db('employee_provisioning')
    .insert({ tenant_id: tenantId, employee_id: employeeId, state: 'PENDING', ...values })
    .onConflict(['tenant_id', 'employee_id'])
    .merge({ ...values, updated_at: db.fn.now() });
}

/** What the last successful sync left in Entra: the mapped properties and the manager link it set or confirmed. */
export interface SyncedSnapshot {
  properties: Record<string, unknown>;
  managerObjectId: string | null;
}

/**
 * Records a successful sync. With `linkReports` (the employee's account is new to us: created or adopted, and the
 * tenant sets managers), the same statement queues a `manager` outbox row for each direct report that is already in
 * Entra without this manager link, so their links follow now rather than on their next change.
 */
export async function recordSynced(
  db: Db,
  tenantId: string,
  employeeId: string,
  r: { objectId: string; version: number; snapshot?: SyncedSnapshot; linkReports?: boolean },
): Promise<void> {
  const values = {
    state: 'SYNCED',
    entra_object_id: r.objectId,
    synced_version: r.version,
    synced_properties: r.snapshot ? JSON.stringify(r.snapshot.properties) : null,
    synced_manager_object_id: r.snapshot?.managerObjectId ?? null,
    reason: null,
    error_type: null,
    graph_error_code: null,
    graph_request_id: null,
    last_attempt_at: db.fn.now(),
    last_synced_at: db.fn.now(),
    updated_at: db.fn.now(),
  };
  const upsert = db('employee_provisioning')
    .insert({ tenant_id: tenantId, employee_id: employeeId, ...values })
    .onConflict(['tenant_id', 'employee_id'])
    .merge(values);
  if (!r.linkReports) {
    await upsert;
    return;
  }
  await db.raw(
    `WITH synced AS (?) INSERT INTO outbox (tenant_id, employee_id, version, changed_attributes, source, kind)
     SELECT e.tenant_id, e.id, e.version, '["managerId"]'::jsonb, 'manager-in-entra', 'manager'
       FROM employees e JOIN employee_provisioning p ON p.tenant_id = e.tenant_id AND p.employee_id = e.id
      WHERE e.tenant_id = ? AND e.manager_id = ? AND e.id <> ?
        AND p.entra_object_id IS NOT NULL AND p.synced_manager_object_id IS DISTINCT FROM ?
        AND EXISTS (SELECT 1 FROM synced)`,
    [upsert.returning('employee_id'), tenantId, employeeId, employeeId, r.objectId],
  );
}

/**
 * A blocked sync disabled the account on its own (a leaver): the last sync's snapshot says so too, so the next
 * change-driven sync compares with what Entra now holds — a rehire's `accountEnabled: true` is then a change to send.
 */
export async function recordAccountDisabled(db: Db, tenantId: string, employeeId: string): Promise<void> {
  await db('employee_provisioning')
    .where({ tenant_id: tenantId, employee_id: employeeId })
    .whereNotNull('synced_properties')
    .update({ synced_properties: db.raw(`jsonb_set(synced_properties, '{accountEnabled}', 'false'::jsonb)`) });
}

/** A failed attempt: BLOCKED for person-must-act errors, PENDING with the last error while Temporal retries. */
export async function recordFailure(
  db: Db,
  tenantId: string,
  employeeId: string,
  f: { blocked: boolean; reason: string; errorType: string; graphCode?: string | null; requestId?: string | null },
): Promise<void> {
  const values = {
    state: f.blocked ? 'BLOCKED' : 'PENDING',
    reason: f.reason,
    error_type: f.errorType,
    graph_error_code: f.graphCode ?? null,
    graph_request_id: f.requestId ?? null,
    last_attempt_at: db.fn.now(),
    updated_at: db.fn.now(),
  };
  await db('employee_provisioning')
    .insert({ tenant_id: tenantId, employee_id: employeeId, ...values })
    .onConflict(['tenant_id', 'employee_id'])
    .merge(values);
}

/** The employee's current row in the mapping's terms; the sync always reads this, never signal payloads. */
export async function loadHrEmployee(db: Db, tenantId: string, employeeId: string): Promise<HrEmployee | undefined> {
  const r = await db<EmployeeRow>('employees').where({ tenant_id: tenantId, id: employeeId }).first();
  return r ? toHrEmployee(r) : undefined;
}

function toHrEmployee(r: EmployeeRow): HrEmployee {
  return {
    id: r.id,
    externalId: r.external_id,
    userName: r.user_name,
    givenName: r.given_name,
    familyName: r.family_name,
    displayName: r.display_name,
    jobTitle: r.job_title,
    department: r.department,
    division: r.division,
    costCenter: r.cost_center,
    organization: r.organization,
    employeeNumber: r.employee_number,
    location: r.location,
    startDate: r.start_date,
    endDate: r.end_date,
    managerId: r.manager_id,
    lifecycleStatus: r.lifecycle_status,
    customAttributes: r.custom_attributes ?? {},
    version: r.version,
  };
}

/** Everything one sync reads from PostgreSQL before it talks to Graph. */
export interface SyncInputs {
  employee: HrEmployee;
  /** Undefined when the tenant has no outbound settings. */
  settings: OutboundSettings | undefined;
  /** The employee's Entra account as last recorded. */
  entraObjectId: string | null;
  /** What the last successful sync left in Entra, if it recorded that. */
  snapshot: SyncedSnapshot | undefined;
  /** The manager's outbound state, when the employee has a manager with a provisioning row. */
  manager: { entraObjectId: string | null; state: ProvisioningState } | undefined;
}

interface SyncInputsRow extends EmployeeRow {
  p_entra_object_id: string | null;
  p_synced_properties: Record<string, unknown> | null;
  p_synced_manager_object_id: string | null;
  m_entra_object_id: string | null;
  m_state: ProvisioningState | null;
  settings:
    | (Omit<OutboundSettingsRow, SealedColumns | 'updated_at' | 'client_certificate_not_after'> & {
        updated_at: string;
        client_certificate_not_after: string | null;
      })
    | null;
  settings_has_secret: boolean | null;
}

/**
 * The sync's reads in one round trip: the employee, its provisioning row (object id and snapshot), its manager's
 * provisioning row and the tenant's outbound settings (without the encrypted credential). Undefined when the employee
 * does not exist.
 */
export async function loadSyncInputs(db: Db, tenantId: string, employeeId: string): Promise<SyncInputs | undefined> {
  const r = await db('employees as e')
    .leftJoin('employee_provisioning as p', function own() {
      this.on('p.tenant_id', '=', 'e.tenant_id').andOn('p.employee_id', '=', 'e.id');
    })
    .leftJoin('employee_provisioning as m', function manager() {
      this.on('m.tenant_id', '=', 'e.tenant_id').andOn('m.employee_id', '=', 'e.manager_id');
    })
    .leftJoin('outbound_settings as s', 's.tenant_id', 'e.tenant_id')
    .where({ 'e.tenant_id': tenantId, 'e.id': employeeId })
    .first<SyncInputsRow | undefined>(
      'e.*',
      'p.entra_object_id as p_entra_object_id',
      'p.synced_properties as p_synced_properties',
      'p.synced_manager_object_id as p_synced_manager_object_id',
      'm.entra_object_id as m_entra_object_id',
      'm.state as m_state',
      db.raw(`to_jsonb(s) - 'client_secret_encrypted' - 'client_certificate_encrypted' as settings`),
      db.raw('s.client_secret_encrypted is not null as settings_has_secret'),
    );
  if (!r) return undefined;
  return {
    employee: toHrEmployee(r),
    settings: r.settings ? settingsFromColumns(r.settings, r.settings_has_secret === true) : undefined,
    entraObjectId: r.p_entra_object_id,
    snapshot: r.p_synced_properties
      ? { properties: r.p_synced_properties, managerObjectId: r.p_synced_manager_object_id }
      : undefined,
    manager: r.m_state ? { entraObjectId: r.m_entra_object_id, state: r.m_state } : undefined,
  };
}
