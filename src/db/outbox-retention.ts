import type { Knex } from 'knex';

/** Advisory lock key of the outbox pruning ("prune" in ASCII): worker processes take turns instead of colliding. */
export const PRUNE_LOCK_KEY = 0x7072756e65;

/**
 * Which rows a pruning pass may delete: those delivered before `cutoff`, among the ids below `beforeId` — the first
 * row created at or after the cutoff, since a row created later cannot have been delivered before it. Ids grow with
 * creation, so the rows kept are never read: a pass reads the expired rows (and old undelivered ones) only.
 */
export interface PruneRange {
  cutoff: Date;
  beforeId: number | null;
}

/** The range of a pruning pass now, on the database's clock. */
export async function pruneRange(db: Knex, olderThanMs: number): Promise<PruneRange> {
  const { rows } = await db.raw<{ rows: Array<{ cutoff: Date; before_id: number | null }> }>(
    `SELECT c.cutoff,
            (SELECT id FROM outbox WHERE created_at >= c.cutoff ORDER BY id LIMIT 1) AS before_id
       FROM (SELECT now() - (? * interval '1 millisecond') AS cutoff) c`,
    [olderThanMs],
  );
  return { cutoff: rows[0]!.cutoff, beforeId: rows[0]!.before_id };
}

/**
 * Deletes up to `batchSize` outbox rows of `range` delivered before its cutoff, oldest first, and returns how many;
 * 0 also when another process holds the pruning lock. Undelivered rows are never touched, however old: they are
 * changes still on their way to Entra.
 *
 * A delivered row has done its work (the workflow has the change): the relay only reads undelivered rows. Kept for a
 * while, it answers "did this change go out, and when" (`delivered_at`, `attempts`).
 */
export async function pruneDeliveredOutbox(db: Knex, range: PruneRange, batchSize: number): Promise<number> {
  return db.transaction(async (trx) => {
    const lock = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS ok', [PRUNE_LOCK_KEY]);
    if (!lock.rows[0]?.ok) return 0;
    // A primary-key range scan: no index on delivered_at is needed (nor a migration building one on a large table).
    const deleted = await trx.raw(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox
          WHERE id < ? AND delivered_at < ?
          ORDER BY id
          LIMIT ?)`,
      [range.beforeId ?? Number.MAX_SAFE_INTEGER, range.cutoff, batchSize],
    );
    return deleted.rowCount ?? 0;
  });
}
