import { loadConfig } from '../../../src/config';
import type { LeaseRequest, WriteLease, WriteLedger } from '../../../src/db/graph-write-leases';
import {
  LEDGER_RETRY_MS_AFTER_FAILURE,
  WriteBudget,
  WriteBudgets,
  type WriteBudgetOptions,
  type WriteKind,
} from '../../../src/graph/write-budget';
import { writeBudgetFromConfig } from '../../../src/worker';

/** Lets every promise chain that is ready run. */
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

/** A clock whose sleeps end only when the test moves time past them. */
function manualClock() {
  let t = 0;
  let timers: Array<{ at: number; wake: () => void }> = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((wake) => timers.push({ at: t + ms, wake })),
    async advanceTo(at: number) {
      t = at;
      const due = timers.filter((x) => x.at <= t);
      timers = timers.filter((x) => x.at > t);
      for (const x of due) x.wake();
      await settle();
    },
    /** Moves time on without waking any sleeper: a timer that is late (a busy event loop). */
    jumpTo(at: number) {
      t = at;
    },
  };
}

describe('Graph write budget (per Entra tenant and app)', () => {
  function fakeClock() {
    let t = 0;
    return {
      now: () => t,
      sleep: async (ms: number) => void (t += ms),
      elapsed: () => t,
      advance: (ms: number) => void (t += ms),
    };
  }

  it('lets a burst up to the capacity through at once, then waits until the first write leaves the window', async () => {
    const clock = fakeClock();
    const budget = new WriteBudget({ capacity: 3000, windowMs: 150_000, marginMs: 1000, ...clock });
    // Lifecycle writes (leavers) may use every write of the window; the other kinds leave them a reserve.
    for (let i = 0; i < 3000; i++) await budget.take('lifecycle');
    expect(clock.elapsed()).toBe(0);
    await budget.take('lifecycle');
    // Graph counts 3,000 per 150 s: the 3,001st write goes once the 1st is older than the window (plus margin).
    expect(clock.elapsed()).toBe(151_000);
  });

  it('never lets more than the capacity into any window, however the writes arrive', async () => {
    const clock = fakeClock();
    const budget = new WriteBudget({ capacity: 50, windowMs: 10_000, marginMs: 0, ...clock });
    const times: number[] = [];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 1000; i++) {
      clock.advance(Math.floor(random() * 400));
      await budget.take('lifecycle');
      times.push(clock.now());
    }
    for (let i = 0; i + 50 < times.length; i++) expect(times[i + 50]! - times[i]!).toBeGreaterThanOrEqual(10_000);
    // …and it does not hold writes back needlessly: the sustained rate reaches the quota.
    expect(times.length / (times[times.length - 1]! / 10_000)).toBeGreaterThan(45);
  });

  it('serves waiting writers in arrival order', async () => {
    const budget = new WriteBudget({ capacity: 1, windowMs: 20, marginMs: 0 });
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => budget.take('change').then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('leaves the reserve of each window to HR changes: bulk writes wait at the capacity minus it, a change does not', async () => {
    const clock = fakeClock();
    const budget = new WriteBudget({ capacity: 10, windowMs: 1000, marginMs: 0, reservedForChanges: 2, ...clock });
    for (let i = 0; i < 8; i++) await budget.take('bulk');
    expect(clock.elapsed()).toBe(0);
    await budget.take('change');
    await budget.take('change');
    expect(clock.elapsed()).toBe(0);
    await budget.take('bulk');
    expect(clock.elapsed()).toBe(1000);
  });

  it('reserves 5 % of the quota for changes and 1 % for lifecycle writes by default, and bulk writes never use them', async () => {
    const clock = fakeClock();
    const budget = new WriteBudget({ capacity: 3000, windowMs: 150_000, marginMs: 0, ...clock });
    for (let i = 0; i < 2820; i++) await budget.take('bulk');
    expect(clock.elapsed()).toBe(0);
    await budget.take('bulk');
    expect(clock.elapsed()).toBe(150_000);
  });

  it('lets a waiting change go before bulk writes that have waited longer', async () => {
    const clock = manualClock();
    const budget = new WriteBudget({ capacity: 4, windowMs: 1000, marginMs: 0, reservedForChanges: 1, ...clock });
    const order: string[] = [];
    const take = (kind: 'change' | 'bulk', name: string) => budget.take(kind).then(() => void order.push(name));
    const granted = [take('bulk', 'b1'), take('bulk', 'b2'), take('bulk', 'b3')];
    const waiting = [take('bulk', 'b4'), take('change', 'c1'), take('bulk', 'b5'), take('change', 'c2')];
    await Promise.all(granted);
    await clock.advanceTo(1); // c1 fits the reserve at once; b4 and b5 wait for the window, c2 for the capacity
    expect(order).toEqual(['b1', 'b2', 'b3', 'c1']);
    await clock.advanceTo(1000);
    await Promise.all(waiting);
    expect(order).toEqual(['b1', 'b2', 'b3', 'c1', 'c2', 'b4', 'b5']);
  });

  it("leaves 1 % of the quota to lifecycle writes by default: a leaver's disable passes a mass update that spent the rest", async () => {
    const clock = manualClock();
    const budget = new WriteBudget({ capacity: 3000, windowMs: 150_000, marginMs: 0, ...clock });
    for (let i = 0; i < 2970; i++) await budget.take('change');
    const order: string[] = [];
    const take = (kind: WriteKind, name: string) => budget.take(kind).then(() => void order.push(name));
    const waiting = [take('bulk', 'b1'), take('change', 'c1'), take('lifecycle', 'l1'), take('change', 'c2')];
    await clock.advanceTo(1);
    // The mass update's next changes wait for the window; the leaver's disable goes at once.
    expect(order).toEqual(['l1']);
    for (let i = 0; i < 29; i++) await budget.take('lifecycle');
    await clock.advanceTo(150_000);
    await Promise.all(waiting);
    // When the window moves on, waiting writes go most urgent kind first, each kind in arrival order.
    expect(order).toEqual(['l1', 'c1', 'c2', 'b1']);
  });

  it('serves the most urgent waiting kind first: lifecycle, then change, then bulk', async () => {
    const clock = manualClock();
    const budget = new WriteBudget({ capacity: 1, windowMs: 1000, marginMs: 0, ...clock });
    await budget.take('lifecycle');
    const order: string[] = [];
    const take = (kind: WriteKind, name: string) => budget.take(kind).then(() => void order.push(name));
    const waiting = [take('bulk', 'b1'), take('change', 'c1'), take('lifecycle', 'l1'), take('bulk', 'b2')];
    for (const at of [1000, 2000, 3000, 4000]) await clock.advanceTo(at);
    await Promise.all(waiting);
    expect(order).toEqual(['l1', 'c1', 'b1', 'b2']);
  });

  it('gives up a wait when its signal aborts (a worker shutting down), and the writers behind it move up', async () => {
    const clock = manualClock();
    const budget = new WriteBudget({ capacity: 2, windowMs: 1000, marginMs: 0, reservedForChanges: 0, ...clock });
    await budget.take('bulk');
    await budget.take('bulk');
    const order: string[] = [];
    const shutdown = new AbortController();
    const cancelled = budget.take('bulk', shutdown.signal);
    const next = budget.take('bulk').then(() => void order.push('next'));
    const last = budget.take('bulk').then(() => void order.push('last'));
    shutdown.abort(new Error('worker shutting down'));
    await expect(cancelled).rejects.toThrow('worker shutting down');
    await clock.advanceTo(1000);
    await Promise.all([next, last]);
    // The window had room for two writes again: both went to the writers still waiting.
    expect(order).toEqual(['next', 'last']);
    await expect(budget.take('change', AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('takes the reserves from GRAPH_CHANGE_RESERVE_PERCENT (5 %) and GRAPH_LIFECYCLE_RESERVE_PERCENT (1 %), at most half', async () => {
    expect(writeBudgetFromConfig(loadConfig({}))).toEqual({
      capacity: 3000,
      windowMs: 150_000,
      reservedForChanges: 150,
      reservedForLifecycle: 30,
    });
    const options = writeBudgetFromConfig(
      loadConfig({ GRAPH_WRITES_PER_WINDOW: '100', GRAPH_CHANGE_RESERVE_PERCENT: '20' }),
    );
    const clock = fakeClock();
    const budget = new WriteBudget({ ...options, ...clock });
    // Bulk writes also leave the lifecycle reserve (1 %) free, which changes may not use either.
    for (let i = 0; i < 79; i++) await budget.take('bulk');
    for (let i = 0; i < 20; i++) await budget.take('change');
    await budget.take('lifecycle');
    expect(clock.elapsed()).toBe(0);
    await budget.take('bulk');
    expect(clock.elapsed()).toBeGreaterThanOrEqual(150_000);
    expect(() => loadConfig({ GRAPH_CHANGE_RESERVE_PERCENT: '60' })).toThrow(/GRAPH_CHANGE_RESERVE_PERCENT/);

    const lifecycle = new WriteBudget({
      ...writeBudgetFromConfig(loadConfig({ GRAPH_WRITES_PER_WINDOW: '100', GRAPH_LIFECYCLE_RESERVE_PERCENT: '10' })),
      ...clock,
    });
    const start = clock.elapsed();
    for (let i = 0; i < 90; i++) await lifecycle.take('change');
    for (let i = 0; i < 10; i++) await lifecycle.take('lifecycle');
    expect(clock.elapsed()).toBe(start);
    await lifecycle.take('change');
    expect(clock.elapsed()).toBeGreaterThanOrEqual(start + 150_000);
    expect(() => loadConfig({ GRAPH_LIFECYCLE_RESERVE_PERCENT: '51' })).toThrow(/GRAPH_LIFECYCLE_RESERVE_PERCENT/);
    // A small budget still keeps one write of each window for leavers; 0 % means none.
    expect(writeBudgetFromConfig(loadConfig({ GRAPH_WRITES_PER_WINDOW: '60' }))).toMatchObject({
      reservedForChanges: 3,
      reservedForLifecycle: 1,
    });
    expect(
      writeBudgetFromConfig(loadConfig({ GRAPH_WRITES_PER_WINDOW: '60', GRAPH_LIFECYCLE_RESERVE_PERCENT: '0' })),
    ).toMatchObject({ reservedForLifecycle: 0 });
    expect(() => loadConfig({ GRAPH_CHANGE_RESERVE_PERCENT: '30', GRAPH_LIFECYCLE_RESERVE_PERCENT: '30' })).toThrow(
      /together may reserve at most 50 %/,
    );
  });

  it('keeps one budget per (tenant, app) pair', () => {
    const budgets = new WriteBudgets({ capacity: 1, windowMs: 1000 });
    expect(budgets.for('T1', 'app')).toBe(budgets.for('t1', 'APP'));
    expect(budgets.for('t1', 'app')).not.toBe(budgets.for('t2', 'app'));
  });
});

/** The budget's side of sharing the quota; the ledger itself (PostgreSQL) is tested in shared-write-budget.test.ts. */
describe('Graph write budget shared through a ledger', () => {
  /** A ledger the test answers by hand: each lease request waits for `grant`, `refuse` or `fail`. */
  function scriptedLedger() {
    const requests: Array<LeaseRequest & { answer: (l: WriteLease) => void; fail: (e: Error) => void }> = [];
    const settled: Array<[number, number]> = [];
    let ids = 0;
    const ledger: WriteLedger = {
      lease: (req) => new Promise((answer, fail) => requests.push({ ...req, answer, fail })),
      settle: async (id, used) => void settled.push([id, used]),
    };
    const pending = () => requests.at(-1)!;
    return {
      ledger,
      requests,
      settled,
      grant: async (n: number) => (pending().answer({ id: ++ids, granted: n, retryInMs: 0 }), settle()),
      refuse: async (retryInMs: number) => (pending().answer({ granted: 0, retryInMs }), settle()),
      fail: async () => (pending().fail(new Error('connection refused')), settle()),
    };
  }

  // Reserves of 5 (changes) and 1 (lifecycle) by default: limits 94 bulk, 99 change, 100 lifecycle.
  const options = { capacity: 100, windowMs: 10_000, marginMs: 1_000, leaseTtlMs: 2_000 };

  /** A budget on a manual clock with a scripted ledger. */
  function sharedBudget(extra: Partial<WriteBudgetOptions> = {}) {
    const clock = manualClock();
    const l = scriptedLedger();
    const budget = new WriteBudget({ ...options, ledger: l.ledger, ...clock, ...extra });
    return { clock, l, budget };
  }

  it('asks for a lease counted for the window, the margin and its lifetime, under the limit of the kind waiting', async () => {
    const { l, budget } = sharedBudget();
    const bulk = budget.take('bulk');
    await settle();
    expect(l.requests[0]).toMatchObject({ limit: 94, wanted: 1, spanMs: 13_000 });
    await l.grant(1);
    await bulk;
  });

  it('spends a lease on its own kind and more urgent ones only, so a kind below never uses a reserve', async () => {
    const { l, budget } = sharedBudget();
    const change = budget.take('change');
    await settle();
    await l.grant(5); // under the change limit (99)
    await change;
    // A lifecycle write may spend it…
    await budget.take('lifecycle');
    expect(l.requests).toHaveLength(1);
    // …a bulk write may not: its four unspent writes go back, and bulk asks under its own limit (94).
    const bulk = budget.take('bulk');
    await settle();
    expect(l.settled).toEqual([[1, 2]]);
    expect(l.requests[1]).toMatchObject({ limit: 94 });
    await l.grant(1);
    await bulk;
  });

  it('does not spend a lease past its lifetime, and hands back what it did not spend', async () => {
    const { clock, l, budget } = sharedBudget();
    const first = budget.take('change');
    await settle();
    await l.grant(10);
    await first;
    // The lease's lifetime is over though its timer has not fired yet: a write now asks for a new lease…
    clock.jumpTo(2_000);
    const late = budget.take('change');
    await settle();
    expect(l.requests).toHaveLength(2);
    // …and the old one's 9 unspent writes go back first.
    expect(l.settled).toEqual([[1, 1]]);
    await l.grant(5);
    await late;
    // A lease whose lifetime ends unspent is handed back by its timer.
    await clock.advanceTo(4_000);
    expect(l.settled).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it('serves a more urgent write that arrives while the ledger is asked, without waiting out the refusal', async () => {
    const { l, budget } = sharedBudget({ reservedForChanges: 10, reservedForLifecycle: 5 });
    let bulkDone = false;
    void budget.take('bulk').then(() => (bulkDone = true));
    await settle();
    let leaverDone = false;
    const leaver = budget.take('lifecycle').then(() => (leaverDone = true));
    await l.refuse(60_000); // bulk's share is spent
    // Asked again at once, for the leaver and under the lifecycle limit, though no time passed.
    expect(l.requests[1]).toMatchObject({ limit: 100 });
    await l.grant(1);
    await leaver;
    expect(leaverDone).toBe(true);
    expect(bulkDone).toBe(false);
  });

  it('tells a failed hand-back apart from a failed lease (a worker stopping after PostgreSQL did)', async () => {
    const told: string[] = [];
    const { l, budget } = sharedBudget({ onLedgerError: (_e, during) => told.push(during) });
    const write = budget.take('change');
    await settle();
    await l.grant(10);
    await write;
    l.ledger.settle = () => Promise.reject(new Error('read ECONNRESET'));
    await budget.release();
    expect(told).toEqual(['settle']);
  });

  it('after a ledger failure waits before asking again, however many writes arrive meanwhile', async () => {
    const errors: unknown[] = [];
    const during: string[] = [];
    const { clock, l, budget } = sharedBudget({ onLedgerError: (e, d) => (errors.push(e), during.push(d)) });
    const writes = [budget.take('bulk')];
    await settle();
    await l.fail();
    writes.push(budget.take('change'), budget.take('lifecycle'));
    await settle();
    expect(l.requests).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(during).toEqual(['lease']);
    await clock.advanceTo(LEDGER_RETRY_MS_AFTER_FAILURE);
    // Then each kind in turn, most urgent first.
    expect(l.requests).toHaveLength(2);
    expect(l.requests.map((r) => r.limit)).toEqual([94, 100]);
    for (let i = 0; i < 3; i++) await l.grant(1);
    expect(l.requests.map((r) => r.limit)).toEqual([94, 100, 99, 94]);
    await Promise.all(writes);
  });

  it('hands back at once a lease granted after release(), and release() waits for it', async () => {
    const { l, budget } = sharedBudget();
    const shutdown = new AbortController();
    const write = budget.take('change', shutdown.signal).catch(() => 'given up');
    await settle();
    shutdown.abort(); // the sync is cancelled while its lease is asked for
    let released = false;
    const release = budget.release().then(() => (released = true));
    await settle();
    expect(released).toBe(false);
    await l.grant(10);
    await release;
    expect(l.settled).toEqual([[1, 0]]);
    expect(await write).toBe('given up');
  });

  it('refuses settings that would lease nothing', () => {
    const l = scriptedLedger();
    expect(() => new WriteBudget({ ...options, leaseTtlMs: 0, ledger: l.ledger })).toThrow(RangeError);
    expect(() => new WriteBudget({ ...options, maxLease: 0, ledger: l.ledger })).toThrow(RangeError);
    expect(() => new WriteBudget({ ...options, capacity: 0 })).toThrow(RangeError);
  });
});
