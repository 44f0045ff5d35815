import type { Knex } from 'knex';

/** A career level; names are unique per tenant regardless of case, the first spelling seen is kept. */
export interface Level {
  id: string;
  name: string;
}

export const MAX_LEVEL_NAME_LENGTH = 200;

/**
 * The id of the tenant's level called `name` (case-insensitive), creating it when the tenant has none yet: the
 * inbound article has levels "created on the fly" when the provisioned data names one.
 */
export async function ensureLevel(q: Knex | Knex.Transaction, tenantId: string, name: string): Promise<string> {
  const inserted = await q.raw<{ rows: Array<{ id: string }> }>(
    `INSERT INTO levels (tenant_id, name) VALUES (?, ?)
       ON CONFLICT (tenant_id, lower(name)) DO NOTHING RETURNING id`,
    [tenantId, name],
  );
  if (inserted.rows.length > 0) return inserted.rows[0].id;
  const existing = await q('levels')
    .where({ tenant_id: tenantId })
    .whereRaw('lower(name) = lower(?)', [name])
    .first<{ id: string } | undefined>('id');
  if (!existing) throw new Error('level vanished between insert and select');
  return existing.id;
}

export async function listLevels(q: Knex, tenantId: string): Promise<Level[]> {
  return q('levels').where({ tenant_id: tenantId }).orderBy('name').select<Level[]>('id', 'name');
}
