import { createManualTeam } from '../../../src/db/teams';
import { createHarness, GROUP, PATCH_OP, type Harness } from './harness';

/** Entra's Group requests (reference/entra-scim.md §1 items 9–15, §2 member removal) and the team rules of the design. */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

const ADSCIM = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const members = async (teamId: string) =>
  (await h.db('team_members').where({ team_id: teamId }).orderBy('employee_id').pluck('employee_id')) as string[];

describe('Create Group', () => {
  it('creates a team from the group Entra sends (ADSCIM schema URI included) with an empty member list', async () => {
    const res = await h.scim.post('/Groups', {
      schemas: [GROUP, ADSCIM],
      externalId: 'grp-obj-1',
      displayName: 'Engineering',
      meta: { resourceType: 'Group' },
    });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.headers.location).toBe(`http://scim.test/scim/v2/Groups/${res.body.id}`);
    expect(res.body).toMatchObject({
      schemas: [GROUP],
      displayName: 'Engineering',
      externalId: 'grp-obj-1',
      members: [],
      meta: { resourceType: 'Group' },
    });
    expect(await h.db('teams').where({ id: res.body.id }).first()).toMatchObject({
      origin: 'scim',
      scim_managed: true,
    });
  });

  it('adopts a manual team of the same name (case-insensitively) instead of creating a duplicate', async () => {
    const manual = await createManualTeam(h.db, h.scim.tenantId, { displayName: 'Sales Team' }, { source: 'admin' });
    const res = await h.scim.post('/Groups', { schemas: [GROUP], displayName: 'sales team', externalId: 'grp-sales' });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(manual.id);
    expect(await h.db('teams').where({ id: manual.id }).first()).toMatchObject({
      origin: 'manual',
      scim_managed: true,
      external_id: 'grp-sales',
      display_name: 'Sales Team',
    });
    expect(
      await h
        .db('teams')
        .where({ tenant_id: h.scim.tenantId })
        .whereRaw("lower(display_name) = 'sales team'")
        .count('* as c'),
    ).toEqual([{ c: 1 }]);
  });

  it('keeps other manual teams out of SCIM: not listed, not readable, not patchable', async () => {
    const manual = await createManualTeam(h.db, h.scim.tenantId, { displayName: 'Hidden Manual' }, { source: 'admin' });
    expect(
      (await h.scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "Hidden Manual"')}`)).body.totalResults,
    ).toBe(0);
    expect((await h.scim.get(`/Groups/${manual.id}`)).status).toBe(404);
    expect(
      (await h.scim.ops(`/Groups/${manual.id}`, [{ op: 'Replace', path: 'displayName', value: 'Taken' }])).status,
    ).toBe(404);
    expect((await h.scim.delete(`/Groups/${manual.id}`)).status).toBe(404);
    expect(await h.db('teams').where({ id: manual.id }).first()).toMatchObject({
      display_name: 'Hidden Manual',
      scim_managed: false,
    });
  });

  it('returns 409 uniqueness for a second group of the same name', async () => {
    await h.scim.createGroup('Twice');
    const res = await h.scim.post('/Groups', { schemas: [GROUP], displayName: 'TWICE' });
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });
});

