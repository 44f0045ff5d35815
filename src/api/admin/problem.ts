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

/** Maps every error on /admin to problem+json; anything unexpected is a 500 without internals. */
export function problemErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof ProblemError) return sendProblem(res, err.status, err.title, err.detail, err.extensions);
    if (err instanceof RequestBodyError) {
      const title =
        err.status === 413 ? 'Payload Too Large' : err.status === 415 ? 'Unsupported Media Type' : 'Bad Request';
      return sendProblem(res, err.status, title, err.message);
    }
    if (err instanceof ZodError) {
      return sendProblem(res, 400, 'Bad Request', 'the request does not match the schema', {
        errors: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    logger.error({ err, requestId: res.locals.requestId, path: req.path }, 'admin request failed');
    sendProblem(res, 500, 'Internal Server Error', 'an unexpected error occurred; see the server log');
  };
}
