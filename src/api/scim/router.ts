import { Router, type NextFunction, type Request, type Response } from 'express';
import type { ApiDeps } from '../deps';
import { hasNonJsonBody, jsonBody } from '../json-body';
import { requireScimToken } from './auth';
import { CustomAttributeCache } from './custom-attribute-cache';
import { createDiscoveryRoutes } from './discovery';
import { ScimError, scimErrorHandler, sendScimError } from './errors';
import { createGroupRoutes } from './groups';
import { createUserRoutes, type ScimContext } from './users';

/**
 * SCIM 2.0 service provider at /scim/v2 (RFC 7643/7644), tuned to what Microsoft Entra ID's provisioning service
 * sends. Order matters: the bearer token is checked before any body is read, bodies are JSON only, and every error
 * leaves through one SCIM error handler.
 */
export function createScimRouter(deps: ApiDeps): Router {
  const router = Router();
  const sc: ScimContext = {
    deps,
    customAttributes: new CustomAttributeCache(deps.db),
    baseUrl: `${deps.publicBaseUrl.replace(/\/+$/, '')}/scim/v2`,
  };

  router.use(requireScimToken(deps.db));
  router.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') && hasNonJsonBody(req)) {
      return sendScimError(res, 415, undefined, 'send the body as application/scim+json or application/json');
    }
    next();
  });
  router.use(...jsonBody(deps.maxBodyBytes));

  // ".search" is not an id: another method on it is a 405, not the lookup of a user called ".search".
  router.all(['/Users/.search', '/Groups/.search'], (req, res, next) =>
    req.method === 'POST' ? next() : next(methodNotAllowed(req, res, 'POST')),
  );
  router.use(createUserRoutes(sc));
  router.use(createGroupRoutes(sc));
  router.use(createDiscoveryRoutes(sc));

  // RFC 7644 §3.7, §3.11 and §3.4.3: optional, not offered (advertised as bulk.supported=false). A search from the
  // root would have to page and sort Users and Groups as one list; /Users/.search and /Groups/.search are offered.
  router.all(['/Bulk', '/Me', '/Me/*rest', '/.search'], (_req, _res, next) =>
    next(new ScimError(501, undefined, 'not implemented')),
  );
  router.use((req, res, next) => {
    const allow = allowedMethods(req.path);
    next(
      allow === undefined ? new ScimError(404, undefined, 'no such SCIM endpoint') : methodNotAllowed(req, res, allow),
    );
  });
  router.use(scimErrorHandler(deps.logger));
  return router;
}

/** A 405 with the Allow header RFC 9110 §15.5.6 requires: which methods the resource does support. */
function methodNotAllowed(req: Request, res: Response, allow: string): ScimError {
  res.set('Allow', allow);
  return new ScimError(405, undefined, `${req.method} is not supported here; use ${allow}`);
}

/** The methods an endpoint of this router answers, for the Allow header of a 405; undefined for unknown paths. */
function allowedMethods(path: string): string | undefined {
  if (/^\/(Users|Groups)\/?$/i.test(path)) return 'GET, POST';
  if (/^\/(Users|Groups)\/\.search\/?$/i.test(path)) return 'POST';
  if (/^\/(Users|Groups)\/[^/]+\/?$/i.test(path)) return 'GET, PUT, PATCH, DELETE';
  if (/^\/(ServiceProviderConfig|(ResourceTypes|Schemas)(\/[^/]+)?)\/?$/i.test(path)) return 'GET';
  return undefined;
}
