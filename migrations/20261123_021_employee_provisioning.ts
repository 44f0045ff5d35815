import type { Knex } from 'knex';

/**
 * Outbound provisioning state per employee, mirrored from the employee's workflow so the admin API can list and
 * filter without Temporal visibility. `entra_object_id` is written the moment an account is created or adopted:
 * every later attempt finds the account by it, which is what keeps a crashed worker from creating a duplicate.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('employee_provisioning', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.text('state').notNullable().defaultTo('NOT_ENROLLED');
    // Human-readable cause and fix, and the stable error type (src/graph/errors.ts) when BLOCKED.
    t.text('reason').nullable();
    t.text('error_type').nullable();
    t.text('graph_error_code').nullable();
    t.text('graph_request_id').nullable();
    t.text('entra_object_id').nullable();
    t.integer('synced_version').nullable();
    t.timestamp('last_attempt_at', { useTz: true }).nullable();
    t.timestamp('last_synced_at', { useTz: true }).nullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'employee_id']);
    t.index(['tenant_id', 'state']);
  });
  await knex.raw(
    `ALTER TABLE employee_provisioning ADD CONSTRAINT employee_provisioning_state_check
       CHECK (state IN ('NOT_ENROLLED', 'PENDING', 'SYNCED', 'BLOCKED'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('employee_provisioning');
}
