import type { Knex } from 'knex';

/**
 * Bearer tokens for SCIM clients and admins. Only a SHA-256 hash is kept; the token is shown once at creation.
 * An admin token without tenant is the platform operator's (it may create tenants).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').nullable().references('tenants.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.text('name').notNullable();
    t.binary('token_hash').notNullable().unique();
    // First characters of the token, so an admin can tell tokens apart in a list without seeing them.
    t.text('token_prefix').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true }).nullable();
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.index(['tenant_id', 'kind']);
  });
  await knex.raw(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('scim', 'admin'))`);
  await knex.raw(
    `ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scim_has_tenant CHECK (kind <> 'scim' OR tenant_id IS NOT NULL)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
}
