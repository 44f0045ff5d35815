import type { Db } from '../db/knex';
import { findActiveToken, issueToken } from '../db/tokens';
import { createTenant, getTenant } from '../db/tenants';

export interface DevCredentials {
  tenantId: string;
  scimToken: string;
  adminToken: string;
}

/**
 * The default tenant of `make start`. Tokens are stored hashed, so the plaintext ones live only in the developer's
 * own `.data/dev.json`; they are reused while still valid there, else new ones are issued.
 */
export async function ensureDefaultTenant(
  db: Db,
  previous: Partial<DevCredentials> | undefined,
): Promise<DevCredentials> {
  let tenantId = previous?.tenantId;
  if (!tenantId || !(await getTenant(db, tenantId))) {
    tenantId = (await createTenant(db, { name: 'Default company' })).id;
  }
  const scimOk = previous?.scimToken && (await findActiveToken(db, 'scim', previous.scimToken))?.tenantId === tenantId;
  const scimToken = scimOk
    ? previous!.scimToken!
    : (await issueToken(db, { tenantId, kind: 'scim', name: 'make start' })).token;
  const adminOk = previous?.adminToken && (await findActiveToken(db, 'admin', previous.adminToken));
  // The development admin token is the platform token: it reaches every tenant and may create more.
  const adminToken = adminOk
    ? previous!.adminToken!
    : (await issueToken(db, { tenantId: null, kind: 'admin', name: 'make start (platform)' })).token;
  return { tenantId, scimToken, adminToken };
}
