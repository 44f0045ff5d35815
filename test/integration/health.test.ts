import request from 'supertest';
import { createDb } from '../../src/db/knex';
import { buildTestApp } from '../support/app';
import { createTestDb, type TestDb } from '../support/db';

describe('probes', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('reports ready when the database answers', async () => {
    const res = await request(buildTestApp(t.db)).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('reports 503 on /readyz but stays alive on /healthz when the database is unreachable', async () => {
    const dead = createDb({ url: 'postgres://nobody:x@127.0.0.1:1/none', poolMax: 1 });
    const app = buildTestApp(dead);
    expect((await request(app).get('/readyz')).status).toBe(503);
    expect((await request(app).get('/healthz')).status).toBe(200);
    await dead.destroy();
  });
});

describe('metrics', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('counts requests per api area and reports the outbox backlog in Prometheus format', async () => {
    const app = buildTestApp(t.db);
    await request(app).get('/admin/v1/tenants').expect(401);
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/entra_sync_http_requests_total\{area="admin",method="GET",status="401"\} 1/);
    expect(res.text).toMatch(/entra_sync_outbox_undelivered 0/);
  });

  it('adds no metric series for made-up SCIM paths: anyone can send them, without a token', async () => {
    const app = buildTestApp(t.db);
    for (const name of ['Aaa', 'Bbb', 'Ccc']) await request(app).get(`/scim/v2/${name}`).expect(401);
    await request(app).get('/scim/v2/Users').expect(401);
    await request(app).get('/SCIM/v2/groups').expect(401);
    const text = (await request(app).get('/metrics').expect(200)).text;
    const areas = [...text.matchAll(/entra_sync_http_requests_total\{area="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(areas)).toEqual(new Set(['scim.other', 'scim.users', 'scim.groups']));
    expect(text).toMatch(/entra_sync_http_requests_total\{area="scim.other",method="GET",status="401"\} 3/);
  });

  it('counts outbound employees per state, and the blocked ones per error type, for alerting', async () => {
    const app = buildTestApp(t.db);
    const [tenant] = await t.db('tenants').insert({ name: 'Metrics' }).returning('id');
    const employees = await t
      .db('employees')
      .insert(
        ['a', 'b', 'c'].map((n) => ({
          tenant_id: tenant.id,
          user_name: `${n}@contoso.test`,
          given_name: n,
          family_name: n,
        })),
      )
      .returning('id');
    await t.db('employee_provisioning').insert([
      { tenant_id: tenant.id, employee_id: employees[0].id, state: 'BLOCKED', error_type: 'DomainNotVerified' },
      { tenant_id: tenant.id, employee_id: employees[1].id, state: 'BLOCKED', error_type: 'DomainNotVerified' },
      { tenant_id: tenant.id, employee_id: employees[2].id, state: 'SYNCED' },
    ]);
    const res = await request(app).get('/metrics').expect(200);
    expect(res.text).toMatch(/entra_sync_outbound_employees\{state="BLOCKED",error_type="DomainNotVerified"\} 2/);
    expect(res.text).toMatch(/entra_sync_outbound_employees\{state="SYNCED",error_type=""\} 1/);

    // Fixed: the blocked series is gone rather than stuck at its last value.
    await t.db('employee_provisioning').where({ tenant_id: tenant.id }).update({ state: 'SYNCED', error_type: null });
    const after = await request(app).get('/metrics').expect(200);
    expect(after.text).not.toMatch(/state="BLOCKED"/);
    expect(after.text).toMatch(/entra_sync_outbound_employees\{state="SYNCED",error_type=""\} 3/);
  });
});
