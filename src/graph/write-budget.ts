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
 */
export type WriteKind = 'lifecycle' | 'change' | 'bulk';

/** Most urgent first: the order in which waiting writes are served. */
const KINDS_BY_URGENCY: readonly WriteKind[] = ['lifecycle', 'change', 'bulk'];

export interface WriteBudgetOptions {
  capacity: number;
  windowMs: number;
  /** Added to the window: a write sent now may be counted by Graph a little later. Default 1,000 ms. */
  marginMs?: number;
  /** Writes of each window that bulk writes leave to changes. Default 5 % of the capacity (150 of 3,000). */
  reservedForChanges?: number;
  /** Writes of each window that bulk writes and changes leave to lifecycle writes. Default 1 % (30 of 3,000). */
  reservedForLifecycle?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
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

  constructor(private readonly opts: WriteBudgetOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
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
      if (this.pumping) this.wake?.();
      else void this.pump();
    });
  }

  /** Hands out turns: the most urgent kind first, each kind in arrival order, each as soon as its limit allows. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const kind = KINDS_BY_URGENCY.find((k) => this.waiting[k].length > 0);
        if (!kind) return;
        const t = this.now();
        const freeAt = this.freeAt(this.limits[kind], t);
        if (freeAt <= t) {
          this.record(t);
          const waiter = this.waiting[kind].shift()!;
          waiter.resolve(t - waiter.since);
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void this.sleep(Math.ceil(freeAt - t)).then(() => resolve());
        });
        this.wake = undefined;
      }
    } finally {
      this.pumping = false;
    }
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

/** One bucket per (Entra tenant, client id), shared by every activity of the worker process. */
export class WriteBudgets {
  private readonly buckets = new Map<string, WriteBudget>();
  constructor(private readonly opts: Omit<WriteBudgetOptions, 'now' | 'sleep'> = DEFAULT_WRITE_BUDGET) {}

  for(graphTenantId: string, clientId: string): WriteBudget {
    const key = `${graphTenantId.toLowerCase()}/${clientId.toLowerCase()}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new WriteBudget(this.opts);
      this.buckets.set(key, b);
    }
    return b;
  }
}
