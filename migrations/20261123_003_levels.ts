import type { Knex } from 'knex';

/** Career levels; created on the fly when SCIM data names one the tenant does not have yet. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('levels', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // "Senior" and "senior" are one level; the first spelling seen is kept.
  await knex.raw('CREATE UNIQUE INDEX levels_tenant_name_uq ON levels (tenant_id, lower(name))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('levels');
}
