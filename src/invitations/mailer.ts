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
  /** Wait after the first failure; doubles per further failure (default 30 s). */
  initialDelayMs: number;
  /** Longest wait between attempts (default 1 h). */
  maxDelayMs: number;
  /**
   * Attempts before an invitation whose recipient the server keeps deferring (a 4xx reply about this recipient) is
   * `failed` (default 10: about three hours). Failures of the mail server itself never use attempts up.
   */
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
  /**
   * An invitation that has waited longer than this (since it was created, or since an admin sent it again) is cancelled
   * instead of sent: a welcome weeks after the start date confuses more than it helps (INVITE_MAX_AGE_DAYS; default 7
   * days; 0 = no limit).
   */
  maxAgeMs?: number;
  /** How long a claim holds before it counts as interrupted (default 10 min; far above the SMTP timeouts). */
  leaseMs?: number;
  /** Messages in flight at once (default 2, the SMTP pool's connections). */
  concurrency?: number;
  /** First wait before a status update that failed (database unreachable) is tried again; doubles up to 5 s (default 250 ms). */
  statusRetryDelayMs?: number;
}

export interface MailerRoundResult {
  sent: number;
  retrying: number;
  failed: number;
  cancelled: number;
}

/** INVITE_MAX_AGE_DAYS's default: 7 days. */
export const DEFAULT_INVITATION_MAX_AGE_MS = 7 * 86_400_000;

/** The longest wait between two tries of a status update. */
const MAX_STATUS_RETRY_DELAY_MS = 5_000;

