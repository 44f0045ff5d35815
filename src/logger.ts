import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Authorization headers, tokens, secrets and passwords are redacted wherever they appear in
 * a logged object; bodies are never logged at info level.
 */
export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.token',
        '*.secret',
        '*.clientSecret',
        '*.clientCertificate',
        '*.password',
        '*.passwordProfile',
      ],
      censor: '[redacted]',
    },
  });
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
