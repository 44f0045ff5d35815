import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../../src/api/app';
import { createTenant } from '../../../src/db/tenants';
import { issueToken } from '../../../src/db/tokens';
import type { Db } from '../../../src/db/knex';
import { silentLogger } from '../../../src/logger';
import { createTestDb, type TestDb } from '../../support/db';

export const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PRODUCT = 'urn:ietf:params:scim:schemas:extension:entra-sync:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A SCIM client for one tenant, sending what Entra sends: bearer token and application/scim+json bodies. */
export class ScimClient {
  constructor(
    readonly app: Express,
    readonly token: string,
    readonly tenantId: string,
  ) {}

  get(path: string) {
    return request(this.app).get(`/scim/v2${path}`).set('Authorization', `Bearer ${this.token}`);
  }
  delete(path: string) {
    return request(this.app).delete(`/scim/v2${path}`).set('Authorization', `Bearer ${this.token}`);
  }
  post(path: string, body: unknown) {
    return this.send('post', path, body);
  }
  put(path: string, body: unknown) {
    return this.send('put', path, body);
  }
  patch(path: string, body: unknown) {
    return this.send('patch', path, body);
  }
  /** A PatchOp with the given operations. */
  ops(path: string, operations: unknown[]) {
    return this.patch(path, { schemas: [PATCH_OP], Operations: operations });
  }
  private send(method: 'post' | 'put' | 'patch', path: string, body: unknown) {
    const agent = request(this.app);
    return agent[method](`/scim/v2${path}`)
      .set('Authorization', `Bearer ${this.token}`)
      .set('Content-Type', 'application/scim+json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** Creates a user the way Entra does and returns its id. */
  async createUser(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await this.post('/Users', { schemas: [CORE, ENTERPRISE], userName, active: true, ...extra });
    if (res.status !== 201) throw new Error(`createUser ${userName}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }

  async createGroup(displayName: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await this.post('/Groups', { schemas: [GROUP], displayName, ...extra });
    if (res.status !== 201) throw new Error(`createGroup ${displayName}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }
}

export interface Harness {
  testDb: TestDb;
  db: Db;
  app: Express;
  scim: ScimClient;
  newTenant(name: string): Promise<ScimClient>;
}

export async function createHarness(): Promise<Harness> {
  const testDb = await createTestDb();
  const db = testDb.db;
  const app = createApp({ db, logger: silentLogger(), publicBaseUrl: 'http://scim.test', maxBodyBytes: 1024 * 1024 });
  const newTenant = async (name: string) => {
    const tenant = await createTenant(db, { name });
    const { token } = await issueToken(db, { tenantId: tenant.id, kind: 'scim', name: 'entra' });
    return new ScimClient(app, token, tenant.id);
  };
  return { testDb, db, app, scim: await newTenant('Acme'), newTenant };
}

/** Row counts that must not move when a request is refused. */
export async function snapshot(db: Db, tenantId: string): Promise<Record<string, unknown>> {
  const count = async (table: string) =>
    Number((await db(table).where({ tenant_id: tenantId }).count<Array<{ c: string }>>('* as c'))[0].c);
  const versions = await db('employees')
    .where({ tenant_id: tenantId })
    .orderBy('id')
    .select('id', 'version', 'updated_at');
  const teams = await db('teams')
    .where({ tenant_id: tenantId })
    .orderBy('id')
    .select('id', 'version', 'display_name', 'scim_managed');
  return {
    employees: await count('employees'),
    teams: await count('teams'),
    teamMembers: await count('team_members'),
    levels: await count('levels'),
    pending: await count('pending_references'),
    audit: await count('audit_events'),
    outbox: await count('outbox'),
    versions,
    teamRows: teams,
  };
}
