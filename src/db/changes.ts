import type { Knex } from 'knex';
import { INVITE_NEW_EMPLOYEE_CTE } from './invitations';

export type ChangeSource = 'scim' | 'admin' | 'system';

export interface EmployeeChange {
  tenantId: string;
  employeeId: string;
  /** Employee attribute names in their HR (camelCase) form, e.g. ['givenName', 'department', 'managerId']. */
  changedAttributes: string[];
  /** New values of what changed, for the audit trail; never secrets. */
  changes: Record<string, unknown>;
  action: 'created' | 'updated' | 'deactivated' | 'reactivated';
  source: ChangeSource;
  requestId?: string;
}

/**
 * The tail of every employee write, inside the caller's transaction: applies `columns` (the row's own changes, if
 * the caller has not written them yet), bumps `version`, appends the audit event and the outbox row the relay turns
 * into a workflow signal — all in one statement, because every SCIM write pays this and round trips dominate its
 * cost. A creation also invites the new employee when their tenant asks for it (src/db/invitations.ts), in the same
 * statement. Returns the new version. Call it only when something really changed; a no-op write must not wake the
 * outbound workflow.
 */
export async function recordEmployeeChange(
  trx: Knex.Transaction,
  change: EmployeeChange,
  columns: Record<string, unknown> = {},
): Promise<number> {
  const created = change.action === 'created';
  const bump = trx('employees')
    .where({ tenant_id: change.tenantId, id: change.employeeId })
    .update({ ...columns, version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning(created ? ['version', 'tenant_id', 'id', 'active', 'emails'] : ['version'])
    .toSQL();
  const result = await trx.raw<{ rows: Array<{ version: number }> }>(
    `WITH bumped AS (${bump.sql}),
     audited AS (
       INSERT INTO audit_events (tenant_id, resource_type, resource_id, action, actor, request_id, changes)
       VALUES (?, 'employee', ?, ?, ?, ?, ?::jsonb)
     )${
       created
         ? `,
     ${INVITE_NEW_EMPLOYEE_CTE}`
         : ''
     }
     INSERT INTO outbox (tenant_id, employee_id, version, changed_attributes, source)
     SELECT ?, ?, bumped.version, ?::jsonb, ? FROM bumped
     RETURNING version`,
    [
      ...(bump.bindings as Knex.RawBinding[]),
      change.tenantId,
      change.employeeId,
      change.action,
      change.source,
      change.requestId ?? null,
      JSON.stringify(change.changes),
      change.tenantId,
      change.employeeId,
      JSON.stringify(change.changedAttributes),
      change.source,
    ],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`employee ${change.employeeId} of tenant ${change.tenantId} does not exist`);
  return row.version;
}
