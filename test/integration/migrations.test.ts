import { migrationSource } from '../../src/db/knex';
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

  describe('references between rows stay within one tenant', () => {
    let a: string;
    let b: string;
    let employeeOfA: string;
    let employeeOfB: string;
    beforeAll(async () => {
      const tenants = await t
        .db('tenants')
        .insert([{ name: 'Tenant A' }, { name: 'Tenant B' }])
        .returning('id');
      [a, b] = tenants.map((x: { id: string }) => x.id);
      const [ea] = await t.db('employees').insert({ tenant_id: a, user_name: 'a@a.test' }).returning('id');
      const [eb] = await t.db('employees').insert({ tenant_id: b, user_name: 'b@b.test' }).returning('id');
      employeeOfA = ea.id;
      employeeOfB = eb.id;
    });

    it("refuses a manager, level, team member, outbox or provisioning row naming another tenant's row", async () => {
      const [levelOfB] = await t.db('levels').insert({ tenant_id: b, name: 'Senior' }).returning('id');
      const [teamOfB] = await t
        .db('teams')
        .insert({ tenant_id: b, display_name: 'B team', origin: 'manual' })
        .returning('id');
      const writes = [
        t.db('employees').where({ id: employeeOfA }).update({ manager_id: employeeOfB }),
        t.db('employees').where({ id: employeeOfA }).update({ level_id: levelOfB.id }),
        t.db('team_members').insert({ tenant_id: a, team_id: teamOfB.id, employee_id: employeeOfA }),
        t.db('team_members').insert({ tenant_id: b, team_id: teamOfB.id, employee_id: employeeOfA }),
        t.db('outbox').insert({ tenant_id: a, employee_id: employeeOfB, version: 1, source: 'scim' }),
        t.db('employee_provisioning').insert({ tenant_id: a, employee_id: employeeOfB }),
      ];
      for (const write of writes) await expect(write).rejects.toMatchObject({ code: '23503' });
      // Within one tenant the same writes are fine.
      await t.db('employees').where({ id: employeeOfB }).update({ level_id: levelOfB.id });
      await t.db('team_members').insert({ tenant_id: b, team_id: teamOfB.id, employee_id: employeeOfB });
    });

    it("clears only the reference when a level or a manager is deleted, keeping the employee's tenant", async () => {
      const [level] = await t.db('levels').insert({ tenant_id: a, name: 'Staff' }).returning('id');
      const [manager] = await t.db('employees').insert({ tenant_id: a, user_name: 'boss@a.test' }).returning('id');
      await t.db('employees').where({ id: employeeOfA }).update({ level_id: level.id, manager_id: manager.id });
      await t.db('levels').where({ id: level.id }).del();
      await t.db('employees').where({ id: manager.id }).del();
      const row = await t.db('employees').where({ id: employeeOfA }).first();
      expect(row).toMatchObject({ tenant_id: a, level_id: null, manager_id: null });
    });
  });

  it('rolls every migration back and applies them again (each down() undoes its up())', async () => {
    const fresh = await createTestDb();
    try {
      await fresh.db.migrate.rollback({ migrationSource }, true);
      const left = await fresh.db.raw(
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%'",
      );
      expect(left.rows[0].n).toBe(0);
      await fresh.db.migrate.latest({ migrationSource });
      const [, pending] = (await fresh.db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
      expect(pending).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });
});
