import { CORE, createHarness, ENTERPRISE, ERROR, PATCH_OP, PRODUCT, type Harness } from './harness';

/** Entra's request catalogue for Users (reference/entra-scim.md §1) and the quirks of §2, against real PostgreSQL. */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;

describe('Create User (POST /Users)', () => {
  it('creates the user Entra sends and answers 201 with Location, id, meta and scim+json', async () => {
    const res = await h.scim.post('/Users', {
      schemas: [CORE, ENTERPRISE],
      externalId: 'ext-create-1',
      userName: 'Create.One@contoso.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'create.one@contoso.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'Create One', familyName: 'One', givenName: 'Create' },
      roles: [],
    });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.headers.location).toBe(`http://scim.test/scim/v2/Users/${res.body.id}`);
    expect(res.body).toMatchObject({
      schemas: [CORE],
      externalId: 'ext-create-1',
      userName: 'Create.One@contoso.com',
      active: true,
      name: { formatted: 'Create One', familyName: 'One', givenName: 'Create' },
      emails: [{ primary: true, type: 'work', value: 'create.one@contoso.com' }],
      meta: { resourceType: 'User', location: res.headers.location },
    });
    const row = await h.db('employees').where({ id: res.body.id }).first();
    expect(row).toMatchObject({
      tenant_id: h.scim.tenantId,
      given_name: 'Create',
      family_name: 'One',
      lifecycle_status: 'active',
    });
  });

  it('writes the employee, one audit event and one outbox row in the same transaction', async () => {
    const id = await h.scim.createUser('audit.outbox@contoso.com', { externalId: 'ext-audit' });
    const audits = await h.db('audit_events').where({ resource_id: id });
    const outbox = await h.db('outbox').where({ employee_id: id });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ action: 'created', actor: 'scim', resource_type: 'employee' });
    expect(outbox).toHaveLength(1);
    expect(outbox[0].changed_attributes).toEqual(expect.arrayContaining(['userName', 'externalId']));
    expect(JSON.stringify([audits, outbox])).not.toContain(h.scim.token);
  });

  it('tolerates the old sample: nulls, a mistyped schema URN and string "True"', async () => {
    const res = await h.scim.post('/Users', {
      schemas: [CORE, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0User'],
      userName: 'old.sample@contoso.com',
      active: 'True',
      addresses: null,
      phoneNumbers: null,
      manager: null,
      displayName: 'Old Sample',
    });
    expect(res.status).toBe(201);
    expect(res.body.active).toBe(true);
  });

  it('accepts manager as a string, {value} and [{value}] on POST, and custom attributes nested under the enterprise key', async () => {
    const boss = await h.scim.createUser('post.boss@contoso.com');
    await h
      .db('custom_attribute_definitions')
      .insert({ tenant_id: h.scim.tenantId, id: 'shirt', name: 'Shirt size', type: 'string' });
    for (const manager of [boss, { value: boss }, [{ value: boss }]]) {
      const res = await h.scim.post('/Users', {
        schemas: [CORE, ENTERPRISE],
        userName: `post.report.${Math.random()}@contoso.com`,
        [ENTERPRISE]: { manager, department: 'Sales', shirt: 'L' },
      });
      expect(res.status).toBe(201);
      expect(res.body.schemas).toContain(ENTERPRISE);
      expect(res.body[ENTERPRISE]).toMatchObject({ manager: { value: boss }, department: 'Sales', shirt: 'L' });
    }
  });

  it('returns 409 uniqueness for an existing externalId', async () => {
    await h.scim.createUser('dup.ext.1@contoso.com', { externalId: 'dup-ext' });
    const res = await h.scim.post('/Users', {
      schemas: [CORE],
      userName: 'dup.ext.2@contoso.com',
      externalId: 'dup-ext',
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
  });

  it('returns 409 uniqueness for a userName that differs only in case', async () => {
    await h.scim.createUser('Case.Dup@contoso.com', { externalId: 'case-dup-1' });
    const res = await h.scim.post('/Users', {
      schemas: [CORE],
      userName: 'case.dup@CONTOSO.com',
      externalId: 'case-dup-2',
    });
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });

  it('adopts an HR employee without externalId when Entra POSTs its userName with an externalId', async () => {
    const [hr] = await h
      .db('employees')
      .insert({ tenant_id: h.scim.tenantId, user_name: 'brownfield@contoso.com', department: 'Old' })
      .returning('id');
    const res = await h.scim.post('/Users', {
      schemas: [CORE, ENTERPRISE],
      userName: 'Brownfield@contoso.com',
      externalId: 'bf-1',
      [ENTERPRISE]: { department: 'New' },
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(hr.id);
    expect(res.body).toMatchObject({ externalId: 'bf-1', [ENTERPRISE]: { department: 'New' } });
    const audit = await h.db('audit_events').where({ resource_id: hr.id }).orderBy('id', 'desc').first();
    expect(audit.changes).toMatchObject({ adoptedByUserName: true, externalId: 'bf-1', department: 'New' });
    expect(
      await h
        .db('employees')
        .where({ tenant_id: h.scim.tenantId })
        .whereRaw("lower(user_name) = 'brownfield@contoso.com'")
        .count('* as c'),
    ).toEqual([{ c: 1 }]);
  });

  it('rejects a POST without userName with 400 invalidValue', async () => {
    const res = await h.scim.post('/Users', { schemas: [CORE], externalId: 'no-username' });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });
});

describe('Get User', () => {
  it('returns 200 with the resource for a known id', async () => {
    const id = await h.scim.createUser('get.me@contoso.com');
    const res = await h.scim.get(`/Users/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, userName: 'get.me@contoso.com' });
  });

  it('returns 404 with a SCIM error body for an unknown or malformed id', async () => {
    for (const id of ['5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11', 'not-a-uuid']) {
      const res = await h.scim.get(`/Users/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
  });
});

describe('Get User by query', () => {
  it('finds a user by userName, case-insensitively, as a ListResponse', async () => {
    const id = await h.scim.createUser('Query.Me@contoso.com', { externalId: 'query-me' });
    const res = await h.scim.get(q('userName eq "query.me@CONTOSO.com"'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 1,
      startIndex: 1,
      itemsPerPage: 1,
    });
    expect(res.body.Resources[0].id).toBe(id);
  });

  it('finds a user by externalId (case-exact) and by emails[type eq "work"].value', async () => {
    const id = await h.scim.createUser('by.ext@contoso.com', {
      externalId: 'Ext-Case',
      emails: [{ type: 'work', value: 'Work.Mail@contoso.com', primary: true }],
    });
    expect((await h.scim.get(q('externalId eq "Ext-Case"'))).body.Resources.map((r: { id: string }) => r.id)).toEqual([
      id,
    ]);
    expect((await h.scim.get(q('externalId eq "ext-case"'))).body.totalResults).toBe(0);
    const byMail = await h.scim.get(q('emails[type eq "work"].value eq "work.mail@contoso.com"'));
    expect(byMail.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
  });

  it('finds a brownfield HR employee (no externalId) by userName and by work email so Entra PATCHes it', async () => {
    await h.db('employees').insert({
      tenant_id: h.scim.tenantId,
      user_name: 'legacy@contoso.com',
      emails: JSON.stringify([{ type: 'work', value: 'legacy.mail@contoso.com' }]),
    });
    expect((await h.scim.get(q('userName eq "legacy@contoso.com"'))).body.totalResults).toBe(1);
    expect((await h.scim.get(q('emails[type eq "work"].value eq "legacy.mail@contoso.com"'))).body.totalResults).toBe(
      1,
    );
  });

  it('accepts the unquoted value of the old tutorial sample (externalId eq jyoung)', async () => {
    const id = await h.scim.createUser('jyoung@contoso.com', { externalId: 'jyoung' });
    const res = await h.scim.get(q('externalId eq jyoung'));
    expect(res.status).toBe(200);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
  });

  it('serves lower-case endpoint paths and ignores unknown query parameters such as aadOptscim062020', async () => {
    const id = await h.scim.createUser('lower.path@contoso.com');
    const res = await h.scim.get(
      `/users?aadOptscim062020&filter=${encodeURIComponent('userName eq "lower.path@contoso.com"')}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await h.scim.get(`/users/${id}`)).status).toBe(200);
    expect((await h.scim.get('/groups?count=1')).status).toBe(200);
  });

  it('answers zero results with 200 and an empty ListResponse, never 404 (Test Connection uses a random GUID)', async () => {
    const res = await h.scim.get(q('userName eq "5f1c33a0-b8d1-4f0e-9d34-6f5b4a6b3b52"'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 0, Resources: [], itemsPerPage: 0, startIndex: 1 });
  });

  it('answers the reference probe `id eq … and manager eq …`', async () => {
    const boss = await h.scim.createUser('probe.boss@contoso.com');
    const report = await h.scim.createUser('probe.report@contoso.com', { [ENTERPRISE]: { manager: { value: boss } } });
    expect((await h.scim.get(q(`id eq "${report}" and manager eq "${boss}"`))).body.totalResults).toBe(1);
    expect((await h.scim.get(q(`id eq "${report}" and manager eq "${report}"`))).body.totalResults).toBe(0);
  });
});

describe('Update User (PATCH)', () => {
  it('replaces a multi-valued work email and a name part with capitalised ops and answers 200 with the resource', async () => {
    const id = await h.scim.createUser('mv.update@contoso.com', {
      emails: [{ type: 'work', value: 'old@contoso.com', primary: true }],
      name: { givenName: 'G', familyName: 'F' },
    });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@contoso.com' },
      { op: 'Replace', path: 'name.familyName', value: 'F2' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ type: 'work', value: 'new@contoso.com', primary: true }]);
    expect(res.body.name).toMatchObject({ givenName: 'G', familyName: 'F2' });
  });

  it('replaces a single-valued userName; with an externalId this is the same person, not a new one', async () => {
    const id = await h.scim.createUser('rename.old@contoso.com', { externalId: 'rename-1' });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'userName', value: 'rename.new@contoso.com' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, userName: 'rename.new@contoso.com', externalId: 'rename-1' });
    const outbox = await h.db('outbox').where({ employee_id: id }).orderBy('id', 'desc').first();
    expect(outbox.changed_attributes).toEqual(['userName']);
  });

  it('disables with the string "False" (no flag) and with boolean false (aadOptscim062020), and re-enables with "True"', async () => {
    const id = await h.scim.createUser('disable.me@contoso.com');
    let res = await h.scim.patch(`/Users/${id}`, {
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      schemas: [PATCH_OP],
    });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(await h.db('employees').where({ id }).first()).toMatchObject({
      active: false,
      lifecycle_status: 'deactivated',
    });
    res = await h.scim.ops(`/Users/${id}`, [{ op: 'Replace', path: 'active', value: 'True' }]);
    expect(res.body.active).toBe(true);
    expect(await h.db('employees').where({ id }).first()).toMatchObject({
      active: true,
      lifecycle_status: 'active',
      deactivated_at: null,
    });
    res = await h.scim.ops(`/Users/${id}?aadOptscim062020`, [{ op: 'replace', path: 'active', value: false }]);
    expect(res.body.active).toBe(false);
  });

  it('applies a path-less replace whose keys are dotted and URN-prefixed paths (aadOptscim062020)', async () => {
    const id = await h.scim.createUser('pathless@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [
      {
        op: 'replace',
        value: {
          displayName: 'Path Less',
          'name.givenName': 'Path',
          'name.familyName': 'Less',
          [`${ENTERPRISE}:employeeNumber`]: '4711',
          [`${ENTERPRISE}:department`]: 'R&D',
          'emails[type eq "work"].value': 'pathless.work@contoso.com',
          active: 'True',
          title: 'Engineer',
        },
      },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      displayName: 'Path Less',
      name: { givenName: 'Path', familyName: 'Less' },
      title: 'Engineer',
      emails: [{ type: 'work', value: 'pathless.work@contoso.com' }],
      [ENTERPRISE]: { employeeNumber: '4711', department: 'R&D' },
    });
  });

  it('applies the RFC path-less form with nested objects, leaving unnamed sub-attributes unchanged', async () => {
    const id = await h.scim.createUser('nested@contoso.com', { name: { givenName: 'Keep', familyName: 'Old' } });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', value: { name: { familyName: 'New' }, [ENTERPRISE]: { costCenter: 'CC-1' } } },
    ]);
    expect(res.body.name).toMatchObject({ givenName: 'Keep', familyName: 'New' });
    expect(res.body[ENTERPRISE].costCenter).toBe('CC-1');
  });

  it("applies a path-less replace that restates the user's own id (as Okta does), changing only the rest", async () => {
    const id = await h.scim.createUser('restated.id@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'replace', value: { id: id.toUpperCase(), title: 'Restated' } },
      { op: 'replace', path: 'id', value: id },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, title: 'Restated' });
  });

  it('adds an element for a value filter that matches nothing (a first mobile number)', async () => {
    const id = await h.scim.createUser('mobile@contoso.com', {
      phoneNumbers: [{ type: 'work', value: '+1 555 0100' }],
    });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' },
    ]);
    expect(res.body.phoneNumbers).toEqual([
      { type: 'work', value: '+1 555 0100' },
      { type: 'mobile', value: '+1 555 0199' },
    ]);
  });

  it('removes an element by value filter', async () => {
    const id = await h.scim.createUser('rm.home@contoso.com', {
      emails: [
        { type: 'work', value: 'w@contoso.com' },
        { type: 'home', value: 'h@example.com' },
      ],
    });
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Remove', path: 'emails[type eq "home"]' }]);
    expect(res.body.emails).toEqual([{ type: 'work', value: 'w@contoso.com' }]);
  });

  it('sets the manager from a plain string, {value} and [{value}], and returns it as {value} under the enterprise key', async () => {
    const boss = await h.scim.createUser('mgr.boss@contoso.com', { displayName: 'The Boss' });
    const id = await h.scim.createUser('mgr.report@contoso.com');
    for (const value of [boss, { value: boss }, [{ $ref: null, value: boss }]]) {
      await h.scim.ops(`/Users/${id}`, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
      const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value }]);
      expect(res.status).toBe(200);
      expect(res.body.schemas).toContain(ENTERPRISE);
      expect(res.body[ENTERPRISE].manager).toEqual({
        value: boss,
        $ref: `http://scim.test/scim/v2/Users/${boss}`,
        displayName: 'The Boss',
      });
    }
    const old = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', path: 'manager', value: [{ $ref: `http://x/Users/${boss}`, value: boss }] },
    ]);
    expect(old.body[ENTERPRISE].manager.value).toBe(boss);
  });

  it('clears the manager with remove and with {value: null}', async () => {
    const boss = await h.scim.createUser('clr.boss@contoso.com');
    const id = await h.scim.createUser('clr.report@contoso.com', { [ENTERPRISE]: { manager: boss } });
    let res = await h.scim.ops(`/Users/${id}`, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
    expect(res.body[ENTERPRISE]).toBeUndefined();
    await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: boss }]);
    res = await h.scim.ops(`/Users/${id}`, [{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: null } }]);
    expect(res.body[ENTERPRISE]).toBeUndefined();
    expect((await h.db('employees').where({ id }).first()).manager_id).toBeNull();
  });

  it('treats attribute names, op names and the schema URN case-insensitively', async () => {
    const id = await h.scim.createUser('ci.names@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [
      { OP: 'REPLACE', PATH: 'DisplayName', VALUE: 'Ci Name' },
      { op: 'replace', path: `${ENTERPRISE.toUpperCase()}:DEPARTMENT`, value: 'Ops' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe('Ci Name');
    expect(res.body[ENTERPRISE].department).toBe('Ops');
    expect(Object.keys(res.body)).not.toContain('DisplayName');
  });

  it('accepts a single value wrapped the old way as [{"$ref":null,"value":…}]', async () => {
    const id = await h.scim.createUser('wrapped@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', path: 'displayName', value: [{ $ref: null, value: 'Babs' }] },
      { op: 'Add', path: 'active', value: [{ value: 'False' }] },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ displayName: 'Babs', active: false });
  });

  it('accepts and ignores the role forms of the mapping docs (roles[primary eq "True"].value, AppRoleAssignmentsComplex)', async () => {
    const id = await h.scim.createUser('roles@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', path: 'roles[primary eq "True"].value', value: 'Admin' },
      { op: 'Add', path: 'roles', value: [{ value: '{"id":"x","value":"Admin","displayName":"Admin"}' }] },
      { op: 'Replace', path: 'addresses[type eq "work"].postalCode', value: '10115' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.roles).toBeUndefined();
    expect(res.body.addresses).toBeUndefined();
  });

  it('rejects an unknown attribute with 400 invalidPath instead of storing it', async () => {
    const id = await h.scim.createUser('unknown.attr@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'replace', path: 'favouriteColour', value: 'blue' }]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidPath' });
    expect(res.body.detail).toContain('favouriteColour');
  });

  it('does not bump the version nor write an outbox row for a no-op PATCH', async () => {
    const id = await h.scim.createUser('noop@contoso.com', { displayName: 'Same' });
    const before = await h.db('employees').where({ id }).first();
    const outboxBefore = await h.db('outbox').where({ employee_id: id }).count('* as c');
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'displayName', value: 'Same' },
      { op: 'Replace', path: 'active', value: 'True' },
    ]);
    expect(res.status).toBe(200);
    expect((await h.db('employees').where({ id }).first()).version).toBe(before.version);
    expect(await h.db('outbox').where({ employee_id: id }).count('* as c')).toEqual(outboxBefore);
  });

  it('answers PATCH, PUT and POST with exactly what a later GET returns', async () => {
    const boss = await h.scim.createUser('same.view.boss@contoso.com', { displayName: 'Boss View' });
    const post = await h.scim.post('/Users', {
      userName: 'same.view@contoso.com',
      externalId: 'same-view',
      [ENTERPRISE]: { manager: boss, department: 'D' },
      [PRODUCT]: { level: 'Mid', startDate: '2021-02-03' },
    });
    expect(post.body).toEqual((await h.scim.get(`/Users/${post.body.id}`)).body);
    const patched = await h.scim.ops(`/Users/${post.body.id}`, [
      { op: 'Replace', path: 'active', value: 'False' },
      { op: 'Replace', path: `${PRODUCT}:level`, value: 'Senior Mid' },
      { op: 'Remove', path: `${ENTERPRISE}:manager` },
      { op: 'Add', path: 'emails[type eq "work"].value', value: 'same.view@contoso.com' },
    ]);
    expect(patched.body).toEqual((await h.scim.get(`/Users/${post.body.id}`)).body);
    const put = await h.scim.put(`/Users/${post.body.id}`, {
      userName: 'same.view@contoso.com',
      [ENTERPRISE]: { manager: { value: boss } },
    });
    expect(put.body).toEqual((await h.scim.get(`/Users/${post.body.id}`)).body);
    const noop = await h.scim.ops(`/Users/${post.body.id}`, [
      { op: 'Replace', path: 'userName', value: 'same.view@contoso.com' },
    ]);
    expect(noop.body).toEqual((await h.scim.get(`/Users/${post.body.id}`)).body);
  });

  it('returns 404 when patching an unknown user', async () => {
    const res = await h.scim.ops('/Users/5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11', [
      { op: 'replace', path: 'displayName', value: 'x' },
    ]);
    expect(res.status).toBe(404);
  });
});

