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
