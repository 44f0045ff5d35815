import type { Db } from '../db/knex';
import type { Logger } from '../logger';

/** The channel the outbox trigger notifies (migration 027). */
export const OUTBOX_CHANNEL = 'entra_sync_outbox';

interface ListeningConnection {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', fn: (msg: { channel: string }) => void): void;
  on(event: 'error' | 'end', fn: (err?: Error) => void): void;
  removeAllListeners(): void;
}

/**
 * Holds one PostgreSQL connection (outside the pool) that LISTENs on the outbox channel (or `channel`: the invitation
 * mailer's) and calls `onRows` whenever a transaction that inserted outbox rows commits. A lost connection is logged
 * and made again with backoff; while it is down `listening` is false, and the relay polls at its short interval, so
 * nothing waits longer than before.
 */
export class OutboxListener {
  private conn?: ListeningConnection;
  private stopped = true;
  private retryTimer?: NodeJS.Timeout;
  private backoffMs = 0;
  /** Connections already given up (a failing socket reports 'error' and 'end', and the LISTEN query rejects). */
  private readonly dead = new WeakSet<ListeningConnection>();
  listening = false;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly onRows: () => void,
    private readonly channel: string = OUTBOX_CHANNEL,
    /** Who listens, for the log line when the connection is lost. */
    private readonly listenerName: string = 'outbox relay',
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.drop();
  }

  private async connect(): Promise<void> {
    let conn: ListeningConnection | undefined;
    try {
      conn = (await this.db.client.acquireRawConnection()) as ListeningConnection;
      conn.on('notification', (msg) => {
        if (msg.channel === this.channel) this.onRows();
      });
      conn.on('error', (err) => this.lost(conn!, err));
      conn.on('end', () => this.lost(conn!));
      await conn.query(`LISTEN ${this.channel}`);
      if (this.stopped) {
        this.conn = conn;
        await this.drop();
        return;
      }
      this.conn = conn;
      this.listening = true;
      this.backoffMs = 0;
      // Rows committed while nobody listened: the relay looks once now.
      this.onRows();
    } catch (err) {
      if (conn) this.lost(conn, err as Error);
      else this.retryLater(err as Error);
    }
  }

  private lost(conn: ListeningConnection, err?: Error): void {
    if (this.dead.has(conn)) return;
    this.dead.add(conn);
    this.listening = false;
    this.conn = undefined;
    void this.release(conn);
    this.retryLater(err);
  }

  private retryLater(err?: Error): void {
    if (this.stopped) return;
    this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 1000), 30_000);
    this.logger.warn(
      { err, retryInMs: this.backoffMs },
      `${this.listenerName} lost its LISTEN connection; polling meanwhile`,
    );
    this.retryTimer = setTimeout(() => void this.connect(), this.backoffMs);
  }

  private async drop(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.listening = false;
    if (!conn) return;
    this.dead.add(conn);
    await this.release(conn);
  }

  private async release(conn: ListeningConnection): Promise<void> {
    conn.removeAllListeners();
    conn.on('error', () => undefined); // a closing socket may still report
    await this.db.client.destroyRawConnection(conn).catch(() => undefined);
  }
}
