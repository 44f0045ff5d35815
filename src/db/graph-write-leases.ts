import type { Db } from './knex';

/** Writes granted by the shared ledger, or when to ask again. */
export interface WriteLease {
  /** Absent when nothing was granted. */
  id?: number;
  granted: number;
  /** When nothing was granted: how long until enough of the quota comes back for one write. */
  retryInMs: number;
}

export interface LeaseRequest {
  /** The most writes, this lease included, that may count within the span (the kind's limit). */
  limit: number;
  /** Writes waiting now; the ledger may grant more while the quota is far from spent, never more than `max`. */
  wanted: number;
  max: number;
  /** How long a granted write counts: the window, the margin and the lease's lifetime. */
  spanMs: number;
}

/**
 * Graph's write quota shared by every worker process through PostgreSQL (migration 030). Not tenant data: the key is
 * an Entra tenant and app, which Graph's quota is counted by.
 */
export interface WriteLedger {
  lease(req: LeaseRequest): Promise<WriteLease>;
  /** Hands back what a lease did not use: from now on it counts `used` writes. */
  settle(leaseId: number, used: number): Promise<void>;
}

export function postgresWriteLedger(db: Db, budgetKey: string): WriteLedger {
  return {
    async lease({ limit, wanted, max, spanMs }) {
      // READ COMMITTED whatever the database's default: the function relies on it (migration 030).
      const { rows } = await db.transaction(
        (trx) =>
          trx.raw<{ rows: { lease_id: number | null; granted: number; retry_in_ms: number }[] }>(
            'SELECT lease_id, granted, retry_in_ms FROM graph_write_lease(?, ?, ?, ?, ?)',
            [budgetKey, limit, Math.max(1, wanted), max, Math.ceil(spanMs)],
          ),
        { isolationLevel: 'read committed' },
      );
      const row = rows[0]!;
      return {
        ...(row.lease_id !== null ? { id: row.lease_id } : {}),
        granted: row.granted,
        retryInMs: row.retry_in_ms,
      };
    },
    async settle(leaseId, used) {
      await db('graph_write_leases')
        .where({ id: leaseId, budget_key: budgetKey })
        .update({ writes: db.raw('least(writes, ?)', [used]) });
    },
  };
}
