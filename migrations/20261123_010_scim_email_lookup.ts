import type { Knex } from 'knex';

/**
 * Entra may match users by work email (`emails[type eq "work"].value eq "…"`), and brownfield HR records without an
 * externalId are found that way. Emails live in a jsonb array, which a btree cannot index; an immutable function
 * yielding the lower-cased values lets a GIN index answer "which employees have this address" before the exact
 * element check runs.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION scim_lower_values(items jsonb) RETURNS text[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(lower(e->>'value')), '{}')
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]'::jsonb END) AS e
         WHERE e->>'value' IS NOT NULL
      $$`);
  await knex.raw('CREATE INDEX employees_email_values_gin ON employees USING gin (scim_lower_values(emails))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS employees_email_values_gin');
  await knex.raw('DROP FUNCTION IF EXISTS scim_lower_values(jsonb)');
}
