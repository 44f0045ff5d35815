import type { Knex } from 'knex';
import { recordAuditEvent } from './audit';
import { recordEmployeeChange, type ChangeSource } from './changes';

export type TeamOrigin = 'scim' | 'manual';

/**
 * A team. SCIM groups become teams (origin 'scim'); admins create manual ones. A SCIM group whose name matches a
 * manual team adopts it (scim_managed) instead of creating a duplicate; only scim_managed teams are visible and
 * writable over SCIM.
 */
export interface TeamRecord {
  id: string;
  tenantId: string;
  displayName: string;
  externalId: string | null;
  origin: TeamOrigin;
  scimManaged: boolean;
  memberCount: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface TeamRow {
  id: string;
  tenant_id: string;
  display_name: string;
  external_id: string | null;
  origin: TeamOrigin;
  scim_managed: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface ChangeContext {
  source: ChangeSource;
  requestId?: string;
}

export class DuplicateTeamNameError extends Error {
  override name = 'DuplicateTeamNameError';
  readonly status = 409;
  constructor(readonly displayName: string) {
    super(`a team named "${displayName}" already exists`);
  }
}

export function toTeamRecord(row: TeamRow & { member_count?: number | string }): TeamRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    displayName: row.display_name,
    externalId: row.external_id,
    origin: row.origin,
    scimManaged: row.scim_managed,
    memberCount: Number(row.member_count ?? 0),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isUniqueViolation = (err: unknown): boolean => (err as { code?: string }).code === '23505';

/** All teams of the tenant (manual and SCIM), with member counts, in creation order. */
export async function listTeams(db: Knex, tenantId: string): Promise<TeamRecord[]> {
  const rows = await db('teams')
    .where('teams.tenant_id', tenantId)
    .select<Array<TeamRow & { member_count: string }>>(
      'teams.*',
      db.raw('(SELECT count(*) FROM team_members tm WHERE tm.team_id = teams.id) AS member_count'),
    )
    .orderBy([{ column: 'teams.created_at' }, { column: 'teams.id' }]);
  return rows.map(toTeamRecord);
}

export async function getTeam(
  db: Knex | Knex.Transaction,
  tenantId: string,
  id: string,
): Promise<TeamRecord | undefined> {
  if (!UUID.test(id)) return undefined;
  const row = await db('teams')
    .where({ 'teams.tenant_id': tenantId, 'teams.id': id })
    .first<(TeamRow & { member_count: string }) | undefined>(
      'teams.*',
      db.raw('(SELECT count(*) FROM team_members tm WHERE tm.team_id = teams.id) AS member_count'),
    );
  return row && toTeamRecord(row);
}

/** Creates a manual team; a name already used by any team of the tenant (case-insensitive) → DuplicateTeamNameError. */
export async function createManualTeam(
  db: Knex,
  tenantId: string,
  input: { displayName: string },
  ctx: ChangeContext,
): Promise<TeamRecord> {
  const displayName = input.displayName.trim();
  try {
    return await db.transaction(async (trx) => {
      const [row] = await trx<TeamRow>('teams')
        .insert({ tenant_id: tenantId, display_name: displayName, origin: 'manual', scim_managed: false })
        .returning('*');
      await recordAuditEvent(trx, {
        tenantId,
        resourceType: 'team',
        resourceId: row.id,
        action: 'created',
        source: ctx.source,
        requestId: ctx.requestId,
        changes: { displayName, origin: 'manual' },
      });
      return toTeamRecord(row);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateTeamNameError(displayName);
    throw err;
  }
}

export type DeleteManualTeamResult = 'deleted' | 'not_found' | 'not_manual' | 'adopted';

/**
 * Deletes a manual team with its memberships (each former member gets a 'teams' change). Teams created by SCIM are
 * Entra's to delete: 'not_manual'.
 */
export async function deleteManualTeam(
  db: Knex,
  tenantId: string,
  id: string,
  ctx: ChangeContext = { source: 'admin' },
): Promise<DeleteManualTeamResult> {
  if (!UUID.test(id)) return 'not_found';
  return db.transaction(async (trx) => {
    const team = await trx<TeamRow>('teams').where({ tenant_id: tenantId, id }).forUpdate().first();
    if (!team) return 'not_found';
    if (team.origin !== 'manual') return 'not_manual';
    // Adopted by an Entra group of the same name: Entra's next change of the group would find it gone (404).
    if (team.scim_managed) return 'adopted';
    await deleteTeamAndRecord(trx, team, ctx);
    return 'deleted';
  });
}

/** Deletes a team row (memberships cascade) and records the change on the team and on every former member. */
export async function deleteTeamAndRecord(trx: Knex.Transaction, team: TeamRow, ctx: ChangeContext): Promise<void> {
  const members = await trx('team_members')
    .where({ tenant_id: team.tenant_id, team_id: team.id })
    .pluck<string[]>('employee_id');
  await trx('pending_references').where({ tenant_id: team.tenant_id, kind: 'member', source_id: team.id }).delete();
  await trx('teams').where({ tenant_id: team.tenant_id, id: team.id }).delete();
  await recordAuditEvent(trx, {
    tenantId: team.tenant_id,
    resourceType: 'team',
    resourceId: team.id,
    action: 'deleted',
    source: ctx.source,
    requestId: ctx.requestId,
    changes: { displayName: team.display_name },
  });
  await recordTeamChanges(trx, team.tenant_id, members, { teamsRemoved: [team.id] }, ctx);
}

/**
 * One 'teams' change per employee whose memberships changed, written in id order: each locks the employee's row, and
 * concurrent team writes sharing members must take those locks in one order or deadlock.
 */
export async function recordTeamChanges(
  trx: Knex.Transaction,
  tenantId: string,
  employeeIds: readonly string[],
  changes: Record<string, unknown>,
  ctx: ChangeContext,
): Promise<void> {
  for (const employeeId of [...employeeIds].sort()) {
    await recordEmployeeChange(trx, {
      tenantId,
      employeeId,
      changedAttributes: ['teams'],
      changes,
      action: 'updated',
      source: ctx.source,
      requestId: ctx.requestId,
    });
  }
}

/** Adds members (idempotent: existing memberships are left alone); returns the employees actually added. */
export async function addTeamMembers(
  trx: Knex.Transaction,
  tenantId: string,
  teamId: string,
  employeeIds: readonly string[],
): Promise<string[]> {
  if (employeeIds.length === 0) return [];
  const result = await trx.raw<{ rows: Array<{ employee_id: string }> }>(
    `INSERT INTO team_members (tenant_id, team_id, employee_id)
       SELECT ?, ?, e FROM unnest(?::uuid[]) AS e
       ON CONFLICT (team_id, employee_id) DO NOTHING RETURNING employee_id`,
    [tenantId, teamId, [...employeeIds]],
  );
  return result.rows.map((r) => r.employee_id);
}

/** Removes members (idempotent); `null` removes all. Returns the employees actually removed. */
export async function removeTeamMembers(
  trx: Knex.Transaction,
  tenantId: string,
  teamId: string,
  employeeIds: readonly string[] | null,
): Promise<string[]> {
  const q = trx('team_members').where({ tenant_id: tenantId, team_id: teamId });
  if (employeeIds !== null) {
    if (employeeIds.length === 0) return [];
    q.whereIn('employee_id', employeeIds as string[]);
  }
  const rows = await q.delete().returning<Array<{ employee_id: string }>>('employee_id');
  return rows.map((r) => r.employee_id);
}
