import { loadConfig } from '../../../src/config';
import { pruneDeliveredOutbox, pruneRange, PRUNE_LOCK_KEY } from '../../../src/db/outbox-retention';
import { silentLogger } from '../../../src/logger';
import { OutboxPruner, outboxRetentionMsFromConfig } from '../../../src/relay/outbox-pruner';
import { createWorkerProcess } from '../../../src/worker';
import { eventually, workflowBundle } from '../../workflows/support/env';
import { createTestDb, type TestDb } from '../../support/db';
import { createEmployee } from './support';

const DAY = 86_400_000;

/** Delivered outbox rows are deleted after the retention; undelivered ones never. Real PostgreSQL. */
describe('outbox retention', () => {
  let t: TestDb;
  let tenants: string[];

  beforeAll(async () => {
    t = await createTestDb();
    const rows = await t
      .db('tenants')
      .insert([{ name: 'Acme' }, { name: 'Globex' }])
      .returning('id');
    tenants = rows.map((r: { id: string }) => r.id);
  });
  afterAll(async () => {
    await t?.drop();
  });
  beforeEach(async () => {
    await t.db('outbox').del();
  });

  /**
   * An employee's outbox row (written as SCIM writes it), created `createdDaysAgo` days ago and delivered
   * `deliveredDaysAgo` days ago, or never.
   */
  async function outboxRow(tenantId: string, deliveredDaysAgo: number | null, createdDaysAgo = 30): Promise<number> {
    const employee = await createEmployee(t.db, tenantId, { user_name: `u${Math.random()}@contoso.com` });
    const daysAgo = (days: number) => t.db.raw(`now() - ? * interval '1 day'`, [days]);
    const [row] = await t
      .db('outbox')
      .where({ employee_id: employee.id })
      .update(
        {
          created_at: daysAgo(Math.max(createdDaysAgo, deliveredDaysAgo ?? 0)),
          delivered_at: deliveredDaysAgo === null ? null : daysAgo(deliveredDaysAgo),
        },
        ['id'],
      );
    return row.id as number;
  }

  const remaining = async () => (await t.db('outbox').orderBy('id').pluck('id')) as number[];
  /** Until the outbox holds exactly `ids`. */
  const outboxHolds = (ids: number[]) =>
    eventually(async () => JSON.stringify(await remaining()) === JSON.stringify(ids));

  it('deletes rows delivered longer ago than the retention, in every tenant, and keeps the rest', async () => {
    const old = [await outboxRow(tenants[0]!, 8), await outboxRow(tenants[1]!, 30)];
    const young = [await outboxRow(tenants[0]!, 6), await outboxRow(tenants[1]!, 0)];
    // Never delivered, for 30 days: a change still on its way (Temporal away, outbound off …). It stays.
    const undelivered = [await outboxRow(tenants[0]!, null), await outboxRow(tenants[1]!, null)];

    const pruner = new OutboxPruner({ db: t.db, logger: silentLogger(), retentionMs: 7 * DAY });
    expect(await pruner.pruneOnce()).toBe(old.length);
    expect(await remaining()).toEqual([...young, ...undelivered].sort((a, b) => a - b));
    expect(await pruner.pruneOnce()).toBe(0);
  });

  it('goes through a large backlog a page at a time, past pages with nothing to delete', async () => {
    // Three changes still undelivered after 30 days (outbound was off, or Temporal away), then the delivered ones.
    const undelivered = [];
    for (let i = 0; i < 3; i++) undelivered.push(await outboxRow(tenants[i % 2]!, null));
    const old = [];
    for (let i = 0; i < 4; i++) old.push(await outboxRow(tenants[i % 2]!, 10 + i));
    const young = await outboxRow(tenants[0]!, 1);
    const range = await pruneRange(t.db, 7 * DAY);

    // One statement reads a page of ids (short transactions beside SCIM writes) and deletes the delivered ones …
    expect(await pruneDeliveredOutbox(t.db, range, 0, 3)).toEqual({ read: 3, deleted: 0, lastId: undelivered[2] });
    expect(await pruneDeliveredOutbox(t.db, range, undelivered[2]!, 3)).toEqual({
      read: 3,
      deleted: 3,
      lastId: old[2],
    });
    expect(await remaining()).toEqual([...undelivered, old[3], young]);
    // … and a pass goes on page after page until the end of the range, whatever a page deleted.
    await t
      .db('outbox')
      .whereIn('id', undelivered.slice(0, 2))
      .update({ delivered_at: t.db.raw(`now() - interval '8 days'`) });
    const pruner = new OutboxPruner({ db: t.db, logger: silentLogger(), retentionMs: 7 * DAY, batchSize: 3 });
    expect(await pruner.pruneOnce()).toBe(3);
    expect(await remaining()).toEqual([undelivered[2], young]);
  });

  it('leaves the rows to the process holding the pruning lock', async () => {
    const old = await outboxRow(tenants[0]!, 9);
    await t.db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [PRUNE_LOCK_KEY]);
      expect((await pruneDeliveredOutbox(t.db, await pruneRange(t.db, 7 * DAY), 0, 100)).deleted).toBe(0);
    });
    expect(await remaining()).toEqual([old]);
    expect((await pruneDeliveredOutbox(t.db, await pruneRange(t.db, 7 * DAY), 0, 100)).deleted).toBe(1);
  });

  it('looks at start and then at every interval until stopped', async () => {
    await outboxRow(tenants[0]!, 8);
    const pruner = new OutboxPruner({ db: t.db, logger: silentLogger(), retentionMs: 7 * DAY, intervalMs: 50 });
    pruner.start();
    try {
      await outboxHolds([]);
      // A row that passes the retention later goes at a later look.
      const later = await outboxRow(tenants[1]!, 1);
      await t
        .db('outbox')
        .where({ id: later })
        .update({ delivered_at: t.db.raw(`now() - interval '8 days'`) });
      await outboxHolds([]);
    } finally {
      await pruner.stop();
    }
    const afterStop = await outboxRow(tenants[1]!, 8);
    await new Promise((r) => setTimeout(r, 200));
    expect(await remaining()).toEqual([afterStop]);
  });

  it('keeps 7 days by default; OUTBOX_RETENTION_DAYS=0 keeps every row', () => {
    expect(outboxRetentionMsFromConfig(loadConfig({}))).toBe(7 * DAY);
    expect(outboxRetentionMsFromConfig(loadConfig({ OUTBOX_RETENTION_DAYS: '30' }))).toBe(30 * DAY);
    expect(outboxRetentionMsFromConfig(loadConfig({ OUTBOX_RETENTION_DAYS: '0' }))).toBeUndefined();
    expect(() => loadConfig({ OUTBOX_RETENTION_DAYS: '-1' })).toThrow(/OUTBOX_RETENTION_DAYS/);
    expect(() => loadConfig({ OUTBOX_RETENTION_DAYS: 'a week' })).toThrow(/OUTBOX_RETENTION_DAYS/);
  });

  it('reads only the rows created before the retention began: a pass stops at the first one created since', async () => {
    await outboxRow(tenants[0]!, 9, 10);
    const recent = await outboxRow(tenants[0]!, 1, 1);
    // Committed after `recent` by a transaction that began 8 days ago (its created_at is the transaction's start).
    const late = await outboxRow(tenants[1]!, 8, 8);

    const range = await pruneRange(t.db, 7 * DAY);
    expect(range.beforeId).toBe(recent);
    expect((await pruneDeliveredOutbox(t.db, range, 0, 100)).deleted).toBe(1);
    expect(await remaining()).toEqual([recent, late]);

    // Once `recent` is past the retention too, the next pass gets to the late row.
    await t
      .db('outbox')
      .where({ id: recent })
      .update({ created_at: t.db.raw(`now() - interval '9 days'`) });
    await t
      .db('outbox')
      .where({ id: recent })
      .update({ delivered_at: t.db.raw(`now() - interval '8 days'`) });
    const pruner = new OutboxPruner({ db: t.db, logger: silentLogger(), retentionMs: 7 * DAY });
    expect(await pruner.pruneOnce()).toBe(2);
    expect(await remaining()).toEqual([]);
  });

  it('the worker process prunes when it starts, with its relay, when a retention is set', async () => {
    await outboxRow(tenants[0]!, 8);
    const young = await outboxRow(tenants[0]!, 1);
    const worker = await createWorkerProcess({
      db: t.db,
      logger: silentLogger(),
      temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!,
      taskQueue: `retention-${Date.now()}`,
      workflowBundle: await workflowBundle(),
      outboxRetentionMs: 7 * DAY,
    });
    try {
      await outboxHolds([young]);
    } finally {
      await worker.stop();
    }
  });
});
