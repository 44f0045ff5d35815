import type { Knex } from 'knex';

/**
 * References to people who do not exist yet (a manager, a team member), kept as sent so they can be linked the
 * moment that person is provisioned. The vendor this product is modelled on needs two sync runs for reporting
 * lines; keeping the reference pending gives complete lines in one.
 */
export type PendingKind = 'manager' | 'member';

export interface PendingReference {
  kind: PendingKind;
  /** The employee whose manager is pending, or the team whose member is pending. */
  sourceId: string;
  targetRef: string;
}

/** Makes `ref` the one pending manager of `employeeId` (an employee has at most one manager). */
export async function setPendingManager(
  trx: Knex.Transaction,
  tenantId: string,
  employeeId: string,
  ref: string,
): Promise<void> {
  await trx('pending_references')
    .where({ tenant_id: tenantId, kind: 'manager', source_id: employeeId })
    .whereNot({ target_ref: ref })
    .delete();
  await trx.raw(
    `INSERT INTO pending_references (tenant_id, kind, source_id, target_ref) VALUES (?, 'manager', ?, ?)
       ON CONFLICT (tenant_id, kind, source_id, target_ref) DO NOTHING`,
    [tenantId, employeeId, ref],
  );
}

export async function clearPendingManager(trx: Knex.Transaction, tenantId: string, employeeId: string): Promise<void> {
  await trx('pending_references').where({ tenant_id: tenantId, kind: 'manager', source_id: employeeId }).delete();
}

/** Keeps `refs` as pending members of a team; returns how many were not pending already. */
export async function addPendingMembers(
  trx: Knex.Transaction,
  tenantId: string,
  teamId: string,
  refs: readonly string[],
): Promise<number> {
  if (refs.length === 0) return 0;
  const result = await trx.raw<{ rowCount: number | null }>(
    `INSERT INTO pending_references (tenant_id, kind, source_id, target_ref)
       SELECT ?, 'member', ?, r FROM unnest(?::text[]) AS r
       ON CONFLICT (tenant_id, kind, source_id, target_ref) DO NOTHING`,
    [tenantId, teamId, [...refs]],
  );
  return result.rowCount ?? 0;
}

/** How many team members of a tenant are pending, across its teams. */
export async function countPendingMembers(q: Knex | Knex.Transaction, tenantId: string): Promise<number> {
  const row = await q('pending_references')
    .where({ tenant_id: tenantId, kind: 'member' })
    .count<{ n: string }>({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/** Drops pending members of a team: the given refs, or all of them when `refs` is null. Returns how many went. */
export async function removePendingMembers(
  trx: Knex.Transaction,
  tenantId: string,
  teamId: string,
  refs: readonly string[] | null,
): Promise<number> {
  const q = trx('pending_references').where({ tenant_id: tenantId, kind: 'member', source_id: teamId });
  if (refs !== null) {
    if (refs.length === 0) return 0;
    q.whereIn('target_ref', refs as string[]);
  }
  return q.delete();
}

/** Drops the pending members of a team that are not in `refs` (a replace of the member list); returns how many. */
export async function keepOnlyPendingMembers(
  trx: Knex.Transaction,
  tenantId: string,
  teamId: string,
  refs: readonly string[],
): Promise<number> {
  return trx('pending_references')
    .where({ tenant_id: tenantId, kind: 'member', source_id: teamId })
    .whereNotIn('target_ref', refs as string[])
    .delete();
}

/** Removes and returns every pending reference that points at one of `refs` (an employee's id and externalId). */
export async function takePendingReferencesTo(
  trx: Knex.Transaction,
  tenantId: string,
  refs: readonly string[],
): Promise<PendingReference[]> {
  if (refs.length === 0) return [];
  const result = await trx.raw<{ rows: Array<{ kind: PendingKind; source_id: string; target_ref: string }> }>(
    `DELETE FROM pending_references WHERE tenant_id = ? AND target_ref = ANY(?::text[])
       RETURNING kind, source_id, target_ref`,
    [tenantId, [...refs]],
  );
  return result.rows.map((r) => ({ kind: r.kind, sourceId: r.source_id, targetRef: r.target_ref }));
}

export async function listPendingReferences(q: Knex, tenantId: string): Promise<PendingReference[]> {
  const rows = await q('pending_references')
    .where({ tenant_id: tenantId })
    .orderBy('id')
    .select<Array<{ kind: PendingKind; source_id: string; target_ref: string }>>('kind', 'source_id', 'target_ref');
  return rows.map((r) => ({ kind: r.kind, sourceId: r.source_id, targetRef: r.target_ref }));
}
