import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../../db/knex';
import type { TokenRecord } from '../../db/tokens';
import { getTenant } from '../../db/tenants';
import { TokenAuthenticator } from '../bearer';
import { ProblemError } from './problem';

/** The admin token of the request, set by `requireAdminToken`. */
export function adminToken(res: Response): TokenRecord {
  return res.locals.adminToken as TokenRecord;
}

/** Every /admin route needs an admin bearer token; 401 problem+json otherwise. */
export function requireAdminToken(db: Db): RequestHandler {
  const auth = new TokenAuthenticator(db, 'admin');
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = await auth.authenticate(req);
      if (!token) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="entra-sync admin"');
        throw new ProblemError(401, 'Unauthorized', 'a valid admin bearer token is required');
      }
      res.locals.adminToken = token;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Guards /tenants/:tenantId/**: a tenant's admin token reaches only its own tenant (404, as if it did not exist),
 * the platform token (no tenant) reaches every tenant that exists. Handlers read the tenant from `tenantIdOf(res)`.
 */
export function requireTenantAccess(db: Db): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      // Ids are compared as stored (lower case); `A52B…` names the same tenant as `a52b…`.
      const tenantId = String(req.params.tenantId ?? '').toLowerCase();
      // Several routers are mounted under /tenants/:tenantId; the first guard that let the request through decides.
      if (res.locals.tenantId === tenantId) return next();
      const token = adminToken(res);
      const reachable =
        UUID.test(tenantId) &&
        (token.tenantId === null ? (await getTenant(db, tenantId)) !== undefined : token.tenantId === tenantId);
      if (!reachable) throw new ProblemError(404, 'Not Found', 'tenant does not exist');
      res.locals.tenantId = tenantId;
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function tenantIdOf(res: Response): string {
  return res.locals.tenantId as string;
}

export function requirePlatformToken(res: Response): void {
  if (adminToken(res).tenantId !== null) {
    throw new ProblemError(403, 'Forbidden', 'only the platform admin token can do this');
  }
}

/** Any case: RFC 9562 reads UUIDs case-insensitively. Spelled out (no `i` flag) so the OpenAPI pattern says so too. */
export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The path parameter `name` as a lower-case UUID (how ids are stored and compared), or undefined if it is none. */
export function uuidParam(req: Request, name: string): string | undefined {
  const value = String(req.params[name] ?? '');
  return UUID.test(value) ? value.toLowerCase() : undefined;
}
