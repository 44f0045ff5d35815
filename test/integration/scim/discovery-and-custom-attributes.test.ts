import { createCustomAttributeDefinition } from '../../../src/db/custom-attributes';
import { createHarness, ENTERPRISE, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

describe('discovery', () => {
  it('advertises what the server supports at /ServiceProviderConfig', async () => {
    const res = await h.scim.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      sort: { supported: true },
      etag: { supported: false },
      changePassword: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
  });

  it('lists User (with the enterprise extension) and Group at /ResourceTypes', async () => {
    const res = await h.scim.get('/ResourceTypes');
    expect(res.body.totalResults).toBe(2);
    const user = res.body.Resources.find((r: { id: string }) => r.id === 'User');
    expect(user).toMatchObject({ endpoint: '/Users', schema: 'urn:ietf:params:scim:schemas:core:2.0:User' });
    expect(user.schemaExtensions).toContainEqual({ schema: ENTERPRISE, required: false });
    expect((await h.scim.get('/ResourceTypes/Group')).body).toMatchObject({ id: 'Group', endpoint: '/Groups' });
  });

  it('publishes schemas as a ListResponse with RFC attribute characteristics and no nulls', async () => {
    const res = await h.scim.get('/Schemas');
    expect(res.status).toBe(200);
    const ids = res.body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'urn:ietf:params:scim:schemas:core:2.0:User',
        ENTERPRISE,
        'urn:ietf:params:scim:schemas:core:2.0:Group',
      ]),
    );
    const user = res.body.Resources.find((s: { id: string }) => s.id === 'urn:ietf:params:scim:schemas:core:2.0:User');
    expect(user.attributes.find((a: { name: string }) => a.name === 'userName')).toMatchObject({
      type: 'string',
      multiValued: false,
      required: true,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'server',
    });
    expect(JSON.stringify(res.body)).not.toContain('null');
  });

  it("lists each tenant's own custom attributes in the enterprise schema", async () => {
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, {
      id: 'tshirt',
      name: 'T-shirt size',
      type: 'string',
    });
    const other = await h.newTenant('Other schemas');
    const ent = (await h.scim.get(`/Schemas/${ENTERPRISE}`)).body;
    expect(ent.attributes.map((a: { name: string }) => a.name)).toEqual(
      expect.arrayContaining([
        'employeeNumber',
        'costCenter',
        'organization',
        'division',
        'department',
        'manager',
        'tshirt',
      ]),
    );
    const otherEnt = (await other.get(`/Schemas/${ENTERPRISE}`)).body;
    expect(otherEnt.attributes.map((a: { name: string }) => a.name)).not.toContain('tshirt');
  });
});

describe('custom attributes', () => {
  it('stores a custom attribute sent by PATCH path and by POST nested object, type-checked', async () => {
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, {
      id: 'startYear',
      name: 'Start year',
      type: 'number',
    });
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, { id: 'isRemote', name: 'Remote', type: 'boolean' });
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, {
      id: 'anniversary',
      name: 'Anniversary',
      type: 'date',
    });
    const id = await h.scim.createUser('custom@contoso.com', { [ENTERPRISE]: { startYear: '2019', isRemote: 'True' } });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', path: `${ENTERPRISE}:anniversary`, value: '2024-03-01' },
      { op: 'Replace', path: `${ENTERPRISE}:isRemote`, value: 'False' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body[ENTERPRISE]).toMatchObject({ startYear: 2019, isRemote: false, anniversary: '2024-03-01' });
    expect((await h.db('employees').where({ id }).first()).custom_attributes).toEqual({
      startYear: 2019,
      isRemote: false,
      anniversary: '2024-03-01',
    });
    const outbox = await h.db('outbox').where({ employee_id: id }).orderBy('id', 'desc').first();
    expect([...outbox.changed_attributes].sort()).toEqual([
      'customAttributes.anniversary',
      'customAttributes.isRemote',
    ]);
  });

  it('accepts a definition created a moment ago (the cached set is refreshed on a miss)', async () => {
    const id = await h.scim.createUser('fresh.def@contoso.com');
    await h.scim.get('/Users?count=1');
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, { id: 'brandNew', name: 'New', type: 'string' });
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:brandNew`, value: 'yes' }]);
    expect(res.status).toBe(200);
    expect(res.body[ENTERPRISE].brandNew).toBe('yes');
  });

  it('rejects an unknown id with 400 naming it, and a wrong type with 400 naming it', async () => {
    const id = await h.scim.createUser('custom.bad@contoso.com');
    const unknown = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:ghost`, value: 'x' }]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toContain('ghost');
    const post = await h.scim.post('/Users', { userName: 'custom.bad2@contoso.com', [ENTERPRISE]: { ghost: 'x' } });
    expect(post.status).toBe(400);
    expect(post.body.detail).toContain('ghost');
    const wrong = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:startYear`, value: 'soon' }]);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ scimType: 'invalidValue' });
    expect(wrong.body.detail).toContain('startYear');
  });

  it("does not accept another tenant's custom attribute id", async () => {
    const other = await h.newTenant('Other custom');
    const id = await other.createUser('other.custom@globex.com');
    const res = await other.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:tshirt`, value: 'L' }]);
    expect(res.status).toBe(400);
  });

  it('filters by a custom attribute', async () => {
    const id = await h.scim.createUser('filter.custom@contoso.com', { [ENTERPRISE]: { startYear: 2001 } });
    const res = await h.scim.get(`/Users?filter=${encodeURIComponent(`${ENTERPRISE}:startYear lt 2010`)}`);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
  });
});
