import type { Knex } from 'knex';

/** Advisory lock key of the outbox pruning ("prune" in ASCII): worker processes take turns instead of colliding. */
export const PRUNE_LOCK_KEY = 0x7072756e65;

/**
 * Deletes up to `batchSize` outbox rows delivered more than `olderThanMs` ago, oldest first, and returns how many it
 * deleted; 0 also when another process holds the pruning lock. Undelivered rows are never touched, however old:
 * they are changes still on their way to Entra.
 *
 * A delivered row has done its work (the workflow has the change); the relay never reads it again. Kept for a while,
 * it answers "did this change go out, and when" (`delivered_at`, `attempts`).
 */
export async function pruneDeliveredOutbox(
  db: Knex,
  { olderThanMs, batchSize }: { olderThanMs: number; batchSize: number },
): Promise<number> {
  return db.transaction(async (trx) => {
    const lock = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS ok', [PRUNE_LOCK_KEY]);
    if (!lock.rows[0]?.ok) return 0;
    // Through the partial index on delivered_at (migration 034): the oldest delivered rows, without a scan.
    const deleted = await trx.raw(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox
          WHERE delivered_at IS NOT NULL AND delivered_at < now() - (? * interval '1 millisecond')
          ORDER BY delivered_at
          LIMIT ?)`,
      [olderThanMs, batchSize],
    );
    return deleted.rowCount ?? 0;
  });
}
