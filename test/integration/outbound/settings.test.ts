import request from 'supertest';
import { SecretDecryptionError } from '../../../src/crypto/secrets';
import {
  getGraphConnection,
  getOutboundSettings,
  seedDefaultOutboundSettings,
  upsertOutboundSettings,
} from '../../../src/db/outbound-settings';
import { parseAppCertificate } from '../../../src/graph/app-certificate';
import { createGraphConnector } from '../../../src/graph/connector';
import { DEFAULT_MAPPING, DEFAULT_WATCHED_ATTRIBUTES } from '../../../src/graph/mapping';
import { ErrorTypes } from '../../../src/workflows/messages';
import { buildTestApp, seedTenant } from '../../support/app';
import { makeAppCertificate } from '../../support/app-certificates';
import { createTestDb, type TestDb } from '../../support/db';
import {
  APP_ID,
  APP_SECRET,
  ENTRA_TENANT,
  EXT,
  ISV_APP_ID,
  LIFECYCLE_APP_ID,
  NOPERM_APP_ID,
  startTestEmulator,
  testSecretsKey,
  type TestEmulator,
} from './support';

/** Outbound settings through the admin API, test connection against the emulator, and the dev-launcher seed. */
describe('outbound settings (admin API)', () => {
  let t: TestDb;
  let em: TestEmulator;
  const secretsKey = testSecretsKey();

  beforeAll(async () => {
    [t, em] = await Promise.all([createTestDb(), startTestEmulator()]);
  });
  afterAll(async () => {
    await em?.stop();
    await t?.drop();
  });

  async function setup(allowedOrigins: string[] = [em.url]) {
    const tenant = await seedTenant(t.db, 'Settings');
    const app = buildTestApp(t.db, { secretsKey, graphExtraCaPem: em.ca, graphAllowedOrigins: allowedOrigins });
    const call = (method: 'get' | 'patch' | 'post', path: string) =>
      request(app)
        [method](`/admin/v1/tenants/${tenant.tenantId}/outbound${path}`)
        .set('Authorization', `Bearer ${tenant.adminToken}`);
    return { tenant, call };
  }

  /** Stores the emulator connection with the secret (and `extra` settings); returns it without the secret. */
  async function connectToEmulator(call: Awaited<ReturnType<typeof setup>>['call'], extra: { enabled?: boolean } = {}) {
    const connection = { graphTenantId: ENTRA_TENANT, clientId: APP_ID, authorityHost: em.url, graphBaseUrl: em.url };
    await call('patch', '/settings')
      .send({ ...connection, clientSecret: APP_SECRET, ...extra })
      .expect(200);
    return connection;
  }

  it('stores the connection with a write-only secret and the default mapping', async () => {
    const { call, tenant } = await setup();
    // Never configured: the defaults, switched off and without credentials.
    expect((await call('get', '/settings').expect(200)).body).toMatchObject({ enabled: false, updatedAt: null });
    const res = await call('patch', '/settings')
      .send({
        graphTenantId: ENTRA_TENANT,
        clientId: APP_ID,
        clientSecret: APP_SECRET,
        authorityHost: em.url,
        graphBaseUrl: em.url,
        enabled: true,
      })
      .expect(200);
    expect(res.body).toMatchObject({
      enabled: true,
      clientSecretSet: true,
      mapping: DEFAULT_MAPPING,
      watchedAttributes: DEFAULT_WATCHED_ATTRIBUTES,
    });
    expect(JSON.stringify(res.body)).not.toContain(APP_SECRET);
    const row = await t.db('outbound_settings').where({ tenant_id: tenant.tenantId }).first();
    expect(row.client_secret_encrypted.toString('latin1')).not.toContain(APP_SECRET);
    const audit = await t.db('audit_events').where({ tenant_id: tenant.tenantId, resource_type: 'outbound_settings' });
    expect(JSON.stringify(audit)).not.toContain(APP_SECRET);
  });

  it('refuses a mapping without first and last name, unknown targets and http URLs', async () => {
    const { call } = await setup();
    const noSurname = await call('patch', '/settings')
      .send({ mapping: [{ source: 'givenName', target: 'givenName' }] })
      .expect(400);
    expect(JSON.stringify(noSurname.body)).toMatch(/surname/);
    await call('patch', '/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'department', target: 'passwordProfile' }] })
      .expect(400);
    await call('patch', '/settings').send({ graphBaseUrl: 'http://graph.example' }).expect(400);
    // A URL longer than any real one is refused (a long run of slashes once cost quadratic time to trim).
    const long = await call('patch', '/settings')
      .send({ graphBaseUrl: `https://graph.microsoft.com${'/'.repeat(3000)}a` })
      .expect(400);
    expect(JSON.stringify(long.body)).toMatch(/at most 2048 characters/);
  });

  it('maps only custom attributes the tenant defines, and keeps a mapped one from being deleted', async () => {
    const { tenant, call } = await setup();
    const hr = (method: 'post' | 'delete', path: string) =>
      request(buildTestApp(t.db, { secretsKey }))
        [method](`/admin/v1/tenants/${tenant.tenantId}${path}`)
        .set('Authorization', `Bearer ${tenant.adminToken}`);
    await hr('post', '/custom-attributes').send({ id: 'badgeNo', name: 'Badge', type: 'string' }).expect(201);
    const target = `${EXT}_hrId`;

    // A typo would read as null and clear the Entra property on every account: refused, nothing stored.
    const typo = await call('patch', '/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'customAttributes.badgeNumber', target }] })
      .expect(400);
    expect(typo.body.errors).toEqual([
      {
        path: `mapping.${DEFAULT_MAPPING.length}.source`,
        message: expect.stringMatching(/customAttributes.badgeNumber is not a defined custom attribute/),
      },
    ]);
    const wrongCase = await call('patch', '/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'customAttributes.BadgeNo', target }] })
      .expect(400);
    expect(wrongCase.body.errors[0].message).toMatch(/did you mean customAttributes.badgeNo\?/);
    expect((await call('get', '/settings').expect(200)).body.mapping).toEqual(DEFAULT_MAPPING);

    await call('patch', '/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'customAttributes.badgeNo', target }] })
      .expect(200);
    const mapped = await hr('delete', '/custom-attributes/badgeNo').expect(409);
    expect(mapped.body.detail).toMatch(/outbound mapping reads customAttributes.badgeNo/);
    await call('patch', '/settings').send({ mapping: DEFAULT_MAPPING }).expect(200);
    await hr('delete', '/custom-attributes/badgeNo').expect(204);
  });

  it('sends the stored secret nowhere new: changing the authority, Graph URL, tenant or app needs the secret again', async () => {
    const { call } = await setup();
    const connection = await connectToEmulator(call);

    for (const change of [
      { authorityHost: 'https://login.microsoftonline.us' },
      { graphBaseUrl: 'https://graph.microsoft.us/v1.0' },
      { graphTenantId: 'attacker.onmicrosoft.com' },
      { clientId: NOPERM_APP_ID },
      { authorityHost: null },
    ]) {
      const refused = await call('patch', '/settings').send(change).expect(400);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.body.detail).toMatch(
        new RegExp(`Changing ${Object.keys(change)[0]} needs the app's credential again: send clientSecret`),
      );
    }
    const kept = await call('get', '/settings').expect(200);
    expect(kept.body).toMatchObject({ ...connection, clientSecretSet: true });

    // The same values, or other settings, need no secret; a new endpoint with the secret in the same request is fine.
    await call('patch', '/settings')
      .send({ ...connection, enabled: true })
      .expect(200);
    const moved = await call('patch', '/settings')
      .send({ authorityHost: 'https://login.microsoftonline.us', clientSecret: 'a-new-secret' })
      .expect(200);
    expect(moved.body).toMatchObject({ authorityHost: 'https://login.microsoftonline.us', clientSecretSet: true });
  });

  it("points the connection only at Microsoft's clouds and the origins the server allows, even with the secret", async () => {
    const { call } = await setup();
    const connection = await connectToEmulator(call);

    for (const change of [
      { authorityHost: 'https://login.attacker.example' },
      { graphBaseUrl: 'https://169.254.169.254/latest' },
      // Same host as the allowed emulator, other port: a different origin.
      { graphBaseUrl: `${new URL(em.url).protocol}//${new URL(em.url).hostname}:1` },
      { authorityHost: 'https://login.microsoftonline.com.attacker.example' },
    ]) {
      const field = Object.keys(change)[0]!;
      const refused = await call('patch', '/settings')
        .send({ ...change, clientSecret: 'attacker-secret' })
        .expect(400);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.body.detail).toMatch(/GRAPH_ALLOWED_ORIGINS/);
      expect(refused.body.errors).toEqual([{ path: field, message: expect.stringContaining(field) }]);
    }
    expect((await call('get', '/settings').expect(200)).body).toMatchObject(connection);

    // What is stored is what was checked: no user info, query or fragment, and an authority is a host only.
    for (const authorityHost of [
      'https://attacker@login.microsoftonline.com',
      'https://login.microsoftonline.com#@login.attacker.example',
      'https://login.microsoftonline.com\\@login.attacker.example',
      'https://login.microsoftonline.com/?x=1',
    ]) {
      const refused = await call('patch', '/settings').send({ authorityHost, clientSecret: APP_SECRET }).expect(400);
      expect(refused.body.errors[0].path).toBe('authorityHost');
    }
    const normalised = await call('patch', '/settings')
      .send({ authorityHost: 'https://LOGIN.microsoftonline.us/', clientSecret: APP_SECRET })
      .expect(200);
    expect(normalised.body.authorityHost).toBe('https://login.microsoftonline.us');

    // Every Microsoft cloud is allowed without configuration; unset means the global cloud.
    for (const cloud of [
      { authorityHost: 'https://login.microsoftonline.us', graphBaseUrl: 'https://dod-graph.microsoft.us/v1.0' },
      { authorityHost: 'https://login.chinacloudapi.cn', graphBaseUrl: 'https://microsoftgraph.chinacloudapi.cn' },
      { authorityHost: null, graphBaseUrl: null },
    ]) {
      await call('patch', '/settings')
        .send({ ...cloud, clientSecret: APP_SECRET })
        .expect(200);
    }
  });

  it('neither tests nor syncs with a stored endpoint the server no longer allows', async () => {
    const { call: allowed, tenant } = await setup();
    await connectToEmulator(allowed, { enabled: true });
    await allowed('post', '/settings/test').expect(200);

    // The operator removed the emulator from GRAPH_ALLOWED_ORIGINS: the secret goes nowhere.
    const app = buildTestApp(t.db, { secretsKey, graphExtraCaPem: em.ca, graphAllowedOrigins: [] });
    const tested = await request(app)
      .post(`/admin/v1/tenants/${tenant.tenantId}/outbound/settings/test`)
      .set('Authorization', `Bearer ${tenant.adminToken}`)
      .expect(409);
    expect(tested.body.errors.map((e: { path: string }) => e.path)).toEqual(['authorityHost', 'graphBaseUrl']);

    const worker = createGraphConnector({ db: t.db, secretsKey, extraCaPem: em.ca, allowedOrigins: [] });
    await expect(worker.forTenant(tenant.tenantId)).rejects.toMatchObject({
      type: ErrorTypes.NotConfigured,
      message: expect.stringMatching(/authorityHost .*GRAPH_ALLOWED_ORIGINS/),
    });
    const allowedWorker = createGraphConnector({ db: t.db, secretsKey, extraCaPem: em.ca, allowedOrigins: [em.url] });
    await expect(allowedWorker.forTenant(tenant.tenantId)).resolves.toMatchObject({ settings: { enabled: true } });
  });

  it('accepts the Entra tenant as a GUID or a domain name only', async () => {
    const { call } = await setup();
    await call('patch', '/settings').send({ graphTenantId: 'contoso.onmicrosoft.com' }).expect(200);
    await call('patch', '/settings').send({ graphTenantId: ENTRA_TENANT }).expect(200);
    for (const bad of ['not a tenant', 'contoso/../x', 'https://login.microsoftonline.com/contoso']) {
      const res = await call('patch', '/settings').send({ graphTenantId: bad }).expect(400);
      expect(JSON.stringify(res.body.errors)).toMatch(/graphTenantId/);
    }
  });

  it('test connection reports success, and names each missing permission', async () => {
    const { call } = await setup();
    await call('post', '/settings/test').expect(404);
    await connectToEmulator(call);
    const ok = await call('post', '/settings/test').expect(200);
    expect(ok.body).toMatchObject({ ok: true, missingPermissions: [] });

    await call('patch', '/settings').send({ clientId: NOPERM_APP_ID, clientSecret: APP_SECRET }).expect(200);
    const denied = await call('post', '/settings/test').expect(200);
    expect(denied.body.ok).toBe(false);
    expect(denied.body.missingPermissions.sort()).toEqual([
      'Application.Read.All',
      'Domain.Read.All',
      'User.Read.All',
      'User.ReadWrite.All',
    ]);

    // Writing a leave date needs one more permission; the check appears only when the mapping writes it.
    const leaveDate = [...DEFAULT_MAPPING, { source: 'endDate', target: 'employeeLeaveDateTime' }];
    await call('patch', '/settings')
      .send({ clientId: APP_ID, clientSecret: APP_SECRET, mapping: leaveDate })
      .expect(200);
    const noLifecycle = await call('post', '/settings/test').expect(200);
    expect(noLifecycle.body).toMatchObject({ ok: false, missingPermissions: ['User-LifeCycleInfo.ReadWrite.All'] });
    expect(noLifecycle.body.checks).toContainEqual(expect.objectContaining({ name: 'writeLeaveDate', ok: false }));
    await call('patch', '/settings').send({ clientId: LIFECYCLE_APP_ID, clientSecret: APP_SECRET }).expect(200);
    const lifecycle = await call('post', '/settings/test').expect(200);
    expect(lifecycle.body).toMatchObject({ ok: true, missingPermissions: [] });
    expect(lifecycle.body.checks).toContainEqual(expect.objectContaining({ name: 'writeLeaveDate', ok: true }));

    // A multi-tenant app registered in another tenant: fine while the mapping writes none of its extensions; reading
    // them needs Directory.Read.All.
    await call('patch', '/settings')
      .send({ clientId: ISV_APP_ID, clientSecret: APP_SECRET, mapping: DEFAULT_MAPPING })
      .expect(200);
    expect((await call('post', '/settings/test').expect(200)).body).toMatchObject({ ok: true, missingPermissions: [] });
    const isvExtension = `extension_${ISV_APP_ID.replace(/-/g, '')}_costCenter`;
    await call('patch', '/settings')
      .send({ mapping: [...DEFAULT_MAPPING, { source: 'department', target: isvExtension }] })
      .expect(200);
    const isv = await call('post', '/settings/test').expect(200);
    expect(isv.body).toMatchObject({ ok: false, missingPermissions: ['Directory.Read.All'] });
    expect(isv.body.checks).toContainEqual(
      expect.objectContaining({
        name: 'extensionProperties',
        ok: false,
        detail: expect.stringMatching(/registered in another Entra tenant/),
      }),
    );

    // An extension property registered for groups only passes neither the check nor a sync (users cannot hold it).
    const groupOnly = `extension_${APP_ID.replace(/-/g, '')}_teamCode`;
    await call('patch', '/settings')
      .send({
        clientId: APP_ID,
        clientSecret: APP_SECRET,
        mapping: [...DEFAULT_MAPPING, { source: 'department', target: groupOnly }],
      })
      .expect(200);
    const forGroups = await call('post', '/settings/test').expect(200);
    expect(forGroups.body).toMatchObject({ ok: false, missingPermissions: [] });
    expect(forGroups.body.checks).toContainEqual({
      name: 'mapping',
      ok: false,
      detail: `${groupOnly} is registered for Group, not for users`,
    });

    await call('patch', '/settings').send({ clientId: APP_ID, clientSecret: 'wrong' }).expect(200);
    const badSecret = await call('post', '/settings/test').expect(200);
    expect(badSecret.body.checks[0]).toMatchObject({ name: 'token', ok: false });
    expect(badSecret.body.checks[0].detail).toMatch(/client secret/);
  });

  it('seeds the dev default once and later refreshes only the connection', async () => {
    const { tenant } = await setup();
    const conn = {
      graphTenantId: ENTRA_TENANT,
      clientId: APP_ID,
      clientSecret: APP_SECRET,
      authorityHost: em.url,
      graphBaseUrl: em.url,
    };
    const first = await seedDefaultOutboundSettings(t.db, tenant.tenantId, conn, secretsKey);
    expect(first).toMatchObject({ enabled: true, setManager: true, mapping: DEFAULT_MAPPING });
    await t.db('outbound_settings').where({ tenant_id: tenant.tenantId }).update({ enabled: false });
    await seedDefaultOutboundSettings(
      t.db,
      tenant.tenantId,
      { ...conn, graphBaseUrl: 'https://127.0.0.1:9999' },
      secretsKey,
    );
    expect(await getOutboundSettings(t.db, tenant.tenantId)).toMatchObject({
      enabled: false,
      graphBaseUrl: 'https://127.0.0.1:9999',
    });

    // An admin switched the app to a certificate: a restart refreshes the endpoints and keeps it.
    const certificate = parseAppCertificate((await makeAppCertificate()).pem);
    await upsertOutboundSettings(t.db, tenant.tenantId, { clientCertificate: certificate }, secretsKey);
    const restarted = await seedDefaultOutboundSettings(t.db, tenant.tenantId, conn, secretsKey);
    expect(restarted).toMatchObject({
      graphBaseUrl: em.url,
      hasClientSecret: false,
      clientCertificate: { thumbprint: certificate.thumbprint },
    });
    // Another app in the dev default (a changed DEV client id) gets the dev secret again.
    const otherApp = await seedDefaultOutboundSettings(
      t.db,
      tenant.tenantId,
      { ...conn, clientId: NOPERM_APP_ID },
      secretsKey,
    );
    expect(otherApp).toMatchObject({ hasClientSecret: true, clientCertificate: null });
  });

  it('a sealed credential only decrypts in its own column and tenant', async () => {
    const [a, b] = await Promise.all([setup(), setup()]);
    await connectToEmulator(a.call);
    await connectToEmulator(b.call);
    const certificate = parseAppCertificate((await makeAppCertificate()).pem);
    await upsertOutboundSettings(t.db, b.tenant.tenantId, { clientCertificate: certificate }, secretsKey);
    const sealed = async (tenantId: string) => t.db('outbound_settings').where({ tenant_id: tenantId }).first();
    const aRow = await sealed(a.tenant.tenantId);
    const bRow = await sealed(b.tenant.tenantId);
    // A's secret moved into A's certificate column, and B's certificate into A's row: neither decrypts.
    await t.db('outbound_settings').where({ tenant_id: a.tenant.tenantId }).update({
      client_secret_encrypted: null,
      client_certificate_encrypted: aRow.client_secret_encrypted,
    });
    await expect(getGraphConnection(t.db, a.tenant.tenantId, secretsKey)).rejects.toThrow(SecretDecryptionError);
    await t
      .db('outbound_settings')
      .where({ tenant_id: a.tenant.tenantId })
      .update({ client_certificate_encrypted: bRow.client_certificate_encrypted });
    await expect(getGraphConnection(t.db, a.tenant.tenantId, secretsKey)).rejects.toThrow(SecretDecryptionError);
    // Both credentials in one row is refused by the database itself.
    await expect(
      t
        .db('outbound_settings')
        .where({ tenant_id: b.tenant.tenantId })
        .update({ client_secret_encrypted: aRow.client_secret_encrypted }),
    ).rejects.toThrow(/outbound_settings_one_credential/);
  });
});
