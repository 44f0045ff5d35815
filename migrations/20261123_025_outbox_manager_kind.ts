import type { Knex } from 'knex';

/**
 * A third kind of outbox row, `manager`: the employee's manager has just got an Entra account, so the employee's
 * manager link can now be set (the relay sends `managerReady`). Written by the manager's sync for each report that is
 * already in Entra without the link, e.g. when an initial push enrolled the report long before its manager.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check');
  await knex.raw(`ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('change', 'enrol', 'manager'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DELETE FROM outbox WHERE kind = 'manager'`);
  await knex.raw('ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check');
  await knex.raw(`ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('change', 'enrol'))`);
}
