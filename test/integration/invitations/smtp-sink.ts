import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  /** The whole message as the server received it (headers and MIME body). */
  raw: string;
}

/**
 * A real SMTP server (nodemailer's smtp-server) on 127.0.0.1 that requires the given login and keeps what it receives.
 * `stop()` then `start()` on the same port simulates a mail server outage.
 */
export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  private server?: SMTPServer;
  /** Recipients the server refuses with 550, like a mailbox that does not exist. */
  readonly refuse = new Set<string>();
  /** A reply refusing every sender (MAIL FROM), e.g. `550 5.4.5 Daily sending quota exceeded`; unset: accepted. */
  refuseSender?: { responseCode: number; message: string };
  /** A reply refusing every message at the end of DATA; unset: accepted. */
  refuseData?: { responseCode: number; message: string };
  /** How long the server takes to answer a received message (a slow scanner); 0: at once. */
  dataDelayMs = 0;

  constructor(
    readonly port: number,
    readonly user = 'mailer',
    readonly pass = 's3cret-pass',
  ) {}

  /**
   * The URL a mailer uses for this sink: it offers no STARTTLS, like a relay on localhost, so the URL opts out of
   * requiring it (`?requireTLS=false`, docs/invitations.md).
   */
  get url(): string {
    return `${this.urlRequiringTls}?requireTLS=false`;
  }

  /** The URL without the opt-out: with credentials, the mailer then insists on STARTTLS, which this sink lacks. */
  get urlRequiringTls(): string {
    return `smtp://${encodeURIComponent(this.user)}:${encodeURIComponent(this.pass)}@127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, cb) => {
        if (auth.username === this.user && auth.password === this.pass) cb(null, { user: auth.username });
        else cb(new Error('Invalid username or password'));
      },
      onMailFrom: (_address, _session, cb) => {
        const refusal = this.refuseSender;
        if (refusal) cb(Object.assign(new Error(refusal.message), { responseCode: refusal.responseCode }));
        else cb();
      },
      onRcptTo: (address, _session, cb) => {
        if (this.refuse.has(address.address)) {
          cb(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
        } else cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const refusal = this.refuseData;
          if (refusal) return cb(Object.assign(new Error(refusal.message), { responseCode: refusal.responseCode }));
          const accept = () => {
            this.received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks).toString('utf8'),
            });
            cb();
          };
          if (this.dataDelayMs > 0) setTimeout(accept, this.dataDelayMs);
          else accept();
        });
      },
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

/** The decoded text of a quoted-printable MIME body (what nodemailer uses for long lines). */
export function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}
