import { WriteBudget, WriteBudgets } from '../../../src/graph/write-budget';

describe('Graph write budget (token bucket per Entra tenant and app)', () => {
  function fakeClock() {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
  }

  it('lets a burst up to the capacity through at once, then paces writes at capacity per window', async () => {
    const clock = fakeClock();
    const budget = new WriteBudget({ capacity: 3000, windowMs: 150_000, ...clock });
    for (let i = 0; i < 3000; i++) await budget.take();
    expect(clock.elapsed()).toBe(0);
    for (let i = 0; i < 20; i++) await budget.take();
    // 20 writes/s sustained: 20 more take about a second.
    expect(clock.elapsed()).toBeGreaterThanOrEqual(1000);
    expect(clock.elapsed()).toBeLessThan(1100);
  });

  it('keeps one bucket per (tenant, app) pair', () => {
    const budgets = new WriteBudgets({ capacity: 1, windowMs: 1000 });
    expect(budgets.for('T1', 'app')).toBe(budgets.for('t1', 'APP'));
    expect(budgets.for('t1', 'app')).not.toBe(budgets.for('t2', 'app'));
  });
});
