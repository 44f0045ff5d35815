import type { Knex } from 'knex';

/**
 * Tenant isolation in the schema, not only in the queries: every reference from one row to another (an employee's
 * level and manager, a team's members, outbox and provisioning rows) is a foreign key on (tenant_id, id), so no
 * write — a bug, a hand-written fix in psql — can link rows of two tenants. The referenced tables get a unique
 * (tenant_id, id) for the keys to point at. `ON DELETE SET NULL (column)` (PostgreSQL 15+) clears only the reference
 * when a level or a manager goes, never tenant_id.
 */
const REFERENCES: Array<{
  table: string;
  column: string;
  target: string;
  onDelete: string;
  /** The name knex gave the single-column key this replaces. */
  old: string;
}> = [
  {
    table: 'employees',
    column: 'level_id',
    target: 'levels',
    onDelete: 'SET NULL (level_id)',
    old: 'employees_level_id_foreign',
  },
  {
    table: 'employees',
    column: 'manager_id',
    target: 'employees',
    onDelete: 'SET NULL (manager_id)',
    old: 'employees_manager_id_foreign',
  },
  {
    table: 'team_members',
    column: 'team_id',
    target: 'teams',
    onDelete: 'CASCADE',
    old: 'team_members_team_id_foreign',
  },
  {
    table: 'team_members',
    column: 'employee_id',
    target: 'employees',
    onDelete: 'CASCADE',
    old: 'team_members_employee_id_foreign',
  },
  {
    table: 'outbox',
    column: 'employee_id',
    target: 'employees',
    onDelete: 'CASCADE',
    old: 'outbox_employee_id_foreign',
  },
  {
    table: 'employee_provisioning',
    column: 'employee_id',
    target: 'employees',
    onDelete: 'CASCADE',
    old: 'employee_provisioning_employee_id_foreign',
  },
];

const TARGETS = ['levels', 'employees', 'teams'];

const newName = (r: { table: string; column: string }) => `${r.table}_${r.column}_same_tenant_fk`;

export async function up(knex: Knex): Promise<void> {
  for (const target of TARGETS) {
    await knex.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? UNIQUE (tenant_id, id)`, [target, `${target}_tenant_id_id_uq`]);
  }
  for (const r of REFERENCES) {
    await knex.raw(
      `ALTER TABLE ?? DROP CONSTRAINT ??, ADD CONSTRAINT ?? FOREIGN KEY (tenant_id, ??) REFERENCES ?? (tenant_id, id) ON DELETE ${r.onDelete}`,
      [r.table, r.old, newName(r), r.column, r.target],
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const r of REFERENCES) {
    const onDelete = r.onDelete.startsWith('SET NULL') ? 'SET NULL' : r.onDelete;
    await knex.raw(
      `ALTER TABLE ?? DROP CONSTRAINT ??, ADD CONSTRAINT ?? FOREIGN KEY (??) REFERENCES ?? (id) ON DELETE ${onDelete}`,
      [r.table, newName(r), r.old, r.column, r.target],
    );
  }
  for (const target of TARGETS) {
    await knex.raw(`ALTER TABLE ?? DROP CONSTRAINT ??`, [target, `${target}_tenant_id_id_uq`]);
  }
}
