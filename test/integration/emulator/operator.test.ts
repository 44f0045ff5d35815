import { randomUUID } from 'node:crypto';
import {
  emulatorTarget,
  tokenFor,
  uniqueLocal,
  EXT_PREFIX,
  FULL_APP_ID,
  OTHER_TENANT_ID,
  TENANT_ID,
  type GraphTarget,
} from './target';
import type { HttpOptions, HttpResult } from './http';

/** Emulator-only behaviour: the operator API, request log, faults, multi-tenancy and seeding. */

let target: GraphTarget;
let token: string;
const PASSWORD = 'kT9#mQ2vLp!x';

async function graph(method: string, path: string, opts: HttpOptions = {}, bearer = token): Promise<HttpResult> {
  return target.http(method, `/v1.0${path}`, {
    ...opts,
    headers: { Authorization: `Bearer ${bearer}`, ...(opts.headers ?? {}) },
  });
}
const op = (method: string, path: string, body?: unknown): Promise<HttpResult> =>
  target.http(method, `/_emulator${path}`, body === undefined ? {} : { body });

function userBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const local = uniqueLocal();
  return {
    accountEnabled: true,
    displayName: 'Op User',
    mailNickname: local,
    userPrincipalName: `${local}@contoso.com`,
    passwordProfile: { password: PASSWORD },
    ...overrides,
  };
}

beforeAll(async () => {
  target = await emulatorTarget();
  token = await tokenFor(target, target.full);
});
afterAll(() => target.stop());
afterEach(async () => {
  await op('DELETE', '/faults');
});

describe('request log', () => {
  it('records method, url, headers, body and status as JSON lines, with Authorization cut to its scheme and the password redacted', async () => {
    await op('DELETE', '/requests');
    const body = userBody();
    await graph('POST', '/users', { body });
    await target.http('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
      form: {
        grant_type: 'client_credentials',
        client_id: FULL_APP_ID,
        client_secret: 'full-secret',
        scope: 'https://graph.microsoft.com/.default',
      },
    });
    const res = await op('GET', '/requests');
    expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    const [create, tokenCall] = lines as [Record<string, any>, Record<string, any>]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(Object.keys(create).sort()).toEqual(['body', 'headers', 'method', 'status', 'url']);
    expect(create).toMatchObject({ method: 'POST', url: '/v1.0/users', status: 201 });
    expect(create.headers.authorization).toBe('Bearer …');
    expect(create.body.passwordProfile.password).toBe('[REDACTED]');
    expect(create.body.userPrincipalName).toBe(body.userPrincipalName);
    expect(tokenCall.body.client_secret).toBe('[REDACTED]');
    expect(res.text).not.toContain(PASSWORD);
    expect(res.text).not.toContain('full-secret');
    expect(res.text).not.toContain(token);
  });

  it('does not record operator calls', async () => {
    await op('DELETE', '/requests');
    await op('GET', '/users');
    expect((await op('GET', '/requests')).text).toBe('');
  });
});

