import type { Knex } from 'knex';

/**
 * Transactional outbox: every employee write appends a row in its own transaction; the relay in the worker turns
 * rows into signal-with-start of the employee's workflow and marks them delivered. Temporal being down only delays.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.jsonb('changed_attributes').notNullable().defaultTo('[]');
    t.text('source').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true }).nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable();
  });
  await knex.raw('CREATE INDEX outbox_undelivered_idx ON outbox (id) WHERE delivered_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('outbox');
}
