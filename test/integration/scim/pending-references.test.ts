import { CORE, createHarness, ENTERPRISE, type Harness } from './harness';

/** One provisioning pass gives complete reporting lines and team memberships, whatever order Entra sends people in. */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

const row = (id: string) => h.db('employees').where({ id }).first();

it('keeps a manager that does not exist yet pending and links it the moment that person is created', async () => {
  const report = await h.scim.createUser('pending.report@contoso.com', { [ENTERPRISE]: { manager: 'boss-ext' } });
  expect((await row(report)).manager_id).toBeNull();
  expect(await h.db('pending_references').where({ tenant_id: h.scim.tenantId, source_id: report })).toEqual([
    expect.objectContaining({ kind: 'manager', target_ref: 'boss-ext' }),
  ]);
  const boss = await h.scim.createUser('pending.boss@contoso.com', { externalId: 'boss-ext' });
  expect((await row(report)).manager_id).toBe(boss);
  expect(await h.db('pending_references').where({ tenant_id: h.scim.tenantId, source_id: report })).toEqual([]);
  const res = await h.scim.get(`/Users/${report}`);
  expect(res.body[ENTERPRISE].manager.value).toBe(boss);
  const last = await h.db('outbox').where({ employee_id: report }).orderBy('id', 'desc').first();
  expect(last.changed_attributes).toEqual(['managerId']);
});

it('links a pending manager set by PATCH when the manager arrives later', async () => {
  const report = await h.scim.createUser('patch.pending.report@contoso.com');
  await h.scim.ops(`/Users/${report}`, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: 'later-boss' }]);
  expect((await row(report)).manager_id).toBeNull();
  const boss = await h.scim.createUser('later.boss@contoso.com', { externalId: 'later-boss' });
  expect((await row(report)).manager_id).toBe(boss);
});

it('links a whole chain created top-down in reverse order in one pass', async () => {
  const c = await h.scim.createUser('chain.c@contoso.com', {
    externalId: 'chain-c',
    [ENTERPRISE]: { manager: 'chain-b' },
  });
  const b = await h.scim.createUser('chain.b@contoso.com', {
    externalId: 'chain-b',
    [ENTERPRISE]: { manager: 'chain-a' },
  });
  const a = await h.scim.createUser('chain.a@contoso.com', { externalId: 'chain-a' });
  expect((await row(c)).manager_id).toBe(b);
  expect((await row(b)).manager_id).toBe(a);
});

it('replaces a pending manager by a newer one, and removing the manager drops the pending one', async () => {
  const report = await h.scim.createUser('pending.swap@contoso.com', { [ENTERPRISE]: { manager: 'first-ref' } });
  await h.scim.ops(`/Users/${report}`, [{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: 'second-ref' }]);
  expect(await h.db('pending_references').where({ source_id: report }).pluck('target_ref')).toEqual(['second-ref']);
  await h.scim.ops(`/Users/${report}`, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
  expect(await h.db('pending_references').where({ source_id: report })).toEqual([]);
  await h.scim.createUser('second.ref@contoso.com', { externalId: 'second-ref' });
  expect((await row(report)).manager_id).toBeNull();
});

it('keeps unknown group members pending and adds them to the team when they are provisioned', async () => {
  const team = await h.scim.createGroup('Pending Members');
  const res = await h.scim.ops(`/Groups/${team}`, [{ op: 'Add', path: 'members', value: [{ value: 'member-ext-1' }] }]);
  expect(res.status).toBe(204);
  expect(await h.db('team_members').where({ team_id: team })).toEqual([]);
  const u = await h.scim.createUser('member.ext@contoso.com', { externalId: 'member-ext-1' });
  expect(await h.db('team_members').where({ team_id: team }).pluck('employee_id')).toEqual([u]);
  const created = await h.db('outbox').where({ employee_id: u });
  expect(created).toHaveLength(1);
  expect(created[0].changed_attributes).toEqual(expect.arrayContaining(['userName', 'teams']));
  const groups = (await h.scim.get(`/Users/${u}`)).body.groups;
  expect(groups).toEqual([
    { value: team, display: 'Pending Members', $ref: `http://scim.test/scim/v2/Groups/${team}` },
  ]);
});

it('drops a pending member when Entra removes it before it arrives', async () => {
  const team = await h.scim.createGroup('Pending Removed');
  await h.scim.ops(`/Groups/${team}`, [{ op: 'Add', path: 'members', value: [{ value: 'never-arrives' }] }]);
  await h.scim.ops(`/Groups/${team}`, [{ op: 'Remove', path: 'members', value: [{ value: 'never-arrives' }] }]);
  expect(await h.db('pending_references').where({ source_id: team })).toEqual([]);
  await h.scim.createUser('never.arrives@contoso.com', { externalId: 'never-arrives' });
  expect(await h.db('team_members').where({ team_id: team })).toEqual([]);
});

it('writes nothing when Entra re-sends members that are already pending (by Add or by a PUT of the same list)', async () => {
  const team = await h.scim.createGroup('Pending Resent');
  const members = [{ value: 'resent-1' }, { value: 'resent-2' }];
  await h.scim.ops(`/Groups/${team}`, [{ op: 'Add', path: 'members', value: members }]);
  const state = async () => ({
    version: (await h.db('teams').where({ id: team }).first()).version,
    audit: (await h.db('audit_events').where({ resource_type: 'team', resource_id: team })).length,
  });
  const before = await state();
  for (let cycle = 0; cycle < 3; cycle++) {
    expect((await h.scim.ops(`/Groups/${team}`, [{ op: 'Add', path: 'members', value: members }])).status).toBe(204);
  }
  const put = await h.scim.put(`/Groups/${team}`, {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Pending Resent',
    members: [...members].reverse(),
  });
  expect(put.status).toBe(200);
  expect(await state()).toEqual(before);
  // A real change still counts: dropping one pending member bumps the version once.
  await h.scim.ops(`/Groups/${team}`, [{ op: 'Remove', path: 'members', value: [members[0]] }]);
  expect((await state()).version).toBe(before.version + 1);
  expect(await h.db('pending_references').where({ source_id: team }).pluck('target_ref')).toEqual(['resent-2']);
});

it('never links a pending reference across tenants', async () => {
  const other = await h.newTenant('Other for pending');
  const report = await h.scim.createUser('iso.pending@contoso.com', { [ENTERPRISE]: { manager: 'shared-ext' } });
  await other.createUser('shared@other.com', { externalId: 'shared-ext' });
  expect((await row(report)).manager_id).toBeNull();
});

it('rejects a user as their own manager', async () => {
  const id = await h.scim.createUser('self.manager@contoso.com');
  const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: id }]);
  expect(res.status).toBe(400);
  expect(res.body.scimType).toBe('invalidValue');
});

it('rejects a new user naming their own externalId as manager, instead of leaving a reference that never resolves', async () => {
  const res = await h.scim.post('/Users', {
    schemas: [CORE, ENTERPRISE],
    userName: 'self.ext@contoso.com',
    externalId: 'self-ext-1',
    [ENTERPRISE]: { manager: { value: 'self-ext-1' } },
  });
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ scimType: 'invalidValue', detail: expect.stringMatching(/own manager/) });
  expect(await h.db('employees').where({ external_id: 'self-ext-1' }).first()).toBeUndefined();
  expect(await h.db('pending_references').where({ target_ref: 'self-ext-1' }).first()).toBeUndefined();
});
