import type { Knex } from 'knex';

/**
 * Indexes for the relay's two queues. Enrolments (an initial push may queue thousands) go out a few at a time, while
 * changes go out at once and pass them; so the relay reads undelivered rows by kind in id order, and checks whether
 * an employee still has an enrolment waiting before one of its later changes may pass. Both indexes hold undelivered
 * rows only; the first also answers the backlog count of /metrics.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX outbox_undelivered_kind_idx ON outbox (kind, id) WHERE delivered_at IS NULL');
  await knex.raw(
    `CREATE INDEX outbox_waiting_enrolment_idx ON outbox (employee_id, id) WHERE delivered_at IS NULL AND kind = 'enrol'`,
  );
  await knex.raw('DROP INDEX outbox_undelivered_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX outbox_undelivered_idx ON outbox (id) WHERE delivered_at IS NULL');
  await knex.raw('DROP INDEX outbox_waiting_enrolment_idx');
  await knex.raw('DROP INDEX outbox_undelivered_kind_idx');
}
