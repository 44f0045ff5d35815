import type { Knex } from 'knex';
import { recordAuditEvent } from './audit';
import type { MultiValue } from './employees';

/**
 * Invitation emails to newly provisioned employees (migration 029, docs/invitations.md). The row is written by
 * `recordEmployeeChange` in the transaction that creates the employee (INVITE_NEW_EMPLOYEE_CTE); the worker's mailer
 * (src/invitations/mailer.ts) claims, sends and marks it with the functions below.
 */

export type InvitationStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'cancelled';

/**
 * An address worth mailing: something@something, with no whitespace inside; whitespace around it is ignored. One rule
 * for JavaScript and PostgreSQL alike, so ASCII whitespace only (space, \t, \n, \v, \f, \r): JavaScript's `\s` and
 * `trim()` know Unicode spaces, PostgreSQL's `[:space:]` depends on the locale and `btrim` strips spaces only. The
 * same source string is a JavaScript RegExp and a PostgreSQL ARE (both read these escapes, also in brackets).
 */
const WS = ' \\t\\n\\v\\f\\r';
const ADDRESS_SOURCE = `^[${WS}]*[^@${WS}]+@[^@${WS}]+[${WS}]*$`;
const ADDRESS = new RegExp(ADDRESS_SOURCE);
const ADDRESS_SQL = `'${ADDRESS_SOURCE}'`;
const AROUND = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');

/**
 * Where an invitation goes: the primary email, else the work email, else the first one — the order Entra's default
 * mapping fills them (`emails[type eq "work"].value` from the user's `mail`). Not the userName: an Entra UPN is a
 * sign-in name, not necessarily a mailbox.
 */
export function invitationAddress(emails: readonly MultiValue[] | null | undefined): string | undefined {
  const usable = (emails ?? []).filter((e) => typeof e?.value === 'string' && ADDRESS.test(e.value));
  const pick = usable.find((e) => e.primary === true) ?? usable.find((e) => e.type === 'work') ?? usable[0];
  return pick?.value.replace(AROUND, '');
}

/**
 * A CTE for the single statement of `recordEmployeeChange` when it records a creation: `bumped` is the employee row
 * as written (RETURNING tenant_id, id, active, emails). Invites the new employee when their tenant has the switch
 * on, they were not created inactive, and they have an email address. `ON CONFLICT DO NOTHING` on the primary key
 * (tenant_id, employee_id) is what makes it once per employee ever. No bound parameters, so it adds none.
 */
export const INVITE_NEW_EMPLOYEE_CTE = `invited AS (
       INSERT INTO invitations (tenant_id, employee_id)
       SELECT bumped.tenant_id, bumped.id FROM bumped JOIN tenants ON tenants.id = bumped.tenant_id
        WHERE tenants.invite_new_employees AND bumped.active
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(
                        CASE WHEN jsonb_typeof(bumped.emails) = 'array' THEN bumped.emails ELSE '[]'::jsonb END) AS e(v)
                       WHERE e.v->>'value' ~ ${ADDRESS_SQL})
       ON CONFLICT DO NOTHING
     )`;

/** What the admin API shows of an employee's invitation (`invitation` on GET …/employees/{id}). */
export interface InvitationSummary {
  status: InvitationStatus;
  attempts: number;
  /** Why the last attempt failed, or why the invitation was cancelled or given up. */
  lastError: string | null;
  /** When a pending invitation is due (after a failed attempt: the retry). */
  nextAttemptAt: Date | null;
  sentTo: string | null;
  sentAt: Date | null;
  createdAt: Date;
}

/** Scalar subquery for selectEmployeeViews: the employee's invitation as JSON, or null. */
export const INVITATION_JSON_SQL = `(SELECT json_build_object('status', i.status, 'attempts', i.attempts,
           'lastError', i.last_error, 'nextAttemptAt', CASE WHEN i.status = 'pending' THEN i.next_attempt_at END,
           'sentTo', i.sent_to, 'sentAt', i.sent_at, 'createdAt', i.created_at)
      FROM invitations i WHERE i.tenant_id = employees.tenant_id AND i.employee_id = employees.id) AS invitation`;

