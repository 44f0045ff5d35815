/**
 * Token bucket for Graph writes per (Entra tenant, app). Graph allows an app 3,000 writes per 150 s in one
 * tenant (graph.md §10); the worker waits for a token before each POST/PATCH/PUT/DELETE instead of bouncing off
 * 429s. Starts full, so a small burst goes out at once, then refills evenly.
 */
export interface WriteBudgetOptions {
  capacity: number;
  windowMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_WRITE_BUDGET = { capacity: 3000, windowMs: 150_000 } as const;

export class WriteBudget {
  private tokens: number;
  private last: number;
  private readonly refillPerMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Callers waiting, so they are served in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: WriteBudgetOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.tokens = opts.capacity;
    this.last = this.now();
    this.refillPerMs = opts.capacity / opts.windowMs;
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
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return waited;
      }
      const ms = Math.ceil((1 - this.tokens) / this.refillPerMs);
      await this.sleep(ms);
      waited += ms;
    }
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.opts.capacity, this.tokens + (t - this.last) * this.refillPerMs);
    this.last = t;
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
