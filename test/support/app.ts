import type { Express } from 'express';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/deps';
import type { Db } from '../../src/db/knex';
import { createTenant } from '../../src/db/tenants';
import { issueToken } from '../../src/db/tokens';
import { silentLogger } from '../../src/logger';

/** The api on a test database, as clients see it at http://api.test. */
export function buildTestApp(db: Db, overrides: Partial<ApiDeps> = {}): Express {
  return createApp({
    db,
    logger: silentLogger(),
    publicBaseUrl: 'http://api.test',
    maxBodyBytes: 64 * 1024,
    ...overrides,
  });
}

export interface SeededTenant {
  tenantId: string;
  scimToken: string;
  adminToken: string;
}

/** A tenant with one SCIM token and one tenant-scoped admin token. */
export async function seedTenant(db: Db, name = 'Acme'): Promise<SeededTenant> {
  const tenant = await createTenant(db, { name });
  const scim = await issueToken(db, { tenantId: tenant.id, kind: 'scim', name: 'test' });
  const admin = await issueToken(db, { tenantId: tenant.id, kind: 'admin', name: 'test' });
  return { tenantId: tenant.id, scimToken: scim.token, adminToken: admin.token };
}

/** The platform admin token (reaches every tenant, may create tenants). */
export async function platformToken(db: Db): Promise<string> {
  return (await issueToken(db, { tenantId: null, kind: 'admin', name: 'platform' })).token;
}
