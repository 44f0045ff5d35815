import { revokeToken } from '../../../src/db/tokens';
import request from 'supertest';
import { createHarness, ERROR, type Harness, type ScimClient } from './harness';

/** Per-tenant bearer tokens; one tenant never sees or changes another's data. */
let h: Harness;
let other: ScimClient;
beforeAll(async () => {
  h = await createHarness();
  other = await h.newTenant('Globex');
});
afterAll(async () => h.testDb.drop());

describe('authentication', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer es_scim_wrong'],
    ['a non-bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 with a SCIM error for %s', async (_name, header) => {
    const req = request(h.app).get('/scim/v2/Users');
    if (header) req.set('Authorization', header);
    const res = await req;
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '401' });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses an admin token on /scim', async () => {
    const { issueToken } = await import('../../../src/db/tokens');
    const { token } = await issueToken(h.db, { tenantId: h.scim.tenantId, kind: 'admin', name: 'admin' });
    expect((await request(h.app).get('/scim/v2/Users').set('Authorization', `Bearer ${token}`)).status).toBe(401);
  });

  it('refuses a revoked token (after the short verification cache expires)', async () => {
    const { issueToken } = await import('../../../src/db/tokens');
    const issued = await issueToken(h.db, { tenantId: h.scim.tenantId, kind: 'scim', name: 'to revoke' });
    await revokeToken(h.db, h.scim.tenantId, issued.record.id);
    expect((await request(h.app).get('/scim/v2/Users').set('Authorization', `Bearer ${issued.token}`)).status).toBe(
      401,
    );
  });

  it('checks the token before reading the body', async () => {
    const res = await request(h.app)
      .post('/scim/v2/Users')
      .set('Content-Type', 'application/scim+json')
      .send('{not json');
    expect(res.status).toBe(401);
  });
});

describe('tenant isolation', () => {
  it("answers 404 for another tenant's user and group ids, for every method", async () => {
    const user = await other.createUser('iso@globex.com');
    const group = await other.createGroup('Globex Team');
    expect((await h.scim.get(`/Users/${user}`)).status).toBe(404);
    expect((await h.scim.ops(`/Users/${user}`, [{ op: 'replace', path: 'displayName', value: 'hacked' }])).status).toBe(
      404,
    );
    expect((await h.scim.put(`/Users/${user}`, { userName: 'hacked@x.com' })).status).toBe(404);
    expect((await h.scim.delete(`/Users/${user}`)).status).toBe(404);
    expect((await h.scim.get(`/Groups/${group}`)).status).toBe(404);
    expect(
      (await h.scim.ops(`/Groups/${group}`, [{ op: 'replace', path: 'displayName', value: 'hacked' }])).status,
    ).toBe(404);
    expect((await h.scim.delete(`/Groups/${group}`)).status).toBe(404);
    expect(await h.db('employees').where({ id: user }).first()).toMatchObject({
      active: true,
      display_name: null,
      user_name: 'iso@globex.com',
    });
    expect(await h.db('teams').where({ id: group }).first()).toMatchObject({ display_name: 'Globex Team' });
  });

  it('lets two tenants use the same userName, externalId and group name independently', async () => {
    const a = await h.scim.createUser('same@shared.com', { externalId: 'same-ext' });
    const b = await other.createUser('same@shared.com', { externalId: 'same-ext' });
    expect(a).not.toBe(b);
    expect(
      (await h.scim.get(`/Users?filter=${encodeURIComponent('userName eq "same@shared.com"')}`)).body.Resources.map(
        (r: { id: string }) => r.id,
      ),
    ).toEqual([a]);
    await h.scim.createGroup('Same Name');
    await other.createGroup('Same Name');
  });

  it("cannot add another tenant's user to its team: the id stays a pending reference", async () => {
    const foreign = await other.createUser('foreign.member@globex.com');
    const team = await h.scim.createGroup('No Foreigners');
    await h.scim.ops(`/Groups/${team}`, [{ op: 'Add', path: 'members', value: [{ value: foreign }] }]);
    expect(await h.db('team_members').where({ team_id: team })).toEqual([]);
  });

  it("cannot reach another tenant's users through a filter, even with `or`", async () => {
    await other.createUser('leak@globex.com');
    const res = await h.scim.get(`/Users?filter=${encodeURIComponent('userName eq "nobody" or userName pr')}`);
    expect(res.status).toBe(200);
    const names = res.body.Resources.map((r: { userName: string }) => r.userName);
    expect(names).not.toContain('leak@globex.com');
    expect(res.body.totalResults).toBe(
      Number((await h.db('employees').where({ tenant_id: h.scim.tenantId }).count('* as c'))[0].c),
    );
  });
});
