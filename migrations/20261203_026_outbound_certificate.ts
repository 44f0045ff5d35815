import type { Knex } from 'knex';

/**
 * A certificate credential for the app registration, instead of a client secret: the private key and certificate
 * (PEM) encrypted like the secret, with the certificate's SHA-1 thumbprint and expiry in the clear, so the admin API
 * can say which certificate is stored and when it must be renewed. A tenant has one credential at a time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbound_settings', (t) => {
    // iv ‖ auth tag ‖ ciphertext, see src/crypto/secrets.ts. Never returned by the API.
    t.binary('client_certificate_encrypted').nullable();
    t.text('client_certificate_thumbprint').nullable();
    t.timestamp('client_certificate_not_after', { useTz: true }).nullable();
  });
  await knex.raw(`
    ALTER TABLE outbound_settings ADD CONSTRAINT outbound_settings_one_credential
      CHECK (client_secret_encrypted IS NULL OR client_certificate_encrypted IS NULL)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE outbound_settings DROP CONSTRAINT outbound_settings_one_credential');
  await knex.schema.alterTable('outbound_settings', (t) => {
    t.dropColumn('client_certificate_encrypted');
    t.dropColumn('client_certificate_thumbprint');
    t.dropColumn('client_certificate_not_after');
  });
}
