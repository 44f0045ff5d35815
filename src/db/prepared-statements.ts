import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * knex sends every query as an unnamed statement, so PostgreSQL parses and plans it anew each time; on the SCIM
 * hot paths planning cost as much as executing. node-postgres prepares a statement once per connection when the
 * query carries a `name` — the same automatic preparation Npgsql and pgx do. This client names DML statements by a
 * hash of their SQL text (the values stay bound parameters), up to a bound on distinct statements so ad-hoc SQL
 * (e.g. SCIM filters of every shape) cannot grow each backend's statement cache without limit.
 *
 * Turn it off (DATABASE_PREPARED_STATEMENTS=false) behind a connection pooler in transaction mode that does not
 * track prepared statements (PgBouncer before 1.21).
 */
const MAX_NAMED_STATEMENTS = 2000;
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
// PostgreSQL refuses a prepared plan whose result columns changed under it (e.g. a migration added a column read
// by `SELECT *`): SQLSTATE 0A000 "cached plan must not change result type".
const STALE_PLAN = (err: unknown) =>
  (err as { code?: string }).code === '0A000' && /cached plan/i.test(String((err as Error).message));

interface QueryObject {
  sql?: string;
  bindings?: unknown[];
  options?: Record<string, unknown>;
}

type PgClientClass = new (config: Knex.Config) => {
  _query(connection: unknown, obj: QueryObject): Promise<QueryObject>;
};

export function createPreparingPgClient(): PgClientClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ClientPG = require('knex/lib/dialects/postgres') as PgClientClass;
  const names = new Map<string, string>();
  let generation = 0;

  const nameFor = (sql: string): string | undefined => {
    let name = names.get(sql);
    if (name) return name;
    if (names.size >= MAX_NAMED_STATEMENTS) return undefined;
    name = `es${generation}_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    names.set(sql, name);
    return name;
  };

  return class PreparingPgClient extends ClientPG {
    override async _query(connection: unknown, obj: QueryObject): Promise<QueryObject> {
      const sql = obj.sql;
      if (!sql || obj.options?.name !== undefined || !PREPARABLE.test(sql)) return super._query(connection, obj);
      const name = nameFor(sql);
      if (!name) return super._query(connection, obj);
      try {
        return await super._query(connection, { ...obj, options: { ...obj.options, name } });
      } catch (err) {
        if (!STALE_PLAN(err)) throw err;
        // Start a new generation of names: every connection prepares afresh, the stale statements are never used.
        generation++;
        names.clear();
        return super._query(connection, obj);
      }
    }
  };
}
