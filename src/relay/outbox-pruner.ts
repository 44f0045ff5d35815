import type { Config } from '../config';
import type { Db } from '../db/knex';
import { pruneDeliveredOutbox, pruneRange } from '../db/outbox-retention';
import type { Logger } from '../logger';

export interface OutboxPrunerOptions {
  db: Db;
  logger: Logger;
  /** Delivered rows older than this are deleted (OUTBOX_RETENTION_DAYS). */
  retentionMs: number;
  /** How often it looks after the first look at start (default 1 hour). */
  intervalMs?: number;
  /** Rows read per statement (default 5,000), the delivered ones deleted: short transactions beside SCIM writes. */
  batchSize?: number;
  /** Between two batches of one pass (default 100 ms). */
  pauseMs?: number;
}

/**
 * Keeps the outbox from growing without end: every employee change, enrolment and manager notice appends a row, and
 * a delivered row is never read again. Runs in the worker process next to the relay; several workers take turns (an advisory
 * lock). A failed look (PostgreSQL away) is logged and tried again at the next interval: nothing waits on it.
 */
export class OutboxPruner {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;
  private current?: Promise<void>;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly pauseMs: number;

  constructor(private readonly opts: OutboxPrunerOptions) {
    this.intervalMs = opts.intervalMs ?? 3_600_000;
    this.batchSize = opts.batchSize ?? 5_000;
    this.pauseMs = opts.pauseMs ?? 100;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops after the batch in progress, if any. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  /**
   * Deletes every delivered row past the retention, a batch at a time with a pause between batches (a first pass after
   * an upgrade may meet a backlog of months); returns how many. Exposed for tests.
   */
  async pruneOnce(): Promise<number> {
    const range = await pruneRange(this.opts.db, this.opts.retentionMs);
    let total = 0;
    let afterId = 0;
    for (;;) {
      const page = await pruneDeliveredOutbox(this.opts.db, range, afterId, this.batchSize);
      total += page.deleted;
      if (page.read < this.batchSize || page.lastId === null || this.stopped) return total;
      afterId = page.lastId;
      await new Promise((r) => setTimeout(r, this.pauseMs));
      if (this.stopped) return total;
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.current = this.pruneOnce()
        .then((deleted) => {
          if (deleted > 0) this.opts.logger.info({ deleted }, 'pruned delivered outbox rows past their retention');
        })
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'could not prune the outbox; trying again later'))
        .finally(() => {
          if (this.running) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}

/** OUTBOX_RETENTION_DAYS as the worker's `outboxRetentionMs`; undefined when rows are kept forever (0). */
export function outboxRetentionMsFromConfig(config: Pick<Config, 'OUTBOX_RETENTION_DAYS'>): number | undefined {
  return config.OUTBOX_RETENTION_DAYS > 0 ? config.OUTBOX_RETENTION_DAYS * 86_400_000 : undefined;
}