describe('Get Group', () => {
  it('leaves members out with excludedAttributes=members', async () => {
    const u = await h.scim.createUser('get.group.member@contoso.com');
    const id = await h.scim.createGroup('With Members', { members: [{ value: u }] });
    const full = await h.scim.get(`/Groups/${id}`);
    expect(full.body.members).toEqual([
      { value: u, $ref: `http://scim.test/scim/v2/Users/${u}`, type: 'User', display: 'get.group.member@contoso.com' },
    ]);
    const lean = await h.scim.get(`/Groups/${id}?excludedAttributes=members`);
    expect(lean.status).toBe(200);
    expect(lean.body.members).toBeUndefined();
    expect(lean.body.displayName).toBe('With Members');
  });

  it('finds a group by displayName, case-insensitively, without members', async () => {
    const id = await h.scim.createGroup('Marketing');
    const res = await h.scim.get(
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "marketing"')}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0]).toMatchObject({ id, displayName: 'Marketing' });
    expect(res.body.Resources[0].members).toBeUndefined();
  });

  it('finds a group created with surrounding spaces by the name as it was sent, so a re-sent create is matched', async () => {
    const id = await h.scim.createGroup('  Field Sales ');
    const filter = (f: string) => h.scim.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(f)}`);
    const sent = await filter('displayName eq "  Field Sales "');
    expect(sent.body.totalResults).toBe(1);
    expect(sent.body.Resources[0]).toMatchObject({ id, displayName: 'Field Sales' });
    expect(
      (await filter('displayName ne "Field Sales "')).body.Resources.map((g: { id: string }) => g.id),
    ).not.toContain(id);
  });

  it('answers the members probe `id eq … and members eq …`', async () => {
    const u = await h.scim.createUser('probe.member@contoso.com');
    const id = await h.scim.createGroup('Probe Group', { members: [{ value: u }] });
    const f = (s: string) => `/Groups?excludedAttributes=members&filter=${encodeURIComponent(s)}`;
    expect((await h.scim.get(f(`id eq "${id}" and members eq "${u}"`))).body.totalResults).toBe(1);
    expect((await h.scim.get(f(`id eq "${id}" and members[value eq "${u}"]`))).body.totalResults).toBe(1);
    expect((await h.scim.get(f(`id eq "${id}" and members eq "${id}"`))).body.totalResults).toBe(0);
  });
});

describe('Update Group', () => {
  it('renames with Replace displayName and answers 204', async () => {
    const id = await h.scim.createGroup('Old Name');
    const res = await h.scim.ops(`/Groups/${id}`, [{ op: 'Replace', path: 'displayName', value: 'New Name' }]);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await h.db('teams').where({ id }).first()).display_name).toBe('New Name');
    const audit = await h.db('audit_events').where({ resource_type: 'team', resource_id: id }).orderBy('id');
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['created', 'scim'],
      ['updated', 'scim'],
    ]);
    expect(audit[1].changes).toEqual({ displayName: 'New Name' });
  });

  it("renames with Okta's path-less replace that restates the group's own id, and still refuses another id", async () => {
    const id = await h.scim.createGroup('Okta Old');
    const renamed = await h.scim.ops(`/Groups/${id}`, [{ op: 'replace', value: { id, displayName: 'Okta New' } }]);
    expect(renamed.status).toBe(204);
    expect((await h.db('teams').where({ id }).first()).display_name).toBe('Okta New');

    const other = '0b7e3c4e-1111-4a2b-9c3d-5e6f7a8b9c0d';
    const moved = await h.scim.ops(`/Groups/${id}`, [{ op: 'replace', value: { id: other, displayName: 'Okta X' } }]);
    expect(moved.status).toBe(400);
    expect(moved.body.scimType).toBe('mutability');
    expect((await h.db('teams').where({ id }).first()).display_name).toBe('Okta New');
  });

  it('adds several members in one PATCH (several values and several operations) idempotently, and answers 204', async () => {
    const [a, b, c] = [
      await h.scim.createUser('m.a@contoso.com'),
      await h.scim.createUser('m.b@contoso.com'),
      await h.scim.createUser('m.c@contoso.com'),
    ];
    const id = await h.scim.createGroup('Many Members');
    const res = await h.scim.patch(`/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: a },
            { $ref: null, value: b },
          ],
        },
        {
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: c },
            { $ref: null, value: a },
          ],
        },
      ],
    });
    expect(res.status).toBe(204);
    expect(await members(id)).toEqual([a, b, c].sort());
    expect((await h.scim.ops(`/Groups/${id}`, [{ op: 'Add', path: 'members', value: [{ value: a }] }])).status).toBe(
      204,
    );
    expect(await members(id)).toEqual([a, b, c].sort());
  });

  it('records a teams change (audit + outbox) for every employee whose membership changed', async () => {
    const u = await h.scim.createUser('teams.change@contoso.com');
    const id = await h.scim.createGroup('Change Recorder');
    await h.scim.ops(`/Groups/${id}`, [{ op: 'Add', path: 'members', value: [{ value: u }] }]);
    const last = await h.db('outbox').where({ employee_id: u }).orderBy('id', 'desc').first();
    expect(last.changed_attributes).toEqual(['teams']);
    await h.scim.ops(`/Groups/${id}`, [{ op: 'Add', path: 'members', value: [{ value: u }] }]);
    const again = await h.db('outbox').where({ employee_id: u }).orderBy('id', 'desc').first();
    expect(again.id).toBe(last.id);
  });

  it('removes members by value list (Entra without the flag)', async () => {
    const [a, b] = [await h.scim.createUser('rm.a@contoso.com'), await h.scim.createUser('rm.b@contoso.com')];
    const id = await h.scim.createGroup('Remove By Value', { members: [{ value: a }, { value: b }] });
    const res = await h.scim.ops(`/Groups/${id}`, [
      { op: 'Remove', path: 'members', value: [{ $ref: null, value: a }] },
    ]);
    expect(res.status).toBe(204);
    expect(await members(id)).toEqual([b]);
  });

  it('removes members by members[value eq "…"] (aadOptscim062020)', async () => {
    const [a, b] = [await h.scim.createUser('rmf.a@contoso.com'), await h.scim.createUser('rmf.b@contoso.com')];
    const id = await h.scim.createGroup('Remove By Filter', { members: [{ value: a }, { value: b }] });
    const res = await h.scim.ops(`/Groups/${id}`, [{ op: 'remove', path: `members[value eq "${b}"]` }]);
    expect(res.status).toBe(204);
    expect(await members(id)).toEqual([a]);
    expect((await h.scim.ops(`/Groups/${id}`, [{ op: 'remove', path: `members[value eq "${b}"]` }])).status).toBe(204);
  });

  it('applies a path-less replace of displayName', async () => {
    const id = await h.scim.createGroup('Pathless Group');
    expect(
      (await h.scim.ops(`/Groups/${id}`, [{ op: 'replace', value: { displayName: 'Pathless Renamed' } }])).status,
    ).toBe(204);
    expect((await h.scim.get(`/Groups/${id}`)).body.displayName).toBe('Pathless Renamed');
  });

  it('refuses a rename onto another team name with 409', async () => {
    await createManualTeam(h.db, h.scim.tenantId, { displayName: 'Occupied' }, { source: 'admin' });
    const id = await h.scim.createGroup('Wants Rename');
    const res = await h.scim.ops(`/Groups/${id}`, [{ op: 'replace', path: 'displayName', value: 'occupied' }]);
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });

  it('replaces the whole member list with PUT', async () => {
    const [a, b] = [await h.scim.createUser('put.a@contoso.com'), await h.scim.createUser('put.b@contoso.com')];
    const id = await h.scim.createGroup('Put Group', { members: [{ value: a }] });
    const res = await h.scim.put(`/Groups/${id}`, {
      schemas: [GROUP],
      displayName: 'Put Group 2',
      members: [{ value: b }],
    });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe('Put Group 2');
    expect(await members(id)).toEqual([b]);
  });
});

