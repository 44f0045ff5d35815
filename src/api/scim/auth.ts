import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../../db/knex';
import type { TokenRecord } from '../../db/tokens';
import { bearerToken, TokenAuthenticator } from '../bearer';
import { sendScimError } from './errors';

/**
 * How long a verified token is trusted without asking the database again. Entra sends bursts of requests with one
 * token; a few seconds of caching removes a query from every request, at the cost of a revoked token working for at
 * most this long.
 */
const TOKEN_CACHE_MS = 5_000;
const TOKEN_CACHE_MAX = 1_000;

/**
 * Per-tenant SCIM bearer tokens. The database keeps only SHA-256 digests and compares them in constant time
 * (db/tokens.ts); the cache here is keyed by that digest too, so no token is held in memory in clear.
 */
export function requireScimToken(db: Db): RequestHandler {
  const auth = new TokenAuthenticator(db, 'scim');
  const cache = new Map<string, { record: TokenRecord; until: number }>();
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = bearerToken(req);
      const key = token && token.length <= 512 ? createHash('sha256').update(token).digest('base64') : undefined;
      const now = Date.now();
      let record = key ? cache.get(key) : undefined;
      if (!record || record.until < now) {
        const found = key ? await auth.authenticate(req) : undefined;
        if (!found || found.tenantId === null) {
          if (key) cache.delete(key);
          // Answered here rather than through next(err): the JSON body parser's error translator further down would
          // otherwise see (and rewrite) every error that passes it.
          res.setHeader('WWW-Authenticate', 'Bearer realm="entra-sync scim"');
          sendScimError(res, 401, undefined, 'a valid SCIM bearer token is required');
          return;
        }
        record = { record: found, until: now + TOKEN_CACHE_MS };
        if (cache.size >= TOKEN_CACHE_MAX) cache.clear();
        cache.set(key!, record);
      }
      res.locals.tenantId = record.record.tenantId;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** The tenant of the authenticated SCIM request. */
export function tenantOf(res: Response): string {
  return res.locals.tenantId as string;
}

export function requestIdOf(res: Response): string | undefined {
  return res.locals.requestId as string | undefined;
}
