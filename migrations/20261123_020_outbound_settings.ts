import type { Knex } from 'knex';

/**
 * Outbound provisioning settings, one row per tenant: the Graph connection (the client secret only encrypted with
 * SECRETS_KEY, AES-256-GCM), the switch, the HR → Entra attribute mapping, the watched attributes and whether the
 * Entra manager relationship is set. Authority host and Graph base URL are overrides for the emulator; null means
 * Microsoft's public cloud.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbound_settings', (t) => {
    t.uuid('tenant_id').primary().references('tenants.id').onDelete('CASCADE');
    t.boolean('enabled').notNullable().defaultTo(false);
    t.text('graph_tenant_id').nullable();
    t.text('client_id').nullable();
    // iv ‖ auth tag ‖ ciphertext, see src/crypto/secrets.ts. Never returned by the API.
    t.binary('client_secret_encrypted').nullable();
    t.text('authority_host').nullable();
    t.text('graph_base_url').nullable();
    // [{ source: HR field, target: Graph property or extension_<appId>_<name> }]
    t.jsonb('mapping').notNullable().defaultTo('[]');
    // HR attribute names (as in outbox.changed_attributes) whose change triggers a sync.
    t.jsonb('watched_attributes').notNullable().defaultTo('[]');
    t.boolean('set_manager').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('outbound_settings');
}
