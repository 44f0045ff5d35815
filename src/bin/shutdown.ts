import { ConfigError } from '../config';
import type { Logger } from '../logger';

/** Runs `stop` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/**
 * What a process prints when it cannot start. A configuration error is its message alone: the message names the
 * variable and never its value, while the whole error (util.inspect) could carry one in a property (Node's
 * ERR_INVALID_URL keeps the URL, password and all, in `input`). Anything else: its stack, without such properties.
 */
export function exitOnStartupFailure(err: unknown): never {
  const text =
    err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${text}\n`);
  process.exit(1);
}
