import type { Knex } from 'knex';

/**
 * Employees whose workflow the outbox relay has already reached (started or signalled). The relay starts the
 * workflow of an employee it has not reached yet with a start request that the server can hand straight to the
 * relay's own worker (eager start), and signals the others; a wrong guess only costs a refused start, after which
 * the relay signals. Backfilled with the employees that have a provisioning state, and those whose rows were delivered
 * to a tenant with outbound provisioning on (the rows of a tenant with it off start no workflow).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('relayed_employees', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('employee_id').notNullable();
    t.timestamp('first_relayed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'employee_id']);
  });
  await knex.raw(
    `ALTER TABLE relayed_employees ADD CONSTRAINT relayed_employees_employee_id_same_tenant_fk
       FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE`,
  );
  await knex.raw(
    `INSERT INTO relayed_employees (tenant_id, employee_id)
       SELECT tenant_id, employee_id FROM employee_provisioning
       UNION
       SELECT o.tenant_id, o.employee_id FROM outbox o
         JOIN outbound_settings s ON s.tenant_id = o.tenant_id AND s.enabled
        WHERE o.delivered_at IS NOT NULL
     ON CONFLICT DO NOTHING`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('relayed_employees');
}
