import type { Knex } from 'knex';

/**
 * When an admin last sent an invitation again (`POST …/invitation/resend`). An invitation is not sent once it has
 * waited longer than INVITE_MAX_AGE_DAYS since it was created or, after a resend, since then (docs/invitations.md).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (t) => {
    t.timestamp('resent_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (t) => {
    t.dropColumn('resent_at');
  });
}
