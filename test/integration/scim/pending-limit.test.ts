import { MAX_PENDING_MEMBERS } from '../../../src/api/scim/group-writes';
import { createHarness, ERROR, GROUP, type Harness } from './harness';

/** The pending member list of a tenant is bounded: a client cannot grow it without end. */
let h: Harness;
let teamId: string;
beforeAll(async () => {
  h = await createHarness();
  teamId = await h.scim.createGroup('Waiting room');
  // Fill the tenant's pending list to the limit, as many earlier group writes would have.
  await h.db.raw(
    `INSERT INTO pending_references (tenant_id, kind, source_id, target_ref)
       SELECT ?, 'member', ?, 'not-yet-' || n FROM generate_series(1, ?) AS n`,
    [h.scim.tenantId, teamId, MAX_PENDING_MEMBERS],
  );
});
afterAll(async () => h.testDb.drop());

const pendingCount = async () =>
  Number((await h.db('pending_references').where({ tenant_id: h.scim.tenantId }).count({ n: '*' }))[0].n);

it('refuses a group write that would keep one more unknown member pending, storing nothing of it', async () => {
  const known = await h.scim.createUser('known.member@contoso.com');
  const res = await h.scim.ops(`/Groups/${teamId}`, [
    { op: 'Add', path: 'members', value: [{ value: known }, { value: 'one-too-many' }] },
  ]);
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidValue' });
  expect(res.body.detail).toMatch(/waiting for users that do not exist yet; provision those users first/);
  expect(await pendingCount()).toBe(MAX_PENDING_MEMBERS);
  expect(await h.db('team_members').where({ team_id: teamId })).toEqual([]);

  const post = await h.scim.post('/Groups', { schemas: [GROUP], displayName: 'New team', members: [{ value: 'x' }] });
  expect(post.status).toBe(400);
  expect(await h.db('teams').where({ tenant_id: h.scim.tenantId, display_name: 'New team' })).toEqual([]);
});

it('still adds known members, re-sends pending ones and removes them at the limit', async () => {
  const known = await h.scim.createUser('member.at.limit@contoso.com');
  const res = await h.scim.ops(`/Groups/${teamId}`, [
    { op: 'Add', path: 'members', value: [{ value: known }, { value: 'not-yet-1' }] },
  ]);
  expect(res.status).toBe(204);
  expect(await h.db('team_members').where({ team_id: teamId }).pluck('employee_id')).toEqual([known]);
  const removed = await h.scim.ops(`/Groups/${teamId}`, [
    { op: 'Remove', path: 'members', value: [{ value: 'not-yet-2' }] },
  ]);
  expect(removed.status).toBe(204);
  expect(await pendingCount()).toBe(MAX_PENDING_MEMBERS - 1);
  // With room again, a new unknown member is kept pending.
  const again = await h.scim.ops(`/Groups/${teamId}`, [{ op: 'Add', path: 'members', value: [{ value: 'fits' }] }]);
  expect(again.status).toBe(204);
  expect(await pendingCount()).toBe(MAX_PENDING_MEMBERS);
});
