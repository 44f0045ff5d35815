import request from 'supertest';
import type { Express } from 'express';
import { recordEmployeeChange } from '../../../src/db/changes';
import { createTestDb, type TestDb } from '../../support/db';
import { buildTestApp, platformToken, seedTenant, type SeededTenant } from '../../support/app';

describe('admin API /admin/v1', () => {
  let t: TestDb;
  let app: Express;
  let acme: SeededTenant;
  let globex: SeededTenant;
  let platform: string;

  beforeAll(async () => {
    t = await createTestDb();
    app = buildTestApp(t.db);
    acme = await seedTenant(t.db, 'Acme');
    globex = await seedTenant(t.db, 'Globex');
    platform = await platformToken(t.db);
  });
  afterAll(() => t.drop());

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function insertEmployee(tenantId: string, userName: string): Promise<string> {
    return t.db.transaction(async (trx) => {
      const [row] = await trx('employees').insert({ tenant_id: tenantId, user_name: userName }).returning('id');
      await recordEmployeeChange(trx, {
        tenantId,
        employeeId: row.id,
        changedAttributes: ['userName'],
        changes: { userName },
        action: 'created',
        source: 'scim',
      });
      return row.id as string;
    });
  }

  describe('authentication and errors', () => {
    it('answers 401 problem+json without a token', async () => {
      const res = await request(app).get('/admin/v1/tenants');
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    });

    it('refuses a SCIM token on the admin API', async () => {
      const res = await request(app).get('/admin/v1/tenants').set(as(acme.scimToken));
      expect(res.status).toBe(401);
    });

    it("hides another tenant's resources from a tenant admin token (404, not 403)", async () => {
      const res = await request(app).get(`/admin/v1/tenants/${globex.tenantId}/employees`).set(as(acme.adminToken));
      expect(res.status).toBe(404);
      expect(res.body.title).toBe('Not Found');
    });

    it('answers 404 to the platform token for a tenant that does not exist, on reads and writes alike', async () => {
      const ghost = '5f0c2b1e-9a7d-4c3e-8b6a-0d1e2f3a4b5c';
      for (const [method, path, body] of [
        ['patch', '/outbound/settings', { enabled: false }],
        ['post', '/employees', { userName: 'ghost@example.com' }],
        ['get', '/employees', undefined],
        ['get', '', undefined],
      ] as const) {
        const res = await request(app)[method](`/admin/v1/tenants/${ghost}${path}`).set(as(platform)).send(body);
        expect({ path, status: res.status, title: res.body.title }).toEqual({ path, status: 404, title: 'Not Found' });
      }
    });

    it('lists only its own tenant for a tenant admin token, every tenant for the platform token', async () => {
      const own = await request(app).get('/admin/v1/tenants').set(as(acme.adminToken));
      expect(own.body.items.map((x: { id: string }) => x.id)).toEqual([acme.tenantId]);
      const all = await request(app).get('/admin/v1/tenants').set(as(platform));
      expect(all.body.items.map((x: { id: string }) => x.id)).toEqual(
        expect.arrayContaining([acme.tenantId, globex.tenantId]),
      );
    });

    it('lets only the platform token create tenants', async () => {
      const denied = await request(app).post('/admin/v1/tenants').set(as(acme.adminToken)).send({ name: 'Initech' });
      expect(denied.status).toBe(403);
      const created = await request(app).post('/admin/v1/tenants').set(as(platform)).send({ name: 'Initech' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'Initech', inviteNewEmployees: false });
    });

    it('answers malformed JSON with 400 problem+json', async () => {
      const res = await request(app)
        .post('/admin/v1/tenants')
        .set(as(platform))
        .set('Content-Type', 'application/json')
        .send('{"name": ');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('refuses __proto__ keys without polluting any prototype', async () => {
      const res = await request(app)
        .patch(`/admin/v1/tenants/${acme.tenantId}`)
        .set(as(acme.adminToken))
        .set('Content-Type', 'application/json')
        .send('{"__proto__": {"polluted": true}, "name": "x"}');
      expect(res.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const tenant = await request(app).get(`/admin/v1/tenants/${acme.tenantId}`).set(as(acme.adminToken));
      expect(tenant.body.name).toBe('Acme');
    });

    it('keeps updatedAt when a PATCH changes nothing, and moves it when one does', async () => {
      const created = await request(app)
        .post('/admin/v1/tenants')
        .set(as(platform))
        .send({ name: 'Quiet' })
        .expect(201);
      const patch = (body: object) =>
        request(app).patch(`/admin/v1/tenants/${created.body.id}`).set(as(platform)).send(body).expect(200);
      expect((await patch({})).body.updatedAt).toBe(created.body.updatedAt);
      expect((await patch({ name: 'Quiet', inviteNewEmployees: false })).body.updatedAt).toBe(created.body.updatedAt);
      const renamed = await patch({ name: 'Loud' });
      expect(renamed.body).toMatchObject({ name: 'Loud', inviteNewEmployees: false });
      expect(Date.parse(renamed.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
    });

    it('names the offending field when a body does not match the schema', async () => {
      const res = await request(app)
        .patch(`/admin/v1/tenants/${acme.tenantId}`)
        .set(as(acme.adminToken))
        .send({ inviteNewEmployees: 'yes' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('inviteNewEmployees');
    });

    it('answers 413 for an oversized body', async () => {
      const res = await request(app)
        .post('/admin/v1/tenants')
        .set(as(platform))
        .send({ name: 'x'.repeat(70 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.status).toBe(413);
    });

    it('serves an OpenAPI 3.1 document describing the routes', async () => {
      const res = await request(app).get('/admin/v1/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toBe('3.1.0');
      expect(Object.keys(res.body.paths)).toEqual(
        expect.arrayContaining([
          '/tenants',
          '/tenants/{tenantId}/scim-tokens',
          '/tenants/{tenantId}/employees/{employeeId}/audit',
          '/tenants/{tenantId}/outbound/employees/{employeeId}/retry',
          '/tenants/{tenantId}/outbound/retry',
        ]),
      );
      expect(res.body.components.schemas.TeamCreate.required).toEqual(['displayName']);
      expect(res.body.components.schemas.OutboundSettingsPatch.properties).toHaveProperty('clientSecret');
    });
  });

  describe('who may switch invitation emails on', () => {
    it("lets a tenant's own admin switch them on by default (INVITE_SWITCH_BY=tenant)", async () => {
      const tenant = await seedTenant(t.db, 'Tenant decides');
      const on = await request(app)
        .patch(`/admin/v1/tenants/${tenant.tenantId}`)
        .set(as(tenant.adminToken))
        .send({ inviteNewEmployees: true });
      expect(on.status).toBe(200);
      expect(on.body.inviteNewEmployees).toBe(true);
    });

    it('with INVITE_SWITCH_BY=platform, only the platform admin switches them on; the tenant may still switch off', async () => {
      const platformDecides = buildTestApp(t.db, { inviteSwitchBy: 'platform' });
      const tenant = await seedTenant(t.db, 'Platform decides');
      const patch = (token: string, body: object) =>
        request(platformDecides).patch(`/admin/v1/tenants/${tenant.tenantId}`).set(as(token)).send(body);

      const refused = await patch(tenant.adminToken, { inviteNewEmployees: true, name: 'Renamed' });
      expect(refused.status).toBe(403);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.body.detail).toMatch(/INVITE_SWITCH_BY=platform/);
      // Nothing of the refused request was applied.
      const unchanged = await t.db('tenants').where({ id: tenant.tenantId }).first();
      expect(unchanged).toMatchObject({ name: 'Platform decides', invite_new_employees: false });

      expect((await patch(platform, { inviteNewEmployees: true })).status).toBe(200);
      // Already on: the tenant's own PATCH that keeps it on is no switch, and switching off is theirs.
      expect((await patch(tenant.adminToken, { inviteNewEmployees: true })).status).toBe(200);
      const off = await patch(tenant.adminToken, { inviteNewEmployees: false });
      expect(off.status).toBe(200);
      expect(off.body.inviteNewEmployees).toBe(false);
      expect((await patch(tenant.adminToken, { inviteNewEmployees: true })).status).toBe(403);
    });
  });

  describe('SCIM tokens', () => {
    it('shows a created token once, lists it without the secret, and stores only a hash', async () => {
      const created = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/scim-tokens`)
        .set(as(acme.adminToken))
        .send({ name: 'Entra provisioning' });
      expect(created.status).toBe(201);
      expect(created.headers['cache-control']).toBe('no-store');
      expect(created.body.token).toMatch(/^es_scim_/);
      const list = await request(app).get(`/admin/v1/tenants/${acme.tenantId}/scim-tokens`).set(as(acme.adminToken));
      const listed = list.body.items.find((x: { id: string }) => x.id === created.body.id);
      expect(listed).toMatchObject({ name: 'Entra provisioning', active: true });
      expect(JSON.stringify(list.body)).not.toContain(created.body.token);
      const stored = await t.db('api_tokens').where({ id: created.body.id }).first();
      expect(JSON.stringify(stored)).not.toContain(created.body.token);
    });

    it('revokes a token, and 404s a token of another tenant', async () => {
      const created = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/scim-tokens`)
        .set(as(acme.adminToken))
        .send({});
      const foreign = await request(app)
        .delete(`/admin/v1/tenants/${globex.tenantId}/scim-tokens/${created.body.id}`)
        .set(as(globex.adminToken));
      expect(foreign.status).toBe(404);
      const revoked = await request(app)
        .delete(`/admin/v1/tenants/${acme.tenantId}/scim-tokens/${created.body.id}`)
        .set(as(acme.adminToken));
      expect(revoked.status).toBe(204);
      const list = await request(app).get(`/admin/v1/tenants/${acme.tenantId}/scim-tokens`).set(as(acme.adminToken));
      expect(list.body.items.find((x: { id: string }) => x.id === created.body.id).active).toBe(false);
    });

    it('revokes a token only at the path of its kind: an admin token id under scim-tokens is 404 and stays valid', async () => {
      const created = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/admin-tokens`)
        .set(as(acme.adminToken))
        .send({ name: 'other kind' });
      await request(app)
        .delete(`/admin/v1/tenants/${acme.tenantId}/scim-tokens/${created.body.id}`)
        .set(as(acme.adminToken))
        .expect(404);
      expect((await request(app).get('/admin/v1/tenants').set(as(created.body.token))).status).toBe(200);
    });

    it('stops accepting a revoked admin token at once', async () => {
      const created = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/admin-tokens`)
        .set(as(acme.adminToken))
        .send({ name: 'temp' });
      expect((await request(app).get('/admin/v1/tenants').set(as(created.body.token))).status).toBe(200);
      await request(app)
        .delete(`/admin/v1/tenants/${acme.tenantId}/admin-tokens/${created.body.id}`)
        .set(as(acme.adminToken))
        .expect(204);
      expect((await request(app).get('/admin/v1/tenants').set(as(created.body.token))).status).toBe(401);
    });
  });

  describe('custom attributes and teams', () => {
    it('defines a custom attribute and gives the SCIM path to map in Entra', async () => {
      const res = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/custom-attributes`)
        .set(as(acme.adminToken))
        .send({ id: 'shirtSize', name: 'Shirt size', type: 'string' });
      expect(res.status).toBe(201);
      expect(res.body.scimPath).toBe('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shirtSize');
      const dup = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/custom-attributes`)
        .set(as(acme.adminToken))
        .send({ id: 'shirtSize', name: 'Again', type: 'number' });
      expect(dup.status).toBe(409);
      const bad = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/custom-attributes`)
        .set(as(acme.adminToken))
        .send({ name: 'x', type: 'object' });
      expect(bad.status).toBe(400);
    });

    it('refuses a custom attribute id that differs from a defined one only in case (409), as SCIM names are case-insensitive', async () => {
      const path = `/admin/v1/tenants/${acme.tenantId}/custom-attributes`;
      await request(app).post(path).set(as(acme.adminToken)).send({ id: 'badgeNo', name: 'Badge', type: 'string' });
      const dup = await request(app)
        .post(path)
        .set(as(acme.adminToken))
        .send({ id: 'BadgeNo', name: 'Badge again', type: 'number' });
      expect(dup.status).toBe(409);
      expect(dup.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(dup.body.detail).toBe(
        'a custom attribute with id "badgeNo" already exists; "BadgeNo" differs only in case, and SCIM attribute names are case-insensitive',
      );
      const ids = (await request(app).get(path).set(as(acme.adminToken))).body.items.map((d: { id: string }) => d.id);
      expect(ids.filter((id: string) => id.toLowerCase() === 'badgeno')).toEqual(['badgeNo']);
    });

    it('creates manual teams, refuses a duplicate name in another case, and deletes them', async () => {
      const created = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/teams`)
        .set(as(acme.adminToken))
        .send({ displayName: 'Sales, EMEA' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ displayName: 'Sales, EMEA', origin: 'manual' });
      const dup = await request(app)
        .post(`/admin/v1/tenants/${acme.tenantId}/teams`)
        .set(as(acme.adminToken))
        .send({ displayName: 'sales, emea' });
      expect(dup.status).toBe(409);
      await request(app)
        .delete(`/admin/v1/tenants/${acme.tenantId}/teams/${created.body.id}`)
        .set(as(acme.adminToken))
        .expect(204);
      await request(app)
        .get(`/admin/v1/tenants/${acme.tenantId}/teams/${created.body.id}`)
        .set(as(acme.adminToken))
        .expect(404);
    });
  });

  describe('employees', () => {
    it('answers a page position beyond what PostgreSQL can count with 400 naming the parameter, not 500', async () => {
      const id = await insertEmployee(acme.tenantId, 'far@acme.test');
      for (const [path, param] of [
        [`/employees?offset=1e20`, 'offset'],
        [`/employees?offset=99999999999999999999`, 'offset'],
        [`/employees/${id}/audit?before=1e20`, 'before'],
      ] as const) {
        const res = await request(app).get(`/admin/v1/tenants/${acme.tenantId}${path}`).set(as(acme.adminToken));
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.errors[0].path).toBe(param);
      }
      // The largest position that is still exact reads an empty page.
      const last = await request(app)
        .get(`/admin/v1/tenants/${acme.tenantId}/employees?offset=${Number.MAX_SAFE_INTEGER}`)
        .set(as(acme.adminToken));
      expect(last.status).toBe(200);
      expect(last.body.items).toEqual([]);
    });

    it('lists and gets employees of the tenant only', async () => {
      const id = await insertEmployee(acme.tenantId, 'ann@acme.test');
      await insertEmployee(globex.tenantId, 'gus@globex.test');
      const list = await request(app).get(`/admin/v1/tenants/${acme.tenantId}/employees`).set(as(acme.adminToken));
      expect(list.status).toBe(200);
      expect(list.body.items.map((e: { userName: string }) => e.userName)).toContain('ann@acme.test');
      expect(list.body.items.map((e: { userName: string }) => e.userName)).not.toContain('gus@globex.test');
      const one = await request(app).get(`/admin/v1/tenants/${acme.tenantId}/employees/${id}`).set(as(acme.adminToken));
      expect(one.body).toMatchObject({ id, userName: 'ann@acme.test', lifecycleStatus: 'active', active: true });
      await request(app)
        .get(`/admin/v1/tenants/${globex.tenantId}/employees/${id}`)
        .set(as(globex.adminToken))
        .expect(404);
      await request(app)
        .get(`/admin/v1/tenants/${acme.tenantId}/employees/not-a-uuid`)
        .set(as(acme.adminToken))
        .expect(404);
    });

    it('sets the lifecycle status in one transaction with an audit event and an outbox row', async () => {
      const id = await insertEmployee(acme.tenantId, 'bob@acme.test');
      const before = await t.db('employees').where({ id }).first();
      const res = await request(app)
        .patch(`/admin/v1/tenants/${acme.tenantId}/employees/${id}`)
        .set(as(acme.adminToken))
        .send({ lifecycleStatus: 'terminated' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ lifecycleStatus: 'terminated', active: false, version: before.version + 1 });
      const outbox = await t.db('outbox').where({ employee_id: id }).orderBy('id', 'desc').first();
      expect(outbox).toMatchObject({ version: before.version + 1, source: 'admin' });
      expect(outbox.changed_attributes).toEqual(expect.arrayContaining(['lifecycleStatus', 'active']));
      const audit = await request(app)
        .get(`/admin/v1/tenants/${acme.tenantId}/employees/${id}/audit`)
        .set(as(acme.adminToken));
      expect(audit.body.items[0]).toMatchObject({
        action: 'deactivated',
        actor: 'admin',
        changes: { lifecycleStatus: 'terminated' },
      });
    });

    it('rejects an unknown lifecycle status and changes nothing', async () => {
      const id = await insertEmployee(acme.tenantId, 'cy@acme.test');
      const res = await request(app)
        .patch(`/admin/v1/tenants/${acme.tenantId}/employees/${id}`)
        .set(as(acme.adminToken))
        .send({ lifecycleStatus: 'retired' });
      expect(res.status).toBe(400);
      expect((await t.db('employees').where({ id }).first()).lifecycle_status).toBe('active');
    });

    it('writes nothing when the status does not change', async () => {
      const id = await insertEmployee(acme.tenantId, 'dee@acme.test');
      const outboxBefore = await t.db('outbox').where({ employee_id: id }).count<{ count: string }[]>('* as count');
      await request(app)
        .patch(`/admin/v1/tenants/${acme.tenantId}/employees/${id}`)
        .set(as(acme.adminToken))
        .send({ lifecycleStatus: 'active' })
        .expect(200);
      const outboxAfter = await t.db('outbox').where({ employee_id: id }).count<{ count: string }[]>('* as count');
      expect(outboxAfter[0].count).toBe(outboxBefore[0].count);
    });
  });
});
