import type { Knex } from 'knex';
import type { ChangeSource } from './changes';
import type { Db } from './knex';

export interface AuditEvent {
  id: number;
  resourceType: string;
  resourceId: string;
  action: string;
  actor: string;
  requestId: string | null;
  changes: Record<string, unknown>;
  createdAt: Date;
}

interface AuditRow {
  tenant_id: string;
  id: number;
  resource_type: string;
  resource_id: string;
  action: string;
  actor: string;
  request_id: string | null;
  changes: Record<string, unknown>;
  created_at: Date;
}

/** A resource's audit trail, newest first, paged by id (`before` = the last id of the previous page). */
export async function listAuditEvents(
  db: Db,
  tenantId: string,
  resource: { type: string; id: string },
  page: { limit: number; before?: number },
): Promise<AuditEvent[]> {
  const q = db<AuditRow>('audit_events')
    .where({ tenant_id: tenantId, resource_type: resource.type, resource_id: resource.id })
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.before !== undefined) q.where('id', '<', page.before);
  const rows = await q;
  return rows.map((r) => ({
    id: r.id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    action: r.action,
    actor: r.actor,
    requestId: r.request_id,
    changes: r.changes,
    createdAt: r.created_at,
  }));
}

/**
 * Audit event inside the caller's transaction: for a resource other than an employee (team, token, settings), or for
 * what happened to an employee without changing its row (its invitation); changes to the row go through
 * recordEmployeeChange.
 */
export async function recordAuditEvent(
  trx: Knex.Transaction | Knex,
  event: {
    tenantId: string;
    resourceType: 'employee' | 'team' | 'token' | 'tenant' | 'custom_attribute' | 'outbound_settings';
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
