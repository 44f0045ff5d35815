import type { Knex } from 'knex';
import { recordEmployeeChange } from '../../db/changes';
import { isUuid, linkPendingReferencesTo, type EmployeeRow, type EmployeeView } from '../../db/employees';
import { ensureLevel } from '../../db/levels';
import { clearPendingManager, setPendingManager, type PendingReference } from '../../db/pending-references';
import { badRequest } from './errors';
import { diffDrafts, draftFromRow, emptyDraft, SCALAR_FIELDS, type UserDraft } from './user-draft';

export interface WriteContext {
  tenantId: string;
  requestId?: string;
  /** Extra facts for the audit event, e.g. that a POST adopted an existing HR record. */
  auditNote?: Record<string, unknown>;
}

/**
 * The tenant's employee that `ref` names: our id first, else an externalId (Entra may reference people by the
 * identifier it provisioned them with). Undefined when nobody matches yet. One query.
 */
export async function resolveEmployeeRef(
  trx: Knex.Transaction,
  tenantId: string,
  ref: string,
): Promise<{ id: string; displayName: string } | undefined> {
  const display = 'coalesce(display_name, formatted_name, user_name) AS "displayName"';
  const row = isUuid(ref)
    ? await trx.raw<{ rows: Array<{ id: string; displayName: string }> }>(
        `SELECT id, ${display} FROM employees WHERE tenant_id = ? AND (id = ?::uuid OR external_id = ?)
          ORDER BY (id = ?::uuid) DESC LIMIT 1`,
        [tenantId, ref, ref, ref],
      )
    : await trx.raw<{ rows: Array<{ id: string; displayName: string }> }>(
        `SELECT id, ${display} FROM employees WHERE tenant_id = ? AND external_id = ? LIMIT 1`,
        [tenantId, ref],
      );
  return row.rows[0];
}

/** Resolves many refs in one query: ref → employee id, for refs that name someone. */
export async function resolveEmployeeRefs(
  trx: Knex.Transaction,
  tenantId: string,
  refs: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (refs.length === 0) return out;
  const ids = refs.filter(isUuid);
  const rows = await trx.raw<{ rows: Array<{ id: string; external_id: string | null }> }>(
    `SELECT id, external_id FROM employees
      WHERE tenant_id = ? AND (id = ANY(?::uuid[]) OR external_id = ANY(?::text[]))`,
    [tenantId, ids, [...refs]],
  );
  const byId = new Set(rows.rows.map((r) => r.id));
  const byExternal = new Map(rows.rows.filter((r) => r.external_id !== null).map((r) => [r.external_id!, r.id]));
  for (const ref of refs) {
    const id = isUuid(ref) && byId.has(ref.toLowerCase()) ? ref.toLowerCase() : byExternal.get(ref);
    if (id) out.set(ref, id);
  }
  return out;
}

export interface WriteResult {
  id: string;
  changed: boolean;
  /** Creation only: the row hit a unique index (userName or externalId); nothing was written. */
  conflict?: boolean;
  /**
   * The row as written, for the response, when it could be assembled without another query (not after a creation
   * that joined pending teams, whose names are not at hand).
   */
  view?: EmployeeView;
}

/**
 * Writes a user draft in the caller's transaction: inserts when `current` is undefined, else updates only what differs
 * from the row (`current` must come from lockEmployee). Resolves the level (created on the fly) and the manager
 * (linked, or kept pending), links pending references that were waiting for this person, and appends one audit
 * event + outbox row through recordEmployeeChange — unless nothing changed, in which case nothing is written at all.
 */
