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

  router.use(createUserRoutes(sc));
  router.use(createGroupRoutes(sc));
  router.use(createDiscoveryRoutes(sc));

  // RFC 7644 §3.7 and §3.11: optional, not offered (advertised as bulk.supported=false).
  router.all(['/Bulk', '/Me', '/Me/*rest'], (_req, _res, next) =>
    next(new ScimError(501, undefined, 'not implemented')),
  );
  router.use((req, _res, next) => {
    const known = /^\/(Users|Groups)(\/[^/]*)?$/i.test(req.path);
    next(
      known
        ? new ScimError(405, undefined, `${req.method} is not supported here`)
        : new ScimError(404, undefined, 'no such SCIM endpoint'),
    );
  });
  router.use(scimErrorHandler(deps.logger));
  return router;
}
