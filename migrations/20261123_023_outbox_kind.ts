import type { Knex } from 'knex';

/**
 * What an outbox row asks of the employee's workflow: `change` (an employee write; the relay sends `employeeChanged`)
 * or `enrol` (the admin API's initial push; the relay sends `enrol`). Enrolment goes through the outbox so a push of
 * thousands of employees is one transaction in the request and is delivered at least once, like every change.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.text('kind').notNullable().defaultTo('change');
  });
  await knex.raw(`ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('change', 'enrol'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('kind');
  });
}
