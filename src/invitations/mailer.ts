import type { Db } from '../db/knex';
import {
  claimDueInvitation,
  invitationAddress,
  markInterruptedSends,
  markInvitationDone,
  markInvitationRetry,
  markInvitationSent,
  msUntilNextDueInvitation,
  type ClaimedInvitation,
} from '../db/invitations';
import type { Logger } from '../logger';
import { OutboxListener } from '../relay/outbox-listener';
import { composeInvitation } from './email';
import type { InvitationSender } from './transport';

/** The channel migration 029's trigger notifies when invitations are created. */
export const INVITATIONS_CHANNEL = 'entra_sync_invitations';

export interface InvitationRetryPolicy {
  /** Wait after the first failed attempt; doubles per attempt (default 30 s). */
  initialDelayMs: number;
  /** Longest wait between attempts (default 1 h). */
  maxDelayMs: number;
  /** Attempts before the invitation is `failed` (default 10: about four hours of retries). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: InvitationRetryPolicy = { initialDelayMs: 30_000, maxDelayMs: 3_600_000, maxAttempts: 10 };

export interface InvitationMailerOptions {
  db: Db;
  logger: Logger;
  sender: InvitationSender;
  /** The From header (INVITE_FROM). */
  from: string;
  /** The sign-in link every invitation carries (INVITE_SIGN_IN_URL). */
  signInUrl: string;
  /** LISTEN for new invitations (default true; false behind a pooler in transaction mode, then it polls). */
  listen?: boolean;
  /** Look-again interval when not LISTENing (default 1 s). */
  pollIntervalMs?: number;
  /** Safety-net look-again interval while LISTENing (default 30 s). */
  idlePollIntervalMs?: number;
  retry?: Partial<InvitationRetryPolicy>;
  /** How long a claim holds before it counts as interrupted (default 10 min; far above the SMTP timeouts). */
  leaseMs?: number;
  /** Messages in flight at once (default 2, the SMTP pool's connections). */
  concurrency?: number;
}

export interface MailerRoundResult {
  sent: number;
  retrying: number;
  failed: number;
  cancelled: number;
}

/**
 * Sends pending invitations (src/db/invitations.ts) from the worker process. Each is claimed in its own committed
 * statement (`pending` → `sending`, FOR UPDATE SKIP LOCKED, so several workers share the work), sent, then marked
 * `sent`; a failed attempt goes back to `pending` with exponential backoff, and a refusal by the mail server or the
 * last attempt ends as `failed` with the reason. **At most once**: a claim whose mailer died before marking it is
 * never sent again but marked `failed` (markInterruptedSends) — a duplicate invitation cannot be taken back, a
 * missing one shows in the admin API. `stop()` finishes the messages in flight first, so a graceful restart
 * interrupts none.
 */
export class InvitationMailer {
  private running = false;
  /** Set by stop(): no new claims. */
  private stopping = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private notified = false;
  private readonly listener?: OutboxListener;
  private readonly retry: InvitationRetryPolicy;
  private readonly pollIntervalMs: number;
  private readonly idlePollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly concurrency: number;

