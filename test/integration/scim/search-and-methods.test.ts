import request from 'supertest';
import { createHarness, ENTERPRISE, ERROR, type Harness } from './harness';

/** RFC 7644 §3.4.3 search by POST, 405 with Allow (RFC 9110 §15.5.6), and filters on discovery (RFC 7644 §4). */
let h: Harness;
const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
beforeAll(async () => {
  h = await createHarness();
  for (const name of ['sam', 'sid', 'sue', 'tom']) {
    await h.scim.createUser(`${name}@search.example`, {
      displayName: name.toUpperCase(),
      emails: [{ type: 'work', value: `${name}@search.example`, primary: true }],
      [ENTERPRISE]: { department: name.startsWith('s') ? 'S-Team' : 'T-Team' },
    });
  }
  await h.scim.createGroup('Searchers');
  await h.scim.createGroup('Finders');
});
afterAll(async () => h.testDb.drop());

describe('POST /Users/.search', () => {
  it('answers the same ListResponse as the GET with the same parameters', async () => {
    const filter = 'userName sw "s" and emails[type eq "work"].value ew "@search.example"';
    const get = await h.scim.get(
      `/Users?filter=${encodeURIComponent(filter)}&startIndex=2&count=2&sortBy=userName&sortOrder=descending` +
        `&attributes=userName,${ENTERPRISE}:department`,
    );
    const post = await h.scim.post('/Users/.search', {
      schemas: [SEARCH_REQUEST],
      filter,
      startIndex: 2,
      count: 2,
      sortBy: 'userName',
      sortOrder: 'descending',
      attributes: ['userName', `${ENTERPRISE}:department`],
    });
    expect(get.status).toBe(200);
    expect(post.status).toBe(200);
    expect(post.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(post.body).toEqual(get.body);
    expect(post.body).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 2 });
    expect(post.body.Resources.map((r: { userName: string }) => r.userName)).toEqual([
      'sid@search.example',
      'sam@search.example',
    ]);
    expect(post.body.Resources[0]).toEqual({
      schemas: expect.any(Array),
      id: expect.any(String),
      userName: 'sid@search.example',
      [ENTERPRISE]: { department: 'S-Team' },
      meta: expect.any(Object),
    });
  });

  it('takes excludedAttributes as a list and returns everything without a filter', async () => {
    const res = await h.scim.post('/Users/.search', { excludedAttributes: ['emails', 'name'] });
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(4);
    expect(res.body.Resources.every((r: Record<string, unknown>) => r.emails === undefined)).toBe(true);
  });

  it('refuses a bad filter, wrong types and a body that is not an object, like the GET does', async () => {
    const cases: Array<[unknown, string]> = [
      [{ filter: 'userName eq' }, 'invalidFilter'],
      [{ filter: ['userName eq "x"'] }, 'invalidFilter'],
      [{ count: 'many' }, 'invalidValue'],
      [{ count: 1.5 }, 'invalidValue'],
      [{ attributes: [1] }, 'invalidValue'],
      [[], 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) {
      const res = await h.scim.post('/Users/.search', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], scimType });
    }
  });
});

describe('POST /Groups/.search', () => {
  it('answers the same ListResponse as the GET', async () => {
    const filter = 'displayName eq "searchers"';
    const get = await h.scim.get(`/Groups?filter=${encodeURIComponent(filter)}&excludedAttributes=members`);
    const post = await h.scim.post('/Groups/.search', { filter, excludedAttributes: ['members'] });
    expect(post.status).toBe(200);
    expect(post.body).toEqual(get.body);
    expect(post.body.totalResults).toBe(1);
    expect(post.body.Resources[0].members).toBeUndefined();
  });
});

describe('unsupported methods', () => {
  it.each([
    ['delete', '/Users', 'GET, POST'],
    ['put', '/Groups', 'GET, POST'],
    ['post', '/Users/5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11', 'GET, PUT, PATCH, DELETE'],
    ['get', '/Groups/.search/', 'POST'],
    ['patch', '/Users/.search', 'POST'],
    ['post', '/ServiceProviderConfig', 'GET'],
    ['delete', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User', 'GET'],
  ] as const)('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const res = method === 'get' || method === 'delete' ? await h.scim[method](path) : await h.scim[method](path, {});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '405' });
  });

  it('answers a search from the root with 501, like /Bulk', async () => {
    const res = await h.scim.post('/.search', { filter: 'userName pr' });
    expect(res.status).toBe(501);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '501' });
  });
});

describe('discovery with a filter', () => {
  it.each(['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/Schemas'])(
    '%s?filter=… → 403, so no client takes the unfiltered answer for a filtered one',
    async (path) => {
      const res = await h.scim.get(`${path}?filter=${encodeURIComponent('id eq "User"')}`);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '403' });
      expect((await h.scim.get(path)).status).toBe(200);
    },
  );
});

describe('a base URL without /v2', () => {
  it('answers a SCIM client pointed at /scim (Entra Tenant URL without /v2) with a SCIM 404 naming the base URL', async () => {
    for (const path of ['/scim/Users?filter=userName%20eq%20%22x%22', '/scim', '/SCIM/Groups']) {
      const res = await request(h.app).get(path).set('Authorization', `Bearer ${h.scim.token}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(res.body).toEqual({
        schemas: [ERROR],
        status: '404',
        detail: 'no such SCIM endpoint: the SCIM base URL is http://scim.test/scim/v2',
      });
    }
  });

  it('answers a call under /admin but outside /admin/v1 with a problem+json 404 naming the admin base', async () => {
    const res = await request(h.app).get('/admin/tenants').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 404,
      title: 'Not Found',
      detail: 'no such admin endpoint: the admin API is at http://scim.test/admin/v1',
    });
  });
});
