import type { WriteLease, WriteLedger } from '../db/graph-write-leases';

/**
 * Write budget per (Entra tenant, app). Graph allows an app 3,000 writes per 150 s in one tenant (graph.md §10); the
 * worker waits before each POST/PATCH/PUT/DELETE instead of bouncing off 429s. It keeps the send times of the last
 * `capacity` writes and lets a write go only while fewer than its limit went out in the last window (plus a margin
 * for the time a request takes to reach Graph). A sliding window never exceeds the quota whether Graph counts in
 * fixed or sliding windows — a refilling token bucket would, right after its first burst.
 *
 * Three kinds of write share the budget, one per lane of syncs (SyncLane), most urgent first: lifecycle (an account
 * enabled or disabled: leavers, returns), change (other HR changes of accounts already in Entra, which someone is
 * waiting for) and bulk (enrolments and first syncs, which create accounts). Each kind leaves a reserve of every window
 * to the kinds above it, and a waiting write goes before every waiting write of a kind below it: otherwise a push or a
 * flood of new hires that spent the window makes a change made meanwhile wait for the flood's writes to leave it, up
 * to a whole window, and a mass update does the same to a leaver's disable.
 *
 * With a `ledger` the quota is shared by every worker process (src/db/graph-write-leases.ts): besides its own window, a
 * worker spends writes it leased from PostgreSQL a few at a time, each lease under the limit of the kind it was taken
 * for, and hands back what it did not use when the lease runs out. Precedence between kinds holds within a worker;
 * the reserves hold across workers, because each lease is counted against its kind's limit.
 */
export type WriteKind = 'lifecycle' | 'change' | 'bulk';

/** Most urgent first: the order in which waiting writes are served. */
const KINDS_BY_URGENCY: readonly WriteKind[] = ['lifecycle', 'change', 'bulk'];
const rankOf = (kind: WriteKind): number => KINDS_BY_URGENCY.indexOf(kind);

export interface WriteBudgetOptions {
  capacity: number;
  windowMs: number;
  /** Added to the window: a write sent now may be counted by Graph a little later. Default 1,000 ms. */
  marginMs?: number;
  /** Writes of each window that bulk writes leave to changes. Default 5 % of the capacity (150 of 3,000). */
  reservedForChanges?: number;
  /** Writes of each window that bulk writes and changes leave to lifecycle writes. Default 1 % (30 of 3,000). */
  reservedForLifecycle?: number;
  /** Shares the quota with other worker processes; without it this budget is the process's own. */
  ledger?: WriteLedger;
  /** How long a leased write may be spent (default 2,000 ms); the ledger counts it for the window plus this. */
  leaseTtlMs?: number;
  /** The most writes one lease may grant (default 100). */
  maxLease?: number;
  /**
   * Told of a ledger that could not be reached: asking for a lease (`lease`; the budget asks again after
   * `LEDGER_RETRY_MS_AFTER_FAILURE`), or handing unspent writes back (`settle`; best effort: they count until the
   * lease's span ends, as when a worker stops after PostgreSQL has).
   */
  onLedgerError?: (err: unknown, during: 'lease' | 'settle') => void;
  /** How long a lease request may take before it counts as failed (default 10,000 ms). */
  leaseTimeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** How long the budget waits before asking an unreachable ledger again. */
export const LEDGER_RETRY_MS_AFTER_FAILURE = 1_000;

/** What a lease request leaves the pump to do: wait `waitMs` (0: spend the lease), after a failure without interruption. */
interface LeaseOutcome {
  waitMs: number;
  failed?: boolean;
}
const BACK_OFF: LeaseOutcome = { waitMs: LEDGER_RETRY_MS_AFTER_FAILURE, failed: true };

/** `promise`, or a rejection once `ms` have passed. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the write ledger within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Leased writes held by this process: spendable by its kind and the more urgent ones, until `expiresAt`. */
interface HeldLease {
  id: number;
  rank: number;
  left: number;
  used: number;
  expiresAt: number;
}

export const DEFAULT_WRITE_BUDGET = { capacity: 3000, windowMs: 150_000 } as const;

interface Waiter {
  since: number;
  resolve: (waitedMs: number) => void;
}

/** Why a take was given up: the signal's reason, or an AbortError. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('The wait for the write budget was aborted'), { name: 'AbortError' });
}

export class WriteBudget {
  /** Send times of the last `capacity` writes, a ring buffer; `count` of them are filled. */
  private readonly sent: Float64Array;
  private next = 0;
  private count = 0;
  private readonly spanMs: number;
  private readonly limits: Record<WriteKind, number>;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Callers waiting, per kind, in arrival order. */
  private readonly waiting: Record<WriteKind, Waiter[]> = { lifecycle: [], change: [], bulk: [] };
  private pumping = false;
  /** Ends the pump's current wait early: a more urgent write arrived while it waited for a turn. */
  private wake?: () => void;
  /** Urgency (rank) of the kind the pump works for now; a write of a more urgent kind interrupts its wait. */
  private serving = Infinity;
  /** A more urgent write arrived while the pump was not pausing (e.g. asking the ledger): skip the next pause. */
  private interrupted = false;
  /** The pump waits after a ledger failure: new writes do not make it ask again sooner. */
  private backingOff = false;
  private held?: HeldLease;
  /** The lease request in flight, awaited by release(). */
  private leasing?: Promise<LeaseOutcome>;
  /** After release(): no more leases are kept (a worker stopping). */
  private closed = false;

