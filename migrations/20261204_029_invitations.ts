import type { Knex } from 'knex';

/**
 * Invitation emails to newly provisioned employees (the inbound article's optional per-tenant switch,
 * `tenants.invite_new_employees`). A row is written in the transaction that creates the employee; the worker's mailer
 * sends it. One row per employee, ever (primary key): a re-created, replaced or reactivated employee is never invited
 * again. Statuses:
 * - `pending`: waiting to be sent, or to be retried at `next_attempt_at` after a failed attempt (`last_error`);
 * - `sending`: claimed by a mailer until `claimed_until`; one found after that was interrupted mid-send and becomes
 *   `failed` rather than being sent a second time (docs/invitations.md, delivery guarantee);
 * - `sent` (`sent_at`, `sent_to`), `failed` (`last_error`: refused by the mail server, or out of attempts), or
 *   `cancelled` (`last_error` says why: the employee was deactivated or lost their email address, or the tenant
 *   switched invitations off before it went out).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invitations', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('employee_id').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('claimed_until', { useTz: true }).nullable();
    t.text('sent_to').nullable();
    t.timestamp('sent_at', { useTz: true }).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'employee_id']);
  });
  await knex.raw(
    `ALTER TABLE invitations
       ADD CONSTRAINT invitations_employee_id_same_tenant_fk FOREIGN KEY (tenant_id, employee_id)
         REFERENCES employees (tenant_id, id) ON DELETE CASCADE,
       ADD CONSTRAINT invitations_status_check
         CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled'))`,
  );
  // What the mailer reads: due pending rows, and claims that have run out.
  await knex.raw(`CREATE INDEX invitations_due_idx ON invitations (next_attempt_at) WHERE status = 'pending'`);
  await knex.raw(`CREATE INDEX invitations_claimed_idx ON invitations (claimed_until) WHERE status = 'sending'`);
  // Wakes the mailer when a transaction that created invitations commits (like the outbox's, migration 027).
  await knex.raw(`
    CREATE FUNCTION invitations_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('entra_sync_invitations', '');
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER invitations_notify AFTER INSERT ON invitations
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION invitations_notify()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('invitations');
  await knex.raw('DROP FUNCTION invitations_notify()');
}
