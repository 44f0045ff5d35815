import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from '../logger';

/**
 * The Temporal SDK's logs as the worker's own: one JSON line each through the worker's pino logger, at its
 * LOG_LEVEL. Without this the SDK writes plain-text lines of its own to stderr at INFO whatever LOG_LEVEL says
 * (worker state changes, the workflow bundle's webpack report), and Core's native logs go to the console apart from
 * both — three formats in one process's output.
 */
const PINO_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Messages the SDK logs as warnings that are expected here: the lane workers (SyncLane) poll activity tasks only, and
 * the SDK warns once per worker without workflows.
 */
const EXPECTED_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * webpack's report of a successful workflow bundle build (every module path, many lines in one message): debug
 * detail. The SDK follows it with "Workflow bundle created" and the size at INFO; a failed build's report is an ERROR
 * and stays one.
 */
const isBundleReport = (level: LogLevel, message: string): boolean =>
  level === 'INFO' && message.startsWith('asset workflow-bundle');

/** The pino level of an SDK message: its own, except for the expected chatter above, which is debug. */
function pinoLevelOf(level: LogLevel, message: string): (typeof PINO_LEVELS)[LogLevel] {
  if (level === 'WARN' && EXPECTED_WARNINGS.has(message)) return 'debug';
  if (isBundleReport(level, message)) return 'debug';
  return PINO_LEVELS[level];
}

/** Adapts `logger` to the SDK's Logger interface. */
export function sdkLogger(logger: Logger): SdkLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const pinoLevel = pinoLevelOf(level, message);
    if (!logger.isLevelEnabled(pinoLevel)) return;
    logger[pinoLevel](fields(meta), message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/** The SDK's metadata as pino fields: an `error` becomes `err`, which pino serializes with message and stack. */
function fields(meta: LogMetadata | undefined): Record<string, unknown> {
  if (!meta) return {};
  const { error, ...rest } = meta as Record<string, unknown>;
  return error === undefined ? rest : { ...rest, err: error };
}

/** Core's (native) threshold for a pino level: its INFO and below only when the worker logs at debug or trace. */
function coreLevel(logger: Logger): LogLevel {
  if (logger.isLevelEnabled('debug')) return 'DEBUG';
  return logger.isLevelEnabled('warn') ? 'WARN' : 'ERROR';
}

/**
 * Routes the SDK's and Core's logs through `logger`. Call once per process, before the first connection to Temporal
 * (the SDK creates its default runtime then).
 */
export function installTemporalLogging(logger: Logger): void {
  Runtime.install({
    logger: sdkLogger(logger),
    telemetryOptions: { logging: { filter: { core: coreLevel(logger), other: 'ERROR' }, forward: {} } },
  });
}
