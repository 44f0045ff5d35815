import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Names whose values never reach a log line, whatever they hold. */
const SECRET_KEYS = [
  'authorization',
  'token',
  'secret',
  'clientSecret',
  'clientCertificate',
  'password',
  'passwordProfile',
];

/**
 * Where the secret names are redacted: at the top of a logged object and up to two levels below it (a request's
 * `headers.authorization`, an error's `cause.options.token`). pino's redaction matches fixed paths, not any depth;
 * nothing logs objects nested deeper that could hold one of these.
 */
const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/**
 * Structured JSON logs (to stdout unless `destination` is given). The values of authorization headers, tokens,
 * secrets and passwords are redacted (REDACTED_PATHS); bodies are never logged at info level.
 */
export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  const options = { name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