describe('HR attributes', () => {
  it('creates levels on the fly and matches them case-insensitively', async () => {
    const a = await h.scim.createUser('level.a@contoso.com', { [PRODUCT]: { level: 'Senior' } });
    const b = await h.scim.createUser('level.b@contoso.com');
    const res = await h.scim.ops(`/Users/${b}`, [{ op: 'add', path: `${PRODUCT}:level`, value: 'SENIOR' }]);
    expect(res.body[PRODUCT].level).toBe('Senior');
    const levels = await h.db('levels').where({ tenant_id: h.scim.tenantId }).whereRaw("lower(name) = 'senior'");
    expect(levels).toHaveLength(1);
    const rows = await h.db('employees').whereIn('id', [a, b]).pluck('level_id');
    expect(new Set(rows).size).toBe(1);
  });

  it('takes a level sent with spaces around it as the level of that name, not a second level', async () => {
    const a = await h.scim.createUser('level.trim.a@contoso.com', { [PRODUCT]: { level: 'Principal' } });
    const b = await h.scim.createUser('level.trim.b@contoso.com', { [PRODUCT]: { level: ' principal  ' } });
    expect((await h.scim.get(`/Users/${b}`)).body[PRODUCT]).toEqual({ level: 'Principal' });
    const levels = await h.db('levels').where({ tenant_id: h.scim.tenantId }).whereRaw("name ilike '%principal%'");
    expect(levels.map((l) => l.name)).toEqual(['Principal']);
    expect(new Set(await h.db('employees').whereIn('id', [a, b]).pluck('level_id')).size).toBe(1);
    const found = await h.scim.get(q(`${PRODUCT}:level eq "Principal " and userName sw "level.trim"`));
    expect(found.body.totalResults).toBe(2);
    // Only spaces: the level is cleared, as "" clears it; no level "   " is created.
    const cleared = await h.scim.ops(`/Users/${b}`, [{ op: 'replace', path: `${PRODUCT}:level`, value: '   ' }]);
    expect(cleared.status).toBe(200);
    expect(cleared.body[PRODUCT]).toBeUndefined();
    expect(await h.db('levels').where({ tenant_id: h.scim.tenantId }).whereRaw("trim(name) = ''")).toHaveLength(0);
  });

  it('refuses a level name longer than 200 characters (400 invalidValue) instead of creating it', async () => {
    const id = await h.scim.createUser('level.long@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'replace', path: `${PRODUCT}:level`, value: 'L'.repeat(201) }]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidValue', detail: 'level is longer than 200 characters' });
    expect(await h.db('levels').where({ tenant_id: h.scim.tenantId }).whereRaw('length(name) > 200')).toHaveLength(0);
  });

  it('stores location, gender and dates, and a work address locality as the location', async () => {
    const id = await h.scim.createUser('hr.attrs@contoso.com', {
      [PRODUCT]: { gender: 'female', startDate: '2024-02-01', endDate: '2026-12-31', birthday: '1990-02-28' },
      addresses: [{ type: 'work', locality: 'Berlin', postalCode: '10115' }],
    });
    const res = await h.scim.get(`/Users/${id}`);
    expect(res.body[PRODUCT]).toEqual({
      location: 'Berlin',
      gender: 'female',
      startDate: '2024-02-01',
      endDate: '2026-12-31',
      birthday: '1990-02-28',
    });
    const moved = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'addresses[type eq "work"].locality', value: 'Hamburg' },
    ]);
    expect(moved.body[PRODUCT].location).toBe('Hamburg');
  });

  it('rejects a date that is not YYYY-MM-DD, naming the attribute', async () => {
    const id = await h.scim.createUser('bad.date@contoso.com');
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'replace', path: `${PRODUCT}:birthday`, value: '28.02.1990' }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect(res.body.detail).toContain('birthday');
  });

  it('keeps an https photo URL and rejects any other scheme', async () => {
    const id = await h.scim.createUser('photo@contoso.com');
    const ok = await h.scim.ops(`/Users/${id}`, [
      { op: 'replace', path: 'photos[type eq "photo"].value', value: 'https://cdn.contoso.com/p.jpg' },
    ]);
    expect(ok.body.photos).toEqual([{ value: 'https://cdn.contoso.com/p.jpg', type: 'photo', primary: true }]);
    const bad = await h.scim.ops(`/Users/${id}`, [
      { op: 'replace', path: 'photos', value: [{ type: 'photo', value: 'http://insecure/p.jpg' }] },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidValue');
  });

  it('accepts and ignores core attributes that are not stored (Entra default mappings send preferredLanguage)', async () => {
    const id = await h.scim.createUser('ignored@contoso.com', { preferredLanguage: 'de-DE', nickName: 'Ig' });
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: 'nickName', value: 'Babs' }]);
    expect(res.status).toBe(200);
    expect(res.body.nickName).toBeUndefined();
  });
});

