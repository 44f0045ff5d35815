/**
 * Write budget per (Entra tenant, app). Graph allows an app 3,000 writes per 150 s in one tenant (graph.md §10); the
 * worker waits before each POST/PATCH/PUT/DELETE instead of bouncing off 429s. It keeps the send times of the last
 * `capacity` writes and lets a write go only while fewer than `capacity` went out in the last window (plus a margin
 * for the time a request takes to reach Graph). A sliding window never exceeds the quota whether Graph counts in
 * fixed or sliding windows — a refilling token bucket would, right after its first burst.
 */
export interface WriteBudgetOptions {
  capacity: number;
  windowMs: number;
  /** Added to the window: a write sent now may be counted by Graph a little later. Default 1,000 ms. */
  marginMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_WRITE_BUDGET = { capacity: 3000, windowMs: 150_000 } as const;

export class WriteBudget {
  /** Send times of the last `capacity` writes, a ring buffer; `count` of them are filled. */
  private readonly sent: Float64Array;
  private next = 0;
  private count = 0;
  private readonly spanMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Callers waiting, so they are served in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: WriteBudgetOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.sent = new Float64Array(opts.capacity);
    this.spanMs = opts.windowMs + (opts.marginMs ?? 1000);
  }

  /** Resolves when one write may go out; returns how long the caller waited (ms). */
  take(): Promise<number> {
    const turn = this.queue.then(() => this.takeInOrder());
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private async takeInOrder(): Promise<number> {
    let waited = 0;
    for (;;) {
      const t = this.now();
      // Once full, `next` points at the oldest of the last `capacity` writes.
      const freeAt = this.count < this.opts.capacity ? t : this.sent[this.next]! + this.spanMs;
      if (freeAt <= t) {
        this.sent[this.next] = t;
        this.next = (this.next + 1) % this.opts.capacity;
        this.count = Math.min(this.count + 1, this.opts.capacity);
        return waited;
      }
      const ms = Math.ceil(freeAt - t);
      await this.sleep(ms);
      waited += ms;
    }
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
