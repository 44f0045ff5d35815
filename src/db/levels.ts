import type { Knex } from 'knex';

/** A career level; names are unique per tenant regardless of case, the first spelling seen is kept. */
export interface Level {
  id: string;
  name: string;
}

export const MAX_LEVEL_NAME_LENGTH = 200;

/**
 * The tenant's level called `name` (case-insensitive), creating it when the tenant has none yet: the inbound article
 * has levels "created on the fly" when the provisioned data names one. Returns the stored spelling, which is the
 * first one ever seen.
 */
export async function ensureLevel(q: Knex | Knex.Transaction, tenantId: string, name: string): Promise<Level> {
  const found = await q.raw<{ rows: Level[] }>(
    `WITH ins AS (
       INSERT INTO levels (tenant_id, name) VALUES (?, ?)
       ON CONFLICT (tenant_id, lower(name)) DO NOTHING RETURNING id, name)
     SELECT id, name FROM ins
     UNION ALL
     SELECT id, name FROM levels WHERE tenant_id = ? AND lower(name) = lower(?)
     LIMIT 1`,
    [tenantId, name, tenantId, name],
  );
  if (found.rows.length > 0) return found.rows[0];
  // A concurrent transaction inserted it after this statement's snapshot was taken; it is committed now.
  const existing = await q('levels')
    .where({ tenant_id: tenantId })
    .whereRaw('lower(name) = lower(?)', [name])
    .first<Level | undefined>('id', 'name');
  if (!existing) throw new Error('level vanished between insert and select');
  return existing;
}

export async function listLevels(q: Knex, tenantId: string): Promise<Level[]> {
  return q('levels').where({ tenant_id: tenantId }).orderBy('name').select<Level[]>('id', 'name');
}
