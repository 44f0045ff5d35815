import { createTestDb, type TestDb } from '../support/db';

describe('database schema', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('refuses a second employee with the same userName in another case within a tenant', async () => {
    const [tenant] = await t.db('tenants').insert({ name: 'Acme' }).returning('id');
    await t.db('employees').insert({ tenant_id: tenant.id, user_name: 'Jane@Acme.test' });
    await expect(t.db('employees').insert({ tenant_id: tenant.id, user_name: 'jane@acme.test' })).rejects.toThrow(
      /employees_tenant_user_name_uq/,
    );
  });

  it('allows the same userName in two tenants', async () => {
    const [a, b] = await t
      .db('tenants')
      .insert([{ name: 'A' }, { name: 'B' }])
      .returning('id');
    await t.db('employees').insert({ tenant_id: a.id, user_name: 'same@x.test' });
    await expect(t.db('employees').insert({ tenant_id: b.id, user_name: 'same@x.test' })).resolves.toBeDefined();
  });
});
