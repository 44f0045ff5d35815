import type { Knex } from 'knex';

/**
 * References to people not known yet: an employee's manager, or a team member. The value is kept as sent and
 * linked the moment an employee with that id or externalId arrives, so one provisioning pass gives complete
 * reporting lines.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pending_references', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    // The employee whose manager is pending, or the team whose member is pending.
    t.uuid('source_id').notNullable();
    t.text('target_ref').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'kind', 'source_id', 'target_ref']);
    t.index(['tenant_id', 'target_ref']);
  });
  await knex.raw(
    `ALTER TABLE pending_references ADD CONSTRAINT pending_references_kind_check CHECK (kind IN ('manager', 'member'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('pending_references');
}