describe('Delete Group', () => {
  it('deletes a team that SCIM created, with its memberships, and answers 204', async () => {
    const u = await h.scim.createUser('del.member@contoso.com');
    const id = await h.scim.createGroup('Deleted Team', { members: [{ value: u }] });
    expect((await h.scim.delete(`/Groups/${id}`)).status).toBe(204);
    expect(await h.db('teams').where({ id }).first()).toBeUndefined();
    expect(await members(id)).toEqual([]);
    expect((await h.scim.get(`/Groups/${id}`)).status).toBe(404);
    expect((await h.db('outbox').where({ employee_id: u }).orderBy('id', 'desc').first()).changed_attributes).toEqual([
      'teams',
    ]);
  });

  it('never deletes an adopted manual team: it is only unlinked and keeps its members', async () => {
    const u = await h.scim.createUser('manual.member@contoso.com');
    const manual = await createManualTeam(h.db, h.scim.tenantId, { displayName: 'Manual Keeps' }, { source: 'admin' });
    const id = await h.scim.createGroup('Manual Keeps');
    expect(id).toBe(manual.id);
    await h.scim.ops(`/Groups/${id}`, [{ op: 'Add', path: 'members', value: [{ value: u }] }]);
    expect((await h.scim.delete(`/Groups/${id}`)).status).toBe(204);
    expect(await h.db('teams').where({ id }).first()).toMatchObject({ origin: 'manual', scim_managed: false });
    expect(await members(id)).toEqual([u]);
    expect((await h.scim.get(`/Groups/${id}`)).status).toBe(404);
  });
});
