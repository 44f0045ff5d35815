import { MockActivityEnvironment } from '@temporalio/testing';
import request from 'supertest';
import { createActivities } from '../../../src/activities';
import { upsertOutboundSettings } from '../../../src/db/outbound-settings';
import { parseAppCertificate } from '../../../src/graph/app-certificate';
import { createGraphConnector } from '../../../src/graph/connector';
import { silentLogger } from '../../../src/logger';
import { ErrorTypes, type SyncResult } from '../../../src/workflows/messages';
import { buildTestApp, seedTenant } from '../../support/app';
import { makeAppCertificate, type AppCertificate } from '../../support/app-certificates';
import { createTestDb, type TestDb } from '../../support/db';
import {
  APP_SECRET,
  createEmployee,
  createOutboundTenant,
  ENTRA_TENANT,
  startTestEmulator,
  testSecretsKey,
  VERIFIED,
  type TestEmulator,
} from './support';

/** An app registration that signs in with certificates only (no secret), as many organisations require. */
const CERT_APP_ID = '3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b';

/**
 * The certificate credential end to end: stored write-only through the admin API, Test connection and syncs signing
 * in with a signed client assertion at the emulator's identity endpoint, and the failures an admin must act on.
 */
describe('outbound with a certificate credential', () => {
  let t: TestDb;
  let em: TestEmulator;
  const secretsKey = testSecretsKey();
  /** Registered on the app; `soon` too, but it expires in ten days; `unknown` is not registered. */
  let registered: AppCertificate;
  let soon: AppCertificate;
  let unknown: AppCertificate;

  beforeAll(async () => {
    [t, em, registered, soon, unknown] = await Promise.all([
      createTestDb(),
      startTestEmulator(),
      makeAppCertificate({ commonName: 'entra-sync provisioning' }),
      makeAppCertificate({ notAfter: new Date(Date.now() + 10 * 24 * 3600_000) }),
      makeAppCertificate({ commonName: 'not uploaded' }),
    ]);
    em.emulator.seed({
      tenants: [
        {
          id: ENTRA_TENANT,
          apps: [
            {
              appId: CERT_APP_ID,
              certificates: [registered.certPem, soon.certPem],
              permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
            },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await em?.stop();
    await t?.drop();
  });

  async function setup() {
    const tenant = await seedTenant(t.db, 'Certificates');
    const app = buildTestApp(t.db, { secretsKey, graphExtraCaPem: em.ca, graphAllowedOrigins: [em.url] });
    const call = (method: 'get' | 'patch' | 'post', path: string) =>
      request(app)
        [method](`/admin/v1/tenants/${tenant.tenantId}${path}`)
        .set('Authorization', `Bearer ${tenant.adminToken}`);
    const connection = {
      graphTenantId: ENTRA_TENANT,
      clientId: CERT_APP_ID,
      authorityHost: em.url,
      graphBaseUrl: em.url,
    };
    return { tenant, app, call, connection };
  }

  it('stores the certificate write-only, shows its thumbprint and expiry, and keeps the key out of the audit', async () => {
    const { tenant, call, connection } = await setup();
    const res = await call('patch', '/outbound/settings')
      .send({ ...connection, clientCertificate: registered.pem, enabled: true })
      .expect(200);
    expect(res.body).toMatchObject({
      clientSecretSet: false,
      clientCertificate: { thumbprint: registered.thumbprint, notAfter: registered.notAfter.toISOString() },
    });
    const keyBody = registered.keyPem.split('\n')[1]!;
    expect(JSON.stringify((await call('get', '/outbound/settings').expect(200)).body)).not.toContain(keyBody);
    const row = await t.db('outbound_settings').where({ tenant_id: tenant.tenantId }).first();
    expect(row.client_certificate_encrypted.toString('latin1')).not.toContain(keyBody);
    expect(row.client_secret_encrypted).toBeNull();
    const audit = await t.db('audit_events').where({ tenant_id: tenant.tenantId, resource_type: 'outbound_settings' });
    expect(JSON.stringify(audit)).not.toContain(keyBody);
    expect(JSON.stringify(audit)).toContain(registered.thumbprint);

    // One credential at a time: a secret replaces the certificate, and a certificate the secret.
    const secret = await call('patch', '/outbound/settings').send({ clientSecret: APP_SECRET }).expect(200);
    expect(secret.body).toMatchObject({ clientSecretSet: true, clientCertificate: null });
    const back = await call('patch', '/outbound/settings').send({ clientCertificate: registered.pem }).expect(200);
    expect(back.body).toMatchObject({
      clientSecretSet: false,
      clientCertificate: { thumbprint: registered.thumbprint },
    });
    const both = await call('patch', '/outbound/settings')
      .send({ clientSecret: APP_SECRET, clientCertificate: registered.pem })
      .expect(400);
    expect(JSON.stringify(both.body)).toMatch(/either clientSecret or clientCertificate/);
  });

  it('refuses an unusable certificate with the reason, without echoing the key', async () => {
    const { call } = await setup();
    const mismatched = `${registered.keyPem}\n${unknown.certPem}`;
    const res = await call('patch', '/outbound/settings').send({ clientCertificate: mismatched }).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual([
      { path: 'clientCertificate', message: expect.stringMatching(/no certificate that belongs to the private key/) },
    ]);
    expect(JSON.stringify(res.body)).not.toContain(registered.keyPem.split('\n')[1]!);
    await call('patch', '/outbound/settings').send({ clientCertificate: 42 }).expect(400);
    expect((await call('get', '/outbound/settings').expect(200)).body.updatedAt).toBeNull(); // nothing stored
  });

  it('uses the certificate only with the endpoints it was given for: moving them needs the certificate again', async () => {
    const { call, connection } = await setup();
    await call('patch', '/outbound/settings')
      .send({ ...connection, clientCertificate: registered.pem })
      .expect(200);
    const refused = await call('patch', '/outbound/settings')
      .send({ graphBaseUrl: 'https://graph.microsoft.us' })
      .expect(400);
    expect(refused.body.detail).toMatch(/needs the app's credential again: send clientCertificate/);
    await call('patch', '/outbound/settings')
      .send({ graphBaseUrl: 'https://graph.microsoft.us', clientCertificate: registered.pem })
      .expect(200);
  });

  it('Test connection signs in with the certificate, names an unregistered one, and warns before expiry', async () => {
    const { call, connection } = await setup();
    await call('patch', '/outbound/settings')
      .send({ ...connection, clientCertificate: registered.pem })
      .expect(200);
    const ok = await call('post', '/outbound/settings/test').expect(200);
    expect(ok.body).toMatchObject({ ok: true, missingPermissions: [], warnings: [] });
    expect(ok.body.checks[0]).toEqual({
      name: 'token',
      ok: true,
      detail: `signed in with the client id and the certificate (thumbprint ${registered.thumbprint})`,
    });

    await call('patch', '/outbound/settings').send({ clientCertificate: unknown.pem }).expect(200);
    const notUploaded = await call('post', '/outbound/settings/test').expect(200);
    expect(notUploaded.body.ok).toBe(false);
    expect(notUploaded.body.checks[0]).toMatchObject({ name: 'token', ok: false });
    expect(notUploaded.body.checks[0].detail).toMatch(
      new RegExp(`does not know the certificate \\(thumbprint ${unknown.thumbprint}\\).*Certificates & secrets`),
    );

    await call('patch', '/outbound/settings').send({ clientCertificate: soon.pem }).expect(200);
    const expiring = await call('post', '/outbound/settings/test').expect(200);
    expect(expiring.body).toMatchObject({ ok: true });
    expect(expiring.body.warnings).toEqual([expect.stringMatching(/expires on .* \(in (9|10) days\)/)]);
  });

  it('a sync signs in with the certificate and creates the account; an expired stored one blocks with its date', async () => {
    const activities = createActivities({
      db: t.db,
      logger: silentLogger(),
      graph: createGraphConnector({ db: t.db, secretsKey, extraCaPem: em.ca, allowedOrigins: [em.url] }),
    });
    const sync = (tenantId: string, employeeId: string): Promise<SyncResult> =>
      new MockActivityEnvironment().run(activities.syncEmployeeToEntra, {
        tenantId,
        employeeId,
        changedAttributes: [],
        reconcile: false,
      });
    const tenantId = await createOutboundTenant(t.db, em, secretsKey, {
      clientId: CERT_APP_ID,
      clientSecret: undefined,
      clientCertificate: parseAppCertificate(registered.pem),
      mapping: undefined,
    });
    const e = await createEmployee(t.db, tenantId, { user_name: `cert.user@${VERIFIED}` });
    const result = await sync(tenantId, e.id);
    expect(result).toMatchObject({ outcome: 'created' });
    expect((await em.users()).find((u) => u.id === result.entraObjectId)).toMatchObject({
      userPrincipalName: `cert.user@${VERIFIED}`,
    });

    // A certificate not uploaded to the app: blocked (not retried as an outage), named as the admin center lists it.
    await upsertOutboundSettings(t.db, tenantId, { clientCertificate: parseAppCertificate(unknown.pem) }, secretsKey);
    const refused = await createEmployee(t.db, tenantId, { user_name: `cert.refused@${VERIFIED}` });
    await expect(sync(tenantId, refused.id)).rejects.toMatchObject({
      type: ErrorTypes.InvalidCredentials,
      nonRetryable: true,
      message: expect.stringContaining(`does not know the certificate (thumbprint ${unknown.thumbprint})`),
    });
    await upsertOutboundSettings(
      t.db,
      tenantId,
      { clientCertificate: parseAppCertificate(registered.pem) },
      secretsKey,
    );

    // The stored certificate has passed its end date (as if stored a year ago): the sync says so without Entra.
    await t
      .db('outbound_settings')
      .where({ tenant_id: tenantId })
      .update({ client_certificate_not_after: new Date(Date.now() - 60_000), updated_at: t.db.fn.now() });
    const later = await createEmployee(t.db, tenantId, { user_name: `cert.later@${VERIFIED}` });
    await expect(sync(tenantId, later.id)).rejects.toMatchObject({
      type: ErrorTypes.InvalidCredentials,
      nonRetryable: true,
      message: expect.stringMatching(
        new RegExp(`certificate \\(thumbprint ${registered.thumbprint}\\) expired on .*make a new certificate`),
      ),
    });
  });

  it('/metrics shows when the first stored certificate expires, for an alert, without naming tenants', async () => {
    const { app, tenant, call, connection } = await setup();
    await call('patch', '/outbound/settings')
      .send({ ...connection, clientCertificate: soon.pem })
      .expect(200);
    // Other tests' tenants share the database (one has an expired certificate): the gauge is the first of them all.
    const [{ soonest }] = await t.db('outbound_settings').min({ soonest: 'client_certificate_not_after' });
    expect(new Date(soonest).getTime()).toBeLessThanOrEqual(soon.notAfter.getTime());
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      new RegExp(
        `^entra_sync_outbound_certificate_soonest_expiry_timestamp_seconds\\{credential="client_certificate"\\} ${Math.floor(new Date(soonest).getTime() / 1000)}$`,
        'm',
      ),
    );
    expect(metrics.text).not.toContain(tenant.tenantId);
  });

  it('/metrics has no expiry at all while no certificate is stored (not 0, which an alert reads as expired)', async () => {
    const empty = await createTestDb();
    try {
      const metrics = await request(buildTestApp(empty.db)).get('/metrics').expect(200);
      expect(metrics.text).toContain('# TYPE entra_sync_outbound_certificate_soonest_expiry_timestamp_seconds gauge');
      expect(metrics.text).not.toMatch(/^entra_sync_outbound_certificate_soonest_expiry_timestamp_seconds[{ ]/m);
    } finally {
      await empty.drop();
    }
  });
});
