import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config';

/** One outgoing message, addressed and composed. */
export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Where the mailer hands messages: an SMTP server, or (make start) files a developer can open. */
export interface InvitationSender {
  /** Resolves once the server (or the file system) has accepted the message; rejects with nodemailer's error. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
  /** For logs: host and port or folder, never credentials. */
  readonly description: string;
}

/**
 * Timeouts well below the mailer's claim lease (10 minutes), so a hanging server fails an attempt (and it is retried)
 * instead of outliving the claim. nodemailer's defaults are 2 minutes to connect and 10 minutes of socket inactivity.
 */
const SMTP_TIMEOUTS = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 };

/**
 * An SMTP sender from `smtp://user:pass@host:587` (STARTTLS) or `smtps://…:465` (TLS from the start). nodemailer's own
 * URL options (e.g. `?tls.rejectUnauthorized=false`) apply, and override the ones set here. Pooled: an initial sync
 * that creates thousands of employees reuses connections instead of logging in per message.
 */
export function smtpSender(url: string, opts: { maxConnections?: number } = {}): InvitationSender {
  const transport = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: opts.maxConnections ?? 2,
    requireTLS: requiresStartTls(url),
    ...SMTP_TIMEOUTS,
  });
  return {
    description: `smtp ${describeSmtpUrl(url)}`,
    async send(mail) {
      await transport.sendMail(mail);
    },
    close() {
      transport.close();
    },
  };
}

/**
 * Whether an `smtp://` URL must upgrade to TLS before it logs in. nodemailer's default is STARTTLS only when the
 * server offers it, so anyone on the path can strip the offer and read the AUTH exchange: with credentials in the URL
 * it is required. `?requireTLS=false` opts out (a relay on localhost or a private network); nodemailer reads that query
 * option itself and lets it override this one.
 */
export function requiresStartTls(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'smtp:' && Boolean(u.username || u.password);
  } catch {
    return true;
  }
}

/** `scheme://host:port` of an SMTP URL, without user name or password. Never throws: an unparseable URL says so. */
export function describeSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'smtps:' ? '465' : '587')}`;
  } catch {
    return '(SMTP_URL that is not a valid URL)';
  }
}

/**
 * Writes each message as an .eml file (open it in any mail client) into `dir` instead of sending it: `make start`
 * uses .data/mail/ so a developer sees the invitations without an SMTP server.
 */
export function fileSender(dir: string): InvitationSender {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let seq = 0;
  return {
    description: `files in ${dir}`,
    async send(mail) {
      const info = await transport.sendMail(mail);
      fs.mkdirSync(dir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${++seq}.eml`;
      fs.writeFileSync(path.join(dir, name), info.message as Buffer);
    },
    close() {
      transport.close();
    },
  };
}

export interface InvitationDelivery {
  sender: InvitationSender;
  from: string;
  signInUrl: string;
  maxAgeMs: number;
}

/** The worker's way of sending invitations: SMTP_URL, else INVITE_MAIL_DIR, else none (they stay pending). */
export function invitationDeliveryFromConfig(
  config: Pick<Config, 'SMTP_URL' | 'INVITE_MAIL_DIR' | 'INVITE_FROM' | 'INVITE_SIGN_IN_URL' | 'INVITE_MAX_AGE_DAYS'>,
): InvitationDelivery | undefined {
  const sender = config.SMTP_URL
    ? smtpSender(config.SMTP_URL)
    : config.INVITE_MAIL_DIR
      ? fileSender(config.INVITE_MAIL_DIR)
      : undefined;
  // loadConfig has refused SMTP_URL or INVITE_MAIL_DIR without these two.
  if (!sender || !config.INVITE_FROM || !config.INVITE_SIGN_IN_URL) return undefined;
  return {
    sender,
    from: config.INVITE_FROM,
    signInUrl: config.INVITE_SIGN_IN_URL,
    maxAgeMs: config.INVITE_MAX_AGE_DAYS * 86_400_000,
  };
}