  constructor(private readonly opts: InvitationMailerOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.idlePollIntervalMs = opts.idlePollIntervalMs ?? 30_000;
    this.leaseMs = opts.leaseMs ?? 600_000;
    this.concurrency = opts.concurrency ?? 2;
    if (opts.listen !== false) {
      this.listener = new OutboxListener(
        opts.db,
        opts.logger,
        () => {
          this.notified = true;
          this.wake?.();
        },
        INVITATIONS_CHANNEL,
        'invitation mailer',
      );
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.listener?.start();
    this.loop = this.run();
    this.opts.logger.info({ via: this.opts.sender.description }, 'invitation mailer started');
  }

  /** Stops claiming, lets the messages in flight finish and be marked, then closes the SMTP connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.running) {
      this.running = false;
      this.wake?.();
      await Promise.all([this.loop, this.listener?.stop()]);
    }
    this.opts.sender.close();
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    while (this.running) {
      this.notified = false;
      let nextDueMs: number | undefined;
      try {
        await this.runOnce();
        nextDueMs = await msUntilNextDueInvitation(this.opts.db);
        backoffMs = 0;
      } catch (err) {
        // PostgreSQL unreachable, for instance: keep trying, slower.
        backoffMs = Math.min(Math.max(backoffMs * 2, 1000), 30_000);
        this.opts.logger.warn({ err }, 'invitation mailer round failed');
      }
      if (!this.running) break;
      const idle = this.listener?.listening ? this.idlePollIntervalMs : this.pollIntervalMs;
      await this.sleep(backoffMs || Math.min(nextDueMs ?? idle, idle));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.notified || !this.running) return resolve();
      const timer = setTimeout(resolve, Math.max(ms, 10));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One round: fails interrupted claims, then sends every due invitation. Exposed for tests. */
  async runOnce(): Promise<MailerRoundResult> {
    const result: MailerRoundResult = { sent: 0, retrying: 0, failed: 0, cancelled: 0 };
    const interrupted = await markInterruptedSends(this.opts.db);
    if (interrupted > 0) {
      result.failed += interrupted;
      this.opts.logger.warn(
        { invitations: interrupted },
        'invitations interrupted while sending are marked failed, not sent again',
      );
    }
    const workers = Array.from({ length: this.concurrency }, async () => {
      // Stops taking new invitations once stop() is called; the one in hand is finished.
      while (!this.stopping) {
        const claimed = await claimDueInvitation(this.opts.db, this.leaseMs);
        if (!claimed) return;
        result[await this.deliver(claimed)]++;
      }
    });
    await Promise.all(workers);
    return result;
  }

  private async deliver(c: ClaimedInvitation): Promise<keyof MailerRoundResult> {
    const { db, logger } = this.opts;
    const key = { tenantId: c.tenantId, employeeId: c.employeeId };
    const log = { tenantId: c.tenantId, employeeId: c.employeeId, attempts: c.attempts };
    const cancel = async (reason: string) => {
      await markInvitationDone(db, key, 'cancelled', reason);
      logger.info({ ...log, reason }, 'invitation cancelled');
      return 'cancelled' as const;
    };
    // Decided when it goes out, from the current rows: an invitation that waited (no SMTP yet, retries) must not
    // reach someone who has left meanwhile, nor a tenant that switched invitations off.
    if (!c.inviteNewEmployees) return cancel('invitations were switched off for the tenant before this one was sent');
    if (!c.employeeActive) return cancel('the employee was deactivated before the invitation was sent');
    const to = invitationAddress(c.emails);
    if (!to) return cancel('the employee has no email address any more');

    const email = composeInvitation({
      tenantName: c.tenantName,
      employeeName: c.givenName ?? c.displayName ?? c.formattedName,
      signInUrl: this.opts.signInUrl,
    });
    try {
      await this.opts.sender.send({ from: this.opts.from, to, ...email });
    } catch (err) {
      const reason = describeSendError(err);
      const smtp = {
        code: (err as { code?: string }).code,
        responseCode: (err as { responseCode?: number }).responseCode,
      };
      if (isPermanent(err) || c.attempts >= this.retry.maxAttempts) {
        const final = isPermanent(err) ? reason : `${reason} (gave up after ${c.attempts} attempts)`;
        await markInvitationDone(db, key, 'failed', final);
        logger.warn({ ...log, ...smtp }, 'invitation failed; not retried');
        return 'failed';
      }
      const retryInMs = Math.min(this.retry.initialDelayMs * 2 ** (c.attempts - 1), this.retry.maxDelayMs);
      await markInvitationRetry(db, key, reason, retryInMs);
      logger.warn({ ...log, ...smtp, retryInMs }, 'invitation not sent; will retry');
      return 'retrying';
    }
    await this.markSent(key, to);
    logger.info(log, 'invitation sent');
    logger.debug({ ...log, to }, 'invitation recipient');
    return 'sent';
  }

  /**
   * The message is out: recording it must not be lost to a database blip, or the claim would run out and the sent
   * invitation show as interrupted. A few tries over about ten seconds.
   */
  private async markSent(key: { tenantId: string; employeeId: string }, to: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await markInvitationSent(this.opts.db, key, to);
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
      }
    }
  }
}

/**
 * A refusal the next attempt would get again: the server rejected the recipient or the message with a 5xx reply
 * (nodemailer's EENVELOPE / EMESSAGE). Connection, TLS, timeout and login errors, and 4xx replies, are retried.
 */
function isPermanent(err: unknown): boolean {
  const { code, responseCode } = err as { code?: string; responseCode?: number };
  if (code !== 'EENVELOPE' && code !== 'EMESSAGE') return false;
  return !(responseCode !== undefined && responseCode >= 400 && responseCode < 500);
}

/** The reason an admin sees: nodemailer's code and message (the server's reply), never credentials. */
function describeSendError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return e.code ? `${e.code}: ${message}` : message;
}
