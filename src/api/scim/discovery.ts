import { Router } from 'express';
import { tenantOf } from './auth';
import { notFound, ScimError, sendScimJson } from './errors';
import { listResponse, MAX_RESULTS, queryParams } from './list';
import { schemaDocuments, URN } from './schemas';
import type { ScimContext } from './users';

/** RFC 7643 §5–7 discovery: what this server supports, its resource types, and its schemas (per tenant). */
export function createDiscoveryRoutes(sc: ScimContext): Router {
  const router = Router();
  const base = sc.baseUrl;

  // No documentationUri (RFC 7643 §5: optional): the api serves no documentation, and a URL on its own host answered 404.
  const serviceProviderConfig = {
    schemas: [URN.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: "Per-tenant SCIM token from the HRIS admin settings, sent as 'Authorization: Bearer <token>'.",
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };

  const resourceTypes = [
    {
      schemas: [URN.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'Employees',
      schema: URN.user,
      schemaExtensions: [
        { schema: URN.enterprise, required: false },
        { schema: URN.product, required: false },
      ],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [URN.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Teams',
      schema: URN.group,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];

  // RFC 7644 §4: discovery ignores query parameters, and "if a filter is provided, the service provider SHOULD respond
  // with HTTP status code 403" so that no client takes the unfiltered answer for a filtered one.
  router.get(['/ServiceProviderConfig', '/ResourceTypes{/:id}', '/Schemas{/:id}'], (req, _res, next) => {
    if (queryParams(req.query).has('filter'))
      return next(new ScimError(403, undefined, 'discovery endpoints cannot be filtered (RFC 7644 §4)'));
    next();
  });
  router.get('/ServiceProviderConfig', (_req, res) => sendScimJson(res, 200, serviceProviderConfig));
  router.get('/ResourceTypes', (_req, res) =>
    sendScimJson(res, 200, listResponse(resourceTypes, resourceTypes.length, 1)),
  );
  router.get('/ResourceTypes/:id', (req, res) => {
    const rt = resourceTypes.find((r) => r.id.toLowerCase() === String(req.params.id).toLowerCase());
    if (!rt) throw notFound('no such resource type');
    sendScimJson(res, 200, rt);
  });

  const schemasOf = async (tenantId: string) => {
    const defs = await sc.customAttributes.get(tenantId, { fresh: true });
    return schemaDocuments(defs.definitions).map((s) => ({
      schemas: [URN.schema],
      ...s,
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
    }));
  };
  router.get('/Schemas', async (_req, res) => {
    const docs = await schemasOf(tenantOf(res));
    sendScimJson(res, 200, listResponse(docs, docs.length, 1));
  });
  router.get('/Schemas/:id', async (req, res) => {
    const docs = await schemasOf(tenantOf(res));
    const doc = docs.find((d) => d.id.toLowerCase() === String(req.params.id).toLowerCase());
    if (!doc) throw notFound('no such schema');
    sendScimJson(res, 200, doc);
  });
  return router;
}
