import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { jsonBody } from '../json-body';
import { methodNotAllowed } from './allowed-methods';
import { requireAdminToken, requireTenantAccess } from './auth';
import { problemErrorHandler, ProblemError } from './problem';
import { createHrRoutes } from './hr-routes';
import { createOutboundRoutes } from './outbound';
import { buildOpenApiDocument, type OpenApiPaths } from './openapi';
import { refuseUnsupportedBodies } from './request-body';
import { createTenantRoutes } from './tenants';

/**
 * /admin/v1: tenants and their tokens, custom attribute definitions, manual teams, employees and their audit trail,
 * and outbound provisioning. Admin bearer token on every route; errors are problem+json.
 */
export function createAdminRouter(deps: ApiDeps): Router {
  const router = Router();
  // The API description is public, like any OpenAPI document; everything else needs a token.
  const openapi = buildOpenApiDocument();
  router.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  router.use(requireAdminToken(deps.db));
  // Bodies are read only for a caller with a token: inflating and parsing up to MAX_BODY_BYTES is work nobody
  // unauthenticated may make the api do.
  router.use(refuseUnsupportedBodies());
  router.use(...jsonBody(deps.maxBodyBytes));

  router.use(createTenantRoutes(deps));
  // Routers of one tenant's resources, each mounted under /tenants/:tenantId.
  for (const routes of [createHrRoutes, createOutboundRoutes] as Array<(d: ApiDeps) => Router>) {
    router.use('/tenants/:tenantId', requireTenantAccess(deps.db), routes(deps));
  }

  router.use(methodNotAllowed({ ...(openapi.paths as OpenApiPaths), '/openapi.json': { get: {} } }));
  router.use((_req, _res, next) => next(new ProblemError(404, 'Not Found', 'no such admin endpoint')));
  router.use(problemErrorHandler(deps.logger));
  return router;
}
