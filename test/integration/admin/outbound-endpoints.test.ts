import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import type { Express } from 'express';
import { upsertOutboundSettings } from '../../../src/db/outbound-settings';
import { recordFailure, recordObjectId } from '../../../src/db/provisioning';
import { issueToken } from '../../../src/db/tokens';
import { DEFAULT_MAPPING } from '../../../src/graph/mapping';
import { createTestDb, type TestDb } from '../../support/db';
import { buildTestApp, seedTenant, type SeededTenant } from '../../support/app';
import {
  APP_ID,
  createEmployee,
  createOutboundTenant,
  startTestEmulator,
  testSecretsKey,
  UNVERIFIED,
  VERIFIED,
  type TestEmulator,
} from '../outbound/support';

/** The outbound endpoints of /admin/v1 at the edge: bodies, ids, queries, paging, defaults and the preview's shape. */
describe('admin API outbound endpoints', () => {
  let t: TestDb;
  let em: TestEmulator;
  let app: Express;
  const secretsKey = testSecretsKey();

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
    app = buildTestApp(t.db, { secretsKey, graphExtraCaPem: em.ca, graphAllowedOrigins: [em.url] });
  });
  afterAll(async () => {
    await em?.stop();
    await t?.drop();
  });

  /** A tenant with its admin token and a caller of its outbound endpoints. */
  async function tenant(opts: { enabled?: boolean } = {}) {
    const seeded: SeededTenant = await seedTenant(t.db, 'Outbound');
    if (opts.enabled) await upsertOutboundSettings(t.db, seeded.tenantId, { enabled: true }, secretsKey);
    const call = (method: 'get' | 'post' | 'patch' | 'delete', path: string) =>
      request(app)
        [method](`/admin/v1/tenants/${seeded.tenantId}/outbound${path}`)
        .set('Authorization', `Bearer ${seeded.adminToken}`);
    const employee = async (userName: string) =>
      (await createEmployee(t.db, seeded.tenantId, { user_name: userName })).id;
    const states = async () =>
      Object.fromEntries(
        (await t.db('employee_provisioning').where({ tenant_id: seeded.tenantId })).map((r) => [
          r.employee_id,
          r.state,
        ]),
      );
    return { ...seeded, call, employee, states };
  }

  async function block(tenantId: string, employeeId: string, errorType: string) {
    await recordFailure(t.db, tenantId, employeeId, { blocked: true, reason: 'test', errorType });
  }

  describe('bulk retry', () => {
    it('refuses a form-encoded body with 415 instead of retrying every blocked employee', async () => {
      const { tenantId, call, employee, states } = await tenant({ enabled: true });
      const conflict = await employee('conflict@example.com');
      const domain = await employee('domain@example.com');
      await block(tenantId, conflict, 'UpnConflict');
      await block(tenantId, domain, 'DomainNotVerified');

      const refused = await call('post', '/retry')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('{"errorType":"UpnConflict"}')
        .expect(415);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await states()).toEqual({ [conflict]: 'BLOCKED', [domain]: 'BLOCKED' });

      await call('post', '/retry').send({ errorType: 'UpnConflict' }).expect(202, { retried: 1 });
      expect(await states()).toEqual({ [conflict]: 'PENDING', [domain]: 'BLOCKED' });
    });

    it('retries all only for an explicit {}: an empty body or null is 400', async () => {
      const { tenantId, call, employee, states } = await tenant({ enabled: true });
      const blocked = await employee('blocked@example.com');
      await block(tenantId, blocked, 'UpnConflict');
      for (const sent of ['', 'null']) {
        const res = await call('post', '/retry').set('Content-Type', 'application/json').send(sent).expect(400);
        expect(res.body.detail).toBe('a JSON object body is required');
      }
      // A chunked body of no bytes is no body either (the parser would read it as {}).
      const chunked = await call('post', '/retry')
        .set('Content-Type', 'application/json')
        .set('Transfer-Encoding', 'chunked')
        .send('');
      expect(chunked.status).toBe(400);
      expect(chunked.body.detail).toBe('a JSON object body is required');
      expect(await states()).toEqual({ [blocked]: 'BLOCKED' });
      await call('post', '/retry').send({}).expect(202, { retried: 1 });
    });
  });

  describe('retry of one employee', () => {
    it('says the Temporal server did not answer, not the worker, when the api cannot reach Temporal', async () => {
      // Nothing listens on port 1: the client's calls fail until their deadline.
      const unreachable = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
      const withoutTemporal = buildTestApp(t.db, { secretsKey, temporal: unreachable });
      const seeded = await seedTenant(t.db, 'No Temporal');
      const e = await createEmployee(t.db, seeded.tenantId, { user_name: `no.temporal@${VERIFIED}` });
      const res = await request(withoutTemporal)
        .post(`/admin/v1/tenants/${seeded.tenantId}/outbound/employees/${e.id}/retry`)
        .set('Authorization', `Bearer ${seeded.adminToken}`)
        .send({})
        .expect(503);
      expect(res.type).toBe('application/problem+json');
      expect(res.body.detail).toMatch(/^the Temporal server did not answer within 5 s.*TEMPORAL_ADDRESS/);
    }, 30_000);
  });

  describe('settings', () => {
    it('refuses a text/plain body with 415 and changes nothing', async () => {
      const { call } = await tenant({ enabled: true });
      await call('patch', '/settings').send({ setManager: true }).expect(200);
      await call('patch', '/settings').set('Content-Type', 'text/plain').send('{"setManager":false}').expect(415);
      expect((await call('get', '/settings').expect(200)).body.setManager).toBe(true);
    });

    it('answers the defaults, switched off and without credentials, for a tenant never configured', async () => {
      const { call, tenantId } = await tenant();
      const res = await call('get', '/settings').expect(200);
      expect(res.body).toEqual({
        enabled: false,
        graphTenantId: null,
        clientId: null,
        clientSecretSet: false,
        clientCertificate: null,
        authorityHost: null,
        graphBaseUrl: null,
        mapping: DEFAULT_MAPPING,
        watchedAttributes: expect.any(Array),
        setManager: false,
        updatedAt: null,
      });
      expect(await t.db('outbound_settings').where({ tenant_id: tenantId })).toEqual([]);
    });

    it('counts an upper-case client id equal to the stored one as no change (no credential needed)', async () => {
      const { call } = await tenant();
      await call('patch', '/settings')
        .send({ clientId: APP_ID, graphTenantId: VERIFIED, clientSecret: 'secret' })
        .expect(200);
      const res = await call('patch', '/settings').send({ clientId: APP_ID.toUpperCase() }).expect(200);
      expect(res.body.clientId).toBe(APP_ID);
    });

    it('holds custom attribute names in the mapping and watched attributes to the id rules, and lists each once', async () => {
      const { call } = await tenant();
      for (const name of ['customAttributes.__proto__', `customAttributes.${'a'.repeat(10_000)}`]) {
        await call('patch', '/settings')
          .send({ mapping: [...DEFAULT_MAPPING, { source: name, target: 'department' }] })
          .expect(400);
        await call('patch', '/settings')
          .send({ watchedAttributes: [name] })
          .expect(400);
      }
      const res = await call('patch', '/settings')
        .send({ watchedAttributes: ['department', 'customAttributes.costCenter', 'department'] })
        .expect(200);
      expect(res.body.watchedAttributes).toEqual(['department', 'customAttributes.costCenter']);
    });
  });

  describe('enrolment', () => {
    it('enrols employees named by upper-case ids', async () => {
      const { call, employee, states } = await tenant({ enabled: true });
      const id = await employee('upper@example.com');
      await call('post', '/enrol')
        .send({ employeeIds: [id.toUpperCase()] })
        .expect(202, { enrolled: 1 });
      expect(await states()).toEqual({ [id]: 'PENDING' });
    });

    it('says what an enrolment body must be', async () => {
      const { call, employee } = await tenant({ enabled: true });
      const id = await employee('shape@example.com');
      const tooMany = Array.from({ length: 1001 }, () => id);
      for (const body of [{}, { all: false }, { all: true, employeeIds: [id] }, { employeeIds: tooMany }]) {
        const res = await call('post', '/enrol').send(body).expect(400);
        expect(res.body.detail).toBe(
          'send either {"all": true} or {"employeeIds": [...]} with 1–1000 employee ids (UUIDs)',
        );
      }
    });
  });

  describe('status list', () => {
    it('refuses an unknown errorType with 400, as bulk retry does', async () => {
      const { call } = await tenant();
      const res = await call('get', '/employees?errorType=Bogus').expect(400);
      expect(res.body.errors[0].path).toBe('errorType');
      await call('post', '/retry').send({ errorType: 'Bogus' }).expect(400);
      // Also the types of PENDING rows: transient ones, and what the activity records for an unclassified failure.
      for (const errorType of ['UpnConflict', 'GraphThrottled', 'UnexpectedError']) {
        await call('get', `/employees?errorType=${errorType}`).expect(200);
      }
    });

    it('ends with a full last page, without a next page that is empty', async () => {
      const { call, employee } = await tenant();
      for (let i = 0; i < 12; i++) await employee(`page${i}@example.com`);
      const seen: string[] = [];
      let after: string | null = '';
      let pages = 0;
      while (after !== null) {
        const page: { items: Array<{ employeeId: string }>; next: string | null } = (
          await call('get', `/employees?limit=4${after ? `&after=${after}` : ''}`).expect(200)
        ).body;
        seen.push(...page.items.map((r) => r.employeeId));
        after = page.next;
        pages++;
      }
      expect({ pages, listed: seen.length }).toEqual({ pages: 3, listed: 12 });
    });
  });

  describe('preview', () => {
    it('gives a create the same shape as an update: basis "entra", no account to adopt', async () => {
      const tenantId = await createOutboundTenant(t.db, em, secretsKey);
      const { token } = await issueToken(t.db, { tenantId, kind: 'admin', name: 'test' });
      const { id } = await createEmployee(t.db, tenantId, { user_name: `preview.new@${VERIFIED}` });
      const res = await request(app)
        .get(`/admin/v1/tenants/${tenantId}/outbound/employees/${id}/preview`)
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(res.body).toMatchObject({
        action: 'create',
        basis: 'entra',
        entraObjectId: null,
        adopt: false,
        request: { method: 'POST', path: '/v1.0/users' },
      });
      expect(Object.keys(res.body).sort()).toEqual(
        ['action', 'adopt', 'basis', 'employeeId', 'entraObjectId', 'manager', 'request', 'version'].sort(),
      );
    });

    it("shows a leaver's disable only when the sync could send it: not while outbound is switched off", async () => {
      const tenantId = await createOutboundTenant(t.db, em, secretsKey);
      const { token } = await issueToken(t.db, { tenantId, kind: 'admin', name: 'test' });
      const { id } = await createEmployee(t.db, tenantId, {
        user_name: `preview.leaver@${UNVERIFIED}`,
        lifecycle_status: 'terminated',
      });
      await recordObjectId(t.db, tenantId, id, '0d6a7b1c-1111-4222-8333-944455556666');
      const preview = () =>
        request(app)
          .get(`/admin/v1/tenants/${tenantId}/outbound/employees/${id}/preview`)
          .set('Authorization', `Bearer ${token}`)
          .expect(200);
      expect((await preview()).body).toMatchObject({
        action: 'blocked',
        errorType: 'DomainNotVerified',
        request: {
          method: 'PATCH',
          path: '/v1.0/users/0d6a7b1c-1111-4222-8333-944455556666',
          body: { accountEnabled: false },
        },
      });
      await upsertOutboundSettings(t.db, tenantId, { enabled: false }, secretsKey);
      expect((await preview()).body).toMatchObject({ action: 'blocked', errorType: 'NotConfigured', request: null });
    });
  });
});
