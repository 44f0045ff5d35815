import { gzipSync } from 'node:zlib';
import request from 'supertest';
import type { Express } from 'express';
import { createEmployee } from '../outbound/support';
import { createTestDb, type TestDb } from '../../support/db';
import { buildTestApp, platformToken, seedTenant, type SeededTenant } from '../../support/app';

type Method = 'get' | 'post' | 'patch' | 'delete' | 'put' | 'options';
type Operation = { requestBody?: { required?: boolean }; responses: Record<string, unknown> };
type OpenApiDocument = { paths: Record<string, Record<string, unknown>> };

const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every operation of the document with its method and path template. */
function operationsOf(doc: OpenApiDocument): Array<{ method: string; template: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => OPERATION_METHODS.includes(method))
      .map(([method, op]) => ({ method, template, op: op as Operation })),
  );
}

/** How the request layer of /admin/v1 treats bodies, URLs and methods, and what the OpenAPI document says of it. */
describe('admin API request handling', () => {
  let t: TestDb;
  let app: Express;
  let acme: SeededTenant;
  let platform: string;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await createTestDb();
    app = buildTestApp(t.db);
    acme = await seedTenant(t.db, 'Acme');
    platform = await platformToken(t.db);
    doc = (await request(app).get('/admin/v1/openapi.json').expect(200)).body;
  });
  afterAll(() => t.drop());

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const call = (method: Method, path: string) =>
    request(app)[method](`/admin/v1/tenants/${acme.tenantId}${path}`).set(as(acme.adminToken));
  const tenantName = async () => (await t.db('tenants').where({ id: acme.tenantId }).first()).name as string;

  /** A concrete path for a template: this tenant, made-up ids elsewhere (a route matches them all the same). */
  const concrete = (template: string) =>
    template.replace('{tenantId}', acme.tenantId).replace(/\{[^}]+\}/g, '5f0c2b1e-9a7d-4c3e-8b6a-0d1e2f3a4b5c');

  describe('bodies', () => {
    it('reads no body without a token: 401 before any parsing, even for a malformed or compressed one', async () => {
      for (const req of [
        request(app).post('/admin/v1/tenants').set('Content-Type', 'application/json').send('{"name": '),
        request(app)
          .post('/admin/v1/tenants')
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', 'gzip')
          .serialize((bytes: Buffer) => bytes as unknown as string)
          .send(gzipSync(JSON.stringify({ name: 'x'.repeat(100_000) }))),
        request(app).post('/admin/v1/tenants').set('Content-Type', 'text/plain').send('hello'),
      ]) {
        const res = await req;
        expect(res.status).toBe(401);
        expect(res.body.title).toBe('Unauthorized');
      }
    });

    it('answers 415 to a body that is not JSON instead of running the request without it', async () => {
      const res = await call('patch', '').set('Content-Type', 'text/plain').send('{"name":"Renamed"}').expect(415);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
      expect(await tenantName()).toBe('Acme');
    });

    it('reads a gzip body; refuses a content coding it does not know with 415', async () => {
      await call('patch', '')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        // As sent: the test client would JSON-encode a Buffer (its types say string; a Buffer passes through).
        .serialize((bytes: Buffer) => bytes as unknown as string)
        .send(gzipSync('{"name":"Zipped"}'))
        .expect(200);
      expect(await tenantName()).toBe('Zipped');
      const res = await call('patch', '')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'compress')
        .send('{"name":"Renamed"}')
        .expect(415);
      expect(res.body.title).toBe('Unsupported Media Type');
      expect(await tenantName()).toBe('Zipped');
      await call('patch', '').send({ name: 'Acme' }).expect(200);
    });

    it('says in the OpenAPI document that compressed bodies are read, as they are', async () => {
      const { info, components } = (await request(app).get('/admin/v1/openapi.json').expect(200)).body as {
        info: { description: string };
        components: { responses: { UnsupportedMediaType: { description: string } } };
      };
      for (const text of [info.description, components.responses.UnsupportedMediaType.description]) {
        expect(text).toMatch(/gzip, deflate or br/);
        expect(text).not.toMatch(/no Content-Encoding|has a Content-Encoding/);
      }
    });

    it('requires a JSON object body where the document says the body is required: empty, null or an array is 400', async () => {
      for (const sent of ['', 'null', '[]', '"x"']) {
        const res = await call('patch', '').set('Content-Type', 'application/json').send(sent);
        expect({ sent, status: res.status, detail: res.body.detail }).toEqual({
          sent,
          status: 400,
          detail: 'a JSON object body is required',
        });
      }
      const empty = await request(app).post('/admin/v1/tenants').set(as(platform)).expect(400);
      expect(empty.body.detail).toBe('a JSON object body is required');
    });

    it('refuses U+0000 in a JSON body with 400 and changes nothing', async () => {
      const res = await call('patch', '')
        .set('Content-Type', 'application/json')
        .send('{"name":"a\\u0000b"}')
        .expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, title: 'Bad Request' });
      expect(await tenantName()).toBe('Acme');
    });
  });

  describe('URLs', () => {
    it('answers 400 problem+json to a malformed %-escape in the path', async () => {
      for (const path of [
        `/tenants/${acme.tenantId}/outbound/employees/%zz`,
        `/tenants/${acme.tenantId}/teams/%zz`,
        `/tenants/%zz/employees`,
      ]) {
        const res = await request(app).get(`/admin/v1${path}`).set(as(acme.adminToken));
        expect({ path, status: res.status, type: res.headers['content-type'] }).toEqual({
          path,
          status: 400,
          type: expect.stringMatching(/^application\/problem\+json/),
        });
        expect(res.body).toMatchObject({ status: 400, title: 'Bad Request' });
      }
    });

    it('answers 400, not 500, when a path value reaches PostgreSQL with a character it cannot store', async () => {
      const res = await call('delete', '/custom-attributes/a%00b').expect(400);
      expect(res.body).toMatchObject({ status: 400, title: 'Bad Request' });
    });

    it('reads upper-case UUIDs in the path as the same ids', async () => {
      const { id } = await createEmployee(t.db, acme.tenantId, { user_name: 'upper@example.com' });
      const upperTenant = `/admin/v1/tenants/${acme.tenantId.toUpperCase()}`;
      const employee = await request(app)
        .get(`${upperTenant}/employees/${id.toUpperCase()}`)
        .set(as(acme.adminToken))
        .expect(200);
      expect(employee.body.id).toBe(id);
      const audit = await call('get', `/employees/${id.toUpperCase()}/audit`).expect(200);
      expect(audit.body.items).toHaveLength(1);
    });

    it('pages the audit trail without an empty last page', async () => {
      const { id } = await createEmployee(t.db, acme.tenantId, { user_name: 'audited@example.com' });
      await call('patch', `/employees/${id}`).send({ lifecycleStatus: 'leave' }).expect(200);
      const first = await call('get', `/employees/${id}/audit?limit=1`).expect(200);
      expect(first.body.next).toEqual(expect.any(Number));
      const whole = await call('get', `/employees/${id}/audit?limit=2`).expect(200);
      expect(whole.body.items).toHaveLength(2);
      expect(whole.body.next).toBeNull();
    });
  });

  describe('methods', () => {
    it('answers 405 with Allow to a method the path does not have', async () => {
      const res = await call('delete', '/outbound/settings').expect(405);
      expect(res.headers.allow).toBe('GET, HEAD, PATCH');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 405, title: 'Method Not Allowed' });
    });

    it('still answers 404 to a path the API does not have, and to a tenant the token does not reach', async () => {
      await call('delete', '/no-such-thing').expect(404);
      const other = await seedTenant(t.db, 'Other');
      await request(app)
        .delete(`/admin/v1/tenants/${other.tenantId}/outbound/settings`)
        .set(as(acme.adminToken))
        .expect(404);
    });

    it('answers OPTIONS on /openapi.json (no router of its own) with its methods, not 405', async () => {
      const res = await request(app).options('/admin/v1/openapi.json').set(as(acme.adminToken)).expect(200);
      expect(res.headers.allow).toBe('GET, HEAD');
    });

    it('lists in 405 the same methods as OPTIONS, for every documented path', async () => {
      for (const template of Object.keys(doc.paths)) {
        const path = `/admin/v1${concrete(template)}`;
        const options = await request(app).options(path).set(as(acme.adminToken));
        const documented = Object.keys(doc.paths[template]!).filter((m) => OPERATION_METHODS.includes(m));
        const unsupported = ['put', 'patch', 'delete', 'post'].find((m) => !documented.includes(m)) as Method;
        const refused = await request(app)[unsupported](path).set(as(acme.adminToken));
        expect({
          template,
          options: options.headers.allow,
          refused: refused.status,
          allow: refused.headers.allow,
        }).toEqual({
          template,
          options: options.headers.allow,
          refused: 405,
          allow: options.headers.allow,
        });
      }
    });
  });

  describe('custom attribute ids', () => {
    it('refuses ids SCIM bodies can never carry: __proto__, constructor, prototype', async () => {
      for (const id of ['__proto__', 'constructor', 'prototype']) {
        const res = await call('post', '/custom-attributes').send({ id, name: id, type: 'string' });
        expect({ id, status: res.status, path: res.body.errors?.[0]?.path }).toEqual({ id, status: 400, path: 'id' });
      }
      const defined = await t.db('custom_attribute_definitions').where({ tenant_id: acme.tenantId });
      expect(defined).toEqual([]);
    });
  });

  describe('OpenAPI document', () => {
    const responsesOf = (method: string, template: string) =>
      Object.keys((doc.paths[template]![method] as Operation).responses);

    it('documents 400, 413 and 415 for every operation with a body, and requires the body', async () => {
      const withBody = operationsOf(doc).filter(({ op }) => op.requestBody);
      expect(withBody.length).toBeGreaterThanOrEqual(10);
      for (const { method, template, op } of withBody) {
        expect({ method, template, required: op.requestBody!.required, statuses: Object.keys(op.responses) }).toEqual({
          method,
          template,
          required: true,
          statuses: expect.arrayContaining(['400', '413', '415']),
        });
      }
    });

    it('documents the status each body error actually gets, on every operation with a body', async () => {
      for (const { method, template } of operationsOf(doc).filter(({ op }) => op.requestBody)) {
        const path = concrete(template).replace(`/tenants/${acme.tenantId}`, '');
        const send = (m: string) =>
          template === '/tenants' ? request(app).post('/admin/v1/tenants') : call(m as Method, path);
        const statuses = [
          (await send(method).set(as(platform)).set('Content-Type', 'application/json').send('')).status,
          (await send(method).set(as(platform)).set('Content-Type', 'text/plain').send('{}')).status,
          (
            await send(method)
              .set(as(platform))
              .send({ filler: 'x'.repeat(70 * 1024) })
          ).status,
        ];
        expect({ method, template, statuses }).toEqual({ method, template, statuses: [400, 415, 413] });
        expect(responsesOf(method, template)).toEqual(expect.arrayContaining(statuses.map(String)));
      }
    });

    it('documents the conflicts and query errors the outbound endpoints answer', () => {
      const t = (p: string) => `/tenants/{tenantId}${p}`;
      expect(responsesOf('post', t('/outbound/enrol'))).toEqual(expect.arrayContaining(['400', '404', '409']));
      expect(responsesOf('post', t('/outbound/retry'))).toEqual(expect.arrayContaining(['400', '409']));
      expect(responsesOf('post', t('/outbound/settings/test'))).toEqual(expect.arrayContaining(['409', '503']));
      expect(responsesOf('get', t('/outbound/employees/{employeeId}/preview'))).toContain('400');
      expect(responsesOf('get', t('/outbound/employees'))).toContain('400');
      expect(responsesOf('get', t('/employees'))).toContain('400');
      expect(doc).toMatchObject({ components: { responses: { MethodNotAllowed: { headers: { Allow: {} } } } } });
    });

    it('types the query parameters as the server enforces them, the audit limit included', () => {
      const params = (template: string) =>
        Object.fromEntries(
          ((doc.paths[template]!.get as { parameters: Array<{ name: string; schema: unknown }> }).parameters ?? []).map(
            (p) => [p.name, p.schema],
          ),
        );
      const list = params('/tenants/{tenantId}/outbound/employees');
      expect(list.state).toMatchObject({ type: 'string', enum: ['NOT_ENROLLED', 'PENDING', 'SYNCED', 'BLOCKED'] });
      expect(list.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 500 });
      expect(list.errorType).toMatchObject({ type: 'string', enum: expect.arrayContaining(['UpnConflict']) });
      expect(params('/tenants/{tenantId}/employees/{employeeId}/audit').limit).toMatchObject({
        type: 'integer',
        minimum: 1,
        maximum: 500,
      });
    });
  });
});
