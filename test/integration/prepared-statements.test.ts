import { createDb, type Db } from '../../src/db/knex';
import { createTestDb, type TestDb } from '../support/db';

describe('prepared statements', () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await createTestDb();
    // One connection, so the statements prepared on it can be seen from it.
    db = createDb({ url: t.url, poolMax: 1 });
  });
  afterAll(async () => {
    await db.destroy();
    await t.drop();
  });

  const prepared = async (): Promise<string[]> =>
    (await db.raw<{ rows: Array<{ statement: string }> }>('SELECT statement FROM pg_prepared_statements')).rows.map(
      (r) => r.statement,
    );

  it('prepares a DML statement once per connection and reuses it with other values', async () => {
    await db('tenants').where({ name: 'a' }).select('id');
    await db('tenants').where({ name: 'b' }).select('id');
    const statements = (await prepared()).filter((s) => s.includes('from "tenants" where "name"'));
    expect(statements).toHaveLength(1);
  });

  it('leaves transaction control and DDL unprepared', async () => {
    await db.transaction(async (trx) => {
      await trx.raw('CREATE TEMP TABLE scratch (x int) ON COMMIT DROP');
    });
    expect((await prepared()).some((s) => /^(BEGIN|COMMIT|CREATE)/i.test(s))).toBe(false);
  });

  it('recovers when a migration changes the columns a prepared SELECT * returns', async () => {
    await db.raw('CREATE TABLE evolving (id int)');
    await db('evolving').insert({ id: 1 });
    expect(await db('evolving').select('*')).toEqual([{ id: 1 }]);
    await db.raw('ALTER TABLE evolving ADD COLUMN note text');
    expect(await db('evolving').select('*')).toEqual([{ id: 1, note: null }]);
    expect(await db('evolving').select('*')).toEqual([{ id: 1, note: null }]);
  });

  it('can be switched off', async () => {
    const plain = createDb({ url: t.url, poolMax: 1, preparedStatements: false });
    await plain('tenants').where({ name: 'c' }).select('id');
    const rows = await plain.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_prepared_statements');
    expect(rows.rows).toHaveLength(0);
    await plain.destroy();
  });
});