describe('Delete User', () => {
  it('deactivates instead of deleting when Entra sends DELETE, and the user stays readable and findable', async () => {
    const id = await h.scim.createUser('delete.me@contoso.com', { externalId: 'delete-me' });
    const res = await h.scim.delete(`/Users/${id}`);
    expect(res.status).toBe(204);
    const row = await h.db('employees').where({ id }).first();
    expect(row).toMatchObject({ active: false, lifecycle_status: 'deactivated' });
    expect(row.deactivated_at).not.toBeNull();
    expect((await h.scim.get(`/Users/${id}`)).body.active).toBe(false);
    const found = await h.scim.get(q('externalId eq "delete-me" and active eq false'));
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    const last = await h.db('outbox').where({ employee_id: id }).orderBy('id', 'desc').first();
    expect(last.changed_attributes).toEqual(['active', 'lifecycleStatus']);
  });

  it('answers a repeated DELETE with 204 without writing another change', async () => {
    const id = await h.scim.createUser('delete.twice@contoso.com');
    expect((await h.scim.delete(`/Users/${id}`)).status).toBe(204);
    const version = (await h.db('employees').where({ id }).first()).version;
    expect((await h.scim.delete(`/Users/${id}`)).status).toBe(204);
    expect((await h.db('employees').where({ id }).first()).version).toBe(version);
  });

  it('records a DELETE sent with the id in upper case in the same audit trail as every other change', async () => {
    const id = await h.scim.createUser('delete.upper@contoso.com');
    expect((await h.scim.delete(`/Users/${id.toUpperCase()}`)).status).toBe(204);
    const trail = await h
      .db('audit_events')
      .where({ tenant_id: h.scim.tenantId, resource_type: 'employee' })
      .orderBy('id');
    expect(trail.filter((e) => e.resource_id.toLowerCase() === id).map((e) => [e.resource_id, e.action])).toEqual([
      [id, 'created'],
      [id, 'deactivated'],
    ]);
  });

  it('answers 404 for DELETE of an unknown user', async () => {
    expect((await h.scim.delete('/Users/5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11')).status).toBe(404);
  });
});
