import type { Knex } from 'knex';

/** Append-only trail of every write, written in the same transaction as the write. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('resource_type').notNullable();
    t.text('resource_id').notNullable();
    t.text('action').notNullable();
    t.text('actor').notNullable();
    t.text('request_id').nullable();
    // Changed attributes with their new values; never secrets or tokens.
    t.jsonb('changes').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'resource_type', 'resource_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
}
