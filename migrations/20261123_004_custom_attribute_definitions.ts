import type { Knex } from 'knex';

/**
 * Custom attributes are defined in the HRIS first; each has an id that SCIM clients address as
 * urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:<id>.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('custom_attribute_definitions', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('name').notNullable();
    t.text('type').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'id']);
  });
  await knex.raw(
    `ALTER TABLE custom_attribute_definitions ADD CONSTRAINT custom_attribute_type_check
       CHECK (type IN ('string', 'number', 'boolean', 'date'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('custom_attribute_definitions');
}