  constructor(private readonly opts: WriteBudgetOptions) {
    // A monotonic clock: only durations matter, and a wall clock stepped back would stretch a lease's lifetime.
    this.now = opts.now ?? (() => performance.now());
    // Unreferenced: a wait for the budget never keeps a process alive by itself.
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref()));
    if (!(opts.capacity >= 1) || !(opts.windowMs > 0)) throw new RangeError('capacity and windowMs must be positive');
    if (opts.ledger && (!((opts.leaseTtlMs ?? 1) > 0) || !((opts.maxLease ?? 1) >= 1))) {
      throw new RangeError('leaseTtlMs must be positive and maxLease at least 1');
    }
    this.sent = new Float64Array(opts.capacity);
    this.spanMs = opts.windowMs + (opts.marginMs ?? 1000);
    const forChanges = opts.reservedForChanges ?? Math.floor(opts.capacity * 0.05);
    const forLifecycle = opts.reservedForLifecycle ?? Math.floor(opts.capacity * 0.01);
    this.limits = {
      lifecycle: opts.capacity,
      change: Math.max(1, opts.capacity - forLifecycle),
      bulk: Math.max(1, opts.capacity - forLifecycle - forChanges),
    };
  }

  /**
   * Resolves when one write of `kind` may go out; returns how long the caller waited (ms). `signal` gives up the
   * wait (e.g. the activity is cancelled because the worker shuts down): the take rejects and leaves its turn.
   */
  take(kind: WriteKind, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { since: this.now(), resolve };
      if (signal) {
        const onAbort = () => {
          const queue = this.waiting[kind];
          const at = queue.indexOf(waiter);
          if (at < 0) return; // already given its turn
          queue.splice(at, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = (waitedMs) => {
          signal.removeEventListener('abort', onAbort);
          resolve(waitedMs);
        };
      }
      this.waiting[kind].push(waiter);
      if (!this.pumping) void this.pump();
      else if (rankOf(kind) < this.serving && !this.backingOff) {
        this.interrupted = true;
        this.wake?.();
      }
    });
  }

  /** Hands out turns: the most urgent kind first, each kind in arrival order, each as soon as its limit allows. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const kind = KINDS_BY_URGENCY.find((k) => this.waiting[k].length > 0);
        if (!kind) return;
        this.serving = rankOf(kind);
        this.interrupted = false;
        const t = this.now();
        const freeAt = this.freeAt(this.limits[kind], t);
        if (freeAt > t) {
          await this.pause(freeAt - t);
          continue;
        }
        if (this.opts.ledger && !this.canSpendHeld(kind, t)) {
          this.leasing = this.leaseFor(kind, this.opts.ledger);
          const outcome = await this.leasing;
          this.leasing = undefined;
          this.backingOff = outcome.failed === true;
          await this.pause(outcome.waitMs);
          this.backingOff = false;
          continue;
        }
        if (this.held) {
          this.held.left--;
          this.held.used++;
        }
        this.record(t);
        const waiter = this.waiting[kind].shift()!;
        waiter.resolve(t - waiter.since);
      }
    } finally {
      this.pumping = false;
      this.serving = Infinity;
    }
  }

  /** Waits `ms` (nothing when 0), or less when a more urgent write arrives (also one that arrived just before). */
  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.interrupted) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      void this.sleep(Math.ceil(ms)).then(() => resolve());
    });
    this.wake = undefined;
  }

  /**
   * Replaces the held lease by one taken under `kind`'s limit; answers how long to wait before trying again (0 once
   * granted).
   */
  private async leaseFor(kind: WriteKind, ledger: WriteLedger): Promise<LeaseOutcome> {
    // Handed back first, so this lease (and every other worker's) sees those writes free again.
    await this.settleHeld();
    if (this.closed) return BACK_OFF;
    const ttl = this.opts.leaseTtlMs ?? 2_000;
    // The lease's writes go out within `ttl` of asking, so within `ttl` of the ledger granting it.
    const asked = this.now();
    let lease: WriteLease;
    const request = ledger.lease({
      limit: this.limits[kind],
      // Only writes of this kind and more urgent ones may spend it; `kind` is the most urgent waiting.
      wanted: this.waiting[kind].length,
      max: this.opts.maxLease ?? 100,
      spanMs: this.spanMs + ttl,
    });
    try {
      lease = await withTimeout(request, this.opts.leaseTimeoutMs ?? 10_000);
    } catch (err) {
      // A request that timed out may still be granted: hand that back at once.
      request
        .then(async (late) => {
          if (late.id !== undefined) await ledger.settle(late.id, 0);
        })
        .catch(() => undefined);
      this.opts.onLedgerError?.(err, 'lease');
      return BACK_OFF;
    }
    // Refused: ask again when the quota comes back, or sooner, once every lease held now has run out and handed back
    // what it did not use.
    if (lease.id === undefined || lease.granted <= 0) return { waitMs: Math.max(1, Math.min(lease.retryInMs, ttl)) };
    const held: HeldLease = { id: lease.id, rank: rankOf(kind), left: lease.granted, used: 0, expiresAt: asked + ttl };
    this.held = held;
    // Hands back what is left once it can no longer be spent, unless it was replaced (and settled) before.
    void this.sleep(Math.max(0, held.expiresAt - this.now())).then(() => {
      if (this.held === held) void this.settleHeld();
    });
    return { waitMs: 0 };
  }

  private canSpendHeld(kind: WriteKind, t: number): boolean {
    const held = this.held;
    return held !== undefined && held.left > 0 && t < held.expiresAt && rankOf(kind) <= held.rank;
  }

  /** Hands the held lease's unspent writes back to the ledger; best effort (unsettled, they count until the span ends). */
  private settleHeld(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (!held || held.left === 0 || !this.opts.ledger) return Promise.resolve();
    return this.opts.ledger
      .settle(held.id, held.used)
      .catch((err: unknown) => this.opts.onLedgerError?.(err, 'settle'));
  }

  /**
   * Hands back leased writes not spent yet and keeps no more leases (a worker stopping); a lease request in flight is
   * waited for, and what it grants is handed back.
   */
  async release(): Promise<void> {
    this.closed = true;
    await this.leasing?.catch(() => undefined);
    await this.settleHeld();
  }

  /** When the next write under `limit` may go: once fewer than `limit` writes went out within the span. */
  private freeAt(limit: number, t: number): number {
    if (this.count < limit) return t;
    // `next` is where the next send goes; the limit-th most recent send is `limit` slots before it.
    return this.sent[(this.next - limit + this.opts.capacity) % this.opts.capacity]! + this.spanMs;
  }

  private record(t: number): void {
    this.sent[this.next] = t;
    this.next = (this.next + 1) % this.opts.capacity;
    this.count = Math.min(this.count + 1, this.opts.capacity);
  }
}

/**
 * One bucket per (Entra tenant, client id), shared by every activity of the worker process; with `ledgerFor`, each
 * bucket also shares its quota with the other worker processes.
 */
export class WriteBudgets {
  private readonly buckets = new Map<string, WriteBudget>();
  constructor(
    private readonly opts: Omit<WriteBudgetOptions, 'now' | 'sleep' | 'ledger'> = DEFAULT_WRITE_BUDGET,
    private readonly ledgerFor?: (budgetKey: string) => WriteLedger,
  ) {}

  for(graphTenantId: string, clientId: string): WriteBudget {
    const key = `${graphTenantId.toLowerCase()}/${clientId.toLowerCase()}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new WriteBudget({ ...this.opts, ...(this.ledgerFor ? { ledger: this.ledgerFor(key) } : {}) });
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Hands every bucket's unspent leased writes back (the worker stops). */
  async release(): Promise<void> {
    await Promise.all([...this.buckets.values()].map((b) => b.release()));
  }
}