export async function writeUser(
  trx: Knex.Transaction,
  ctx: WriteContext,
  current: EmployeeView | undefined,
  next: UserDraft,
): Promise<WriteResult> {
  if (next.userName === null || next.userName.trim() === '') throw badRequest('invalidValue', 'userName is required');
  const before = current ? draftFromRow(current) : emptyDraft();
  const diff = diffDrafts(before, next);
  // userName is unique case-insensitively and becomes the Entra UPN: " ada@contoso.com" would be a second employee
  // beside "ada@contoso.com" and a UPN Graph refuses. Checked only when it changes, so a name stored before the rule
  // does not make every later PATCH of that user fail.
  if (diff.scalars.includes('userName') && next.userName !== next.userName.trim()) {
    throw badRequest('invalidValue', 'userName must not begin or end with white space');
  }
  const cols: Record<string, unknown> = {};
  const changed: string[] = [];
  const changes: Record<string, unknown> = {};
  const note = (hr: string, value: unknown) => {
    changed.push(hr);
    changes[hr] = value;
  };
  let levelName = current?.level_name ?? null;

  for (const key of diff.scalars) {
    const { column, hr } = SCALAR_FIELDS[key];
    const value = next[key];
    if (key === 'level') {
      const level = value === null ? null : await ensureLevel(trx, ctx.tenantId, value);
      cols.level_id = level?.id ?? null;
      levelName = level?.name ?? null;
    } else {
      cols[column] = value;
    }
    note(hr, value);
  }
  if (diff.active || (!current && !next.active)) {
    cols.active = next.active;
    cols.lifecycle_status = next.active ? 'active' : 'deactivated';
    cols.deactivated_at = next.active ? null : trx.fn.now();
    note('active', next.active);
    note('lifecycleStatus', cols.lifecycle_status);
  }
  if (diff.emails) {
    cols.emails = JSON.stringify(next.emails);
    note('emails', next.emails);
  }
  if (diff.phoneNumbers) {
    cols.phone_numbers = JSON.stringify(next.phoneNumbers);
    note('phoneNumbers', next.phoneNumbers);
  }
  if (diff.custom.length > 0) {
    cols.custom_attributes = JSON.stringify(next.custom);
    for (const id of diff.custom) note(`customAttributes.${id}`, next.custom[id] ?? null);
  }

  let managerId = current?.manager_id ?? null;
  let managerDisplay = current?.manager_display_name ?? null;
  let pendingManager: string | null = null;
  let clearPending = false;
  if (diff.manager) {
    const ref = next.manager;
    let resolvedId: string | null = null;
    // A new user naming their own externalId as manager would wait for themselves forever (a pending reference).
    if (ref !== null && !current && ref === next.externalId) {
      throw badRequest('invalidValue', 'manager: a user cannot be their own manager');
    }
    if (ref !== null) {
      const resolved = await resolveEmployeeRef(trx, ctx.tenantId, ref);
      if (resolved !== undefined && current && resolved.id === current.id) {
        throw badRequest('invalidValue', 'manager: a user cannot be their own manager');
      }
      if (resolved === undefined) pendingManager = ref;
      else {
        resolvedId = resolved.id;
        managerDisplay = resolved.displayName;
      }
    }
    clearPending = pendingManager === null;
    if (resolvedId !== managerId) {
      cols.manager_id = resolvedId;
      note('managerId', resolvedId);
    }
    managerId = resolvedId;
    if (managerId === null) managerDisplay = null;
  }

  let row: EmployeeView;
  let created = false;
  let taken: PendingReference[] | undefined;
  if (!current) {
    const inserted = await insertEmployee(trx, ctx.tenantId, cols);
    if (!inserted) return { id: '', changed: false, conflict: true };
    taken = inserted.pending;
    row = { ...inserted.row, level_name: levelName, manager_display_name: managerDisplay, teams: [] };
    created = true;
  } else {
    // The column changes are written by recordEmployeeChange below, in the statement that bumps the version.
    const nowActive = next.active;
    row = {
      ...current,
      user_name: next.userName,
      external_id: next.externalId,
      display_name: next.displayName,
      job_title: next.title,
      given_name: next.givenName,
      family_name: next.familyName,
      formatted_name: next.formatted,
      employee_number: next.employeeNumber,
      cost_center: next.costCenter,
      organization: next.organization,
      division: next.division,
      department: next.department,
      location: next.location,
      gender: next.gender,
      start_date: next.startDate,
      end_date: next.endDate,
      birthday: next.birthday,
      photo_url: next.photoUrl,
      emails: next.emails,
      phone_numbers: next.phoneNumbers,
      custom_attributes: next.custom,
      level_id: cols.level_id !== undefined ? (cols.level_id as string | null) : current.level_id,
      level_name: levelName,
      manager_id: managerId,
      manager_display_name: managerDisplay,
      active: nowActive,
      lifecycle_status: diff.active ? (nowActive ? 'active' : 'deactivated') : current.lifecycle_status,
      deactivated_at: diff.active ? (nowActive ? null : (current.tx_now ?? new Date())) : current.deactivated_at,
    };
  }
  const id = row.id;
  if (pendingManager !== null) {
    await setPendingManager(trx, ctx.tenantId, id, pendingManager);
  } else if (clearPending && current) {
    await clearPendingManager(trx, ctx.tenantId, id);
  }
  // Someone may have been waiting for this person: as a manager, or as a team member.
  let view: EmployeeView | undefined = row;
  if (created || (diff.scalars.includes('externalId') && next.externalId !== null)) {
    const { teamsJoined } = await linkPendingReferencesTo(
      trx,
      ctx.tenantId,
      { id, externalId: next.externalId },
      { source: 'scim', requestId: ctx.requestId, recordOwnChange: false },
      taken,
    );
    if (teamsJoined.length > 0) {
      note('teams', teamsJoined);
      view = undefined;
    }
  }
  if (changed.length === 0) return { id, changed: false, view: view && stripInternal(view) };
  const version = await recordEmployeeChange(
    trx,
    {
      tenantId: ctx.tenantId,
      employeeId: id,
      changedAttributes: changed,
      changes: ctx.auditNote ? { ...changes, ...ctx.auditNote } : changes,
      action: created ? 'created' : diff.active ? (next.active ? 'reactivated' : 'deactivated') : 'updated',
      source: 'scim',
      requestId: ctx.requestId,
    },
    created ? {} : cols,
  );
  if (view) {
    view.version = version;
    // recordEmployeeChange stamps updated_at with the transaction's now(), which the lock query read.
    view.updated_at = current?.tx_now ?? view.created_at;
  }
  return { id, changed: true, view: view && stripInternal(view) };
}

