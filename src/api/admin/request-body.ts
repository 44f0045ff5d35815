import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { hasNonJsonBody, parsedBodyBytes, RequestBodyError } from '../json-body';
import { ProblemError } from './problem';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Whether the request carries a body. The JSON parser reads an empty body as `{}`, so once it has run, the bytes it
 * read decide (a chunked body of no bytes is no body); before it, the headers do.
 */
function hasBody(req: Request): boolean {
  const parsed = parsedBodyBytes(req);
  if (parsed !== undefined) return parsed > 0;
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Refuses, with 415, a body the JSON parser would otherwise skip: it leaves a body in another media type unread, so a
 * handler would see no body and act on its defaults — a form-encoded `{"errorType": "UpnConflict"}` retried every
 * blocked employee. (Content codings are the parser's: gzip, deflate and br are read, others are 415, and a body that
 * does not inflate is 400.)
 */
export function refuseUnsupportedBodies() {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!BODY_METHODS.has(req.method) || !hasBody(req)) return next();
    if (hasNonJsonBody(req)) {
      return next(new RequestBodyError(415, 'unsupported_media_type', 'send the body as application/json'));
    }
    next();
  };
}

function isJsonObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/**
 * The request's JSON object body parsed with `schema`. A missing body, `null` or a non-object is a 400 of its own:
 * treated as `{}` they would mean "all" or "no change" (an empty bulk retry body retried every blocked employee).
 */
export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  if (!hasBody(req) || !isJsonObject(req.body)) {
    throw new ProblemError(400, 'Bad Request', 'a JSON object body is required');
  }
  return schema.parse(req.body);
}
