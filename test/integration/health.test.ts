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
});
