import type { Knex } from 'knex';
import { recordEmployeeChange, type ChangeSource } from './changes';
import { INVITATION_JSON_SQL, toInvitationSummary, type InvitationSummary } from './invitations';
import { takePendingReferencesTo, type PendingReference } from './pending-references';

/** One element of a SCIM multi-valued attribute (emails, phoneNumbers), stored as sent. */
export interface MultiValue {
  value: string;
  type?: string;
  primary?: boolean;
  display?: string;
}

export type CustomValue = string | number | boolean;

export const LIFECYCLE_STATUSES = ['hired', 'active', 'leave', 'offboarding', 'terminated', 'deactivated'] as const;
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number];

/** The `employees` table row as pg returns it (`date` columns stay 'YYYY-MM-DD' strings, see knex.ts). */
export interface EmployeeRow {
  id: string;
  tenant_id: string;
  external_id: string | null;
  user_name: string;
  emails: MultiValue[];
  phone_numbers: MultiValue[];
  given_name: string | null;
  family_name: string | null;
  formatted_name: string | null;
  display_name: string | null;
  job_title: string | null;
  department: string | null;
  division: string | null;
  cost_center: string | null;
  organization: string | null;
  employee_number: string | null;
  location: string | null;
  gender: string | null;
  start_date: string | null;
  end_date: string | null;
  birthday: string | null;
  photo_url: string | null;
  level_id: string | null;
  manager_id: string | null;
  active: boolean;
  lifecycle_status: LifecycleStatus;
  custom_attributes: Record<string, CustomValue>;
  version: number;
  created_at: Date;
  updated_at: Date;
  deactivated_at: Date | null;
}

export interface EmployeeTeamRef {
  id: string;
  displayName: string;
  scimManaged: boolean;
}

/** A row plus what readers always want next to it, fetched in the same statement (no N+1). */
export interface EmployeeView extends EmployeeRow {
  level_name: string | null;
  manager_display_name: string | null;
  /** Present only when asked for (`withTeams`). */
  teams?: EmployeeTeamRef[];
  /** The manager reference still waiting for its person; present only when asked for (`withPendingManager`). */
  pending_manager_ref?: string | null;
  /** The invitation email's state as JSON (src/db/invitations.ts); present only when asked for (`withInvitation`). */
  invitation?: unknown;
  /** The transaction's now(): what recordEmployeeChange writes to updated_at. Present on rows from lockEmployee. */
  tx_now?: Date;
}

/**
 * SELECT of employees of one tenant with level name, manager display name and (optionally) teams as scalar
 * subqueries, so a page of N employees is one round trip. The table keeps its own name (no alias) so filter SQL
 * can reference `employees.<column>`.
 */
export function selectEmployeeViews(
  q: Knex | Knex.Transaction,
  tenantId: string,
  opts: { withTeams: boolean; withPendingManager?: boolean; withInvitation?: boolean },
): Knex.QueryBuilder {
  const columns: Array<string | Knex.Raw> = [
    'employees.*',
    q.raw('(SELECT l.name FROM levels l WHERE l.id = employees.level_id) AS level_name'),
    q.raw(
      `(SELECT coalesce(m.display_name, m.formatted_name, m.user_name) FROM employees m
         WHERE m.id = employees.manager_id) AS manager_display_name`,
    ),
  ];
  if (opts.withTeams) {
    columns.push(
      q.raw(
        `(SELECT coalesce(json_agg(json_build_object('id', t.id, 'displayName', t.display_name,
                   'scimManaged', t.scim_managed) ORDER BY t.created_at, t.id), '[]'::json)
            FROM team_members tm JOIN teams t ON t.id = tm.team_id
           WHERE tm.employee_id = employees.id) AS teams`,
      ),
    );
  }
  if (opts.withPendingManager) {
    columns.push(
      q.raw(
        `(SELECT pr.target_ref FROM pending_references pr
           WHERE pr.tenant_id = employees.tenant_id AND pr.kind = 'manager' AND pr.source_id = employees.id
           ORDER BY pr.id DESC LIMIT 1) AS pending_manager_ref`,
      ),
    );
  }
  if (opts.withInvitation) columns.push(q.raw(INVITATION_JSON_SQL));
  return q('employees').where('employees.tenant_id', tenantId).select(columns);
}

