import { randomBytes } from 'node:crypto';
import { createDb, withDatabase, type Db } from '../../src/db/knex';
import { TEMPLATE_DB } from './shared';

export interface TestDb {
  db: Db;
  url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database on the real PostgreSQL started by global setup, cloned from the template (tens of
 * milliseconds). One per test file keeps files independent when jest runs them in parallel.
 */
export async function createTestDb(): Promise<TestDb> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  if (!adminUrl)
    throw new Error('TEST_PG_ADMIN_URL is not set: run tests through jest (global setup starts PostgreSQL)');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = createDb({ url: adminUrl, poolMax: 1 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.raw('CREATE DATABASE ?? TEMPLATE ??', [name, TEMPLATE_DB]);
        break;
      } catch (err) {
        // Two files cloning at the same instant can see "source database is being accessed by other users".
        if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.destroy();
  }
  const url = withDatabase(adminUrl, name);
  const db = createDb({ url, poolMax: 10 });
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      const a = createDb({ url: adminUrl, poolMax: 1 });
      await a.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      await a.destroy();
    },
  };
}
