import request from 'supertest';
import { runAdminCli } from '../../support/admin-cli';
import { buildTestApp, platformToken } from '../../support/app';
import { createTestDb, type TestDb } from '../../support/db';

const adminCli = (db: TestDb, ...args: string[]) => runAdminCli(db.url, args);

describe('platform admin tokens from the operator CLI', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('lists platform admin tokens and revokes one at once; the API stops accepting it', async () => {
    const app = buildTestApp(t.db);
    const token = await platformToken(t.db);
    await request(app).get('/admin/v1/tenants').set('Authorization', `Bearer ${token}`).expect(200);

    const listed = await adminCli(t, 'list-platform-tokens');
    expect(listed.code).toBe(0);
    const records = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = records.find((r) => token.startsWith(String(r.tokenPrefix)));
    expect(mine).toMatchObject({ tenantId: null, kind: 'admin', revokedAt: null });
    expect(listed.stdout).not.toContain(token);

    const revoked = await adminCli(t, 'revoke-platform-token', String(mine!.id).toUpperCase());
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${String(mine!.id).toUpperCase()}\n` });
    await request(app).get('/admin/v1/tenants').set('Authorization', `Bearer ${token}`).expect(401);
  }, 60_000);

  it('refuses an id that is not a platform token, or not a UUID', async () => {
    expect(await adminCli(t, 'revoke-platform-token', '5f0c2b1e-9a7d-4c3e-8b6a-0d1e2f3a4b5c')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no platform admin token'),
    });
    expect(await adminCli(t, 'revoke-platform-token', 'nope')).toMatchObject({ code: 2 });
  }, 60_000);
});
