import type { Knex } from 'knex';

/** One employee of one tenant. */
export interface EmployeeKey {
  tenantId: string;
  employeeId: string;
}

/** `tenantId/employeeId`, the relay's key of an employee. */
export const employeeKey = (k: EmployeeKey): string => `${k.tenantId}/${k.employeeId}`;

/** Which of `employees` the relay has reached before (migration 033), as `tenantId/employeeId` keys. */
export async function relayedBefore(db: Knex | Knex.Transaction, employees: EmployeeKey[]): Promise<Set<string>> {
  if (employees.length === 0) return new Set();
  const rows = await db.raw<{ rows: Array<{ tenant_id: string; employee_id: string }> }>(
    `SELECT r.tenant_id, r.employee_id FROM relayed_employees r
       JOIN unnest(?::uuid[], ?::uuid[]) AS k (tenant_id, employee_id)
         ON r.tenant_id = k.tenant_id AND r.employee_id = k.employee_id`,
    [employees.map((e) => e.tenantId), employees.map((e) => e.employeeId)],
  );
  return new Set(rows.rows.map((r) => employeeKey({ tenantId: r.tenant_id, employeeId: r.employee_id })));
}

/**
 * Records that the relay has reached these employees' workflows; an employee deleted meanwhile (with its tenant) is
 * left out rather than failing the relay's round.
 */
export async function rememberRelayed(db: Knex | Knex.Transaction, employees: EmployeeKey[]): Promise<void> {
  if (employees.length === 0) return;
  await db.raw(
    `INSERT INTO relayed_employees (tenant_id, employee_id)
       SELECT k.tenant_id, k.employee_id FROM unnest(?::uuid[], ?::uuid[]) AS k (tenant_id, employee_id)
         JOIN employees e ON e.tenant_id = k.tenant_id AND e.id = k.employee_id
     ON CONFLICT DO NOTHING`,
    [employees.map((e) => e.tenantId), employees.map((e) => e.employeeId)],
  );
}
