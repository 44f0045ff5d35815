import type { Knex } from 'knex';

/**
 * Delivered outbox rows are pruned after OUTBOX_RETENTION_DAYS (src/db/outbox-retention.ts), oldest first: this
 * partial index finds them without reading the rows kept. Built CONCURRENTLY, so an existing large outbox — the
 * reason for pruning — keeps taking SCIM writes while it is built; that cannot run in a transaction.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  // A CONCURRENTLY build that failed half-way leaves an invalid index behind, which IF NOT EXISTS would keep.
  const invalid = await knex.raw(
    `SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('outbox_delivered_at_idx') AND NOT indisvalid`,
  );
  if (invalid.rows.length > 0) await knex.raw('DROP INDEX CONCURRENTLY outbox_delivered_at_idx');
  await knex.raw(
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_delivered_at_idx ON outbox (delivered_at) WHERE delivered_at IS NOT NULL',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS outbox_delivered_at_idx');
}
