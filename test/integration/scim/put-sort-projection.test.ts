import { createHarness, CORE, ENTERPRISE, PRODUCT, type Harness } from './harness';

let h: Harness;
const created: string[] = [];
beforeAll(async () => {
  h = await createHarness();
  for (const [userName, displayName] of [
    ['delta@contoso.com', 'Delta'],
    ['alpha@contoso.com', 'alpha'],
    ['charlie@contoso.com', 'Charlie'],
    ['bravo@contoso.com', 'Bravo'],
    ['echo@contoso.com', 'Echo'],
  ]) {
    created.push(await h.scim.createUser(userName, { displayName }));
  }
});
afterAll(async () => h.testDb.drop());

describe('PUT /Users/{id}', () => {
  it('replaces the writable attributes it covers and clears the ones it leaves out, keeping externalId and active', async () => {
    const id = await h.scim.createUser('put.me@contoso.com', {
      externalId: 'put-ext',
      title: 'Old title',
      displayName: 'Old',
      [ENTERPRISE]: { department: 'Old dept' },
    });
    const res = await h.scim.put(`/Users/${id}`, {
      schemas: [CORE, ENTERPRISE],
      userName: 'put.me@contoso.com',
      displayName: 'New',
      [ENTERPRISE]: { costCenter: 'CC' },
      [PRODUCT]: { level: 'Staff' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      externalId: 'put-ext',
      displayName: 'New',
      active: true,
      [ENTERPRISE]: { costCenter: 'CC' },
    });
    expect(res.body.title).toBeUndefined();
    expect(res.body[ENTERPRISE].department).toBeUndefined();
    expect(res.body[PRODUCT].level).toBe('Staff');
  });

  it('returns 404 for an unknown id and does not create anything', async () => {
    const res = await h.scim.put('/Users/5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11', { userName: 'ghost@contoso.com' });
    expect(res.status).toBe(404);
    expect(await h.db('employees').where({ user_name: 'ghost@contoso.com' }).first()).toBeUndefined();
  });
});

describe('pagination', () => {
  it('pages with 1-based startIndex and count in creation order, itemsPerPage = number returned', async () => {
    const first = await h.scim.get('/Users?startIndex=1&count=2');
    expect(first.body).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
    expect(first.body.Resources.map((r: { id: string }) => r.id)).toEqual(created.slice(0, 2));
    const second = await h.scim.get('/Users?startIndex=3&count=2');
    expect(second.body.Resources.map((r: { id: string }) => r.id)).toEqual(created.slice(2, 4));
    expect(second.body.totalResults).toBe(first.body.totalResults);
  });

  it('treats startIndex < 1 as 1, negative count as 0, and caps count at maxResults', async () => {
    expect((await h.scim.get('/Users?startIndex=0&count=1')).body.startIndex).toBe(1);
    const zero = await h.scim.get('/Users?count=-5');
    expect(zero.body).toMatchObject({ itemsPerPage: 0, Resources: [] });
    expect(zero.body.totalResults).toBeGreaterThanOrEqual(5);
    const beyond = await h.scim.get('/Users?startIndex=1000&count=5');
    expect(beyond.body).toMatchObject({ startIndex: 1000, itemsPerPage: 0 });
    expect(beyond.body.totalResults).toBe(zero.body.totalResults);
  });

  it('stays stable while users are being written between pages', async () => {
    const page1 = (await h.scim.get('/Users?startIndex=1&count=3')).body.Resources.map((r: { id: string }) => r.id);
    await h.scim.ops(`/Users/${created[0]}`, [{ op: 'replace', path: 'title', value: 'moved?' }]);
    await h.scim.createUser('late.arrival@contoso.com');
    const page2 = (await h.scim.get('/Users?startIndex=4&count=3')).body.Resources.map((r: { id: string }) => r.id);
    expect(page1).toEqual(created.slice(0, 3));
    expect(page2.slice(0, 2)).toEqual(created.slice(3, 5));
  });
});

describe('sorting', () => {
  it('sorts by userName ascending and descending', async () => {
    const filter = encodeURIComponent('userName ew "o@contoso.com" or userName sw "alpha" or userName sw "bravo"');
    const asc = await h.scim.get(`/Users?filter=${filter}&sortBy=userName`);
    expect(asc.body.Resources.map((r: { userName: string }) => r.userName)).toEqual([
      'alpha@contoso.com',
      'bravo@contoso.com',
      'echo@contoso.com',
    ]);
    const desc = await h.scim.get(`/Users?filter=${filter}&sortBy=userName&sortOrder=descending`);
    expect(desc.body.Resources.map((r: { userName: string }) => r.userName)).toEqual([
      'echo@contoso.com',
      'bravo@contoso.com',
      'alpha@contoso.com',
    ]);
  });

  it('sorts case-insensitive attributes without regard to case', async () => {
    const res = await h.scim.get(
      `/Users?filter=${encodeURIComponent('displayName pr and userName ew "contoso.com"')}&sortBy=displayName&count=5`,
    );
    const names = res.body.Resources.map((r: { displayName: string }) => r.displayName);
    expect(names.slice(0, 3)).toEqual(['alpha', 'Bravo', 'Charlie']);
  });
});

describe('attributes and excludedAttributes', () => {
  it('returns only the requested attributes plus id, schemas and meta', async () => {
    const res = await h.scim.get(`/Users/${created[0]}?attributes=userName,name.givenName`);
    expect(Object.keys(res.body).sort()).toEqual(['id', 'meta', 'schemas', 'userName']);
  });

  it('supports sub-attributes and extension URNs in attributes', async () => {
    const id = await h.scim.createUser('proj@contoso.com', {
      name: { givenName: 'P', familyName: 'Q' },
      [ENTERPRISE]: { department: 'D', costCenter: 'C' },
    });
    const res = await h.scim.get(`/Users/${id}?attributes=name.givenName,${ENTERPRISE}:department`);
    expect(res.body.name).toEqual({ givenName: 'P' });
    expect(res.body[ENTERPRISE]).toEqual({ department: 'D' });
    expect(res.body.schemas).toContain(ENTERPRISE);
  });

  it("returns only the manager's value for attributes=…:manager.value (RFC 7644 §3.4.2.5)", async () => {
    const boss = await h.scim.createUser('proj.boss@contoso.com', { displayName: 'Proj Boss' });
    const id = await h.scim.createUser('proj.report@contoso.com', {
      title: 'T',
      [ENTERPRISE]: { department: 'D', manager: boss },
    });
    const res = await h.scim.get(`/Users/${id}?attributes=${ENTERPRISE}:manager.value`);
    expect(res.status).toBe(200);
    expect(res.body[ENTERPRISE]).toEqual({ manager: { value: boss } });
    expect(res.body.schemas).toEqual([CORE, ENTERPRISE]);
    expect(Object.keys(res.body).sort()).toEqual(['id', 'meta', 'schemas', ENTERPRISE].sort());
    const both = await h.scim.get(`/Users/${id}?attributes=${ENTERPRISE}:manager.value,${ENTERPRISE}:department`);
    expect(both.body[ENTERPRISE]).toEqual({ manager: { value: boss }, department: 'D' });
  });

  it("drops only the manager's displayName for excludedAttributes=…:manager.displayName", async () => {
    const boss = await h.scim.createUser('excl.boss@contoso.com', { displayName: 'Excl Boss' });
    const id = await h.scim.createUser('excl.report@contoso.com', { [ENTERPRISE]: { department: 'D', manager: boss } });
    const res = await h.scim.get(`/Users/${id}?excludedAttributes=${ENTERPRISE}:manager.displayName`);
    expect(res.body[ENTERPRISE]).toEqual({
      department: 'D',
      manager: { value: boss, $ref: `http://scim.test/scim/v2/Users/${boss}` },
    });
    const noManager = await h.scim.get(`/Users/${id}?excludedAttributes=${ENTERPRISE}:manager`);
    expect(noManager.body[ENTERPRISE]).toEqual({ department: 'D' });
  });

  it('keeps several sub-attributes of a multi-valued attribute together, and drops one from every element', async () => {
    const id = await h.scim.createUser('proj.mv@contoso.com', {
      emails: [
        { type: 'work', value: 'w@contoso.com', primary: true },
        { type: 'home', value: 'h@example.com' },
      ],
    });
    const kept = await h.scim.get(`/Users/${id}?attributes=emails.value,emails.type`);
    expect(kept.body.emails).toEqual([
      { type: 'work', value: 'w@contoso.com' },
      { type: 'home', value: 'h@example.com' },
    ]);
    const dropped = await h.scim.get(`/Users/${id}?excludedAttributes=emails.primary,id`);
    expect(dropped.body.id).toBe(id);
    expect(dropped.body.emails).toEqual(kept.body.emails);
  });

  it('drops excluded attributes, in lists too', async () => {
    const res = await h.scim.get(`/Users?count=2&excludedAttributes=emails,meta,name.familyName`);
    for (const r of res.body.Resources) {
      expect(r.emails).toBeUndefined();
      expect(r.id).toBeDefined();
    }
  });
});