/**
 * Sends pending invitations (src/db/invitations.ts) from the worker process. Each is claimed in its own committed
 * statement (`pending` → `sending`, FOR UPDATE SKIP LOCKED, so several workers share the work), sent, then marked
 * `sent`. How a failed send goes on depends on whom it concerns (classifySendError): the recipient refused ends as
 * `failed`; the recipient deferred is retried with backoff, up to `maxAttempts`; the mail server failing (down, TLS,
 * login, quota, sender or message refused) puts the invitation back without using an attempt and pauses the whole
 * mailer with backoff, so a broken server is probed, not hammered, and retried without limit. **At most once**: a
 * claim whose mailer died before marking it is never sent again but marked `failed` (markInterruptedSends) — a
 * duplicate invitation cannot be taken back, a missing one shows in the admin API. Status updates are retried while
 * the database is away, until the claim's lease nearly runs out; `stop()` finishes the messages in flight and their
 * updates first, so a graceful restart interrupts none.
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
  private readonly statusRetryDelayMs: number;
  /** Deliveries under way (sending or recording), which stop() waits for before it closes the sender. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Mail server failures in a row, and until when the mailer claims nothing because of them. */
  private serverFailures = 0;
  private pausedUntil = 0;

  constructor(private readonly opts: InvitationMailerOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.idlePollIntervalMs = opts.idlePollIntervalMs ?? 30_000;
    this.leaseMs = opts.leaseMs ?? 600_000;
    this.concurrency = opts.concurrency ?? 2;
    this.statusRetryDelayMs = opts.statusRetryDelayMs ?? 250;
    if (opts.listen !== false) {
      this.listener = new OutboxListener(
        opts.db,
        opts.logger,
        () => {
          this.notified = true;
          // A new invitation does not end a pause: the server that failed would fail it too.
          if (!this.paused()) this.wake?.();
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

  /**
   * Stops claiming, lets the messages in flight finish and be marked (their status updates retried while the
   * database is away, within the claim's lease), then closes the SMTP connections.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.running) {
      this.running = false;
      this.wake?.();
      await Promise.all([this.loop, this.listener?.stop()]);
    }
    await Promise.allSettled([...this.inFlight]);
    this.opts.sender.close();
  }

  private paused(): boolean {
    return Date.now() < this.pausedUntil;
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
        this.opts.logger.warn({ err: dbErrorSummary(err) }, 'invitation mailer round failed');
      }
      if (!this.running) break;
      const idle = this.listener?.listening ? this.idlePollIntervalMs : this.pollIntervalMs;
      const pausedMs = this.pausedUntil - Date.now();
      await this.sleep(pausedMs > 0 ? pausedMs : backoffMs || Math.min(nextDueMs ?? idle, idle));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if ((this.notified && !this.paused()) || !this.running) return resolve();
      const timer = setTimeout(resolve, Math.max(ms, 10));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One round: fails interrupted claims, then sends every due invitation (unless paused). Exposed for tests. */
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
      // Stops taking new invitations once stop() is called or the mail server failed; the one in hand is finished.
      while (!this.stopping && !this.paused()) {
        const claimedAt = Date.now();
        const claimed = await claimDueInvitation(this.opts.db, this.leaseMs);
        if (!claimed) return;
        const delivery = this.deliver(claimed, claimedAt);
        this.inFlight.add(delivery);
        try {
          result[await delivery]++;
        } finally {
          this.inFlight.delete(delivery);
        }
      }
    });
    // Every worker is waited for, also when one fails: none is left running unobserved while run() starts more.
    const settled = await Promise.allSettled(workers);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
    return result;
  }

  private async deliver(c: ClaimedInvitation, claimedAt: number): Promise<keyof MailerRoundResult> {
    const { db, logger } = this.opts;
    const key = { tenantId: c.tenantId, employeeId: c.employeeId };
    const log = { tenantId: c.tenantId, employeeId: c.employeeId, attempts: c.attempts };
    const record = (what: string, write: () => Promise<void>) => this.persist(what, log, claimedAt, write);
    const cancel = async (reason: string) => {
      await record('cancelled', () => markInvitationDone(db, key, 'cancelled', reason));
      logger.info({ ...log, reason }, 'invitation cancelled');
      return 'cancelled' as const;
    };
    // Decided when it goes out, from the current rows: an invitation that waited (no SMTP yet, retries) must not
    // reach someone who has left meanwhile, nor a tenant that switched invitations off.
    if (!c.inviteNewEmployees) return cancel('invitations were switched off for the tenant before this one was sent');
    if (!c.employeeActive) return cancel('the employee was deactivated before the invitation was sent');
    const maxAgeMs = this.opts.maxAgeMs ?? DEFAULT_INVITATION_MAX_AGE_MS;
    if (maxAgeMs > 0 && c.waitedMs > maxAgeMs) {
      const days = (ms: number) => Math.floor(ms / 86_400_000);
      return cancel(
        `not sent after waiting ${days(c.waitedMs)} days, longer than INVITE_MAX_AGE_DAYS (${days(maxAgeMs)}); an admin can send it again`,
      );
    }
    const to = invitationAddress(c.emails);
    if (!to) return cancel('the employee has no email address any more');

    const email = composeInvitation({
      tenantName: c.tenantName,
      // The first name that is not blank: SCIM may send "" for a name it has no value for.
      employeeName: [c.givenName, c.displayName, c.formattedName].find((n) => n?.trim()) ?? null,
      signInUrl: this.opts.signInUrl,
    });
    try {
      await this.opts.sender.send({ from: this.opts.from, to, ...email });
    } catch (err) {
      const reason = describeSendError(err);
      const kind = classifySendError(err);
      const smtp = {
        code: (err as { code?: string }).code,
        command: (err as { command?: string }).command,
        responseCode: (err as { responseCode?: number }).responseCode,
        kind,
      };
      if (kind === 'server') {
        // Not this invitation's fault: it goes back without using an attempt, and nothing is claimed for a while.
        this.serverFailures++;
        const retryInMs = this.backoff(this.serverFailures);
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + retryInMs);
        await record('pending', () => markInvitationRetry(db, key, reason, retryInMs, { giveBackAttempt: true }));
        logger.warn({ ...log, ...smtp, retryInMs }, 'mail server failed; invitations paused, this one will retry');
        return 'retrying';
      }
      // The server works (it answered about this recipient).
      this.serverFailures = 0;
      if (kind === 'recipient-refused' || c.attempts >= this.retry.maxAttempts) {
        const final = kind === 'recipient-refused' ? reason : `${reason} (gave up after ${c.attempts} attempts)`;
        await record('failed', () => markInvitationDone(db, key, 'failed', final));
        logger.warn({ ...log, ...smtp }, 'invitation failed; not retried');
        return 'failed';
      }
      const retryInMs = this.backoff(c.attempts);
      await record('pending', () => markInvitationRetry(db, key, reason, retryInMs));
      logger.warn({ ...log, ...smtp, retryInMs }, 'invitation not sent; will retry');
      return 'retrying';
    }
    this.serverFailures = 0;
    await record('sent', () => markInvitationSent(db, key, to));
    logger.info(log, 'invitation sent');
    logger.debug({ ...log, to }, 'invitation recipient');
    return 'sent';
  }

  /** The wait after the n-th failure in a row: initialDelayMs doubling, at most maxDelayMs. */
  private backoff(n: number): number {
    return Math.min(this.retry.initialDelayMs * 2 ** Math.max(n - 1, 0), this.retry.maxDelayMs);
  }

  /**
   * A status update must not be lost to a database outage: the row would stay `sending` until its lease ran out and
   * then show as interrupted ("may or may not have been delivered"), or a sent invitation as not sent. Tried again
   * with backoff until it succeeds or the claim's lease is nearly over (a tenth of it left, so a mailer elsewhere does
   * not find it interrupted meanwhile).
   */
  private async persist(
    what: string,
    log: Record<string, unknown>,
    claimedAt: number,
    write: () => Promise<void>,
  ): Promise<void> {
    const deadline = claimedAt + this.leaseMs - this.leaseMs / 10;
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        const retryInMs = Math.min(this.statusRetryDelayMs * 2 ** (attempt - 1), MAX_STATUS_RETRY_DELAY_MS);
        if (Date.now() + retryInMs >= deadline) throw err;
        this.opts.logger.warn(
          { ...log, err: dbErrorSummary(err), retryInMs },
          `could not record the invitation as ${what}; trying again`,
        );
        await new Promise((r) => setTimeout(r, retryInMs));
      }
    }
  }
}

