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

/** What one pruning statement did: the ids it read (`read`, the last being `lastId`) and how many it deleted. */
export interface PrunePage {
  read: number;
  deleted: number;
  lastId: number | null;
}

/**
 * Reads the next `batchSize` outbox rows of `range` after `afterId` (by id) and deletes those delivered before the
 * cutoff; 0 read also when another process holds the pruning lock. Paging by id, a pass never reads a row twice,
 * however many dead index entries its earlier statements left behind for VACUUM. Undelivered rows are never touched,
 * however old: they are changes still on their way to Entra.
 *
 * A delivered row has done its work (the workflow has the change): the relay only reads undelivered rows. Kept for a
 * while, it answers "did this change go out, and when" (`delivered_at`, `attempts`).
 */
export async function pruneDeliveredOutbox(
  db: Knex,
  range: PruneRange,
  afterId: number,
  batchSize: number,
): Promise<PrunePage> {
  return db.transaction(async (trx) => {
    const lock = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS ok', [PRUNE_LOCK_KEY]);
    if (!lock.rows[0]?.ok) return { read: 0, deleted: 0, lastId: null };
    // A primary-key range scan: no index on delivered_at is needed (nor a migration building one on a large table).
    const { rows } = await trx.raw<{ rows: Array<{ read: number; deleted: number; last_id: number | null }> }>(
      `WITH page AS (
         SELECT id FROM outbox WHERE id > ? AND id < ? ORDER BY id LIMIT ?
       ), gone AS (
         DELETE FROM outbox o USING page p WHERE o.id = p.id AND o.delivered_at < ? RETURNING o.id
       )
       SELECT (SELECT count(*) FROM page)::int AS read,
              (SELECT count(*) FROM gone)::int AS deleted,
              (SELECT max(id) FROM page) AS last_id`,
      [afterId, range.beforeId ?? Number.MAX_SAFE_INTEGER, batchSize, range.cutoff],
    );
    const row = rows[0]!;
    return { read: row.read, deleted: row.deleted, lastId: row.last_id };
  });
}
