import { CORE, createHarness, ENTERPRISE, ERROR, type Harness } from './harness';

/**
 * PATCH on value paths that match nothing (RFC 7644 §3.5.2.3, Entra's "add an element of that type"), one element
 * per type, and "" as "clear" — against real PostgreSQL, checking what is stored.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  await h.db('custom_attribute_definitions').insert([
    { tenant_id: h.scim.tenantId, id: 'nickname', name: 'Nickname', type: 'string' },
    { tenant_id: h.scim.tenantId, id: 'remote', name: 'Remote', type: 'boolean' },
  ]);
});
afterAll(async () => h.testDb.drop());

const stored = async (id: string) => h.db('employees').where({ id }).first();

describe('a replace or add on a value path that matches nothing', () => {
  it('answers 400 noTarget for a filter that names no type, and stores nothing however often it is retried', async () => {
    const id = await h.scim.createUser('no.target@contoso.com', {
      emails: [{ type: 'work', value: 'work@contoso.com', primary: true }],
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await h.scim.ops(`/Users/${id}`, [
        { op: 'replace', path: 'emails[value eq "nomatch@x"].value', value: 'new@x' },
      ]);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'noTarget' });
    }
    expect((await stored(id)).emails).toEqual([{ type: 'work', value: 'work@contoso.com', primary: true }]);
  });

  it('adds exactly one element of type X for [type eq "X"], with Replace as with Add, and updates it afterwards', async () => {
    const id = await h.scim.createUser('typed.add@contoso.com', {
      emails: [{ type: 'work', value: 'work@contoso.com', primary: true }],
    });
    await h.scim.ops(`/Users/${id}`, [{ op: 'Replace', path: 'emails[type eq "home"].value', value: 'h1@x' }]);
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: 'emails[type eq "home"].value', value: 'h2@x' }]);
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([
      { type: 'work', value: 'work@contoso.com', primary: true },
      { type: 'home', value: 'h2@x' },
    ]);
  });
});

describe('one element per type', () => {
  it('refuses a PATCH that would leave two work emails, and keeps the stored ones', async () => {
    const id = await h.scim.createUser('one.per.type@contoso.com', {
      emails: [{ type: 'work', value: 'work@contoso.com' }],
    });
    const res = await h.scim.ops(`/Users/${id}`, [
      {
        op: 'replace',
        path: 'emails',
        value: [
          { type: 'work', value: 'a@b' },
          { type: 'work', value: 'c@d' },
        ],
      },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect(res.body.detail).toContain('"work"');
    expect((await stored(id)).emails).toEqual([{ type: 'work', value: 'work@contoso.com' }]);
  });
});

describe('one primary element', () => {
  const twoPrimaries = [
    { type: 'work', value: 'work@contoso.com', primary: true },
    { type: 'home', value: 'home@example.com', primary: 'True' },
  ];

  it('refuses a POST or PUT with two primary emails (RFC 7643 §2.4), creating and changing nothing', async () => {
    const post = await h.scim.post('/Users', {
      schemas: [CORE],
      userName: 'two.primaries@contoso.com',
      emails: twoPrimaries,
    });
    expect(post.status).toBe(400);
    expect(post.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidValue' });
    expect(post.body.detail).toContain('only one primary');
    expect(await h.db('employees').where({ user_name: 'two.primaries@contoso.com' }).first()).toBeUndefined();

    const id = await h.scim.createUser('put.primaries@contoso.com', { emails: [twoPrimaries[0]] });
    const put = await h.scim.put(`/Users/${id}`, {
      schemas: [CORE],
      userName: 'put.primaries@contoso.com',
      emails: twoPrimaries,
    });
    expect(put.status).toBe(400);
    expect((await stored(id)).emails).toEqual([twoPrimaries[0]]);
  });

  it('makes the element a PATCH names primary the only one, storing primary false on the other (RFC 7644 §3.5.2)', async () => {
    const id = await h.scim.createUser('new.primary@contoso.com', {
      emails: [
        { type: 'work', value: 'work@contoso.com', primary: true },
        { type: 'home', value: 'home@example.com' },
      ],
    });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'emails[type eq "home"].primary', value: 'True' },
    ]);
    expect(res.status).toBe(200);
    const expected = [
      { type: 'work', value: 'work@contoso.com', primary: false },
      { type: 'home', value: 'home@example.com', primary: true },
    ];
    expect(res.body.emails).toEqual(expected);
    expect((await stored(id)).emails).toEqual(expected);
    const filtered = await h.scim.get(
      `/Users?filter=${encodeURIComponent('emails[primary eq true].value eq "home@example.com"')}`,
    );
    expect(filtered.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
  });
});

describe('"" clears a single value', () => {
  it('clears title, an enterprise attribute and string and boolean custom attributes alike', async () => {
    const id = await h.scim.createUser('clear.me@contoso.com', {
      title: 'Engineer',
      [ENTERPRISE]: { department: 'R&D', nickname: 'Nick', remote: true },
    });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'title', value: '' },
      { op: 'Replace', path: `${ENTERPRISE}:department`, value: '' },
      { op: 'Replace', path: `${ENTERPRISE}:nickname`, value: '' },
      { op: 'Replace', path: `${ENTERPRISE}:remote`, value: '' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.title).toBeUndefined();
    expect(res.body[ENTERPRISE]).toBeUndefined();
    const row = await stored(id);
    expect(row).toMatchObject({ job_title: null, department: null });
    expect(row.custom_attributes).toEqual({});
  });

  it('removes the work email when its value is replaced with "", keeping the other emails', async () => {
    const id = await h.scim.createUser('clear.mail@contoso.com', {
      emails: [
        { type: 'work', value: 'work@contoso.com', primary: true },
        { type: 'home', value: 'home@example.com' },
      ],
    });
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Replace', path: 'emails[type eq "work"].value', value: '' }]);
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ type: 'home', value: 'home@example.com' }]);
    // Clearing what is not there is not an error (Entra may send it again on its next cycle).
    const again = await h.scim.ops(`/Users/${id}`, [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: '' },
    ]);
    expect(again.status).toBe(200);
    expect((await stored(id)).emails).toEqual([{ type: 'home', value: 'home@example.com' }]);
  });
});
