import { postgresWriteLedger } from '../../../src/db/graph-write-leases';
import { createDb, type Db } from '../../../src/db/knex';
import { createGraphClient, graphOrigin } from '../../../src/graph/client';
import { GraphDirectory } from '../../../src/graph/directory';
import { WriteBudget, type WriteBudgetOptions, type WriteKind } from '../../../src/graph/write-budget';
import { createTestDb, type TestDb } from '../../support/db';
import { APP_ID, APP_SECRET, ENTRA_TENANT, startTestEmulator, VERIFIED, type TestEmulator } from './support';

/**
 * Graph's write quota is per Entra tenant and app, however many worker processes run. Each "worker" here is a
 * WriteBudget on a connection pool of its own, sharing the quota through the real PostgreSQL ledger (migration 030).
 */
describe('Graph write budget shared by worker processes', () => {
  let t: TestDb;
  const pools: Db[] = [];
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.destroy()));
    await t.drop();
  });

  let keys = 0;
  /** Two workers' budgets for one Entra tenant and app, each on its own pool. */
  function twoWorkers(opts: Omit<WriteBudgetOptions, 'ledger'>): [WriteBudget, WriteBudget] {
    const key = `${ENTRA_TENANT}/app-${++keys}`;
    const worker = () => {
      const pool = createDb({ url: t.url, poolMax: 2 });
      pools.push(pool);
      return new WriteBudget({ leaseTtlMs: 200, ...opts, ledger: postgresWriteLedger(pool, key) });
    };
    return [worker(), worker()];
  }

  /** Takes `n` writes of `kind` one after another, as syncs do; resolves with the time each went. */
  async function writes(budget: WriteBudget, n: number, kind: WriteKind = 'change'): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      await budget.take(kind);
      times.push(Date.now());
    }
    return times;
  }

  /** The most writes found within any `windowMs`. */
  function busiestWindow(times: number[], windowMs: number): number {
    const sorted = [...times].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; j < sorted.length; j++) {
      while (sorted[j]! - sorted[i]! >= windowMs) i++;
      most = Math.max(most, j - i + 1);
    }
    return most;
  }

  it('keeps two workers together within the quota in every window, and lets them use all of it', async () => {
    const [a, b] = twoWorkers({ capacity: 12, windowMs: 1_500, marginMs: 0 });
    const started = Date.now();
    const [ta, tb] = await Promise.all([writes(a, 24), writes(b, 24)]);
    // Each worker alone would allow 12 per window, 24 together; shared, the two stay at 12.
    expect(busiestWindow([...ta, ...tb], 1_500)).toBeLessThanOrEqual(12);
    expect(ta.length + tb.length).toBe(48);
    // 48 writes at 12 per window (plus the lease's 200 ms): the first 12 at once, then 12 per ~1.7 s.
    expect(Date.now() - started).toBeLessThan(4 * 1_700 + 2_000);
  }, 30_000);

  it('hands back the writes a lease did not use, so another worker can spend them at once', async () => {
    const [a, b] = twoWorkers({
      capacity: 100,
      windowMs: 20_000,
      marginMs: 0,
      leaseTtlMs: 100,
      reservedForChanges: 0,
      reservedForLifecycle: 0,
    });
    // One write; its lease took more (a tenth of the quota) for writes that did not come.
    await writes(a, 1);
    const leased = await t.db('graph_write_leases').where('budget_key', 'like', `%/app-${keys}`).sum('writes as n');
    expect(Number(leased[0].n)).toBeGreaterThan(1);
    // Once the lease runs out, worker A counts only the write it sent.
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await writes(b, 99);
    expect(Date.now() - started).toBeLessThan(5_000); // not the 20 s window
    // The quota is spent: the next write waits for the window.
    const abort = AbortSignal.timeout(300);
    await expect(b.take('change', abort)).rejects.toBeDefined();
  }, 30_000);

  it('a worker refused by the quota gets the writes another worker hands back, without waiting for the window', async () => {
    const [, b] = twoWorkers({
      capacity: 20,
      windowMs: 60_000,
      marginMs: 0,
      leaseTtlMs: 300,
      reservedForChanges: 0,
      reservedForLifecycle: 0,
    });
    // Another worker holds a lease of the whole quota: it had 20 syncs waiting, then most of them were called off.
    const other = postgresWriteLedger(t.db, `${ENTRA_TENANT}/app-${keys}`);
    const held = await other.lease({ limit: 20, wanted: 20, max: 100, spanMs: 60_300 });
    expect(held.granted).toBe(20);
    const started = Date.now();
    const waiting = b.take('change');
    await new Promise((r) => setTimeout(r, 200));
    await other.settle(held.id!, 2);
    await waiting;
    expect(Date.now() - started).toBeLessThan(3_000); // not the 60 s window
  }, 30_000);

  it("leaves each kind's reserve to the more urgent kinds, across workers", async () => {
    const [a, b] = twoWorkers({
      capacity: 10,
      windowMs: 60_000,
      marginMs: 0,
      reservedForChanges: 3,
      reservedForLifecycle: 1,
    });
    // Bulk writes (a push) may use 6 of the 10, whichever worker runs them.
    await Promise.all([writes(a, 3, 'bulk'), writes(b, 3, 'bulk')]);
    await expect(a.take('bulk', AbortSignal.timeout(300))).rejects.toBeDefined();
    // A change on the other worker goes at once: 3 are left to changes.
    await writes(b, 3, 'change');
    await expect(a.take('change', AbortSignal.timeout(300))).rejects.toBeDefined();
    // …and a leaver's disable still finds the lifecycle reserve.
    await writes(a, 1, 'lifecycle');
  }, 30_000);

  it('counts a lease committed while it waited for the lock, also where the database defaults to REPEATABLE READ', async () => {
    const name = new URL(t.url).pathname.slice(1);
    await t.db.raw(`ALTER DATABASE ?? SET default_transaction_isolation TO 'repeatable read'`, [name]);
    const pool = createDb({ url: t.url, poolMax: 1 });
    pools.push(pool);
    try {
      const key = `${ENTRA_TENANT}/isolation`;
      const ledger = postgresWriteLedger(pool, key);
      let asked: Promise<unknown> | undefined;
      await t.db.transaction(async (other) => {
        // Another worker holds the key's lock while it takes the whole quota.
        await other.raw(`SELECT pg_advisory_xact_lock(hashtextextended('graph_write_leases:' || ?, 0))`, [key]);
        asked = ledger.lease({ limit: 10, wanted: 1, max: 100, spanMs: 60_000 });
        await new Promise((r) => setTimeout(r, 300)); // this lease now waits for the lock
        await other('graph_write_leases').insert({
          budget_key: key,
          granted_at: other.fn.now(),
          counts_until: other.raw(`now() + interval '1 minute'`),
          writes: 10,
        });
      });
      // A snapshot taken before the lock would not see those 10 and grant more.
      expect(await asked).toMatchObject({ granted: 0 });
    } finally {
      await t.db.raw(`ALTER DATABASE ?? RESET default_transaction_isolation`, [name]);
    }
  });

  it('tells of a ledger it cannot reach and waits instead of writing past the quota', async () => {
    const pool = createDb({ url: t.url, poolMax: 1 });
    await pool.destroy();
    const errors: unknown[] = [];
    const budget = new WriteBudget({
      capacity: 10,
      windowMs: 60_000,
      ledger: postgresWriteLedger(pool, `${ENTRA_TENANT}/unreachable`),
      onLedgerError: (err) => errors.push(err),
    });
    await expect(budget.take('change', AbortSignal.timeout(500))).rejects.toBeDefined();
    expect(errors.length).toBeGreaterThan(0);
  });

  describe("against the emulator at Graph's write limit (scaled down)", () => {
    let em: TestEmulator;
    beforeAll(async () => {
      em = await startTestEmulator({ throttling: { appTenantWrites: 10, appTenantWriteWindowMs: 2_000 } });
    });
    afterAll(() => em?.stop());

    it('two workers creating accounts together draw no 429', async () => {
      const [a, b] = twoWorkers({ capacity: 10, windowMs: 2_000 });
      const directoryOf = (budget: WriteBudget) =>
        new GraphDirectory(
          createGraphClient(
            {
              graphTenantId: ENTRA_TENANT,
              clientId: APP_ID,
              clientSecret: APP_SECRET,
              authorityHost: em.url,
              graphBaseUrl: `${em.url}/v1.0`,
            },
            { budget, extraCaPem: em.ca },
          ),
          graphOrigin(`${em.url}/v1.0`),
        );
      const create = async (dir: GraphDirectory, who: string, n: number) => {
        for (let i = 0; i < n; i++) {
          await dir.createUser({
            accountEnabled: true,
            displayName: `${who} ${i}`,
            mailNickname: `${who}.${i}`,
            userPrincipalName: `${who}.${i}@${VERIFIED}`,
            passwordProfile: { forceChangePasswordNextSignIn: true, password: 'kT9#mQ2vLp!x' },
          });
        }
      };
      await Promise.all([create(directoryOf(a), 'worker-a', 15), create(directoryOf(b), 'worker-b', 15)]);
      const posts = (await em.requests()).filter((r) => r.method === 'POST' && r.url.endsWith('/users'));
      expect(posts.filter((r) => r.status === 429)).toEqual([]);
      expect(posts.filter((r) => r.status === 201)).toHaveLength(30);
    }, 60_000);
  });
});
