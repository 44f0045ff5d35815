import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createPreparingPgClient } from './prepared-statements';

export type Db = Knex;

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Prepare hot statements once per connection (default true); see prepared-statements.ts. */
  preparedStatements?: boolean;
}

/** A knex instance on PostgreSQL. Timestamps come back as Date, `date` columns as 'YYYY-MM-DD' strings. */
export function createDb({ url, poolMax = 20, preparedStatements = true }: DbOptions): Db {
  return knexFactory({
    client: preparedStatements ? (createPreparingPgClient() as unknown as typeof Knex.Client) : 'pg',
    connection: url,
    pool: { min: 0, max: poolMax },
  });
}

// pg parses `date` columns into local-time Date objects, which shifts birthdays across time zones; keep the text.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgTypes = (require('pg') as typeof import('pg')).types;
pgTypes.setTypeParser(1082, (v: string) => v);
// bigint ids (audit, outbox) fit in a JS number for any realistic volume.
pgTypes.setTypeParser(20, (v: string) => Number(v));

const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');
const MIGRATION_FILE = /^\d{8}_\d{3}_[a-z0-9_]+\.(ts|js)$/;

/**
 * Reads migrations from the top-level `migrations/` folder next to this build (`.ts` under ts-jest, `.js` in
 * `dist/`). Names are stored without their extension so a database migrated by one is current for the other.
 */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => MIGRATION_FILE.test(f))
      .sort();
  },
  getMigrationName(file) {
    return file.replace(/\.(ts|js)$/, '');
  },
  async getMigration(file) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(MIGRATIONS_DIR, file)) as Knex.Migration;
  },
};

/** Brings the schema up to date; safe to run at every start. */
export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

/** Creates `name` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = createDb({ url: adminUrl, poolMax: 1 });
  try {
    const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
    if (found.rows.length === 0) await admin.raw('CREATE DATABASE ??', [name]);
  } finally {
    await admin.destroy();
  }
  return withDatabase(adminUrl, name);
}

/** The same server URL pointing at another database. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