/** The subquery's JSON (timestamps as text) as typed values. */
export function toInvitationSummary(json: unknown): InvitationSummary | null {
  if (!json || typeof json !== 'object') return null;
  const j = json as Record<string, unknown>;
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
  return {
    status: j.status as InvitationStatus,
    attempts: Number(j.attempts),
    lastError: (j.lastError as string | null) ?? null,
    nextAttemptAt: date(j.nextAttemptAt),
    sentTo: (j.sentTo as string | null) ?? null,
    sentAt: date(j.sentAt),
    createdAt: date(j.createdAt) ?? new Date(0),
  };
}

/** A claimed invitation with what the email needs, read in the claiming statement. */
export interface ClaimedInvitation {
  tenantId: string;
  employeeId: string;
  attempts: number;
  tenantName: string;
  inviteNewEmployees: boolean;
  employeeActive: boolean;
  givenName: string | null;
  displayName: string | null;
  formattedName: string | null;
  emails: MultiValue[];
  /** How long it has been waiting: since it was created, or since an admin last sent it again (PostgreSQL's clock). */
  waitedMs: number;
}

/**
 * Claims a due pending invitation: `sending`, one more attempt, held until now + `leaseMs`. Tenants take turns (the
 * one whose last claim is the oldest goes first, migration 031), and within a tenant the oldest due goes first. The
 * claim commits before anything is sent (at most once, see markInterruptedSends); SKIP LOCKED lets several mailers
 * run. The tenants are walked one index probe each, not the due invitations, which one tenant may have thousands of.
 */
export async function claimDueInvitation(db: Knex, leaseMs: number): Promise<ClaimedInvitation | undefined> {
  const result = await db.raw<{
    rows: Array<{
      tenant_id: string;
      employee_id: string;
      attempts: number;
      tenant_name: string;
      invite_new_employees: boolean;
      active: boolean;
      given_name: string | null;
      display_name: string | null;
      formatted_name: string | null;
      emails: MultiValue[];
      waited_ms: number;
    }>;
  }>(
    `WITH due AS (
       SELECT first.tenant_id, first.employee_id
         FROM tenants t
         LEFT JOIN invitation_turns turn ON turn.tenant_id = t.id
         CROSS JOIN LATERAL (
           SELECT tenant_id, employee_id FROM invitations
            WHERE tenant_id = t.id AND status = 'pending' AND next_attempt_at <= now()
            ORDER BY next_attempt_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED) first
        ORDER BY turn.last_claimed_at NULLS FIRST, t.id
        LIMIT 1),
     taken_turn AS (
       INSERT INTO invitation_turns (tenant_id, last_claimed_at) SELECT tenant_id, clock_timestamp() FROM due
       ON CONFLICT (tenant_id) DO UPDATE SET last_claimed_at = excluded.last_claimed_at)
     UPDATE invitations i
        SET status = 'sending', attempts = i.attempts + 1, claimed_until = now() + ?::float8 * interval '1 millisecond',
            updated_at = now()
       FROM due, employees e, tenants t
      WHERE i.tenant_id = due.tenant_id AND i.employee_id = due.employee_id
        AND e.tenant_id = i.tenant_id AND e.id = i.employee_id AND t.id = i.tenant_id
     RETURNING i.tenant_id, i.employee_id, i.attempts, t.name AS tenant_name, t.invite_new_employees, e.active,
               e.given_name, e.display_name, e.formatted_name, e.emails,
               (extract(epoch FROM now() - coalesce(i.resent_at, i.created_at)) * 1000)::float8 AS waited_ms`,
    [leaseMs],
  );
  const r = result.rows[0];
  if (!r) return undefined;
  return {
    tenantId: r.tenant_id,
    employeeId: r.employee_id,
    attempts: r.attempts,
    tenantName: r.tenant_name,
    inviteNewEmployees: r.invite_new_employees,
    employeeActive: r.active,
    givenName: r.given_name,
    displayName: r.display_name,
    formattedName: r.formatted_name,
    emails: Array.isArray(r.emails) ? r.emails : [],
    waitedMs: Number(r.waited_ms),
  };
}

