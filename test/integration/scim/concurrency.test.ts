import { createHarness, ENTERPRISE, PRODUCT, type Harness } from './harness';

/** Every write is one transaction; PATCHes of one user queue on its row lock, so none is lost. */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

it('loses no update when many PATCHes of one user touching different attributes run in parallel', async () => {
  const id = await h.scim.createUser('concurrent@contoso.com');
  const ops = [
    { op: 'Replace', path: 'displayName', value: 'Con Current' },
    { op: 'Replace', path: 'title', value: 'Engineer' },
    { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'R&D' },
    { op: 'Replace', path: `${ENTERPRISE}:costCenter`, value: 'CC-7' },
    { op: 'Replace', path: `${ENTERPRISE}:division`, value: 'Div' },
    { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: 'E-1' },
    { op: 'Replace', path: 'name.givenName', value: 'Con' },
    { op: 'Replace', path: 'name.familyName', value: 'Current' },
    { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+49 1' },
    { op: 'Add', path: 'emails[type eq "work"].value', value: 'c@contoso.com' },
    { op: 'Replace', path: `${PRODUCT}:gender`, value: 'x' },
    { op: 'Replace', path: `${PRODUCT}:level`, value: 'L3' },
  ];
  const before = (await h.db('employees').where({ id }).first()).version;
  const results = await Promise.all(ops.map((op) => h.scim.ops(`/Users/${id}`, [op])));
  expect(results.map((r) => r.status)).toEqual(ops.map(() => 200));
  const res = await h.scim.get(`/Users/${id}`);
  expect(res.body).toMatchObject({
    displayName: 'Con Current',
    title: 'Engineer',
    name: { givenName: 'Con', familyName: 'Current' },
    phoneNumbers: [{ type: 'mobile', value: '+49 1' }],
    emails: [{ type: 'work', value: 'c@contoso.com' }],
    [ENTERPRISE]: { department: 'R&D', costCenter: 'CC-7', division: 'Div', employeeNumber: 'E-1' },
    [PRODUCT]: { gender: 'x', level: 'L3' },
  });
  expect((await h.db('employees').where({ id }).first()).version).toBe(before + ops.length);
  expect(await h.db('outbox').where({ employee_id: id }).count('* as c')).toEqual([{ c: ops.length + 1 }]);
});

it('loses no element when parallel PATCHes add different elements to the same multi-valued attribute', async () => {
  const id = await h.scim.createUser('mv.race@contoso.com');
  const types = ['work', 'home', 'other', 'mobile', 'fax', 'pager'];
  await Promise.all(
    types.map((t) =>
      h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `phoneNumbers[type eq "${t}"].value`, value: `+${t}` }]),
    ),
  );
  const phones = (await h.scim.get(`/Users/${id}`)).body.phoneNumbers as Array<{ type: string }>;
  expect(phones.map((p) => p.type).sort()).toEqual([...types].sort());
});

it('keeps every member when many group member PATCHes run in parallel', async () => {
  const users = await Promise.all(
    Array.from({ length: 10 }, (_, i) => h.scim.createUser(`par.member.${i}@contoso.com`)),
  );
  const team = await h.scim.createGroup('Parallel Team');
  const results = await Promise.all(
    users.map((u) => h.scim.ops(`/Groups/${team}`, [{ op: 'Add', path: 'members', value: [{ value: u }] }])),
  );
  expect(results.every((r) => r.status === 204)).toBe(true);
  expect((await h.db('team_members').where({ team_id: team }).pluck('employee_id')).sort()).toEqual([...users].sort());
});

it('adds the same people to several groups in parallel, listed in different orders, without a deadlock', async () => {
  const users = await Promise.all(
    Array.from({ length: 30 }, (_, i) => h.scim.createUser(`multi.group.${i}@contoso.com`)),
  );
  const teams = await Promise.all(['Red', 'Green', 'Blue'].map((name) => h.scim.createGroup(`Order ${name}`)));
  // Each group lists the people in its own order (rotated), as Entra's parallel PATCHes may.
  const orderFor = (i: number) => [...users.slice(i * 10), ...users.slice(0, i * 10)];
  for (let round = 0; round < 3; round++) {
    const results = await Promise.all(
      teams.map((team, i) =>
        h.scim.ops(`/Groups/${team}`, [
          { op: round % 2 === 0 ? 'Add' : 'Remove', path: 'members', value: orderFor(i).map((value) => ({ value })) },
        ]),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([204, 204, 204]);
  }
  for (const team of teams) {
    expect((await h.db('team_members').where({ team_id: team }).pluck('employee_id')).sort()).toEqual(
      [...users].sort(),
    );
  }
});

it('answers a concurrent duplicate POST with one 201 and one 409, never a 500', async () => {
  const body = { userName: 'race@contoso.com', externalId: 'race-1' };
  const [a, b] = await Promise.all([h.scim.post('/Users', body), h.scim.post('/Users', body)]);
  expect([a.status, b.status].sort()).toEqual([201, 409]);
  expect(await h.db('employees').where({ tenant_id: h.scim.tenantId, external_id: 'race-1' }).count('* as c')).toEqual([
    { c: 1 },
  ]);
});

it('creates one level when parallel requests name the same new level', async () => {
  const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => h.scim.createUser(`lvl.race.${i}@contoso.com`)));
  const results = await Promise.all(
    ids.map((id, i) =>
      h.scim.ops(`/Users/${id}`, [{ op: 'add', path: `${PRODUCT}:level`, value: i % 2 ? 'Principal' : 'PRINCIPAL' }]),
    ),
  );
  expect(results.every((r) => r.status === 200)).toBe(true);
  expect(
    await h.db('levels').where({ tenant_id: h.scim.tenantId }).whereRaw("lower(name) = 'principal'").count('* as c'),
  ).toEqual([{ c: 1 }]);
});
