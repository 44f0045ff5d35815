import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../../logger';
import { RequestBodyError } from '../json-body';

/** An admin API error rendered as RFC 9457 problem+json. Throw it from any admin handler. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    /** Extra members of the problem object, e.g. `errors` for validation failures. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }
}

export const notFound = (what: string) => new ProblemError(404, 'Not Found', `${what} does not exist`);

export function sendProblem(res: Response, status: number, title: string, detail?: string, extra = {}): void {
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: 'about:blank', title, status, ...(detail ? { detail } : {}), ...extra });
}

/**
 * PostgreSQL errors caused by a value the client sent that slipped past validation (e.g. in a query parameter):
 * 22021/22P05 a character the database cannot hold (U+0000; bodies are checked when parsed, this is the net),
 * 22P02 a malformed value for the column type (a bad uuid), 22001 a value longer than its column, 54000 a value too
 * long for its index.
 */
const CLIENT_VALUE_PG_CODES = new Set(['22021', '22P05', '22P02', '22001', '54000']);

function isClientValuePgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CLIENT_VALUE_PG_CODES.has(code);
}

/**
 * The 4xx status of an error raised by Express itself or a library following the http-errors convention (e.g. a
 * malformed %-escape in the URL path is a 400 URIError), or undefined.
 */
function httpClientErrorStatus(err: unknown): number | undefined {
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  const status = e?.status ?? e?.statusCode;
  return typeof status === 'number' && status >= 400 && status <= 499 ? status : undefined;
}

/**
 * The detail of a validation failure. A lone issue about the whole value (empty path), such as a body that matches
 * none of the shapes a union allows, says what is wrong better than the generic sentence: its message is the detail.
 */
function zodDetail(err: ZodError): string {
  const [only, ...more] = err.issues;
  return only && more.length === 0 && only.path.length === 0 ? only.message : 'the request does not match the schema';
}

/** Maps every error on /admin to problem+json; anything unexpected is a 500 without internals. */
export function problemErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ProblemError) return sendProblem(res, err.status, err.title, err.detail, err.extensions);
    if (err instanceof RequestBodyError) {
      const title =
        err.status === 413 ? 'Payload Too Large' : err.status === 415 ? 'Unsupported Media Type' : 'Bad Request';
      return sendProblem(res, err.status, title, err.message);
    }
    if (err instanceof ZodError) {
      return sendProblem(res, 400, 'Bad Request', zodDetail(err), {
        errors: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    if (isClientValuePgError(err)) {
      return sendProblem(res, 400, 'Bad Request', 'a value in the request has the wrong format or is too long');
    }
    const status = httpClientErrorStatus(err);
    if (status !== undefined) {
      // The message of such errors may quote the request (e.g. the undecodable path), so it stays out of the answer.
      return sendProblem(res, status, STATUS_CODES[status] ?? 'Client Error', 'the request could not be understood');
    }
    logger.error({ err, requestId: res.locals.requestId, path: req.path }, 'admin request failed');
    sendProblem(res, 500, 'Internal Server Error', 'an unexpected error occurred; see the server log');
  };
}
