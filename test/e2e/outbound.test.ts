import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import { upsertOutboundSettings, type OutboundSettings } from '../../src/db/outbound-settings';
import { createGraphConnector } from '../../src/graph/connector';
import { createGraphClient, graphOrigin } from '../../src/graph/client';
import { GraphDirectory, type EntraDirectory } from '../../src/graph/directory';
import { DEFAULT_MAPPING } from '../../src/graph/mapping';
import { silentLogger } from '../../src/logger';
import { employeeSyncWorkflowId } from '../../src/workflows/messages';
import { createWorkerProcess, type WorkerProcess } from '../../src/worker';
import { createTestDb, type TestDb } from '../support/db';
import { buildTestApp, seedTenant, type SeededTenant } from '../support/app';
import {
  APP_ID,
  APP_SECRET,
  emulatorConnection,
  ENTRA_TENANT,
  EXT,
  startTestEmulator,
  testSecretsKey,
  UNVERIFIED,
  VERIFIED,
  type TestEmulator,
} from '../integration/outbound/support';
import { workflowBundle } from '../workflows/support/env';
import { scimRequest, until } from './support/http';

/**
 * The whole outbound path: SCIM request → employees + outbox (one transaction) → relay → employeeSyncWorkflow on
 * the Temporal dev server → syncEmployeeToEntra → the Graph emulator over HTTPS, with the admin API on top.
 */
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('outbound provisioning end to end', () => {
  let t: TestDb;
  let em: TestEmulator;
  let app: Express;
  let tenant: SeededTenant;
  let worker: WorkerProcess;
  let connection: Connection;
  const secretsKey = testSecretsKey();
  const taskQueue = `e2e-outbound-${Date.now()}`;
  /** Set by a test to make the next create "crash" right after Graph created the account. */
  let crashAfterCreate = false;

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
    tenant = await seedTenant(t.db, 'Outbound e2e');
    await upsertOutboundSettings(
      t.db,
      tenant.tenantId,
      {
        ...emulatorConnection(em),
        graphBaseUrl: `${em.url}/v1.0`,
        mapping: [...DEFAULT_MAPPING, { source: 'id', target: `${EXT}_hrId` }],
        setManager: true,
      },
      secretsKey,
    );
    // The production connector, with one seam: a simulated crash between Graph's create and our DB write.
    const real = createGraphConnector({ db: t.db, secretsKey, extraCaPem: em.ca, allowedOrigins: [em.url] });
    const graph = {
      async forTenant(id: string, settings?: OutboundSettings | null) {
        const tg = await real.forTenant(id, settings);
        const directory: EntraDirectory = Object.create(tg.directory) as EntraDirectory;
        directory.createUser = async (body) => {
          const created = await tg.directory.createUser(body);
          if (crashAfterCreate) {
            crashAfterCreate = false;
            throw new Error('simulated worker crash after the account was created');
          }
          return created;
        };
        return { ...tg, directory };
      },
    };
    worker = await createWorkerProcess({
      db: t.db,
      logger: silentLogger(),
      temporalAddress: process.env.TEST_TEMPORAL_ADDRESS!,
      taskQueue,
      secretsKey,
      graph,
      workflowBundle: await workflowBundle(),
      relayPollIntervalMs: 25,
    });
    connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    app = buildTestApp(t.db, {
      temporal: new Client({ connection }),
      temporalTaskQueue: taskQueue,
      secretsKey,
      graphExtraCaPem: em.ca,
      graphAllowedOrigins: [em.url],
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await em?.stop();
    await t?.drop();
  });

  const scim = (method: 'post' | 'patch', path: string, body: unknown) =>
    scimRequest(app, tenant.scimToken, method, path, body);
  const admin = (method: 'get' | 'post' | 'patch', path: string) =>
    request(app)
      [method](`/admin/v1/tenants/${tenant.tenantId}${path}`)
      .set('Authorization', `Bearer ${tenant.adminToken}`);

  async function createScimUser(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await scim('post', '/Users', {
      schemas: [CORE],
      userName,
      active: true,
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      title: 'Analyst',
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const entraUser = async (upn: string) =>
    (await em.users()).find((u) => String(u.userPrincipalName).toLowerCase() === upn.toLowerCase());
  const status = async (employeeId: string) =>
    (await admin('get', `/outbound/employees/${employeeId}`)).body as Record<string, unknown>;

  it('a user created over SCIM appears in Entra with the mapped properties, well within a second', async () => {
    // Warm-up: the first sync also signs in and fills the worker's caches.
    await createScimUser(`warm.up@${VERIFIED}`);
    await until('the warm-up account', () => entraUser(`warm.up@${VERIFIED}`));
    const started = Date.now();
    const id = await createScimUser(`ada@${VERIFIED}`);
    const user = await until('the Entra account', () => entraUser(`ada@${VERIFIED}`));
    const elapsed = Date.now() - started;
    expect(user).toMatchObject({
      givenName: 'Ada',
      surname: 'Lovelace',
      displayName: expect.any(String),
      jobTitle: 'Analyst',
      accountEnabled: true,
      [`${EXT}_hrId`]: id,
    });
    expect(elapsed).toBeLessThan(1000);
    const s = await until('SYNCED', async () => {
      const x = await status(id);
      return x.state === 'SYNCED' && x;
    });
    expect(s.entraObjectId).toBe(user.id);
    // The relay started the new hire's workflow with the change (an eager start to its own worker), not a signal.
    const client = new Client({ connection });
    const history = await client.workflow.getHandle(employeeSyncWorkflowId(tenant.tenantId, id)).fetchHistory();
    const input = client.options.loadedDataConverter.payloadConverter.fromPayload(
      history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!,
    );
    expect(input).toMatchObject({ firstMessage: { signal: 'employeeChanged', arg: { source: 'scim' } } });
    expect(history.events!.some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(false);
  });

  it('a UPN change after the first sync updates the same Entra object', async () => {
    const id = await createScimUser(`grace@${VERIFIED}`);
    const first = await until('the Entra account', () => entraUser(`grace@${VERIFIED}`));
    await scim('patch', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: `grace.hopper@${VERIFIED}` }],
    }).expect(200);
    const renamed = await until('the renamed account', () => entraUser(`grace.hopper@${VERIFIED}`));
    expect(renamed.id).toBe(first.id);
    expect(await entraUser(`grace@${VERIFIED}`)).toBeUndefined();
  });

  it('preview shows the PATCH the next sync would send, without sending it', async () => {
    const id = await createScimUser(`preview@${VERIFIED}`);
    await until('SYNCED', async () => (await status(id)).state === 'SYNCED');
    expect((await admin('get', `/outbound/employees/${id}/preview`).expect(200)).body).toMatchObject({
      action: 'none',
      request: null,
    });
    await t.db('employees').where({ id }).update({ job_title: 'Director' }); // no outbox row: nothing syncs by itself
    const preview = await admin('get', `/outbound/employees/${id}/preview`).expect(200);
    expect(preview.body).toMatchObject({
      action: 'update',
      basis: 'last-sync',
      request: { method: 'PATCH', body: { jobTitle: 'Director' } },
    });
    expect((await entraUser(`preview@${VERIFIED}`))?.jobTitle).toBe('Analyst');

    // An edit made in Entra by hand: a change-driven sync (from the last sync's snapshot) does not see it, and the
    // preview says so; ?reconcile=true shows what an enrol or retry (which reads the account) would send.
    const account = (await entraUser(`preview@${VERIFIED}`))!;
    const conn = {
      graphTenantId: ENTRA_TENANT,
      clientId: APP_ID,
      clientSecret: APP_SECRET,
      authorityHost: em.url,
      graphBaseUrl: `${em.url}/v1.0`,
    };
    const asAdmin = new GraphDirectory(createGraphClient(conn, { extraCaPem: em.ca }), graphOrigin(conn.graphBaseUrl));
    await asAdmin.updateUser(String(account.id), { department: 'Edited in Entra' });
    const next = await admin('get', `/outbound/employees/${id}/preview`).expect(200);
    expect(next.body.request.body).toEqual({ jobTitle: 'Director' });
    const reconciled = await admin('get', `/outbound/employees/${id}/preview?reconcile=true`).expect(200);
    expect(reconciled.body).toMatchObject({ action: 'update', basis: 'entra' });
    expect(reconciled.body.request.body).toEqual({ jobTitle: 'Director', department: null });
    await admin('get', `/outbound/employees/${id}/preview?reconcile=maybe`).expect(400);
  });

  it('unverified domain → BLOCKED with the reason → email fixed over SCIM → SYNCED', async () => {
    const id = await createScimUser(`alan@${UNVERIFIED}`);
    const blocked = await until('BLOCKED', async () => {
      const x = await status(id);
      return x.state === 'BLOCKED' && x;
    });
    expect(blocked).toMatchObject({ errorType: 'DomainNotVerified' });
    expect(String(blocked.reason)).toMatch(new RegExp(`${UNVERIFIED}.*not a verified domain.*Fix:`));
    const listed = await admin('get', '/outbound/employees?state=BLOCKED').expect(200);
    expect(listed.body.items.map((i: { employeeId: string }) => i.employeeId)).toContain(id);
    // The preview says the same, without writing anything.
    expect((await admin('get', `/outbound/employees/${id}/preview`).expect(200)).body).toMatchObject({
      action: 'blocked',
      errorType: 'DomainNotVerified',
    });

    await scim('patch', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: `alan@${VERIFIED}` }],
    }).expect(200);
    await until('SYNCED after the fix', async () => (await status(id)).state === 'SYNCED');
    expect(await entraUser(`alan@${VERIFIED}`)).toBeDefined();
  });

  it("a leaver blocked on the username is disabled in Entra at once; the block's reason and the preview say so", async () => {
    const id = await createScimUser(`lovelace@${VERIFIED}`);
    const account = await until('the Entra account', () => entraUser(`lovelace@${VERIFIED}`));
    await scim('patch', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: `lovelace@${UNVERIFIED}` }],
    }).expect(200);
    await until('BLOCKED', async () => (await status(id)).state === 'BLOCKED');
    expect((await admin('get', `/outbound/employees/${id}/preview`).expect(200)).body).toMatchObject({
      action: 'blocked',
      request: null,
    });

    // Entra sends the leaver as active "False" while the username is still wrong.
    await scim('patch', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    }).expect(200);
    const disabled = await until('the account disabled', async () => {
      const u = await entraUser(`lovelace@${VERIFIED}`);
      return u?.accountEnabled === false && u;
    });
    expect(disabled.id).toBe(account.id);
    const blocked = await until('BLOCKED with the disable in its reason', async () => {
      const x = await status(id);
      return x.state === 'BLOCKED' && /account was disabled/.test(String(x.reason)) && x;
    });
    expect(blocked).toMatchObject({ errorType: 'DomainNotVerified' });
    // Done: the next change-driven sync would not send it again; a retry (which does not trust the last sync) would.
    expect((await admin('get', `/outbound/employees/${id}/preview`).expect(200)).body).toMatchObject({
      action: 'blocked',
      errorType: 'DomainNotVerified',
      request: null,
    });
    expect((await admin('get', `/outbound/employees/${id}/preview?reconcile=true`).expect(200)).body).toMatchObject({
      action: 'blocked',
      request: { method: 'PATCH', path: `/v1.0/users/${account.id}`, body: { accountEnabled: false } },
    });

    // The username fixed: the rest follows, the account stays disabled.
    await scim('patch', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: `lovelace@${VERIFIED}` }],
    }).expect(200);
    await until('SYNCED after the fix', async () => (await status(id)).state === 'SYNCED');
    expect(await entraUser(`lovelace@${VERIFIED}`)).toMatchObject({ id: account.id, accountEnabled: false });
  });

  it('multi-valued extension → BLOCKED; retry is refused until blocked, then accepted after the mapping is fixed', async () => {
    await admin('patch', '/outbound/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'department', target: `${EXT}_skills` }] })
      .expect(200);
    const id = await createScimUser(`barbara@${VERIFIED}`, {
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Research' },
    });
    const blocked = await until('BLOCKED', async () => {
      const x = await status(id);
      return x.state === 'BLOCKED' && x;
    });
    expect(blocked.errorType).toBe('MultiValuedExtension');
    expect(await entraUser(`barbara@${VERIFIED}`)).toBeUndefined();

    await admin('patch', '/outbound/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'department', target: `${EXT}_hrId` }] })
      .expect(200);
    expect((await admin('post', `/outbound/employees/${id}/retry`).expect(202)).body).toEqual({
      accepted: true,
      state: 'PENDING',
    });
    await until('SYNCED after retry', async () => (await status(id)).state === 'SYNCED');
    expect(await entraUser(`barbara@${VERIFIED}`)).toMatchObject({ [`${EXT}_hrId`]: 'Research' });

    const refused = await admin('post', `/outbound/employees/${id}/retry`).expect(409);
    expect(refused.body.detail).toMatch(/only possible while BLOCKED/);
  });

  it('a crash right after Graph created the account does not create a second account', async () => {
    crashAfterCreate = true;
    const id = await createScimUser(`katherine@${VERIFIED}`);
    await until('SYNCED after the retried attempt', async () => (await status(id)).state === 'SYNCED', 20_000);
    const accounts = (await em.users()).filter(
      (u) => String(u.userPrincipalName).toLowerCase() === `katherine@${VERIFIED}`,
    );
    expect(accounts).toHaveLength(1);
    expect((await status(id)).entraObjectId).toBe(accounts[0]!.id);
    expect(crashAfterCreate).toBe(false);
  });

  it("a report synced before its manager had an account gets its manager link once the manager's account exists", async () => {
    // The manager is in HR but not enrolled yet (imported without an outbox row); the report is created over SCIM.
    const [row] = await t
      .db('employees')
      .insert({
        tenant_id: tenant.tenantId,
        user_name: `late.manager@${VERIFIED}`,
        given_name: 'Late',
        family_name: 'Manager',
      })
      .returning('id');
    const managerId = row.id as string;
    const reportId = await createScimUser(`early.report@${VERIFIED}`, {
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: managerId } },
    });
    await until('the report SYNCED', async () => (await status(reportId)).state === 'SYNCED');
    expect((await entraUser(`early.report@${VERIFIED}`))?.managerId ?? null).toBeNull();

    await admin('post', '/outbound/enrol')
      .send({ employeeIds: [managerId] })
      .expect(202);
    const manager = await until('the manager in Entra', () => entraUser(`late.manager@${VERIFIED}`));
    await until(
      "the report's manager link",
      async () => (await entraUser(`early.report@${VERIFIED}`))?.managerId === manager.id,
    );
  });

  it('answers a retry with 503 within seconds when no worker is there to take it', async () => {
    const [row] = await t
      .db('employees')
      .insert({
        tenant_id: tenant.tenantId,
        user_name: `noworker@${VERIFIED}`,
        given_name: 'No',
        family_name: 'Worker',
      })
      .returning('id');
    const id = row.id as string;
    // The employee's workflow, on a task queue no worker polls.
    const handle = await new Client({ connection }).workflow.start('employeeSyncWorkflow', {
      taskQueue: `nobody-polls-${Date.now()}`,
      workflowId: employeeSyncWorkflowId(tenant.tenantId, id),
      args: [{ tenantId: tenant.tenantId, employeeId: id }],
    });
    try {
      const started = Date.now();
      const res = await admin('post', `/outbound/employees/${id}/retry`).expect(503);
      expect(Date.now() - started).toBeLessThan(9000);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toMatch(/no worker answered the retry/);
    } finally {
      await handle.terminate('test done');
    }
  });

  it('retries every employee blocked by one cause at once after the fix, leaving those blocked by another', async () => {
    const newDomain = 'acquired.test';
    const seedDomain = (isVerified: boolean) =>
      em.operator('POST', '/_emulator/seed', {
        tenants: [{ id: ENTRA_TENANT, domains: [{ id: newDomain, isVerified }] }],
      });
    expect((await seedDomain(false)).status).toBe(200);
    const acquired = [await createScimUser(`grace@${newDomain}`), await createScimUser(`edsger@${newDomain}`)];
    const nameless = await createScimUser(`solo@${VERIFIED}`, { name: { givenName: 'Solo' } });
    const blocked = (id: string, errorType: string) => async () => {
      const x = await status(id);
      return x.state === 'BLOCKED' && x.errorType === errorType;
    };
    for (const id of acquired) await until('BLOCKED as DomainNotVerified', blocked(id, 'DomainNotVerified'));
    await until('BLOCKED as MissingName', blocked(nameless, 'MissingName'));

    // What blocks whom: the list filters by error type, the summary counts.
    const byDomain = await admin('get', '/outbound/employees?state=BLOCKED&errorType=DomainNotVerified').expect(200);
    const listedIds = byDomain.body.items.map((i: { employeeId: string }) => i.employeeId);
    expect(listedIds).toEqual(expect.arrayContaining(acquired));
    expect(listedIds).not.toContain(nameless);
    const before = (await admin('get', '/outbound/summary').expect(200)).body;
    expect(before.blockedBy.DomainNotVerified).toBeGreaterThanOrEqual(2);
    expect(before.blockedBy.MissingName).toBeGreaterThanOrEqual(1);
    expect(before.states.BLOCKED).toBe(
      Object.values(before.blockedBy as Record<string, number>).reduce((a, b) => a + b, 0),
    );

    await admin('post', '/outbound/retry').send({ errorType: 'NoSuchType' }).expect(400);
    // The domain is verified in Entra now: one request retries everybody it blocked.
    expect((await seedDomain(true)).status).toBe(200);
    const retried = await admin('post', '/outbound/retry').send({ errorType: 'DomainNotVerified' }).expect(202);
    expect(retried.body.retried).toBe(before.blockedBy.DomainNotVerified);
    // Queued for those the cause blocked, not for the employee blocked by another.
    const enrolRows = await t
      .db('outbox')
      .where({ tenant_id: tenant.tenantId, kind: 'enrol' })
      .whereIn('employee_id', [...acquired, nameless])
      .select('employee_id');
    expect(enrolRows.map((r: { employee_id: string }) => r.employee_id).sort()).toEqual([...acquired].sort());
    for (const id of acquired)
      await until('SYNCED after the bulk retry', async () => (await status(id)).state === 'SYNCED');
    expect(await entraUser(`grace@${newDomain}`)).toBeDefined();
    expect(await entraUser(`edsger@${newDomain}`)).toBeDefined();
    expect(await status(nameless)).toMatchObject({ state: 'BLOCKED', errorType: 'MissingName' });
    const after = (await admin('get', '/outbound/summary').expect(200)).body;
    expect(after.blockedBy.DomainNotVerified).toBeUndefined();
    expect(after.states.SYNCED).toBeGreaterThanOrEqual(before.states.SYNCED + 2);
  });

  it('lists never-enrolled employees as NOT_ENROLLED, refuses to retry them, and enrols listed ones', async () => {
    // Written without an outbox row (e.g. imported before outbound was switched on): no workflow exists.
    const [row] = await t
      .db('employees')
      .insert({ tenant_id: tenant.tenantId, user_name: `quiet@${VERIFIED}`, given_name: 'Quiet', family_name: 'One' })
      .returning('id');
    const id = row.id as string;
    const listed = await admin('get', '/outbound/employees?state=NOT_ENROLLED&limit=500').expect(200);
    expect(listed.body.items.map((i: { employeeId: string }) => i.employeeId)).toContain(id);
    expect((await admin('post', `/outbound/employees/${id}/retry`).expect(409)).body.detail).toMatch(/not enrolled/);
    await admin('post', '/outbound/enrol')
      .send({ employeeIds: [id, '00000000-0000-4000-8000-000000000000'] })
      .expect(404);
    await admin('post', '/outbound/enrol')
      .send({ employeeIds: [id] })
      .expect(202);
    await until('SYNCED after enrolment', async () => (await status(id)).state === 'SYNCED');
    expect(await entraUser(`quiet@${VERIFIED}`)).toMatchObject({ givenName: 'Quiet', surname: 'One' });
  });

  it('enrolment pushes existing employees now; test connection names what is readable', async () => {
    const enrolled = await admin('post', '/outbound/enrol').send({ all: true }).expect(202);
    expect(enrolled.body.enrolled).toBeGreaterThanOrEqual(5);
    const conn = await admin('post', '/outbound/settings/test').expect(200);
    expect(conn.body).toMatchObject({ ok: true, missingPermissions: [] });
    expect(conn.body.verifiedDomains).toContain(VERIFIED);
    const settings = await admin('get', '/outbound/settings').expect(200);
    expect(settings.body).toMatchObject({ enabled: true, clientSecretSet: true });
    expect(JSON.stringify(settings.body)).not.toContain(APP_SECRET);
  });
});
