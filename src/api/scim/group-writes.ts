import type { Knex } from 'knex';
import { isUuid } from '../../db/employees';
import {
  addPendingMembers,
  countPendingMembers,
  keepOnlyPendingMembers,
  removePendingMembers,
} from '../../db/pending-references';
import { addTeamMembers, recordTeamChanges, removeTeamMembers, type TeamRow } from '../../db/teams';
import { badRequest, notFound } from './errors';
import type { GroupPlan } from './group-patch';
import { resolveEmployeeRefs } from './user-writes';

/** Who writes: the tenant of the request and its id, for audit and outbox. */
export interface GroupWriteContext {
  tenantId: string;
  requestId?: string;
}

/**
 * At most this many team members of a tenant wait for users that do not exist yet. Entra provisions users before it
 * sends them as members, so the pending list stays short in practice; the cap keeps a misbehaving client from growing
 * it without bound. A write that would pass it is refused (nothing of it is stored) with a reason naming the fix.
 */
export const MAX_PENDING_MEMBERS = 100_000;

/**
 * Executes a plan on a locked team in the caller's transaction. Known members are written as set operations,
 * unknown ones are kept pending (linked when that user is provisioned). Every employee whose memberships changed
 * gets a 'teams' change (audit + outbox); the team gets an audit event.
 */
export async function executePlan(
  trx: Knex.Transaction,
  team: TeamRow,
  plan: GroupPlan,
  ctx: GroupWriteContext,
  action: string,
): Promise<void> {
  const updates: Record<string, unknown> = {};
  const audit: Record<string, unknown> = {};
  if (plan.displayName !== undefined && plan.displayName !== team.display_name) {
    updates.display_name = plan.displayName;
    audit.displayName = plan.displayName;
  }
  if (plan.externalId !== undefined && plan.externalId !== team.external_id) {
    updates.external_id = plan.externalId;
    audit.externalId = plan.externalId;
  }
  const allRefs = [...new Set(plan.members.flatMap((m) => (m.op === 'removeAll' ? [] : m.refs)))];
  const resolved = await resolveEmployeeRefs(trx, ctx.tenantId, allRefs);
  const added = new Set<string>();
  const removed = new Set<string>();
  // Pending rows actually inserted and deleted: a member Entra re-sends that is pending already changes nothing.
  let pendingAdded = 0;
  let pendingRemoved = 0;
  for (const m of plan.members) {
    if (m.op === 'removeAll') {
      (await removeTeamMembers(trx, ctx.tenantId, team.id, null)).forEach((id) => removed.add(id));
      pendingRemoved += await removePendingMembers(trx, ctx.tenantId, team.id, null);
      continue;
    }
    const known = [...new Set(m.refs.map((r) => resolved.get(r)).filter((x): x is string => x !== undefined))];
    const unknown = m.refs.filter((r) => !resolved.has(r));
    if (m.op === 'add') {
      (await addTeamMembers(trx, ctx.tenantId, team.id, known)).forEach((id) => added.add(id));
      pendingAdded += await addPendingMembers(trx, ctx.tenantId, team.id, unknown);
    } else if (m.op === 'remove') {
      (await removeTeamMembers(trx, ctx.tenantId, team.id, known)).forEach((id) => removed.add(id));
      pendingRemoved += await removePendingMembers(trx, ctx.tenantId, team.id, unknown);
    } else {
      const gone = await trx.raw<{ rows: Array<{ employee_id: string }> }>(
        `DELETE FROM team_members WHERE tenant_id = ? AND team_id = ? AND NOT (employee_id = ANY(?::uuid[]))
           RETURNING employee_id`,
        [ctx.tenantId, team.id, known],
      );
      gone.rows.forEach((r) => removed.add(r.employee_id));
      (await addTeamMembers(trx, ctx.tenantId, team.id, known)).forEach((id) => added.add(id));
      pendingRemoved += await keepOnlyPendingMembers(trx, ctx.tenantId, team.id, unknown);
      pendingAdded += await addPendingMembers(trx, ctx.tenantId, team.id, unknown);
    }
  }
  if (pendingAdded > 0) await assertPendingMembersWithinLimit(trx, ctx.tenantId);
  // In id order: parallel writes to two teams with shared members then lock those employees in one order, never in
  // crossed orders that deadlock.
  const touched = [...new Set([...added, ...removed])].sort();
  const pendingChanged = pendingAdded + pendingRemoved > 0;
  if (Object.keys(updates).length === 0 && touched.length === 0 && !pendingChanged && action === 'updated') return;
  if (added.size > 0) audit.membersAdded = [...added];
  if (removed.size > 0) audit.membersRemoved = [...removed];
  // The team's version bump and its audit event in one statement.
  const update = trx('teams')
    .where({ tenant_id: ctx.tenantId, id: team.id })
    .update({ ...updates, version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .toSQL();
  await trx.raw(
    `WITH bumped AS (${update.sql} RETURNING id)
     INSERT INTO audit_events (tenant_id, resource_type, resource_id, action, actor, request_id, changes)
     SELECT ?, 'team', bumped.id::text, ?, 'scim', ?, ?::jsonb FROM bumped`,
    [...(update.bindings as Knex.RawBinding[]), ctx.tenantId, action, ctx.requestId ?? null, JSON.stringify(audit)],
  );
  for (const id of touched) {
    await recordTeamChanges(
      trx,
      ctx.tenantId,
      [id],
      added.has(id) && !removed.has(id) ? { teamsAdded: [team.id] } : { teamsRemoved: [team.id] },
      { source: 'scim', requestId: ctx.requestId },
    );
  }
}

async function assertPendingMembersWithinLimit(trx: Knex.Transaction, tenantId: string): Promise<void> {
  const pending = await countPendingMembers(trx, tenantId);
  if (pending > MAX_PENDING_MEMBERS) {
    throw badRequest(
      'invalidValue',
      `more than ${MAX_PENDING_MEMBERS} group members would be waiting for users that do not exist yet; ` +
        'provision those users first (or remove members nobody will provision), then send the group again',
    );
  }
}

/** Locks a SCIM-visible team for a write; 404 for unknown, malformed, manual-only or another tenant's ids. */
export async function lockScimTeam(trx: Knex.Transaction, tenantId: string, id: string): Promise<TeamRow> {
  if (!isUuid(id)) throw notFound(`Group ${id.slice(0, 64)} not found`);
  const team = (await trx('teams').where({ tenant_id: tenantId, id, scim_managed: true }).forUpdate().first()) as
    TeamRow | undefined;
  if (!team) throw notFound(`Group ${id.slice(0, 64)} not found`);
  return team;
}
