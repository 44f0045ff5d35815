import type { Knex } from 'knex';

/**
 * Graph's write quota (3,000 writes per 150 s per Entra tenant and app) shared by every worker process. A worker leases
 * a few writes at a time (`graph_write_lease`) and hands back the ones it did not use (`writes` lowered); a lease
 * counts against the quota until `counts_until`: for the whole span its writes may affect (the window, the margin and
 * the lease's lifetime, as the leasing worker was configured), so workers together stay under the quota however they
 * split it. `budget_key` is `<entra tenant id>/<client id>`, lower case: Graph counts per app in an Entra tenant,
 * whichever of our tenants holds the connection.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('graph_write_leases', (t) => {
    t.bigIncrements('id');
    t.text('budget_key').notNullable();
    t.timestamp('granted_at', { useTz: true }).notNullable();
    t.timestamp('counts_until', { useTz: true }).notNullable();
    t.integer('writes').notNullable();
  });
  await knex.raw(`CREATE INDEX graph_write_leases_key_idx ON graph_write_leases (budget_key, counts_until)`);
  await knex.raw(`CREATE INDEX graph_write_leases_expiry_idx ON graph_write_leases (counts_until)`);
  await knex.raw(`ALTER TABLE graph_write_leases ADD CONSTRAINT graph_write_leases_writes_check CHECK (writes >= 0)`);
  // The advisory lock serialises leases of one key. Called in a READ COMMITTED transaction (src/db/graph-write-leases.ts):
  // a VOLATILE function's statements then each read a fresh snapshot, so the sum below sees every lease committed
  // before the lock was granted (under REPEATABLE READ the snapshot would predate the lock).
  await knex.raw(`
    CREATE FUNCTION graph_write_lease(p_key text, p_limit integer, p_wanted integer, p_max integer, p_span_ms integer)
      RETURNS TABLE (lease_id bigint, granted integer, retry_in_ms integer)
      LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      v_now timestamptz;
      v_span interval := make_interval(secs => p_span_ms / 1000.0);
      v_used integer;
      v_grant integer;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtextextended('graph_write_leases:' || p_key, 0));
      v_now := clock_timestamp();
      DELETE FROM graph_write_leases WHERE budget_key = p_key AND counts_until <= v_now;
      -- Keys nobody leases any more: long expired, so no lease of theirs can still count.
      DELETE FROM graph_write_leases WHERE counts_until <= v_now - interval '1 hour';
      SELECT coalesce(sum(writes), 0) INTO v_used FROM graph_write_leases WHERE budget_key = p_key;
      -- What was asked for, or a tenth of what is left when that is more (fewer round trips while the quota is far),
      -- never more than p_max or what is left.
      v_grant := least(p_limit - v_used, greatest(p_wanted, (p_limit - v_used) / 10), p_max);
      IF v_grant > 0 THEN
        INSERT INTO graph_write_leases (budget_key, granted_at, counts_until, writes)
          VALUES (p_key, v_now, v_now + v_span, v_grant)
          RETURNING id INTO lease_id;
        granted := v_grant;
        retry_in_ms := 0;
        RETURN NEXT;
        RETURN;
      END IF;
      -- Nothing left: when the first leases stop counting, enough of the quota comes back for one write.
      SELECT greatest(1, ceil(extract(epoch FROM (l.counts_until - v_now)) * 1000))::integer INTO retry_in_ms
        FROM (SELECT counts_until, sum(writes) OVER (ORDER BY counts_until, id) AS freed
                FROM graph_write_leases WHERE budget_key = p_key) l
        WHERE v_used - l.freed < p_limit
        ORDER BY l.counts_until
        LIMIT 1;
      lease_id := NULL;
      granted := 0;
      retry_in_ms := coalesce(retry_in_ms, 1000);
      RETURN NEXT;
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION graph_write_lease(text, integer, integer, integer, integer)');
  await knex.schema.dropTable('graph_write_leases');
}
