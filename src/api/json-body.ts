import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';

/** Why a request body was refused before any handler saw it; each router renders it in its own error shape. */
export class RequestBodyError extends Error {
  override name = 'RequestBodyError';
  constructor(
    readonly status: 400 | 413 | 415,
    readonly reason:
      | 'malformed'
      | 'too_large'
      | 'too_deep'
      | 'forbidden_key'
      | 'nul_character'
      | 'lone_surrogate'
      | 'unsupported_media_type',
    message: string,
  ) {
    super(message);
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// body-parser re-wraps errors thrown by the reviver, keeping only their message; this marks ours.
const FORBIDDEN_KEY_MARK = 'forbidden JSON key';
const MAX_DEPTH = 32;
/** U+0000: JSON allows it in strings ("\u0000"), PostgreSQL text cannot hold it. */
const NUL_MARK = 'NUL character';
/**
 * A UTF-16 surrogate without its other half: JSON can escape one ("\ud800"), UTF-8 cannot encode it, so it would
 * reach PostgreSQL as U+FFFD — stored as something other than what was sent.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const SURROGATE_MARK = 'lone surrogate';
/** Why PostgreSQL could not store this key or string as sent, if it could not. */
const unstorable = (s: string): typeof NUL_MARK | typeof SURROGATE_MARK | undefined =>
  s.includes('\u0000') ? NUL_MARK : LONE_SURROGATE.test(s) ? SURROGATE_MARK : undefined;

/** The bytes each parsed request body had (after content decoding), to tell "no body" from "an empty one". */
const bodyBytes = new WeakMap<Request, number>();

/**
 * How many bytes the JSON parser read for this request, or undefined if it read none (no JSON body). The parser turns
 * a body of zero bytes into `{}`; handlers for which that would mean "all" or "no change" check this.
 */
export function parsedBodyBytes(req: Request): number | undefined {
  return bodyBytes.get(req);
}

function depthExceeds(value: unknown, limit: number): boolean {
  // Iterative walk: a hostile body must not be able to overflow our stack either.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= limit) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, d + 1]);
  }
  return false;
}

/**
 * JSON body parsing shared by /scim and /admin: `application/json` and any `application/*+json`
 * (SCIM clients send `application/scim+json`), a size limit (413), no `__proto__`/`constructor`/`prototype` keys
 * anywhere (they are how prototype pollution reaches merge code), no U+0000 or lone surrogate in keys or strings
 * (PostgreSQL text cannot hold them), and at most 32 levels of nesting.
 */
export function jsonBody(maxBytes: number): Array<RequestHandler | ErrorRequestHandler> {
  const parse = express.json({
    limit: maxBytes,
    strict: false,
    type: (req) => /^application\/([a-z0-9.+-]+\+)?json\b/i.test(String(req.headers['content-type'] ?? '')),
    verify(req, _res, buf) {
      bodyBytes.set(req as Request, buf.length);
    },
    reviver(key, value) {
      if (FORBIDDEN_KEYS.has(key)) throw new Error(`${FORBIDDEN_KEY_MARK} "${key}"`);
      const mark = unstorable(key) ?? (typeof value === 'string' ? unstorable(value) : undefined);
      if (mark) throw new Error(mark);
      return value;
    },
  });
  const translate = (err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    if (err instanceof RequestBodyError) return next(err);
    const e = err as { type?: string; status?: number; message?: string };
    // Only the body parser's own errors (each has a `type`) are about the body; others (an earlier 401) pass as they are.
    if (typeof e.type !== 'string') return next(err);
    if (e.type === 'entity.too.large')
      return next(new RequestBodyError(413, 'too_large', `body larger than ${maxBytes} bytes`));
    if (e.type === 'entity.parse.failed') {
      if (e.message?.startsWith(FORBIDDEN_KEY_MARK)) {
        return next(
          new RequestBodyError(
            400,
            'forbidden_key',
            `${e.message.slice(FORBIDDEN_KEY_MARK.length + 1)} is not allowed as a key`,
          ),
        );
      }
      if (e.message === NUL_MARK) {
        return next(
          new RequestBodyError(400, 'nul_character', 'strings in the body must not contain the NUL character (U+0000)'),
        );
      }
      if (e.message === SURROGATE_MARK) {
        return next(
          new RequestBodyError(
            400,
            'lone_surrogate',
            'strings in the body must be valid Unicode: a lone surrogate (such as "\\ud800") cannot be stored',
          ),
        );
      }
      return next(new RequestBodyError(400, 'malformed', 'body is not valid JSON'));
    }
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') {
      return next(new RequestBodyError(415, 'unsupported_media_type', e.message ?? 'unsupported encoding'));
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return next(new RequestBodyError(400, 'malformed', e.message ?? 'bad request body'));
    }
    return next(err);
  };
  const guard = (req: Request, _res: Response, next: NextFunction) => {
    if (req.body !== undefined && depthExceeds(req.body, MAX_DEPTH)) {
      return next(new RequestBodyError(400, 'too_deep', `body nested deeper than ${MAX_DEPTH} levels`));
    }
    next();
  };
  return [parse, translate, guard];
}

/** True when the request carries a body in a media type other than JSON (`application/json`, `*+json`). */
export function hasNonJsonBody(req: Request): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (length === 0 && !chunked) return false;
  return !/^application\/([a-z0-9.+-]+\+)?json\b/i.test(String(req.headers['content-type'] ?? ''));
}
