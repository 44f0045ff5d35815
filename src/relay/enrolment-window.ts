import type { Knex } from 'knex';

/**
 * How many enrolments the relay lets go out before their first syncs finish. An initial push queues one enrolment
 * per employee — thousands at once. Started all together, they pile up in Temporal's task queue: the server then
 * writes every task to its database and reads it back instead of handing it straight to a waiting worker, and a
 * change made in HR during the push waits behind the whole pile. With a window, the pile stays in the outbox, where
 * the relay lets changes pass it (bench/outbound and the README have the figures).
 *
 * An enrolment counts as in flight from its delivery until the employee's provisioning state leaves PENDING (the
 * state the admin API's enrol wrote) — or, so that one employee stuck in retries cannot hold a place forever, until
 * `releaseAfterMs` passes. The window is kept in memory: after a restart, or with several worker processes taking
 * turns, up to one window per process may be in flight for a while.
 */
export class EnrolmentWindow {
  private readonly inFlight = new Map<string, { tenantId: string; employeeId: string; since: number }>();

  /** `size` 0 turns the window off (every waiting enrolment goes out at once). */
  constructor(
    private readonly size: number,
    private readonly releaseAfterMs: number,
  ) {}

  /** How many more enrolments may go out now; first forgets the in-flight ones whose first sync has finished. */
  async capacity(db: Knex | Knex.Transaction): Promise<number> {
    if (this.size === 0) return Number.POSITIVE_INFINITY;
    if (this.inFlight.size > 0) {
      const entries = [...this.inFlight.values()];
      const pending = await db('employee_provisioning')
        .whereIn(
          ['tenant_id', 'employee_id'],
          entries.map((e) => [e.tenantId, e.employeeId]),
        )
        .where({ state: 'PENDING' })
        .select<Array<{ tenant_id: string; employee_id: string }>>('tenant_id', 'employee_id');
      const stillPending = new Set(pending.map((r) => key(r.tenant_id, r.employee_id)));
      const oldest = Date.now() - this.releaseAfterMs;
      for (const [k, e] of this.inFlight) {
        if (!stillPending.has(k) || e.since < oldest) this.inFlight.delete(k);
      }
    }
    return Math.max(0, this.size - this.inFlight.size);
  }

  /** No enrolment in flight (as last seen by `capacity`). */
  isEmpty(): boolean {
    return this.inFlight.size === 0;
  }

  /** Records an enrolment the relay just delivered. */
  delivered(tenantId: string, employeeId: string): void {
    if (this.size === 0) return;
    this.inFlight.set(key(tenantId, employeeId), { tenantId, employeeId, since: Date.now() });
  }
}

const key = (tenantId: string, employeeId: string): string => `${tenantId}/${employeeId}`;
