import type { Knex } from 'knex';
import { recordEmployeeChange } from '../../db/changes';
import {
  isUuid,
  linkPendingReferencesTo,
  type EmployeeView,
} from '../../db/employees';
import { ensureLevel } from '../../db/levels';
import { clearPendingManager, setPendingManager } from '../../db/pending-references';
import { badRequest } from './errors';
import { diffDrafts, draftFromRow, emptyDraft, SCALAR_FIELDS, type UserDraft } from './user-draft';

export interface WriteContext {
  tenantId: string;
  requestId?: string;
}

/**
 * The id of the tenant's employee that `ref` names: our id first, else an externalId (Entra may reference people by
 * the identifier it provisioned them with). Undefined when nobody matches yet.
 */
export async function resolveEmployeeRef(trx: Knex.Transaction, tenantId: string, ref: string): Promise<string | undefined> {
  if (isUuid(ref)) {
    const byId = await trx('employees').where({ tenant_id: tenantId, id: ref }).first<{ id: string } | undefined>('id');
    if (byId) return byId.id;
  }
  const byExternal = await trx('employees').where({ tenant_id: tenantId, external_id: ref }).first<{ id: string } | undefined>('id');
  return byExternal?.id;
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

/**
 * Writes a user draft in the caller's transaction: inserts when `current` is undefined, else updates only what differs
 * from the row. Resolves the level (created on the fly) and the manager (linked, or kept pending), links pending
 * references that were waiting for this person, and appends one audit event + outbox row through
 * recordEmployeeChange — unless nothing changed, in which case nothing is written at all.
 */
export async function writeUser(
  trx: Knex.Transaction,
  ctx: WriteContext,
  current: EmployeeView | undefined,
  next: UserDraft,
): Promise<{ id: string; changed: boolean }> {
  if (next.userName === null || next.userName.trim() === '') throw badRequest('invalidValue', 'userName is required');
  const before = current ? draftFromRow(current) : emptyDraft();
  const diff = diffDrafts(before, next);
  const cols: Record<string, unknown> = {};
  const changed: string[] = [];
  const changes: Record<string, unknown> = {};
  const note = (hr: string, value: unknown) => {
    changed.push(hr);
    changes[hr] = value;
  };

  for (const key of diff.scalars) {
    const { column, hr } = SCALAR_FIELDS[key];
    const value = next[key];
    if (key === 'level') {
      cols.level_id = value === null ? null : await ensureLevel(trx, ctx.tenantId, value);
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

  let pendingManager: string | null = null;
  let clearPending = false;
  if (diff.manager) {
    const ref = next.manager;
    const currentManager = current?.manager_id ?? null;
    let managerId: string | null = null;
    if (ref !== null) {
      const resolved = await resolveEmployeeRef(trx, ctx.tenantId, ref);
      if (resolved !== undefined && current && resolved === current.id) {
        throw badRequest('invalidValue', 'manager: a user cannot be their own manager');
      }
      if (resolved === undefined) pendingManager = ref;
      else managerId = resolved;
    }
    clearPending = pendingManager === null;
    if (managerId !== currentManager) {
      cols.manager_id = managerId;
      note('managerId', managerId);
    }
  }

  let id: string;
  let created = false;
  if (!current) {
    const [row] = await trx('employees')
      .insert({ tenant_id: ctx.tenantId, ...cols })
      .returning<Array<{ id: string }>>('id');
    id = row.id;
    created = true;
  } else {
    id = current.id;
    if (Object.keys(cols).length > 0) {
      await trx('employees').where({ tenant_id: ctx.tenantId, id }).update(cols);
    }
  }
  if (pendingManager !== null) {
    await setPendingManager(trx, ctx.tenantId, id, pendingManager);
  } else if (clearPending && current) {
    await clearPendingManager(trx, ctx.tenantId, id);
  }
  // Someone may have been waiting for this person: as a manager, or as a team member.
  if (created || (diff.scalars.includes('externalId') && next.externalId !== null)) {
    const { teamsJoined } = await linkPendingReferencesTo(
      trx,
      ctx.tenantId,
      { id, externalId: next.externalId },
      { source: 'scim', requestId: ctx.requestId, recordOwnChange: false },
    );
    if (teamsJoined.length > 0) note('teams', teamsJoined);
  }
  if (changed.length === 0) return { id, changed: false };
  await recordEmployeeChange(trx, {
    tenantId: ctx.tenantId,
    employeeId: id,
    changedAttributes: changed,
    changes,
    action: created ? 'created' : diff.active ? (next.active ? 'reactivated' : 'deactivated') : 'updated',
    source: 'scim',
    requestId: ctx.requestId,
  });
  return { id, changed: true };
}
