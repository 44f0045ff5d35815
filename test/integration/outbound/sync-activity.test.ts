import { ApplicationFailure } from '@temporalio/common';
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../src/activities';
import { getProvisioning, recordState } from '../../../src/db/provisioning';
import { createGraphConnector, type GraphConnector } from '../../../src/graph/connector';
import { WriteBudgets, type WriteBudget, type WriteKind } from '../../../src/graph/write-budget';
import { silentLogger } from '../../../src/logger';
import type { SyncResult } from '../../../src/workflows/messages';
import { createTestDb, type TestDb } from '../../support/db';
import { upsertOutboundSettings } from '../../../src/db/outbound-settings';
import { DEFAULT_MAPPING } from '../../../src/graph/mapping';
import {
  createEmployee,
  createOutboundTenant,
  ENTRA_TENANT,
  APP_ID,
  APP_SECRET,
  EXT,
  LIFECYCLE_APP_ID,
  NOPERM_APP_ID,
  startTestEmulator,
  testSecretsKey,
  UNVERIFIED,
  updateEmployee,
  VERIFIED,
  type TestEmulator,
} from './support';

/**
 * syncEmployeeToEntra against the Graph emulator over HTTPS, with the production client (ClientSecretCredential
 * + Graph SDK), a real PostgreSQL, and Temporal's mock activity context.
 */