type Key = { tenantId: string; employeeId: string };

/**
 * Runs the mailer's `update` (of invitation rows) and, in the same statement, adds an event by the actor `system` to the
 * audit trail of each employee whose invitation it changed (`GET …/employees/{id}/audit`); returns how many it changed.
 * Retries that will be tried again (markInvitationRetry) are not events: the invitation's `lastError` and `attempts`
 * show them. An admin's resend records its own event (resendInvitation).
 */
async function updateAudited(
  db: Knex,
  update: Knex.QueryBuilder,
  event: { action: string; changes: Record<string, unknown> },
): Promise<number> {
  const changed = update.returning(['tenant_id', 'employee_id']).toSQL();
  const result = await db.raw<{ rows: Array<{ n: number }> }>(
    `WITH changed AS (${changed.sql}),
     audited AS (
       INSERT INTO audit_events (tenant_id, resource_type, resource_id, action, actor, request_id, changes)
       SELECT tenant_id, 'employee', employee_id::text, ?, 'system', NULL, ?::jsonb FROM changed
     )
     SELECT count(*)::int AS n FROM changed`,
    [...(changed.bindings as Knex.RawBinding[]), event.action, JSON.stringify(event.changes)],
  );
  return result.rows[0]?.n ?? 0;
}

const byKey = (db: Knex, k: Key) => db('invitations').where({ tenant_id: k.tenantId, employee_id: k.employeeId });

/**
 * Sent. Written whatever became of the claim meanwhile (an overrun lease marked it failed): the mail went out, and
 * the record says so.
 */
export async function markInvitationSent(db: Knex, k: Key, sentTo: string): Promise<void> {
  await updateAudited(
    db,
    // Not again for one marked sent already (a retried update whose first try committed unseen): one event per send.
    byKey(db, k).whereNot({ status: 'sent' }).update({
      status: 'sent',
      sent_to: sentTo,
      sent_at: db.fn.now(),
      last_error: null,
      claimed_until: null,
      updated_at: db.fn.now(),
    }),
    { action: 'invitation.sent', changes: { sentTo } },
  );
}

/**
 * A failed attempt that will be retried after `retryInMs`. `giveBackAttempt`: the failure was the mail server's (it
 * would have failed any message), so it does not count as one of this invitation's attempts.
 */
export async function markInvitationRetry(
  db: Knex,
  k: Key,
  error: string,
  retryInMs: number,
  opts: { giveBackAttempt?: boolean } = {},
): Promise<void> {
  await byKey(db, k)
    .where({ status: 'sending' })
    .update({
      status: 'pending',
      ...(opts.giveBackAttempt ? { attempts: db.raw('greatest(attempts - 1, 0)') } : {}),
      last_error: error.slice(0, 1000),
      next_attempt_at: db.raw(`now() + ?::float8 * interval '1 millisecond'`, [retryInMs]),
      claimed_until: null,
      updated_at: db.fn.now(),
    });
}

/** Given up (`failed`) or not to be sent any more (`cancelled`), with the reason. */
export async function markInvitationDone(
  db: Knex,
  k: Key,
  status: 'failed' | 'cancelled',
  reason: string,
): Promise<void> {
  const recorded = reason.slice(0, 1000);
  await updateAudited(
    db,
    byKey(db, k)
      .where({ status: 'sending' })
      .update({ status, last_error: recorded, claimed_until: null, updated_at: db.fn.now() }),
    { action: `invitation.${status}`, changes: { reason: recorded } },
  );
}

/** The reason recorded for a send a mailer began but never finished (docs/invitations.md, delivery guarantee). */
export const INTERRUPTED_SEND =
  'interrupted while sending (the worker stopped); it may or may not have been delivered and is not sent again';

/**
 * Claims whose lease ran out: the mailer holding them died between claiming and marking, maybe after the mail
 * server had accepted the message. They become `failed` and are never sent again — an invitation is sent at most
 * once. Returns how many.
 */