/**
 * INSERT … ON CONFLICT DO NOTHING, taking the pending references that wait for the new person in the same statement
 * (a creation is the hot path of an initial sync). Undefined when a unique index (userName, externalId) refused it;
 * the caller then finds out which and why.
 */
async function insertEmployee(
  trx: Knex.Transaction,
  tenantId: string,
  cols: Record<string, unknown>,
): Promise<{ row: EmployeeRow; pending: PendingReference[] } | undefined> {
  const insert = trx('employees')
    .insert({ tenant_id: tenantId, ...cols })
    .toSQL();
  const result = await trx.raw<{ rows: Array<EmployeeRow & { pending: PendingReference[] }> }>(
    `WITH ins AS (${insert.sql} ON CONFLICT DO NOTHING RETURNING *),
          taken AS (
            DELETE FROM pending_references p USING ins
             WHERE p.tenant_id = ins.tenant_id AND (p.target_ref = ins.id::text OR p.target_ref = ins.external_id)
            RETURNING p.kind, p.source_id, p.target_ref)
     SELECT ins.*,
            (SELECT coalesce(json_agg(json_build_object('kind', kind, 'sourceId', source_id, 'targetRef', target_ref)),
                             '[]'::json) FROM taken) AS pending
       FROM ins`,
    insert.bindings as Knex.RawBinding[],
  );
  const first = result.rows[0];
  if (!first) return undefined;
  const { pending, ...row } = first;
  return { row, pending };
}

function stripInternal(v: EmployeeView): EmployeeView {
  const { tx_now: _now, pending_manager_ref: _pending, ...rest } = v;
  return rest;
}
