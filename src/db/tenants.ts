import type { Db } from './knex';

export interface Tenant {
  id: string;
  name: string;
  inviteNewEmployees: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface TenantRow {
  id: string;
  name: string;
  invite_new_employees: boolean;
  created_at: Date;
  updated_at: Date;
}

function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    inviteNewEmployees: row.invite_new_employees,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function createTenant(db: Db, input: { name: string; inviteNewEmployees?: boolean }): Promise<Tenant> {
  const [row] = await db<TenantRow>('tenants')
    .insert({ name: input.name, invite_new_employees: input.inviteNewEmployees ?? false })
    .returning('*');
  return toTenant(row);
}

export async function getTenant(db: Db, id: string): Promise<Tenant | undefined> {
  const row = await db<TenantRow>('tenants').where({ id }).first();
  return row && toTenant(row);
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  return (await db<TenantRow>('tenants').orderBy('created_at')).map(toTenant);
}

export async function updateTenant(
  db: Db,
  id: string,
  patch: { name?: string; inviteNewEmployees?: boolean },
): Promise<Tenant | undefined> {
  const changes: Partial<TenantRow> = {};
  if (patch.name !== undefined) changes.name = patch.name;
  if (patch.inviteNewEmployees !== undefined) changes.invite_new_employees = patch.inviteNewEmployees;
  const columns = Object.entries(changes);
  // Nothing new (no field, or the values it already has): the tenant, unchanged, with its updatedAt as it was.
  if (columns.length === 0) return getTenant(db, id);
  const [row] = await db<TenantRow>('tenants')
    .where({ id })
    .andWhere((q) => {
      for (const [column, value] of columns) q.orWhereRaw('?? IS DISTINCT FROM ?', [column, value]);
    })
    .update({ ...changes, updated_at: db.fn.now() as unknown as Date })
    .returning('*');
  return row ? toTenant(row) : getTenant(db, id);
}
