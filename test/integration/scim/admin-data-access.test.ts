import {
  createCustomAttributeDefinition,
  deleteCustomAttributeDefinition,
  DuplicateCustomAttributeError,
  InvalidCustomAttributeError,
  listCustomAttributeDefinitions,
} from '../../../src/db/custom-attributes';
import { getEmployee, listEmployees, updateEmployeeHrFields } from '../../../src/db/employees';
import { createManualTeam, deleteManualTeam, DuplicateTeamNameError, listTeams } from '../../../src/db/teams';
import { createHarness, ENTERPRISE, PRODUCT, type Harness } from './harness';

/** The data access the admin API builds on; the same rows SCIM writes. */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

describe('employees', () => {
  it('getEmployee returns the typed employee with level name, manager id, team ids and custom attributes', async () => {
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, { id: 'pet', name: 'Pet', type: 'string' });
    const boss = await h.scim.createUser('admin.boss@contoso.com');
    const id = await h.scim.createUser('admin.view@contoso.com', {
      name: { givenName: 'Ada' },
      [ENTERPRISE]: { manager: boss, pet: 'cat' },
      [PRODUCT]: { level: 'Lead', birthday: '1990-01-02' },
    });
    const team = await h.scim.createGroup('Admin View Team', { members: [{ value: id }] });
    const e = await getEmployee(h.db, h.scim.tenantId, id);
    expect(e).toMatchObject({
      id,
      userName: 'admin.view@contoso.com',
      givenName: 'Ada',
      levelName: 'Lead',
      managerId: boss,
      teamIds: [team],
      customAttributes: { pet: 'cat' },
      birthday: '1990-01-02',
      active: true,
      lifecycleStatus: 'active',
    });
    expect(await getEmployee(h.db, h.scim.tenantId, 'nope')).toBeUndefined();
    const other = await h.newTenant('Admin other');
    expect(await getEmployee(h.db, other.tenantId, id)).toBeUndefined();
  });

  it('listEmployees pages and filters by active and lifecycle status', async () => {
    const other = await h.newTenant('List tenant');
    const ids = [
      await other.createUser('l1@x.com'),
      await other.createUser('l2@x.com'),
      await other.createUser('l3@x.com'),
    ];
    await other.delete(`/Users/${ids[1]}`);
    const page = await listEmployees(h.db, other.tenantId, { limit: 2, offset: 0 });
    expect(page.total).toBe(3);
    expect(page.items.map((e) => e.id)).toEqual(ids.slice(0, 2));
    expect(
      (await listEmployees(h.db, other.tenantId, { limit: 10, offset: 0, active: false })).items.map((e) => e.id),
    ).toEqual([ids[1]]);
    expect((await listEmployees(h.db, other.tenantId, { limit: 10, offset: 0, lifecycleStatus: 'active' })).total).toBe(
      2,
    );
  });

  it('updateEmployeeHrFields sets the lifecycle in one transaction with audit and outbox, and keeps active in step', async () => {
    const id = await h.scim.createUser('lifecycle@contoso.com');
    const leave = await updateEmployeeHrFields(
      h.db,
      h.scim.tenantId,
      id,
      { lifecycleStatus: 'leave' },
      { source: 'admin', requestId: 'r1' },
    );
    expect(leave).toMatchObject({ lifecycleStatus: 'leave', active: true });
    const out = await updateEmployeeHrFields(
      h.db,
      h.scim.tenantId,
      id,
      { lifecycleStatus: 'terminated' },
      { source: 'admin', requestId: 'r2' },
    );
    expect(out).toMatchObject({ lifecycleStatus: 'terminated', active: false });
    const last = await h.db('outbox').where({ employee_id: id }).orderBy('id', 'desc').first();
    expect(last).toMatchObject({ source: 'admin', changed_attributes: ['lifecycleStatus', 'active'] });
    const audit = await h.db('audit_events').where({ resource_id: id, request_id: 'r2' }).first();
    expect(audit).toMatchObject({ action: 'deactivated', actor: 'admin' });
    const versionBefore = out!.version;
    const same = await updateEmployeeHrFields(
      h.db,
      h.scim.tenantId,
      id,
      { lifecycleStatus: 'terminated' },
      { source: 'admin' },
    );
    expect(same!.version).toBe(versionBefore);
    expect(
      await updateEmployeeHrFields(
        h.db,
        h.scim.tenantId,
        '5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11',
        { lifecycleStatus: 'active' },
        { source: 'admin' },
      ),
    ).toBeUndefined();
  });

  it('a SCIM reactivation after an admin termination sets the lifecycle back to active', async () => {
    const id = await h.scim.createUser('reactivate@contoso.com');
    await updateEmployeeHrFields(h.db, h.scim.tenantId, id, { lifecycleStatus: 'terminated' }, { source: 'admin' });
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Replace', path: 'active', value: 'True' }]);
    expect(res.body.active).toBe(true);
    expect((await getEmployee(h.db, h.scim.tenantId, id))!.lifecycleStatus).toBe('active');
  });
});