describe('seeding, users list and reset', () => {
  it('seeds through POST /_emulator/seed with the SeedInput JSON and lists users', async () => {
    const tenantId = randomUUID();
    const appId = randomUUID();
    const res = await op('POST', '/seed', {
      tenants: [
        {
          id: tenantId,
          domains: [{ id: 'seeded.example', isVerified: true }],
          apps: [{ appId, secret: 's', permissions: ['User.Read.All'], extensionProperties: [{ name: 'costCenter' }] }],
          users: [
            { userPrincipalName: 'boss@seeded.example', displayName: 'Boss' },
            {
              userPrincipalName: 'emp@seeded.example',
              displayName: 'Emp',
              manager: 'boss@seeded.example',
              [`extension_${appId.replace(/-/g, '')}_costCenter`]: 'CC1',
            },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.tenants[0].apps[0].extensionProperties[0].name).toBe(
      `extension_${appId.replace(/-/g, '')}_costCenter`,
    );
    const users = await op('GET', `/users?tenantId=${tenantId}`);
    const emp = users.json.value.find(
      (u: { userPrincipalName: string }) => u.userPrincipalName === 'emp@seeded.example',
    );
    const boss = users.json.value.find(
      (u: { userPrincipalName: string }) => u.userPrincipalName === 'boss@seeded.example',
    );
    expect(emp.managerId).toBe(boss.id);
    expect(emp).not.toHaveProperty('passwordProfile.password');
  });

  it('answers 400 with the reason for an invalid seed', async () => {
    const res = await op('POST', '/seed', { tenants: [{ id: 'not-a-guid' }] });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/tenants\.0\.id/);
  });

  it('reset empties every tenant, so old tokens stop working', async () => {
    const t2 = await emulatorTarget();
    try {
      const tok = await tokenFor(t2, t2.full);
      expect((await t2.http('POST', '/_emulator/reset')).status).toBe(204);
      expect((await t2.http('GET', '/_emulator/users')).json.value).toEqual([]);
      const res = await t2.http('GET', '/v1.0/users', { headers: { Authorization: `Bearer ${tok}` } });
      expect(res.status).toBe(401);
    } finally {
      await t2.stop();
    }
  });

  it("keeps tenants apart: the same app in another tenant sees none of this tenant's users", async () => {
    const { json } = await graph('POST', '/users', { body: userBody() });
    const other = await tokenFor(target, { clientId: FULL_APP_ID, secret: 'other-secret' }, OTHER_TENANT_ID);
    const res = await graph('GET', `/users/${json.id}`, {}, other);
    expect(res.status).toBe(404);
    const upnInOther = await graph('POST', '/users', { body: userBody() }, other);
    expect(upnInOther.json.error.message).toMatch(/domain portion/);
  });
});

describe('faults', () => {
  it('injects the configured status with a Graph error body', async () => {
    expect((await op('PUT', '/faults', { errorRates: { '503': 1 } })).status).toBe(200);
    const res = await graph('GET', '/users?$top=1');
    expect(res.status).toBe(503);
    expect(res.json.error).toMatchObject({
      code: 'serviceNotAvailable',
      innerError: { 'request-id': res.headers['request-id'] },
    });
  });

  it('serves a forced burst of 429s with Retry-After, then recovers', async () => {
    await op('PUT', '/faults', { burst429: { count: 2, retryAfterSeconds: 3 } });
    const statuses: number[] = [];
    let first: HttpResult | undefined;
    for (let i = 0; i < 3; i++) {
      const r = await graph('GET', '/users?$top=1');
      first ??= r;
      statuses.push(r.status);
    }
    expect(statuses).toEqual([429, 429, 200]);
    expect(first!.headers['retry-after']).toBe('3');
    expect(first!.json.error).toMatchObject({
      code: 'TooManyRequests',
      message: 'Please retry again later.',
      innerError: { code: '429', status: '429' },
    });
  });

  it('adds latency', async () => {
    await op('PUT', '/faults', { latencyMs: 150 });
    const start = Date.now();
    await graph('GET', '/users?$top=1');
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
  });

  it('hides a just-created user from reads and updates during the read replication delay, but keeps its UPN taken', async () => {
    await op('PUT', '/faults', { readReplicationDelayMs: 300 });
    const body = userBody();
    const created = (await graph('POST', '/users', { body })).json;
    const upn = encodeURIComponent(`'${String(body.userPrincipalName)}'`);
    const read = await graph('GET', `/users/${created.id}`);
    expect(read.status).toBe(404);
    expect(read.json.error.code).toBe('Request_ResourceNotFound');
    expect((await graph('GET', `/users?$filter=userPrincipalName eq ${upn}`)).json.value).toEqual([]);
    expect((await graph('PATCH', `/users/${created.id}`, { body: { jobTitle: 'x' } })).status).toBe(404);
    const second = await graph('POST', '/users', { body });
    expect(second.status).toBe(400);
    expect(second.json.error.details?.[0]?.code ?? second.json.error.code).toMatch(/ObjectConflict/);
    await new Promise((r) => setTimeout(r, 320));
    expect((await graph('GET', `/users/${created.id}`)).status).toBe(200);
    expect((await graph('GET', `/users?$filter=userPrincipalName eq ${upn}`)).json.value).toHaveLength(1);
  });

  it('hides a just-created user from manager $ref until the replication delay has passed', async () => {
    await op('PUT', '/faults', { replicationDelayMs: 300 });
    const boss = (await graph('POST', '/users', { body: userBody() })).json;
    const report = (await graph('POST', '/users', { body: userBody() })).json;
    const ref = { '@odata.id': `https://graph.microsoft.com/v1.0/users/${boss.id}` };
    const early = await graph('PUT', `/users/${report.id}/manager/$ref`, { body: ref });
    expect(early.status).toBe(404);
    expect(early.json.error.code).toBe('Request_ResourceNotFound');
    await new Promise((r) => setTimeout(r, 320));
    expect((await graph('PUT', `/users/${report.id}/manager/$ref`, { body: ref })).status).toBe(204);
  });

  it('rejects unknown fault settings', async () => {
    expect((await op('PUT', '/faults', { chaos: true })).status).toBe(400);
  });
});

describe('more Graph surface', () => {
  it('lists only verified domains in organization?$select=verifiedDomains for a Directory.Read.All app', async () => {
    const appId = randomUUID();
    await op('POST', '/seed', {
      tenants: [{ id: TENANT_ID, apps: [{ appId, secret: 'dir', permissions: ['Directory.Read.All'] }] }],
    });
    const dir = await tokenFor(target, { clientId: appId, secret: 'dir' });
    const res = await graph('GET', '/organization?$select=verifiedDomains', {}, dir);
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.value[0])).toEqual(['verifiedDomains']);
    const names = res.json.value[0].verifiedDomains.map((d: { name: string }) => d.name);
    expect(names).toContain('contoso.com');
    expect(names).not.toContain('fabrikam.com');
  });

  it('creates an extension property (201) for an app allowed to write applications, and the new name is writable on users', async () => {
    const appId = randomUUID();
    const objectId = randomUUID();
    await op('POST', '/seed', {
      tenants: [
        {
          id: TENANT_ID,
          apps: [{ appId, objectId, secret: 'w', permissions: ['Application.ReadWrite.All', 'User.ReadWrite.All'] }],
        },
      ],
    });
    const w = await tokenFor(target, { clientId: appId, secret: 'w' });
    const res = await graph(
      'POST',
      `/applications/${objectId}/extensionProperties`,
      { body: { name: 'badge', dataType: 'String', targetObjects: ['User'] } },
      w,
    );
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      name: `extension_${appId.replace(/-/g, '')}_badge`,
      dataType: 'String',
      isMultiValued: false,
      targetObjects: ['User'],
    });
    const user = await graph('POST', '/users', { body: userBody({ [res.json.name]: 'B-1' }) }, w);
    expect(user.status).toBe(201);
    // A non-boolean isMultiValued is a 400, also one that cannot be turned into text.
    for (const isMultiValued of ['yes', { toString: 1 }]) {
      const bad = await graph(
        'POST',
        `/applications/${objectId}/extensionProperties`,
        { body: { name: 'badge3', dataType: 'String', isMultiValued, targetObjects: ['User'] } },
        w,
      );
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/^Cannot convert the literal '.*' to the expected type 'Edm.Boolean'\.$/);
    }
    expect(
      (
        await graph('POST', `/applications/${objectId}/extensionProperties`, {
          body: { name: 'badge2', dataType: 'String', targetObjects: ['User'] },
        })
      ).status,
    ).toBe(403);
  });

  it('lists every registered definition through directoryObjects/getAvailableExtensionProperties, for Directory.Read.All only', async () => {
    // Application.Read.All reads an app's own list, not the tenant-wide one.
    const denied = await graph('POST', '/directoryObjects/getAvailableExtensionProperties', {
      body: { isSyncedFromOnPremises: false },
    });
    expect(denied.status).toBe(403);
    expect(denied.json.error.code).toBe('Authorization_RequestDenied');

    const appId = randomUUID();
    await op('POST', '/seed', {
      tenants: [{ id: TENANT_ID, apps: [{ appId, secret: 'dir', permissions: ['Directory.Read.All'] }] }],
    });
    const dir = await tokenFor(target, { clientId: appId, secret: 'dir' });
    const res = await graph(
      'POST',
      '/directoryObjects/getAvailableExtensionProperties',
      { body: { isSyncedFromOnPremises: false } },
      dir,
    );
    expect(res.status).toBe(200);
    expect(res.json.value.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining([`${EXT_PREFIX}_hrId`, `${EXT_PREFIX}_skills`]),
    );
    expect(res.json.value[0]).toMatchObject({
      '@odata.type': '#microsoft.graph.extensionProperty',
      isSyncedFromOnPremises: false,
    });
    const synced = await graph(
      'POST',
      '/directoryObjects/getAvailableExtensionProperties',
      { body: { isSyncedFromOnPremises: true } },
      dir,
    );
    expect(synced.json.value).toEqual([]);
  });

  it('models a multi-tenant app registered in another tenant: it signs in, has no application object here, and its extensions are listed tenant-wide and writable', async () => {
    const appId = randomUUID();
    await op('POST', '/seed', {
      tenants: [
        {
          id: TENANT_ID,
          apps: [
            {
              appId,
              secret: 'isv',
              permissions: ['Application.Read.All', 'Directory.Read.All', 'User.ReadWrite.All'],
              registeredElsewhere: true,
              extensionProperties: [{ name: 'costCenter', dataType: 'String' }],
            },
          ],
        },
      ],
    });
    const isv = await tokenFor(target, { clientId: appId, secret: 'isv' });
    const own = await graph('GET', `/applications(appId='${appId}')/extensionProperties`, {}, isv);
    expect(own.status).toBe(404);
    expect(own.json.error.code).toBe('Request_ResourceNotFound');
    const apps = await graph('GET', `/applications?$filter=appId eq '${appId}'`, {}, isv);
    expect(apps.json.value).toEqual([]);
    const name = `extension_${appId.replace(/-/g, '')}_costCenter`;
    const available = await graph(
      'POST',
      '/directoryObjects/getAvailableExtensionProperties',
      { body: { isSyncedFromOnPremises: false } },
      isv,
    );
    expect(available.json.value.map((e: { name: string }) => e.name)).toContain(name);
    expect((await graph('POST', '/users', { body: userBody({ [name]: 'CC-1' }) }, isv)).status).toBe(201);
  });

  it('answers 400 for an extension property registered only for groups', async () => {
    const res = await graph('POST', '/users', { body: userBody({ [`${EXT_PREFIX}_groupOnly`]: 'x' }) });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/does not exist as a declared property or extension property/);
  });

  it('answers 400 for a federated-domain UPN without onPremisesImmutableId', async () => {
    const local = uniqueLocal();
    const res = await graph('POST', '/users', { body: userBody({ userPrincipalName: `${local}@fed.contoso.com` }) });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('One or more properties contains invalid values.');
    const ok = await graph('POST', '/users', {
      body: userBody({ userPrincipalName: `${local}@fed.contoso.com`, onPremisesImmutableId: 'abc123' }),
    });
    expect(ok.status).toBe(201);
  });

  it('answers 400 for a wrong-typed Integer extension value', async () => {
    const res = await graph('POST', '/users', { body: userBody({ [`${EXT_PREFIX}_level`]: 'three' }) });
    expect(res.status).toBe(400);
    expect(res.json.error.details[0]).toMatchObject({ code: 'InvalidValue', target: `${EXT_PREFIX}_level` });
  });

  it('stores a DateTime extension value as its instant in UTC, and refuses an impossible date with InvalidValue', async () => {
    const appId = randomUUID();
    await op('POST', '/seed', {
      tenants: [
        {
          id: TENANT_ID,
          apps: [
            {
              appId,
              secret: 'dt',
              permissions: [],
              extensionProperties: [{ name: 'since', dataType: 'DateTime', targetObjects: ['User'] }],
            },
          ],
        },
      ],
    });
    const since = `extension_${appId.replace(/-/g, '')}_since`;
    const created = await graph('POST', '/users', { body: userBody({ [since]: '2024-03-01T09:00:00+01:00' }) });
    expect(created.status).toBe(201);
    const read = async () => (await graph('GET', `/users/${created.json.id}?$select=${since}`)).json[since];
    expect(await read()).toBe('2024-03-01T08:00:00Z');
    expect(
      (await graph('PATCH', `/users/${created.json.id}`, { body: { [since]: '2024-06-30T23:30:00.5-02:00' } })).status,
    ).toBe(204);
    expect(await read()).toBe('2024-07-01T01:30:00Z');
    for (const value of ['2023-02-29T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01']) {
      const bad = await graph('PATCH', `/users/${created.json.id}`, { body: { [since]: value } });
      expect(bad.status).toBe(400);
      expect(bad.json.error.details[0]).toMatchObject({ code: 'InvalidValue', target: since });
    }
    expect(await read()).toBe('2024-07-01T01:30:00Z');
  });

  it('answers 400 for an empty PATCH (a pointless write that still costs quota)', async () => {
    const { json } = await graph('POST', '/users', { body: userBody() });
    expect((await graph('PATCH', `/users/${json.id}`, { body: {} })).status).toBe(400);
  });

  it('answers 400 Invalid version for a path outside /v1.0', async () => {
    const res = await target.http('GET', '/beta/users', { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('Invalid version: beta');
  });
});
