import type { Knex } from 'knex';

/**
 * Employees. Never hard-deleted: SCIM DELETE and active=false deactivate. `version` grows by one on every write and
 * is what outbox rows and workflow signals carry instead of data.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('employees', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('external_id').nullable();
    t.text('user_name').notNullable();
    // SCIM multi-valued attributes kept as sent ([{value, type, primary, display}]).
    t.jsonb('emails').notNullable().defaultTo('[]');
    t.jsonb('phone_numbers').notNullable().defaultTo('[]');
    t.text('given_name').nullable();
    t.text('family_name').nullable();
    t.text('formatted_name').nullable();
    t.text('display_name').nullable();
    t.text('job_title').nullable();
    t.text('department').nullable();
    t.text('division').nullable();
    t.text('cost_center').nullable();
    t.text('organization').nullable();
    t.text('employee_number').nullable();
    t.text('location').nullable();
    t.text('gender').nullable();
    t.date('start_date').nullable();
    t.date('end_date').nullable();
    t.date('birthday').nullable();
    t.text('photo_url').nullable();
    t.uuid('level_id').nullable().references('levels.id').onDelete('SET NULL');
    t.uuid('manager_id').nullable().references('employees.id').onDelete('SET NULL');
    t.boolean('active').notNullable().defaultTo(true);
    // HR-native lifecycle; drives accountEnabled outbound (active/offboarding → enabled).
    t.text('lifecycle_status').notNullable().defaultTo('active');
    // { <custom attribute id>: value } for the tenant's custom_attribute_definitions.
    t.jsonb('custom_attributes').notNullable().defaultTo('{}');
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deactivated_at', { useTz: true }).nullable();
  });
  await knex.raw(
    `ALTER TABLE employees ADD CONSTRAINT employees_lifecycle_check
       CHECK (lifecycle_status IN ('hired', 'active', 'leave', 'offboarding', 'terminated', 'deactivated'))`,
  );
  // externalId is case-exact (RFC 7643 §3.1); userName is case-insensitive (§4.1.1).
  await knex.raw(
    'CREATE UNIQUE INDEX employees_tenant_external_id_uq ON employees (tenant_id, external_id) WHERE external_id IS NOT NULL',
  );
  await knex.raw('CREATE UNIQUE INDEX employees_tenant_user_name_uq ON employees (tenant_id, lower(user_name))');
  // Stable order for SCIM pagination.
  await knex.raw('CREATE INDEX employees_tenant_created_idx ON employees (tenant_id, created_at, id)');
  await knex.raw('CREATE INDEX employees_tenant_manager_idx ON employees (tenant_id, manager_id)');
  await knex.raw('CREATE INDEX employees_emails_gin ON employees USING gin (emails jsonb_path_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('employees');
}