describe('teams', () => {
  it('createManualTeam refuses a duplicate name case-insensitively; listTeams shows all teams with member counts', async () => {
    const t = await h.newTenant('Teams tenant');
    const manual = await createManualTeam(
      h.db,
      t.tenantId,
      { displayName: 'Design' },
      { source: 'admin', requestId: 'x' },
    );
    await expect(
      createManualTeam(h.db, t.tenantId, { displayName: 'design' }, { source: 'admin' }),
    ).rejects.toBeInstanceOf(DuplicateTeamNameError);
    const u = await t.createUser('team.count@x.com');
    const scimTeam = await t.createGroup('From Entra', { members: [{ value: u }] });
    const teams = await listTeams(h.db, t.tenantId);
    expect(teams.map((x) => [x.id, x.origin, x.scimManaged, x.memberCount])).toEqual([
      [manual.id, 'manual', false, 0],
      [scimTeam, 'scim', true, 1],
    ]);
  });

  it('deleteManualTeam deletes manual teams only', async () => {
    const t = await h.newTenant('Delete teams tenant');
    const manual = await createManualTeam(h.db, t.tenantId, { displayName: 'Temp' }, { source: 'admin' });
    const scimTeam = await t.createGroup('Entra Owned');
    expect(await deleteManualTeam(h.db, t.tenantId, scimTeam)).toBe('not_manual');
    expect(await deleteManualTeam(h.db, t.tenantId, manual.id)).toBe('deleted');
    expect(await deleteManualTeam(h.db, t.tenantId, manual.id)).toBe('not_found');
    expect(await deleteManualTeam(h.db, h.scim.tenantId, scimTeam)).toBe('not_found');
  });

  it('keeps a manual team an Entra group adopted until the group lets it go, so Entra never meets a 404', async () => {
    const t = await h.newTenant('Adopted team tenant');
    const manual = await createManualTeam(h.db, t.tenantId, { displayName: 'Field Sales' }, { source: 'admin' });
    const groupId = await t.createGroup('Field Sales');
    expect(groupId).toBe(manual.id);
    expect(await deleteManualTeam(h.db, t.tenantId, manual.id)).toBe('adopted');
    expect(await h.db('teams').where({ id: manual.id }).first()).toMatchObject({ scim_managed: true });
    // Entra removes the group: the team is unlinked (kept, a manual team), and then the admin may delete it.
    expect((await t.delete(`/Groups/${groupId}`)).status).toBe(204);
    expect(await deleteManualTeam(h.db, t.tenantId, manual.id)).toBe('deleted');
  });
});

describe('custom attribute definitions', () => {
  it('creates with a given or generated url-safe id, lists, refuses duplicates and bad input, and deletes', async () => {
    const t = await h.newTenant('Custom defs tenant');
    const given = await createCustomAttributeDefinition(h.db, t.tenantId, {
      id: 'costUnit',
      name: 'Cost unit',
      type: 'string',
    });
    const generated = await createCustomAttributeDefinition(h.db, t.tenantId, { name: 'Score', type: 'number' });
    expect(generated.id).toMatch(/^[A-Za-z0-9_-]{6,}$/);
    await expect(
      createCustomAttributeDefinition(h.db, t.tenantId, { id: 'costUnit', name: 'again', type: 'string' }),
    ).rejects.toBeInstanceOf(DuplicateCustomAttributeError);
    await expect(
      createCustomAttributeDefinition(h.db, t.tenantId, { id: 'has space', name: 'x', type: 'string' }),
    ).rejects.toBeInstanceOf(InvalidCustomAttributeError);
    expect((await listCustomAttributeDefinitions(h.db, t.tenantId)).map((d) => d.id)).toEqual([given.id, generated.id]);
    expect(await deleteCustomAttributeDefinition(h.db, t.tenantId, 'costUnit')).toBe(true);
    expect(await deleteCustomAttributeDefinition(h.db, t.tenantId, 'costUnit')).toBe(false);
    expect((await listCustomAttributeDefinitions(h.db, t.tenantId)).map((d) => d.id)).toEqual([generated.id]);
  });
});
