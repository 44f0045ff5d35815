import { Router } from 'express';
import { createTenant, getTenant, listTenants, updateTenant, type Tenant } from '../../db/tenants';
import { issueToken, listTokens, revokeToken, type TokenKind, type TokenRecord } from '../../db/tokens';
import type { ApiDeps } from '../deps';
import { adminToken, requirePlatformToken, requireTenantAccess, tenantIdOf, uuidParam } from './auth';
import { notFound, ProblemError } from './problem';
import { parseBody } from './request-body';
import { TenantCreate, TenantPatch, TokenCreate } from './schemas';

export function tenantJson(t: Tenant) {
  return {
    id: t.id,
    name: t.name,
    inviteNewEmployees: t.inviteNewEmployees,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

export function tokenJson(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.tokenPrefix,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
    active: t.revokedAt === null,
  };
}

/** Tenants, and each tenant's SCIM and admin tokens (created tokens are shown once). */
export function createTenantRoutes({ db, inviteSwitchBy = 'tenant' }: ApiDeps): Router {
  const router = Router();

  router.get('/tenants', async (_req, res) => {
    const scope = adminToken(res).tenantId;
    const tenants = scope ? [await getTenant(db, scope)].filter((t): t is Tenant => !!t) : await listTenants(db);
    res.json({ items: tenants.map(tenantJson) });
  });

  router.post('/tenants', async (req, res) => {
    requirePlatformToken(res);
    const input = parseBody(TenantCreate, req);
    const tenant = await createTenant(db, input);
    res.status(201).location(`/admin/v1/tenants/${tenant.id}`).json(tenantJson(tenant));
  });

  const one = Router({ mergeParams: true });
  router.use('/tenants/:tenantId', requireTenantAccess(db), one);

  one.get('/', async (_req, res) => {
    const tenant = await getTenant(db, tenantIdOf(res));
    if (!tenant) throw notFound('tenant');
    res.json(tenantJson(tenant));
  });

  one.patch('/', async (req, res) => {
    const input = parseBody(TenantPatch, req);
    if (input.inviteNewEmployees === true && inviteSwitchBy === 'platform' && adminToken(res).tenantId) {
      // Switching off stays with the tenant; switching on mails the tenant's people from the operator's address.
      const current = await getTenant(db, tenantIdOf(res));
      if (current && !current.inviteNewEmployees) {
        throw new ProblemError(
          403,
          'Forbidden',
          'only the platform admin can switch invitation emails on for a tenant here (INVITE_SWITCH_BY=platform)',
        );
      }
    }
    const tenant = await updateTenant(db, tenantIdOf(res), input);
    if (!tenant) throw notFound('tenant');
    res.json(tenantJson(tenant));
  });

  for (const [path, kind] of [
    ['scim-tokens', 'scim'],
    ['admin-tokens', 'admin'],
  ] as Array<[string, TokenKind]>) {
    one.get(`/${path}`, async (_req, res) => {
      res.json({ items: (await listTokens(db, tenantIdOf(res), kind)).map(tokenJson) });
    });
    one.post(`/${path}`, async (req, res) => {
      const { name } = parseBody(TokenCreate, req);
      const tenant = await getTenant(db, tenantIdOf(res));
      if (!tenant) throw notFound('tenant');
      const issued = await issueToken(db, { tenantId: tenant.id, kind, name });
      res.status(201).setHeader('Cache-Control', 'no-store');
      res.json({ ...tokenJson(issued.record), token: issued.token });
    });
    one.delete(`/${path}/:tokenId`, async (req, res) => {
      const tokenId = uuidParam(req, 'tokenId');
      // Only a token of the path's kind: …/scim-tokens/{id} must not revoke an admin token (nor the reverse), which
      // the path's list never shows.
      if (!tokenId || !(await revokeToken(db, tenantIdOf(res), tokenId, kind))) throw notFound('token');
      res.status(204).end();
    });
  }
  return router;
}