/**
 * Whom a failed send concerns, from nodemailer's error (`code`, the SMTP `command` in flight, the server's reply):
 * - `recipient-refused`: a 5xx reply to RCPT TO (nodemailer's `command: 'RCPT TO'`, also for "all recipients were
 *   rejected") unless its enhanced status says otherwise (below), or an enhanced status 5.1.x (addressing: "5.1.1
 *   no such user") in the reply to DATA, where LMTP answers per recipient. The next attempt would get the same:
 *   `failed` at once.
 * - `recipient-deferred`: the same with a 4xx reply (greylisting, a full mailbox): retried, up to maxAttempts.
 * - `server`: everything else — connection, DNS, TLS and STARTTLS, timeouts, login, a refused MAIL FROM (`530
 *   authentication required`) or DATA (`550 5.4.5 Daily sending quota exceeded`), 421, 503, and any reply whose
 *   enhanced status is about the mail system, routing or policy (x.3.x, x.4.x, x.7.x: quota, relaying denied), even
 *   at RCPT TO. Any other message would fail the same way, so it says nothing about this invitation.
 */
export type SendFailureKind = 'recipient-refused' | 'recipient-deferred' | 'server';

export function classifySendError(err: unknown): SendFailureKind {
  const { command, responseCode, response } = (err ?? {}) as {
    command?: unknown;
    responseCode?: unknown;
    response?: unknown;
  };
  if (typeof responseCode !== 'number' || responseCode < 400 || responseCode >= 600) return 'server';
  if (responseCode === 421 || responseCode === 503) return 'server';
  // RFC 3463 enhanced status code after the reply code: class.subject.detail, e.g. "550 5.1.1 …".
  const enhanced = typeof response === 'string' ? /^\d{3}[ -]([245])\.(\d{1,3})\.\d{1,3}\b/.exec(response) : null;
  const subject = enhanced ? Number(enhanced[2]) : undefined;
  const aboutRecipient =
    command === 'RCPT TO' ? subject === undefined || ![3, 4, 7].includes(subject) : command === 'DATA' && subject === 1;
  if (!aboutRecipient) return 'server';
  return responseCode >= 500 ? 'recipient-refused' : 'recipient-deferred';
}

/** The reason an admin sees: nodemailer's code and message (the server's reply), never credentials. */
function describeSendError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return e.code ? `${e.code}: ${message}` : message;
}

/**
 * A database error for a log line: its code and the first line of its message, without the statement. knex puts the
 * statement with its bound values in front of PostgreSQL's message (`<sql> - <message>`), and those values include
 * recipients' addresses (`sent_to`) and SMTP replies naming them.
 */
export function dbErrorSummary(err: unknown): { code?: string; message: string } {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const firstLine = String(e.message ?? err).split('\n')[0] ?? '';
  const cut = firstLine.lastIndexOf(' - ');
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    message: cut >= 0 ? firstLine.slice(cut + 3) : firstLine,
  };
}