/** The typed employee the admin API shows. */
export interface EmployeeRecord {
  id: string;
  tenantId: string;
  externalId: string | null;
  userName: string;
  emails: MultiValue[];
  phoneNumbers: MultiValue[];
  givenName: string | null;
  familyName: string | null;
  formattedName: string | null;
  displayName: string | null;
  jobTitle: string | null;
  department: string | null;
  division: string | null;
  costCenter: string | null;
  organization: string | null;
  employeeNumber: string | null;
  location: string | null;
  gender: string | null;
  startDate: string | null;
  endDate: string | null;
  birthday: string | null;
  photoUrl: string | null;
  levelId: string | null;
  levelName: string | null;
  managerId: string | null;
  active: boolean;
  lifecycleStatus: LifecycleStatus;
  customAttributes: Record<string, CustomValue>;
  teamIds: string[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deactivatedAt: Date | null;
  /** The invitation email sent (or not) when the employee was provisioned; null when none was due. Admin reads only. */
  invitation?: InvitationSummary | null;
}

export function toEmployeeRecord(v: EmployeeView): EmployeeRecord {
  return {
    id: v.id,
    tenantId: v.tenant_id,
    externalId: v.external_id,
    userName: v.user_name,
    emails: v.emails,
    phoneNumbers: v.phone_numbers,
    givenName: v.given_name,
    familyName: v.family_name,
    formattedName: v.formatted_name,
    displayName: v.display_name,
    jobTitle: v.job_title,
    department: v.department,
    division: v.division,
    costCenter: v.cost_center,
    organization: v.organization,
    employeeNumber: v.employee_number,
    location: v.location,
    gender: v.gender,
    startDate: v.start_date,
    endDate: v.end_date,
    birthday: v.birthday,
    photoUrl: v.photo_url,
    levelId: v.level_id,
    levelName: v.level_name,
    managerId: v.manager_id,
    active: v.active,
    lifecycleStatus: v.lifecycle_status,
    customAttributes: v.custom_attributes,
    teamIds: (v.teams ?? []).map((t) => t.id),
    version: v.version,
    createdAt: v.created_at,
    updatedAt: v.updated_at,
    deactivatedAt: v.deactivated_at,
    ...(v.invitation !== undefined && { invitation: toInvitationSummary(v.invitation) }),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

/** A page of a tenant's employees in creation order, for the admin API. */
export async function listEmployees(
  db: Knex,
  tenantId: string,
  opts: { limit: number; offset: number; active?: boolean; lifecycleStatus?: LifecycleStatus },
): Promise<{ items: EmployeeRecord[]; total: number }> {
  const filter = (q: Knex.QueryBuilder) => {
    if (opts.active !== undefined) q.where('employees.active', opts.active);
    if (opts.lifecycleStatus !== undefined) q.where('employees.lifecycle_status', opts.lifecycleStatus);
    return q;
  };
  const [rows, countRow] = await Promise.all([
    filter(selectEmployeeViews(db, tenantId, { withTeams: true, withInvitation: true }))
      .orderBy([{ column: 'employees.created_at' }, { column: 'employees.id' }])
      .limit(Math.max(0, Math.min(opts.limit, 1000)))
      .offset(Math.max(0, opts.offset)) as Promise<EmployeeView[]>,
    filter(db('employees').where('employees.tenant_id', tenantId)).count<Array<{ count: string }>>('* as count'),
  ]);
  return { items: rows.map(toEmployeeRecord), total: Number(countRow[0]?.count ?? 0) };
}

/** One employee of the tenant, or undefined (also for another tenant's id or a malformed id). */
export async function getEmployee(
  db: Knex | Knex.Transaction,
  tenantId: string,
  id: string,
): Promise<EmployeeRecord | undefined> {
  const view = await getEmployeeView(db, tenantId, id, { withTeams: true, withInvitation: true });
  return view && toEmployeeRecord(view);
}

export async function getEmployeeView(
  db: Knex | Knex.Transaction,
  tenantId: string,
  id: string,
  opts: { withTeams: boolean; withInvitation?: boolean },
): Promise<EmployeeView | undefined> {
  if (!isUuid(id)) return undefined;
  const row = (await selectEmployeeViews(db, tenantId, opts).where('employees.id', id).first()) as
    EmployeeView | undefined;
  return row;
}

/**
 * Locks the employee row for a read-modify-write (PATCH/PUT), so concurrent writers queue instead of losing updates.
 * Also returns the pending manager reference and the transaction's now(), so the caller can render the written row
 * without reading it again.
 */
export async function lockEmployee(
  trx: Knex.Transaction,
  tenantId: string,
  id: string,
  opts: { withTeams?: boolean } = {},
): Promise<EmployeeView | undefined> {
  if (!isUuid(id)) return undefined;
  const row = (await selectEmployeeViews(trx, tenantId, {
    withTeams: opts.withTeams ?? false,
    withPendingManager: true,
  })
    .select(trx.raw('now() AS tx_now'))
    .where('employees.id', id)
    .forUpdate('employees')
    .first()) as EmployeeView | undefined;
  return row;
}

/** `active` and `lifecycle_status` move together: deactivated/terminated mean inactive, everything else active. */
export function activeForLifecycle(status: LifecycleStatus): boolean {
  return status !== 'deactivated' && status !== 'terminated';
}

/**
 * The admin's HR-side edit (today: lifecycle status) in one transaction with its audit event and outbox row. Setting
 * 'deactivated' or 'terminated' makes the employee inactive, any other status active. Undefined when not found.
 */
export async function updateEmployeeHrFields(
  db: Knex,
  tenantId: string,
  id: string,
  fields: { lifecycleStatus?: LifecycleStatus },
  ctx: { source: ChangeSource; requestId?: string },
): Promise<EmployeeRecord | undefined> {
  if (!isUuid(id)) return undefined;
  if (fields.lifecycleStatus !== undefined && !LIFECYCLE_STATUSES.includes(fields.lifecycleStatus)) {
    throw new RangeError(`unknown lifecycle status ${String(fields.lifecycleStatus)}`);
  }
  return db.transaction(async (trx) => {
    const current = await lockEmployee(trx, tenantId, id);
    if (!current) return undefined;
    const status = fields.lifecycleStatus;
    if (status !== undefined && status !== current.lifecycle_status) {
      const active = activeForLifecycle(status);
      const changed: string[] = ['lifecycleStatus'];
      const changes: Record<string, unknown> = { lifecycleStatus: status };
      const update: Record<string, unknown> = { lifecycle_status: status };
      if (active !== current.active) {
        changed.push('active');
        changes.active = active;
        update.active = active;
        update.deactivated_at = active ? null : trx.fn.now();
      }
      await recordEmployeeChange(
        trx,
        {
          tenantId,
          employeeId: id,
          changedAttributes: changed,
          changes,
          action: active === current.active ? 'updated' : active ? 'reactivated' : 'deactivated',
          source: ctx.source,
          requestId: ctx.requestId,
        },
        update,
      );
    }
    return getEmployee(trx, tenantId, id);
  });
}

/**
 * Links every pending reference that points at a newly known employee (by id or externalId), in the caller's
 * transaction: employees waiting for this manager get it, teams waiting for this member get it. Each employee that
 * changes gets its own change record; the arriving employee's own team joins are recorded here only when
 * `recordOwnChange` (a creation folds them into its 'created' record instead, so one POST is one outbox row).
 */
export async function linkPendingReferencesTo(
  trx: Knex.Transaction,
  tenantId: string,
  employee: { id: string; externalId: string | null },
  ctx: { source: ChangeSource; requestId?: string; recordOwnChange: boolean },
  /** References already taken (deleted) by the caller, e.g. in the statement that inserted the employee. */
  taken?: readonly PendingReference[],
): Promise<{ teamsJoined: string[] }> {
  const refs = [employee.id, ...(employee.externalId ? [employee.externalId] : [])];
  const pending = taken ?? (await takePendingReferencesTo(trx, tenantId, refs));
  if (pending.length === 0) return { teamsJoined: [] };
  const reports = [
    ...new Set(pending.filter((p) => p.kind === 'manager' && p.sourceId !== employee.id).map((p) => p.sourceId)),
  ];
  if (reports.length > 0) {
    const updated = await trx('employees')
      .where({ tenant_id: tenantId })
      .whereIn('id', reports)
      .where((w) => w.whereNull('manager_id').orWhereNot('manager_id', employee.id))
      .update({ manager_id: employee.id })
      .returning<Array<{ id: string }>>('id');
    for (const { id } of updated) {
      await recordEmployeeChange(trx, {
        tenantId,
        employeeId: id,
        changedAttributes: ['managerId'],
        changes: { managerId: employee.id },
        action: 'updated',
        source: ctx.source,
        requestId: ctx.requestId,
      });
    }
  }
  const teams = [...new Set(pending.filter((p) => p.kind === 'member').map((p) => p.sourceId))];
  if (teams.length > 0) {
    const added = await trx.raw<{ rows: Array<{ team_id: string }> }>(
      `INSERT INTO team_members (tenant_id, team_id, employee_id)
         SELECT ?, t.id, ? FROM teams t WHERE t.tenant_id = ? AND t.id = ANY(?::uuid[])
         ON CONFLICT (team_id, employee_id) DO NOTHING RETURNING team_id`,
      [tenantId, employee.id, tenantId, teams],
    );
    if (added.rows.length > 0 && ctx.recordOwnChange) {
      await recordEmployeeChange(trx, {
        tenantId,
        employeeId: employee.id,
        changedAttributes: ['teams'],
        changes: { teamsAdded: added.rows.map((r) => r.team_id) },
        action: 'updated',
        source: ctx.source,
        requestId: ctx.requestId,
      });
    }
    return { teamsJoined: added.rows.map((r) => r.team_id) };
  }
  return { teamsJoined: [] };
}
