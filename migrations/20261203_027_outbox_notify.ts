import type { Knex } from 'knex';

/**
 * Wakes the outbox relay when rows arrive: every statement that inserts into `outbox` (SCIM writes, enrolment,
 * bulk retry, manager rows) notifies the channel `entra_sync_outbox` — once per statement that inserted a row,
 * delivered at commit, so a rolled-back write wakes nobody. The relay LISTENs and polls only slowly as a safety net, instead of querying the
 * outbox ten times a second while nothing happens.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- A statement trigger fires even when the INSERT inserted nothing (every sync runs one for manager rows).
      IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('entra_sync_outbox', '');
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER outbox_notify ON outbox');
  await knex.raw('DROP FUNCTION outbox_notify()');
}
