import type { Knex } from 'knex';

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
 * The tail of every employee write, inside the caller's transaction: bumps `version`, appends the audit event and
 * the outbox row the relay turns into a workflow signal. Returns the new version. Call it only when something
 * really changed; a no-op write must not wake the outbound workflow.
 */
export async function recordEmployeeChange(trx: Knex.Transaction, change: EmployeeChange): Promise<number> {
  const [{ version }] = await trx('employees')
    .where({ tenant_id: change.tenantId, id: change.employeeId })
    .update({ version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning<Array<{ version: number }>>('version');
  await trx('audit_events').insert({
    tenant_id: change.tenantId,
    resource_type: 'employee',
    resource_id: change.employeeId,
    action: change.action,
    actor: change.source,
    request_id: change.requestId ?? null,
    changes: JSON.stringify(change.changes),
  });
  await trx('outbox').insert({
    tenant_id: change.tenantId,
    employee_id: change.employeeId,
    version,
    changed_attributes: JSON.stringify(change.changedAttributes),
    source: change.source,
  });
  return version;
}

/** Audit event for a non-employee resource (team, token, settings), inside the caller's transaction. */
export async function recordAuditEvent(
  trx: Knex.Transaction | Knex,
  event: {
    tenantId: string;
    resourceType: 'team' | 'token' | 'tenant' | 'custom_attribute' | 'outbound_settings';
    resourceId: string;
    action: string;
    source: ChangeSource;
    requestId?: string;
    changes?: Record<string, unknown>;
  },
): Promise<void> {
  await trx('audit_events').insert({
    tenant_id: event.tenantId,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    action: event.action,
    actor: event.source,
    request_id: event.requestId ?? null,
    changes: JSON.stringify(event.changes ?? {}),
  });
}
