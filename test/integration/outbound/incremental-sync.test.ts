import https from 'node:https';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../src/activities';
import { getProvisioning } from '../../../src/db/provisioning';
import { createGraphConnector } from '../../../src/graph/connector';
import { silentLogger } from '../../../src/logger';
import type { SyncResult } from '../../../src/workflows/messages';
import { createTestDb, type TestDb } from '../../support/db';
import {
  APP_ID,
  APP_SECRET,
  createEmployee,
  createOutboundTenant,
  ENTRA_TENANT,
  EXT,
  startTestEmulator,
  testSecretsKey,
  updateEmployee,
  VERIFIED,
  type TestEmulator,
} from './support';

/**
 * A watched change is carried out against what the last sync wrote: only the differing properties, in one PATCH,
 * without reading the account; no Graph request when the Entra user stays as it was. Enrolment and retry
 * (reconcile) compare with Entra itself, and an account deleted in Entra meanwhile is found or created again.
 */
describe('incremental sync to Entra', () => {
  let t: TestDb;
  let em: TestEmulator;
  const secretsKey = testSecretsKey();
  let activities: ReturnType<typeof createActivities>;
  let graph: ReturnType<typeof createGraphConnector>;

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
    graph = createGraphConnector({ db: t.db, secretsKey, extraCaPem: em.ca, allowedOrigins: [em.url] });
    activities = createActivities({ db: t.db, logger: silentLogger(), graph });
  });
  afterAll(async () => {
    await em?.stop();
    await t?.drop();
  });

  const sync = (tenantId: string, employeeId: string, reconcile = false, attempt = 1): Promise<SyncResult> =>
    new MockActivityEnvironment({ attempt }).run(activities.syncEmployeeToEntra, {
      tenantId,
      employeeId,
      changedAttributes: [],
      reconcile,
    });
  const clearLog = () => em.operator('DELETE', '/_emulator/requests');
  const userRequests = async () => (await em.requests()).filter((r) => r.url.includes('/v1.0/users'));

  /** Graph as an Entra admin would act on it directly, behind entra-sync's back. */
  async function graphAsAdmin(method: string, path: string, body?: unknown): Promise<number> {
    const token = await new Promise<string>((resolve, reject) => {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: APP_ID,
        client_secret: APP_SECRET,
        scope: 'https://graph.microsoft.com/.default',
      }).toString();
      const req = https.request(
        `${em.url}/${ENTRA_TENANT}/oauth2/v2.0/token`,
        { method: 'POST', ca: em.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve((JSON.parse(text) as { access_token: string }).access_token));
        },
      );
      req.on('error', reject);
      req.end(form);
    });
    return new Promise<number>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        `${em.url}/v1.0${path}`,
        {
          method,
          ca: em.ca,
          headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('sends a watched change as one PATCH of only what differs, without reading the account', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, {
      user_name: `inc.one@${VERIFIED}`,
      job_title: 'A',
      department: 'X',
    });
    await sync(tenantId, e.id);
    await clearLog();
    await updateEmployee(t.db, tenantId, e.id, { job_title: 'B' });
    const result = await sync(tenantId, e.id);
    expect(result.outcome).toBe('updated');
    const requests = await userRequests();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'PATCH', body: { jobTitle: 'B' }, status: 204 });
    expect(Object.keys(requests[0]!.body as object)).toEqual(['jobTitle']);
  });

  it('makes no Graph request when the change leaves the Entra user as it was', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `inc.two@${VERIFIED}`, lifecycle_status: 'active' });
    await sync(tenantId, e.id);
    await clearLog();
    // active and offboarding both keep the account enabled: nothing Entra holds changes.
    await updateEmployee(t.db, tenantId, e.id, { lifecycle_status: 'offboarding' });
    const result = await sync(tenantId, e.id);
    expect(result).toMatchObject({ outcome: 'unchanged', graphRequests: 0 });
    expect(await userRequests()).toEqual([]);
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
      state: 'SYNCED',
      syncedVersion: result.syncedVersion,
    });
  });

  it('repairs an edit made directly in Entra when an enrolment or retry reconciles', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `inc.three@${VERIFIED}`, department: 'R&D' });
    const first = await sync(tenantId, e.id);
    expect(await graphAsAdmin('PATCH', `/users/${first.entraObjectId}`, { department: 'Edited in Entra' })).toBe(204);
    await clearLog();
    const reconciled = await sync(tenantId, e.id, true);
    expect(reconciled.outcome).toBe('updated');
    const writes = (await userRequests()).filter((r) => r.method !== 'GET');
    expect(writes).toEqual([expect.objectContaining({ method: 'PATCH', body: { department: 'R&D' } })]);
    const user = (await em.users()).find((u) => u.id === first.entraObjectId)!;
    expect(user.department).toBe('R&D');
  });

  it('creates the account again when it was deleted in Entra since the last sync, after the early attempts wait', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const e = await createEmployee(t.db, tenantId, { user_name: `inc.four@${VERIFIED}`, job_title: 'A' });
    const first = await sync(tenantId, e.id);
    expect(await graphAsAdmin('DELETE', `/users/${first.entraObjectId}`)).toBe(204);
    await updateEmployee(t.db, tenantId, e.id, { job_title: 'B' });
    // A stored account that cannot be read may only be replicating (a create moments ago): the early attempts retry.
    await expect(sync(tenantId, e.id)).rejects.toMatchObject({ type: 'GraphUnavailable', nonRetryable: false });
    expect((await em.users()).some((u) => u.userPrincipalName === `inc.four@${VERIFIED}`)).toBe(false);
    const again = await sync(tenantId, e.id, false, 5);
    expect(again.outcome).toBe('created');
    expect(again.entraObjectId).not.toBe(first.entraObjectId);
    const user = (await em.users()).find((u) => u.id === again.entraObjectId)!;
    expect(user).toMatchObject({ userPrincipalName: `inc.four@${VERIFIED}`, jobTitle: 'B' });
    expect(await getProvisioning(t.db, tenantId, e.id)).toMatchObject({
      state: 'SYNCED',
      entraObjectId: again.entraObjectId,
    });
  });

  it('removes the Entra manager link when the manager is cleared in HR', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const boss = await createEmployee(t.db, tenantId, { user_name: `inc.boss@${VERIFIED}` });
    const bossSync = await sync(tenantId, boss.id);
    const e = await createEmployee(t.db, tenantId, { user_name: `inc.five@${VERIFIED}`, manager_id: boss.id });
    const first = await sync(tenantId, e.id);
    expect((await em.users()).find((u) => u.id === first.entraObjectId)?.managerId).toBe(bossSync.entraObjectId);

    await clearLog();
    await updateEmployee(t.db, tenantId, e.id, { manager_id: null });
    await expect(sync(tenantId, e.id)).resolves.toMatchObject({ outcome: 'updated' });
    const writes = (await userRequests()).filter((r) => r.method !== 'GET');
    // The mapped HR manager id (an extension property here) is cleared, and the link is deleted.
    expect(writes).toEqual([
      expect.objectContaining({ method: 'PATCH', status: 204, body: { [`${EXT}_hrManagerId`]: null } }),
      expect.objectContaining({
        method: 'DELETE',
        status: 204,
        url: `/v1.0/users/${first.entraObjectId}/manager/$ref`,
      }),
    ]);
    expect((await em.users()).find((u) => u.id === first.entraObjectId)?.managerId).toBeNull();

    // Nothing left to remove: the next change does not touch the manager again.
    await clearLog();
    await updateEmployee(t.db, tenantId, e.id, { job_title: 'After' });
    await sync(tenantId, e.id);
    expect((await userRequests()).map((r) => `${r.method} ${r.url}`)).toEqual([
      `PATCH /v1.0/users/${first.entraObjectId}`,
    ]);
  });

  it('removes a manager set directly in Entra when HR has none and an enrolment or retry reconciles', async () => {
    const tenantId = await createOutboundTenant(t.db, em, secretsKey);
    const other = await createEmployee(t.db, tenantId, { user_name: `inc.other@${VERIFIED}` });
    const otherSync = await sync(tenantId, other.id);
    const e = await createEmployee(t.db, tenantId, { user_name: `inc.six@${VERIFIED}` });
    const first = await sync(tenantId, e.id);
    const ref = { '@odata.id': `${em.url}/v1.0/users/${otherSync.entraObjectId}` };
    expect(await graphAsAdmin('PUT', `/users/${first.entraObjectId}/manager/$ref`, ref)).toBe(204);

    await expect(sync(tenantId, e.id, true)).resolves.toMatchObject({ outcome: 'updated' });
    expect((await em.users()).find((u) => u.id === first.entraObjectId)?.managerId).toBeNull();
    // Reconciled again with nothing to remove: no write.
    await clearLog();
    await expect(sync(tenantId, e.id, true)).resolves.toMatchObject({ outcome: 'unchanged' });
    expect((await userRequests()).filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
