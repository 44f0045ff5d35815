import type { Knex } from 'knex';

/**
 * What the last successful sync wrote to (or confirmed in) Entra for each employee. A watched change then PATCHes
 * only what differs from it without reading the account first (1 Graph request), and a change that leaves the
 * Entra user as it was makes no Graph request at all. Enrolment and retry still compare against Entra itself.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('employee_provisioning', (t) => {
    t.jsonb('synced_properties').nullable();
    t.text('synced_manager_object_id').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('employee_provisioning', (t) => {
    t.dropColumn('synced_properties');
    t.dropColumn('synced_manager_object_id');
  });
}
