import type { Knex } from 'knex';

/**
 * Tenants take turns at the invitation mailer: each claim goes to the tenant with due invitations whose last claim is
 * the oldest (`invitation_turns`), so one tenant's initial load of thousands of new hires does not hold up another
 * tenant's single new hire until all of them are mailed. Within a tenant, invitations keep the oldest-due-first order,
 * which the second index serves per tenant.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invitation_turns', (t) => {
    t.uuid('tenant_id').primary().references('tenants.id').onDelete('CASCADE');
    t.timestamp('last_claimed_at', { useTz: true }).notNullable();
  });
  await knex.raw(
    `CREATE INDEX invitations_tenant_due_idx ON invitations (tenant_id, next_attempt_at) WHERE status = 'pending'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX invitations_tenant_due_idx');
  await knex.schema.dropTable('invitation_turns');
}
