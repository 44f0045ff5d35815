import type { Knex } from 'knex';

/**
 * Teams: SCIM groups become teams (origin 'scim'); admins create manual ones (origin 'manual'). A group whose
 * displayName matches a manual team adopts it (scim_managed = true) instead of creating a duplicate. Manual teams
 * are never deleted through SCIM.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('teams', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('display_name').notNullable();
    t.text('external_id').nullable();
    t.text('origin').notNullable();
    t.boolean('scim_managed').notNullable().defaultTo(false);
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE teams ADD CONSTRAINT teams_origin_check CHECK (origin IN ('scim', 'manual'))`);
  await knex.raw('CREATE UNIQUE INDEX teams_tenant_display_name_uq ON teams (tenant_id, lower(display_name))');
  await knex.raw(
    'CREATE UNIQUE INDEX teams_tenant_external_id_uq ON teams (tenant_id, external_id) WHERE external_id IS NOT NULL',
  );
  await knex.raw('CREATE INDEX teams_tenant_created_idx ON teams (tenant_id, created_at, id)');

  await knex.schema.createTable('team_members', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.uuid('employee_id').notNullable().references('employees.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['team_id', 'employee_id']);
    t.index(['tenant_id', 'employee_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('team_members');
  await knex.schema.dropTable('teams');
}