export async function markInterruptedSends(db: Knex): Promise<number> {
  return updateAudited(
    db,
    db('invitations')
      .where({ status: 'sending' })
      .where('claimed_until', '<', db.fn.now())
      .update({ status: 'failed', last_error: INTERRUPTED_SEND, claimed_until: null, updated_at: db.fn.now() }),
    { action: 'invitation.failed', changes: { reason: INTERRUPTED_SEND } },
  );
}

/** Milliseconds until the next pending invitation is due (0 when one is due now), or undefined when none waits. */
export async function msUntilNextDueInvitation(db: Knex): Promise<number | undefined> {
  const result = await db.raw<{ rows: Array<{ ms: number | null }> }>(
    `SELECT greatest(0, extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS ms
       FROM invitations WHERE status = 'pending'`,
  );
  const ms = result.rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Number(ms);
}

/** Tenants that have invitations switched on (the worker warns at start when it cannot send them). */
export async function countTenantsInvitingNewEmployees(db: Knex): Promise<number> {
  const [row] = await db('tenants').where({ invite_new_employees: true }).count<Array<{ count: string }>>('* as count');
  return Number(row?.count ?? 0);
}

export type ResendOutcome =
  | { outcome: 'queued'; invitation: InvitationSummary }
  | { outcome: 'refused'; status: InvitationStatus; reason: string }
  | { outcome: 'none' };

/**
 * An admin's "send it again" (POST …/employees/{id}/invitation/resend): a `failed` invitation, or a `cancelled` one
 * whose reason no longer holds (the tenant has invitations on again, the employee is active and has an address),
 * becomes `pending` and due now, with its attempts and error cleared, and the mailer is woken. Anything else is
 * refused: pending and sending ones are on their way, a sent one is never sent twice by the system.
 */
export async function resendInvitation(
  db: Knex,
  tenantId: string,
  employeeId: string,
  requestId?: string,
): Promise<ResendOutcome> {
  return db.transaction(async (trx) => {
    const updated = await trx.raw<{ rows: Array<Record<string, unknown>> }>(
      `UPDATE invitations i
          SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = now(), claimed_until = NULL,
              sent_to = NULL, sent_at = NULL, resent_at = now(), updated_at = now()
         FROM employees e, tenants t
        WHERE i.tenant_id = ? AND i.employee_id = ?
          AND e.tenant_id = i.tenant_id AND e.id = i.employee_id AND t.id = i.tenant_id
          AND (i.status = 'failed'
               OR (i.status = 'cancelled' AND t.invite_new_employees AND e.active
                   AND EXISTS (SELECT 1 FROM jsonb_array_elements(
                                 CASE WHEN jsonb_typeof(e.emails) = 'array' THEN e.emails ELSE '[]'::jsonb END) AS m(v)
                                WHERE m.v->>'value' ~ ${ADDRESS_SQL})))
      RETURNING i.status, i.attempts, i.last_error, i.next_attempt_at, i.sent_to, i.sent_at, i.created_at`,
      [tenantId, employeeId],
    );
    const row = updated.rows[0];
    if (row) {
      await recordAuditEvent(trx, {
        tenantId,
        resourceType: 'employee',
        resourceId: employeeId,
        action: 'invitation.resent',
        source: 'admin',
        ...(requestId !== undefined ? { requestId } : {}),
      });
      await trx.raw(`SELECT pg_notify('entra_sync_invitations', '')`);
      return {
        outcome: 'queued',
        invitation: {
          status: row.status as InvitationStatus,
          attempts: Number(row.attempts),
          lastError: null,
          nextAttemptAt: row.next_attempt_at as Date,
          sentTo: null,
          sentAt: null,
          createdAt: row.created_at as Date,
        },
      };
    }
    const current = await trx('invitations')
      .where({ tenant_id: tenantId, employee_id: employeeId })
      .first<{ status: InvitationStatus; last_error: string | null } | undefined>('status', 'last_error');
    if (!current) return { outcome: 'none' };
    const reason =
      current.status === 'cancelled'
        ? `it was cancelled (${current.last_error ?? 'no reason recorded'}), and that or another reason still holds`
        : current.status === 'sent'
          ? 'it was sent'
          : `it is ${current.status}: on its way already`;
    return { outcome: 'refused', status: current.status, reason };
  });
}