describe('syncEmployeeToEntra against the Graph emulator', () => {
  let t: TestDb;
  let em: TestEmulator;
  const secretsKey = testSecretsKey();
  let activities: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
    activities = createActivities({
      db: t.db,
      logger: silentLogger(),
      graph: emulatorConnector(secretsKey),
      managerReplicationAttempts: 3,
    });
  });
  afterAll(async () => {
    await em?.stop();
    await t?.drop();
  });
  beforeEach(() => em.operator('DELETE', '/_emulator/requests'));

  /** The production connector to the emulator, decrypting secrets with `key`. */
  const emulatorConnector = (key: Buffer, budgets?: WriteBudgets): GraphConnector =>
    createGraphConnector({ db: t.db, secretsKey: key, extraCaPem: em.ca, allowedOrigins: [em.url], budgets });
  /** The activities with another Graph connector (another worker's key, a broken one). */
  const activitiesWith = (graph: GraphConnector) => createActivities({ db: t.db, logger: silentLogger(), graph });

  /** One attempt of a sync by `acts`; `reconcile` compares with the account in Entra instead of the last snapshot. */
  const syncWith = (
    acts: ReturnType<typeof createActivities>,
    tenantId: string,
    employeeId: string,
    attempt = 1,
    reconcile = false,
  ): Promise<SyncResult> =>
    new MockActivityEnvironment({ attempt }).run(acts.syncEmployeeToEntra, {
      tenantId,
      employeeId,
      changedAttributes: [],
      reconcile,
    });
  const sync = (tenantId: string, employeeId: string, attempt = 1, reconcile = false): Promise<SyncResult> =>
    syncWith(activities, tenantId, employeeId, attempt, reconcile);

  async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
    try {
      await p;
    } catch (err) {
      if (err instanceof ApplicationFailure) return err;
      throw err;
    }
    throw new Error('expected the sync to fail');
  }

  const writes = async () => (await em.requests()).filter((r) => r.method !== 'GET');

  it("draws each sync's writes from its lane's share of the write budget: bulk, change or lifecycle", async () => {
    const kinds: WriteKind[] = [];
    class RecordingBudgets extends WriteBudgets {
      override for(): WriteBudget {
        return { take: async (kind: WriteKind) => (kinds.push(kind), 0) } as unknown as WriteBudget;
      }
    }
    const acts = activitiesWith(emulatorConnector(secretsKey, new RecordingBudgets()));
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `budget.kind@${VERIFIED}` });
    // The admin's enrolment (initial push): reconcile, no HR change pending → the create waits as bulk.
    await syncWith(acts, tenantId, e.id, 1, true);
    expect(kinds).toEqual(['bulk']);
    // An HR change: its PATCH may use the share bulk writes leave free, and goes first.
    await updateEmployee(t.db, tenantId, e.id, { job_title: 'Lead' });
    await new MockActivityEnvironment().run(acts.syncEmployeeToEntra, {
      tenantId,
      employeeId: e.id,
      changedAttributes: ['title'],
      reconcile: false,
    });
    expect(kinds).toEqual(['bulk', 'change']);
    // Scheduled by today's workflow, a sync names its lane: a new hire's create is bulk although HR changed it.
    const hire = await createEmployee(t.db, tenantId, { user_name: `budget.hire@${VERIFIED}` });
    await new MockActivityEnvironment().run(acts.syncEmployeeToEntra, {
      tenantId,
      employeeId: hire.id,
      changedAttributes: ['id', 'userName'],
      reconcile: false,
      lane: 'bulk' as const,
    });
    expect(kinds).toEqual(['bulk', 'change', 'bulk']);
    // A leaver: the disable draws on the lifecycle share, which the other kinds leave a reserve of.
    await updateEmployee(t.db, tenantId, e.id, { lifecycle_status: 'terminated' });
    await new MockActivityEnvironment().run(acts.syncEmployeeToEntra, {
      tenantId,
      employeeId: e.id,
      changedAttributes: ['active', 'lifecycleStatus'],
      reconcile: false,
      lane: 'lifecycle' as const,
    });
    expect(kinds).toEqual(['bulk', 'change', 'bulk', 'lifecycle']);
  });

  it('ends an attempt that waits for the write budget before its own timeout, retryably (the server would time it out)', async () => {
    // A budget of one write per minute, spent by the first sync.
    const acts = activitiesWith(emulatorConnector(secretsKey, new WriteBudgets({ capacity: 1, windowMs: 60_000 })));
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const first = await createEmployee(t.db, tenantId, { user_name: `budget.first@${VERIFIED}` });
    const second = await createEmployee(t.db, tenantId, { user_name: `budget.second@${VERIFIED}` });
    await syncWith(acts, tenantId, first.id);
    const started = Date.now();
    const f = await failure(
      new MockActivityEnvironment({ startToCloseTimeoutMs: 2_000 }).run(acts.syncEmployeeToEntra, {
        tenantId,
        employeeId: second.id,
        changedAttributes: [],
        reconcile: false,
      }),
    );
    // A quarter of its 2 s left for the write: it gave up after ~1.5 s, before the server's timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(f).toMatchObject({ type: 'GraphThrottled', nonRetryable: false, nextRetryDelay: 1_000 });
    expect(await getProvisioning(t.db, tenantId, second.id)).toMatchObject({
      state: 'PENDING',
      errorType: 'GraphThrottled',
    });
  });

  it("tells Graph each lane's priority: a first sync low, an HR change normal, a leaver's disable high", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `throttle.priority@${VERIFIED}` });
    const run = (lane: 'bulk' | 'change' | 'lifecycle', changedAttributes: string[]) =>
      new MockActivityEnvironment().run(activities.syncEmployeeToEntra, {
        tenantId,
        employeeId: e.id,
        changedAttributes,
        reconcile: false,
        lane,
      });
    await run('bulk', ['userName']);
    await updateEmployee(t.db, tenantId, e.id, { job_title: 'Lead' });
    await run('change', ['jobTitle']);
    await updateEmployee(t.db, tenantId, e.id, { lifecycle_status: 'terminated' });
    await run('lifecycle', ['lifecycleStatus']);
    const requests = await em.requests();
    const priority = (r: { headers: Record<string, string> }) => r.headers['x-ms-throttle-priority'] ?? 'normal';
    expect(requests.filter((r) => r.method !== 'GET').map((r) => [r.method, priority(r)])).toEqual([
      ['POST', 'low'],
      ['PATCH', 'normal'],
      ['PATCH', 'high'],
    ]);
    // The first sync's reads (the lookup by user principal name, the domain check) are bulk too.
    expect(requests.filter((r) => r.method === 'GET').map(priority)).toContain('low');
  });

  it('creates the account with the mapped properties, a one-time password, and stores the object id', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, {
      user_name: `jane.doe@${VERIFIED}`,
      job_title: 'Engineer',
      department: 'R&D',
      location: 'Berlin',
      employee_number: 'E-1',
      lifecycle_status: 'hired',
    });
    const result = await sync(tenantId, e.id);
    expect(result).toMatchObject({ outcome: 'created', syncedVersion: e.version });
    expect(JSON.stringify(result)).not.toMatch(/password/i);

    const user = (await em.users()).find((u) => u.id === result.entraObjectId)!;
    expect(user).toMatchObject({
      userPrincipalName: `jane.doe@${VERIFIED}`,
      givenName: 'Jane',
      surname: 'Doe',
      displayName: 'Jane Doe',
      jobTitle: 'Engineer',
      department: 'R&D',
      officeLocation: 'Berlin',
      employeeId: 'E-1',
      accountEnabled: false, // hired → disabled
      [`${EXT}_hrId`]: e.id,
    });
    const post = (await writes()).find((r) => r.method === 'POST')!;
    expect(post.body).toMatchObject({ passwordProfile: { forceChangePasswordNextSignIn: true } });

    const row = await getProvisioning(t.db, tenantId, e.id);
    expect(row).toMatchObject({
      state: 'SYNCED',
      entraObjectId: result.entraObjectId,
      syncedVersion: e.version,
      reason: null,
    });
  });

  it('writes nothing when nothing differs, and PATCHes only what changed', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `no.op@${VERIFIED}`, job_title: 'A' });
    const first = await sync(tenantId, e.id);
    await em.operator('DELETE', '/_emulator/requests');

    const again = await sync(tenantId, e.id);
    expect(again).toMatchObject({ outcome: 'unchanged', entraObjectId: first.entraObjectId });
    expect(await writes()).toEqual([]);

    await updateEmployee(t.db, tenantId, e.id, { job_title: 'B', lifecycle_status: 'leave' });
    const updated = await sync(tenantId, e.id);
    expect(updated.outcome).toBe('updated');
    const patch = await writes();
    expect(patch).toHaveLength(1);
    expect(patch[0]).toMatchObject({ method: 'PATCH', body: { jobTitle: 'B', accountEnabled: false } });
    expect(Object.keys(patch[0]!.body as object).sort()).toEqual(['accountEnabled', 'jobTitle']);
  });

  it('syncs an HR start date to employeeHireDate, and finds nothing to change on the next sync', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      mapping: [...DEFAULT_MAPPING, { source: 'startDate', target: 'employeeHireDate' }],
    });
    const e = await createEmployee(t.db, tenantId, { user_name: `hired@${VERIFIED}`, start_date: '2026-02-01' });
    const first = await sync(tenantId, e.id);
    expect(first.outcome).toBe('created');
    const user = (await em.users()).find((u) => u.id === first.entraObjectId)!;
    expect(new Date(String(user.employeeHireDate)).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    await em.operator('DELETE', '/_emulator/requests');
    const again = await sync(tenantId, e.id, 1, true);
    expect(again.outcome).toBe('unchanged');
    expect(await writes()).toEqual([]);
  });

  it('writes a hire date HR gives with an offset as the UTC instant Graph answers, so a reconcile makes no write', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      mapping: [...DEFAULT_MAPPING, { source: 'customAttributes.hired', target: 'employeeHireDate' }],
    });
    const e = await createEmployee(t.db, tenantId, {
      user_name: `offset.hire@${VERIFIED}`,
      custom_attributes: { hired: '2026-02-01T09:00:00+01:00' },
    });
    const first = await sync(tenantId, e.id);
    expect(first.outcome).toBe('created');
    const user = (await em.users()).find((u) => u.id === first.entraObjectId)!;
    expect(user.employeeHireDate).toBe('2026-02-01T08:00:00Z');
    // Enrolment and retries compare with the account read from Entra, not with the last snapshot.
    for (const attempt of [1, 2]) {
      await em.operator('DELETE', '/_emulator/requests');
      expect((await sync(tenantId, e.id, attempt, true)).outcome).toBe('unchanged');
      expect(await writes()).toEqual([]);
    }
  });

  it('writes a DateTime extension value as its UTC instant too, and reconciles it without a write', async () => {
    em.emulator.seed({
      tenants: [
        {
          id: ENTRA_TENANT,
          apps: [
            {
              appId: APP_ID,
              secret: APP_SECRET,
              permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
              extensionProperties: [{ name: 'startedAt', dataType: 'DateTime', isMultiValued: false }],
            },
          ],
        },
      ],
    });
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      mapping: [...DEFAULT_MAPPING, { source: 'customAttributes.started', target: `${EXT}_startedAt` }],
    });
    const e = await createEmployee(t.db, tenantId, {
      user_name: `offset.ext@${VERIFIED}`,
      custom_attributes: { started: '2026-02-01T00:30:00+02:00' },
    });
    const first = await sync(tenantId, e.id);
    expect(first.outcome).toBe('created');
    const post = (await writes()).find((r) => r.method === 'POST')!;
    expect(post.body).toMatchObject({ [`${EXT}_startedAt`]: '2026-01-31T22:30:00Z' });
    await em.operator('DELETE', '/_emulator/requests');
    expect((await sync(tenantId, e.id, 1, true)).outcome).toBe('unchanged');
    expect(await writes()).toEqual([]);
  });

  it('blocks an impossible HR hire date with InvalidProperty, naming the field, without calling Graph to write', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      mapping: [...DEFAULT_MAPPING, { source: 'customAttributes.hired', target: 'employeeHireDate' }],
    });
    const e = await createEmployee(t.db, tenantId, {
      user_name: `feb.thirty@${VERIFIED}`,
      custom_attributes: { hired: '2026-02-30' },
    });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'InvalidProperty', nonRetryable: true });
    expect(f.message).toMatch(/customAttributes\.hired holds no valid date for employeeHireDate.*Fix:/);
    expect(await writes()).toEqual([]);
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
      state: 'BLOCKED',
      errorType: 'InvalidProperty',
    });
  });

  it('blocks a sync of an employee no longer in the HR system as EmployeeNotFound, and logs it', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const acts = createActivities({ db: t.db, logger, graph: emulatorConnector(secretsKey) });
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const missing = '00000000-0000-4000-8000-000000000000';

    const f = await failure(syncWith(acts, tenantId, missing));

    expect(f.type).toBe('EmployeeNotFound');
    expect(f.nonRetryable).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, tenantId, employeeId: missing, errorType: 'EmployeeNotFound' }),
    );
    expect(await writes()).toEqual([]);
  });

  it('keeps syncing the same object after a UPN change (the object id identifies the account)', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `old.name@${VERIFIED}` });
    const first = await sync(tenantId, e.id);
    await updateEmployee(t.db, tenantId, e.id, { user_name: `new.name@${VERIFIED}` });
    const second = await sync(tenantId, e.id);
    expect(second.entraObjectId).toBe(first.entraObjectId);
    const users = (await em.users()).filter((u) =>
      [`old.name@${VERIFIED}`, `new.name@${VERIFIED}`].includes(String(u.userPrincipalName)),
    );
    expect(users).toEqual([
      expect.objectContaining({ id: first.entraObjectId, userPrincipalName: `new.name@${VERIFIED}` }),
    ]);
  });

  it('adopts an existing Entra account with the same UPN instead of creating a second one', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const seeded = em.emulator.seed({
      tenants: [{ id: ENTRA_TENANT, users: [{ userPrincipalName: `existing@${VERIFIED}`, displayName: 'Existing' }] }],
    });
    const existingId = seeded.tenants[0]!.users[0]!.id;
    const e = await createEmployee(t.db, tenantId, { user_name: `Existing@${VERIFIED}` });
    const result = await sync(tenantId, e.id);
    expect(result).toMatchObject({ outcome: 'adopted', entraObjectId: existingId });
    expect((await writes()).some((r) => r.method === 'POST')).toBe(false);
    expect((await getProvisioning(t.db, tenantId, e.id))?.entraObjectId).toBe(existingId);
  });

  it('blocks on an unverified email domain with a reason naming the cause and the fix, without calling POST', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `jane@${UNVERIFIED}` });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'DomainNotVerified', nonRetryable: true });
    expect(f.message).toMatch(new RegExp(`"${UNVERIFIED}".*not a verified domain.*Fix:`));
    expect(f.details).toEqual([expect.objectContaining({ version: e.version })]);
    expect(await writes()).toEqual([]);
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
      state: 'BLOCKED',
      errorType: 'DomainNotVerified',
      reason: f.message,
    });
  });

  it("disables a leaver's account although the rest of the sync blocks on an unverified domain, and says so", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `leaver.domain@${VERIFIED}` });
    const { entraObjectId } = await sync(tenantId, e.id);
    await em.operator('DELETE', '/_emulator/requests');
    await updateEmployee(t.db, tenantId, e.id, {
      user_name: `leaver.domain@${UNVERIFIED}`,
      lifecycle_status: 'terminated',
    });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'DomainNotVerified', nonRetryable: true });
    expect(f.message).toMatch(/not a verified domain.*Meanwhile the account was disabled in Entra ID.*"terminated"/);
    expect((await writes()).map((r) => [r.method, r.url, r.body])).toEqual([
      ['PATCH', expect.stringContaining(`/users/${entraObjectId}`), { accountEnabled: false }],
    ]);
    expect((await em.users()).find((u) => u.id === entraObjectId)).toMatchObject({
      accountEnabled: false,
      userPrincipalName: `leaver.domain@${VERIFIED}`,
    });
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({ state: 'BLOCKED', reason: f.message });

    // Rehired with the username fixed: the change-driven sync knows the account is disabled and enables it.
    await updateEmployee(t.db, tenantId, e.id, { user_name: `leaver.domain@${VERIFIED}`, lifecycle_status: 'active' });
    await em.operator('DELETE', '/_emulator/requests');
    expect(await sync(tenantId, e.id)).toMatchObject({ outcome: 'updated' });
    expect((await writes()).map((r) => r.body)).toEqual([{ accountEnabled: true }]);
    expect((await em.users()).find((u) => u.id === entraObjectId)).toMatchObject({ accountEnabled: true });
  });

  it("disables a leaver's account on its own when Graph refuses the username the same PATCH would set", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    em.emulator.seed({
      tenants: [{ id: ENTRA_TENANT, users: [{ userPrincipalName: `taken.leaver@${VERIFIED}`, displayName: 'Taken' }] }],
    });
    const e = await createEmployee(t.db, tenantId, { user_name: `leaver.upn@${VERIFIED}` });
    const { entraObjectId } = await sync(tenantId, e.id);
    await updateEmployee(t.db, tenantId, e.id, {
      user_name: `taken.leaver@${VERIFIED}`,
      lifecycle_status: 'terminated',
    });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'UpnConflict', nonRetryable: true });
    expect(f.message).toMatch(/Meanwhile the account was disabled/);
    expect((await em.users()).find((u) => u.id === entraObjectId)).toMatchObject({
      accountEnabled: false,
      userPrincipalName: `leaver.upn@${VERIFIED}`,
    });
  });

  it('writes nothing while blocked for an employee who has not left, or whose account the last sync disabled', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `stays@${VERIFIED}` });
    const { entraObjectId } = await sync(tenantId, e.id);
    await em.operator('DELETE', '/_emulator/requests');
    await updateEmployee(t.db, tenantId, e.id, { user_name: `stays@${UNVERIFIED}` });
    expect((await failure(sync(tenantId, e.id))).message).not.toMatch(/disabled/);
    expect(await writes()).toEqual([]);

    await updateEmployee(t.db, tenantId, e.id, { user_name: `stays@${VERIFIED}`, lifecycle_status: 'terminated' });
    await sync(tenantId, e.id);
    await updateEmployee(t.db, tenantId, e.id, { user_name: `stays@${UNVERIFIED}` });
    await em.operator('DELETE', '/_emulator/requests');
    expect((await failure(sync(tenantId, e.id))).message).not.toMatch(/disabled/);
    expect(await writes()).toEqual([]);
    expect((await em.users()).find((u) => u.id === entraObjectId)).toMatchObject({ accountEnabled: false });
  });

  describe('usernames in a federated domain', () => {
    const FEDERATED = 'federated.test';
    const withImmutableId = [
      ...DEFAULT_MAPPING,
      { source: 'employeeNumber' as const, target: 'onPremisesImmutableId' },
    ];
    beforeAll(() =>
      em.emulator.seed({
        tenants: [
          { id: ENTRA_TENANT, domains: [{ id: FEDERATED, isVerified: true, authenticationType: 'Federated' }] },
        ],
      }),
    );

    it('blocks a new account as FederatedDomain naming onPremisesImmutableId, and creates it once the mapping sends it', async () => {
      const tenantId = await createOutboundTenant(t.db, em, secretsKey);
      const e = await createEmployee(t.db, tenantId, { user_name: `fed.jane@${FEDERATED}`, employee_number: 'A1b2C3' });
      const f = await failure(sync(tenantId, e.id));
      expect(f).toMatchObject({ type: 'FederatedDomain', nonRetryable: true });
      expect(f.message).toMatch(
        new RegExp(
          `"${FEDERATED}" is federated.*the mapping sends no onPremisesImmutableId.*Fix: map .*onPremisesImmutableId`,
        ),
      );
      expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
        state: 'BLOCKED',
        errorType: 'FederatedDomain',
      });
      expect(await em.users()).not.toContainEqual(
        expect.objectContaining({ userPrincipalName: `fed.jane@${FEDERATED}` }),
      );

      await upsertOutboundSettings(t.db, tenantId, { mapping: withImmutableId }, secretsKey);
      expect(await sync(tenantId, e.id, 1, true)).toMatchObject({ outcome: 'created' });
    });

    it('blocks a rename into a federated domain without the anchor, and one out of it (Entra wants a password)', async () => {
      const tenantId = await createOutboundTenant(t.db, em, secretsKey);
      const managed = await createEmployee(t.db, tenantId, { user_name: `moving.in@${VERIFIED}` });
      await sync(tenantId, managed.id);
      await updateEmployee(t.db, tenantId, managed.id, { user_name: `moving.in@${FEDERATED}` });
      const into = await failure(sync(tenantId, managed.id));
      expect(into).toMatchObject({ type: 'FederatedDomain' });
      expect(into.message).toMatch(new RegExp(`"${FEDERATED}" is federated`));

      await upsertOutboundSettings(t.db, tenantId, { mapping: withImmutableId }, secretsKey);
      const federated = await createEmployee(t.db, tenantId, {
        user_name: `moving.out@${FEDERATED}`,
        employee_number: 'D4e5F6',
      });
      await sync(tenantId, federated.id);
      await updateEmployee(t.db, tenantId, federated.id, { user_name: `moving.out@${VERIFIED}` });
      const out = await failure(sync(tenantId, federated.id));
      expect(out).toMatchObject({ type: 'FederatedDomain' });
      expect(out.message).toMatch(
        new RegExp(
          `from the federated domain "${FEDERATED}" to "${VERIFIED}".*new password.*Fix: rename the account in Entra ID`,
        ),
      );
    });

    it('says so when Entra refuses the immutable id the mapping sends; a managed domain takes it', async () => {
      const tenantId = await createOutboundTenant(t.db, em, secretsKey, { mapping: withImmutableId });
      // "$" is not allowed in an immutable id: Graph's answer is the same unspecific one; the block says it was sent.
      const e = await createEmployee(t.db, tenantId, { user_name: `bad.anchor@${FEDERATED}`, employee_number: 'x$y' });
      const f = await failure(sync(tenantId, e.id));
      expect(f).toMatchObject({ type: 'FederatedDomain' });
      expect(f.message).toMatch(/onPremisesImmutableId the mapping sends was refused/);
      const managed = await createEmployee(t.db, tenantId, { user_name: `plain@${VERIFIED}`, employee_number: 'x$y' });
      expect(await sync(tenantId, managed.id)).toMatchObject({ outcome: 'created' });
    });
  });

  it('blocks when the mapping targets a multi-valued extension property', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    await upsertOutboundSettings(
      t.db,
      tenantId,
      { mapping: [...DEFAULT_MAPPING, { source: 'department', target: `${EXT}_skills` }] },
      secretsKey,
    );
    const e = await createEmployee(t.db, tenantId, { user_name: `multi@${VERIFIED}`, department: 'Sales' });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'MultiValuedExtension', nonRetryable: true });
    expect(f.message).toMatch(/skills.*multi-valued/);
  });

  it('blocks when the mapping targets an extension property registered for groups only, before writing', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    await upsertOutboundSettings(
      t.db,
      tenantId,
      { mapping: [...DEFAULT_MAPPING, { source: 'department', target: `${EXT}_teamCode` }] },
      secretsKey,
    );
    const e = await createEmployee(t.db, tenantId, { user_name: `group.ext@${VERIFIED}`, department: 'Sales' });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'InvalidProperty', nonRetryable: true });
    expect(f.message).toMatch(/teamCode, a directory extension property registered for Group but not for users/);
    expect(await writes()).toEqual([]);
  });

  it('blocks a value longer than Graph takes naming the limit, before sending it (employeeId: 16 characters)', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, {
      user_name: `long.id@${VERIFIED}`,
      employee_number: 'E'.repeat(20),
    });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'InvalidProperty', nonRetryable: true });
    expect(f.message).toMatch(/HR field employeeNumber has 20 characters; Entra ID takes at most 16 for employeeId/);
    expect(f.message).not.toContain('E'.repeat(20));
    expect(await writes()).toEqual([]);
    await updateEmployee(t.db, tenantId, e.id, { employee_number: 'E'.repeat(16) });
    expect(await sync(tenantId, e.id)).toMatchObject({ outcome: 'created' });
  });

  it('blocks with MissingName when the last name is empty', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `nolast@${VERIFIED}`, family_name: null });
    expect(await failure(sync(tenantId, e.id))).toMatchObject({ type: 'MissingName', nonRetryable: true });
  });

  it("blocks with NotConfigured, not endless retries, when the worker's SECRETS_KEY cannot decrypt the secret", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `otherkey@${VERIFIED}` });
    const otherKey = activitiesWith(emulatorConnector(testSecretsKey()));
    const f = await failure(syncWith(otherKey, tenantId, e.id));
    expect(f).toMatchObject({ type: 'NotConfigured', nonRetryable: true });
    expect(f.message).toMatch(/cannot be decrypted with this worker's SECRETS_KEY/);
    const row = await t.db('employee_provisioning').where({ tenant_id: tenantId, employee_id: e.id }).first();
    expect(row).toMatchObject({ state: 'BLOCKED', error_type: 'NotConfigured' });
  });

  it('shows an unexpected error in the status while Temporal retries it', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `unexpected@${VERIFIED}` });
    const broken = activitiesWith({
      forTenant: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'value')");
      },
    });
    await expect(syncWith(broken, tenantId, e.id)).rejects.toThrow(TypeError);
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
      state: 'PENDING',
      errorType: 'UnexpectedError',
      reason: expect.stringMatching(/^Unexpected error, retrying: Cannot read properties/),
    });
  });

  it('blocks with PermissionDenied naming the missing permission', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, { clientId: NOPERM_APP_ID });
    const e = await createEmployee(t.db, tenantId, { user_name: `perm@${VERIFIED}` });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'PermissionDenied', nonRetryable: true });
    expect(f.message).toMatch(/Application\.Read\.All|Domain\.Read\.All/);
  });

  it('names User-LifeCycleInfo.ReadWrite.All when a leave date is refused, and writes it once granted', async () => {
    const mapping = [...DEFAULT_MAPPING, { source: 'endDate' as const, target: 'employeeLeaveDateTime' }];
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, { mapping });
    const e = await createEmployee(t.db, tenantId, { user_name: `leaving@${VERIFIED}`, end_date: '2026-12-31' });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'PermissionDenied', nonRetryable: true });
    expect(f.message).toMatch(
      /grant the application permission User-LifeCycleInfo\.ReadWrite\.All \(needed besides User\.ReadWrite\.All/,
    );

    await upsertOutboundSettings(t.db, tenantId, { clientId: LIFECYCLE_APP_ID, clientSecret: APP_SECRET }, secretsKey);
    const granted = await sync(tenantId, e.id);
    expect(granted.outcome).toBe('created');
    const user = (await em.users()).find((u) => u.id === granted.entraObjectId)!;
    expect(new Date(String(user.employeeLeaveDateTime)).toISOString()).toBe('2026-12-31T00:00:00.000Z');
  });

  it("reads a multi-tenant app's extension properties with Directory.Read.All; without it, blocks naming it, and a retry after the grant succeeds", async () => {
    // An ISV's multi-tenant app, registered in its own tenant and consented here, with an extension property of its own.
    const isvApp = '8e2f1a0b-3c4d-4e5f-8a6b-7c8d9e0f1a2b';
    const basePermissions = ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'];
    const consent = (permissions: string[]) =>
      em.operator('POST', '/_emulator/seed', {
        tenants: [
          {
            id: ENTRA_TENANT,
            apps: [
              {
                appId: isvApp,
                secret: APP_SECRET,
                permissions,
                registeredElsewhere: true,
                extensionProperties: [{ name: 'costCenter', dataType: 'String' }],
              },
            ],
          },
        ],
      });
    expect((await consent(basePermissions)).status).toBe(200);
    const ext = `extension_${isvApp.replace(/-/g, '')}_costCenter`;
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      clientId: isvApp,
      mapping: [...DEFAULT_MAPPING, { source: 'department', target: ext }],
    });
    const e = await createEmployee(t.db, tenantId, { user_name: `isv@${VERIFIED}`, department: 'CC-42' });
    const e2 = await createEmployee(t.db, tenantId, { user_name: `isv2@${VERIFIED}`, department: 'CC-43' });

    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'PermissionDenied', nonRetryable: true });
    expect(f.message).toMatch(/registered in another Entra tenant.*needs Directory\.Read\.All/);
    const blockedAt = Date.now();

    // The admin grants the permission. The signed-in client's token predates the grant: still refused.
    expect((await consent([...basePermissions, 'Directory.Read.All'])).status).toBe(200);
    await em.operator('DELETE', '/_emulator/requests');
    expect(await failure(sync(tenantId, e.id))).toMatchObject({ type: 'PermissionDenied' });
    // The retry of the block (as the workflow sends it) signs in afresh, once for concurrent attempts.
    const retry = (employeeId: string): Promise<SyncResult> =>
      new MockActivityEnvironment().run(activities.syncEmployeeToEntra, {
        tenantId,
        employeeId,
        changedAttributes: [],
        reconcile: true,
        signInAfter: blockedAt,
      });
    const [granted, other] = await Promise.all([retry(e.id), retry(e2.id)]);
    expect([granted.outcome, other.outcome]).toEqual(['created', 'created']);
    const user = (await em.users()).find((u) => u.id === granted.entraObjectId)!;
    expect(user[ext]).toBe('CC-42');
    const log = (await em.operator('GET', '/_emulator/requests')).text.split('\n').filter(Boolean);
    const tokenRequests = log.filter((l) => (JSON.parse(l) as { url: string }).url.includes('/oauth2/v2.0/token'));
    expect(tokenRequests).toHaveLength(1);
  });

  it('blocks a mapping to the extension of an app id no app of the tenant has as InvalidProperty, asking no extra permission', async () => {
    const unknownApp = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      mapping: [...DEFAULT_MAPPING, { source: 'department', target: `extension_${unknownApp.replace(/-/g, '')}_x` }],
    });
    const e = await createEmployee(t.db, tenantId, { user_name: `typo@${VERIFIED}`, department: 'R&D' });
    const f = await failure(sync(tenantId, e.id));
    expect(f.type).toBe('InvalidProperty');
    expect(f.message).toMatch(/not a directory extension property registered/);
    expect(f.message).not.toMatch(/Directory\.Read\.All/);
  });

  it('fails retryably with Retry-After as the next retry delay when Graph throttles', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `throttled@${VERIFIED}` });
    await em.operator('PATCH', '/_emulator/faults', { burst429: { count: 1, retryAfterSeconds: 7 } });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'GraphThrottled', nonRetryable: false, nextRetryDelay: 7000 });
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
      state: 'PENDING',
      errorType: 'GraphThrottled',
    });
    await expect(sync(tenantId, e.id)).resolves.toMatchObject({ outcome: 'created' });
  });

  it('syncs a report whose manager is being provisioned at the same moment, then sets the manager link', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const boss = await createEmployee(t.db, tenantId, { user_name: `boss2@${VERIFIED}` });
    await recordState(t.db, tenantId, boss.id, 'PENDING'); // enrolled, its sync not done yet
    const e = await createEmployee(t.db, tenantId, { user_name: `report2@${VERIFIED}`, manager_id: boss.id });
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'GraphUnavailable', nonRetryable: false, nextRetryDelay: 1000 });
    expect((await em.users()).some((u) => u.userPrincipalName === `report2@${VERIFIED}`)).toBe(true);

    const bossSync = await sync(tenantId, boss.id);
    const done = await sync(tenantId, e.id, 2);
    expect((await em.users()).find((u) => u.id === done.entraObjectId)).toMatchObject({
      managerId: bossSync.entraObjectId,
    });
  });

  it("queues the manager link of reports already in Entra when their manager's account is created", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const boss = await createEmployee(t.db, tenantId, { user_name: `late.boss@${VERIFIED}` });
    const e = await createEmployee(t.db, tenantId, { user_name: `early.report@${VERIFIED}`, manager_id: boss.id });
    const report = await sync(tenantId, e.id); // the manager is not enrolled: no link, nothing to wait for
    expect((await em.users()).find((u) => u.id === report.entraObjectId)?.managerId ?? null).toBeNull();
    const managerRows = () =>
      t.db('outbox').where({ tenant_id: tenantId, kind: 'manager' }).select('employee_id', 'changed_attributes');

    expect(await managerRows()).toEqual([]);
    const bossSync = await sync(tenantId, boss.id);
    expect(bossSync.outcome).toBe('created');
    expect(await managerRows()).toEqual([{ employee_id: e.id, changed_attributes: ['managerId'] }]);

    // What the report's workflow does on managerReady: a sync from the last snapshot, one request.
    await em.operator('DELETE', '/_emulator/requests');
    expect((await sync(tenantId, e.id)).outcome).toBe('updated');
    expect((await writes()).map((r) => r.method)).toEqual(['PUT']);
    expect((await em.users()).find((u) => u.id === report.entraObjectId)).toMatchObject({
      managerId: bossSync.entraObjectId,
    });
    // The manager's later syncs queue nothing more.
    await sync(tenantId, boss.id, 1, true);
    expect(await managerRows()).toHaveLength(1);
  });

  it("retries instead of blocking as a UPN conflict when Entra's reads lag a create it just made", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `lagging@${VERIFIED}` });
    const first = await sync(tenantId, e.id);
    await em.operator('DELETE', '/_emulator/requests');
    await em.operator('PATCH', '/_emulator/faults', { readReplicationDelayMs: 60_000 });
    try {
      // A reconciling sync (enrol or retry) reads the account: neither its id nor its username is readable yet.
      const f = await failure(sync(tenantId, e.id, 1, true));
      expect(f).toMatchObject({ type: 'GraphUnavailable', nonRetryable: false });
      expect((await writes()).filter((r) => r.method === 'POST')).toEqual([]);
    } finally {
      await em.operator('PATCH', '/_emulator/faults', { readReplicationDelayMs: 0 });
    }
    const done = await sync(tenantId, e.id, 2, true);
    expect(done).toMatchObject({ outcome: 'unchanged', entraObjectId: first.entraObjectId });
    expect((await em.users()).filter((u) => u.userPrincipalName === `lagging@${VERIFIED}`)).toHaveLength(1);
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({ state: 'SYNCED' });
  });

  it("sets the Entra manager once the manager has an object id, waiting out Entra's replication delay", async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const boss = await createEmployee(t.db, tenantId, { user_name: `boss@${VERIFIED}` });
    const bossSync = await sync(tenantId, boss.id);
    await em.operator('PATCH', '/_emulator/faults', { replicationDelayMs: 60_000 });
    const e = await createEmployee(t.db, tenantId, { user_name: `report@${VERIFIED}`, manager_id: boss.id });
    // The manager reference cannot be written yet: retryable, and the created object id is already stored.
    const f = await failure(sync(tenantId, e.id));
    expect(f).toMatchObject({ type: 'GraphUnavailable', nonRetryable: false });
    const objectId = (await getProvisioning(t.db, tenantId, e.id))?.entraObjectId;
    expect(objectId).toBeTruthy();
    await em.operator('PATCH', '/_emulator/faults', { replicationDelayMs: 0 });
    const done = await sync(tenantId, e.id, 2);
    expect(done.entraObjectId).toBe(objectId);
    const report = (await em.users()).find((u) => u.id === objectId)!;
    expect(report).toMatchObject({ managerId: bossSync.entraObjectId, [`${EXT}_hrManagerId`]: boss.id });
    expect((await em.users()).filter((u) => u.userPrincipalName === `report@${VERIFIED}`)).toHaveLength(1);
  });
});
