import * as auth from '../../../src/emulator/auth';
import { emulatorTarget, tokenFor, uniqueLocal, TENANT_ID, type GraphTarget } from './target';
import type { HttpOptions, HttpResult } from './http';

/**
 * Emulator-only fidelity checks that need seeded apps, a federated domain or a provoked failure: the error envelope
 * outside the Graph pipeline, the per-property permissions of PATCH /users/{id}, and UPN renames across domain types.
 */

const PASSWORD = 'kT9#mQ2vLp!x';
const ENABLE_DISABLE_APP = '44444444-5555-4666-8777-888888888881';
const ENABLE_DISABLE_NO_READ_APP = '44444444-5555-4666-8777-888888888882';
const IDENTITIES_APP = '44444444-5555-4666-8777-888888888883';
const PASSWORD_APP = '44444444-5555-4666-8777-888888888884';

let target: GraphTarget;
let token: string;

async function graph(method: string, path: string, opts: HttpOptions = {}, bearer = token): Promise<HttpResult> {
  return target.http(method, `/v1.0${path}`, {
    ...opts,
    headers: { Authorization: `Bearer ${bearer}`, ...(opts.headers ?? {}) },
  });
}

/** Graph's envelope and the headers every Graph response carries. */
function expectEnvelope(res: HttpResult, status: number, code: string, clientRequestId: string): void {
  expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers['client-request-id']).toBe(clientRequestId);
  expect(res.headers['x-ms-ags-diagnostic']).toEqual(expect.any(String));
  expect(res.json.error.innerError).toEqual({
    date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/),
    'request-id': res.headers['request-id'],
    'client-request-id': clientRequestId,
  });
}

async function createUser(): Promise<string> {
  const local = uniqueLocal();
  const res = await graph('POST', '/users', {
    body: {
      accountEnabled: true,
      displayName: 'Fidelity',
      mailNickname: local,
      userPrincipalName: `${local}@contoso.com`,
      passwordProfile: { password: PASSWORD },
    },
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.json.id as string;
}

const app = (
  appId: string,
  permissions: string[],
): { appId: string; displayName: string; secret: string; permissions: string[] } => ({
  appId,
  displayName: `app ${permissions.join(' ')}`,
  secret: `${appId}-secret`,
  permissions,
});

const tokenOf = (appId: string): Promise<string> => tokenFor(target, { clientId: appId, secret: `${appId}-secret` });

beforeAll(async () => {
  target = await emulatorTarget();
  target.emulator!.seed({
    tenants: [
      {
        id: TENANT_ID,
        apps: [
          app(ENABLE_DISABLE_APP, ['User.EnableDisableAccount.All', 'User.Read.All']),
          app(ENABLE_DISABLE_NO_READ_APP, ['User.EnableDisableAccount.All']),
          app(IDENTITIES_APP, ['User.ManageIdentities.All']),
          app(PASSWORD_APP, ['User.ReadWrite.All', 'User-PasswordProfile.ReadWrite.All']),
        ],
      },
    ],
  });
  token = await tokenFor(target, target.full);
});
afterAll(() => target.stop());
afterEach(() => jest.restoreAllMocks());

describe('errors outside the Graph pipeline', () => {
  it('answers a body over 4 MB with 413 in the Graph envelope and headers', async () => {
    const res = await graph('POST', '/users', {
      raw: JSON.stringify({ displayName: 'x'.repeat(4 * 1024 * 1024) }),
      headers: { 'Content-Type': 'application/json', 'client-request-id': 'big-body-1' },
    });
    expectEnvelope(res, 413, 'RequestEntityTooLarge', 'big-body-1');
  });

  it('answers an unexpected failure with 500 generalException in the Graph envelope and headers', async () => {
    jest.spyOn(auth, 'openIdConfiguration').mockImplementation(() => {
      throw new Error('provoked');
    });
    jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const res = await target.http('GET', `/${TENANT_ID}/v2.0/.well-known/openid-configuration`, {
      headers: { 'client-request-id': 'crash-1' },
    });
    expectEnvelope(res, 500, 'generalException', 'crash-1');
  });
});

describe('PATCH /users/{id} permissions per property', () => {
  it('lets User.EnableDisableAccount.All + User.Read.All change accountEnabled, and nothing else', async () => {
    const id = await createUser();
    const bearer = await tokenOf(ENABLE_DISABLE_APP);
    expect((await graph('PATCH', `/users/${id}`, { body: { accountEnabled: false } }, bearer)).status).toBe(204);
    const other = await graph('PATCH', `/users/${id}`, { body: { accountEnabled: true, jobTitle: 'x' } }, bearer);
    expect({ status: other.status, code: other.json.error.code }).toEqual({
      status: 403,
      code: 'Authorization_RequestDenied',
    });
    expect((await graph('GET', `/users/${id}?$select=accountEnabled`)).json.accountEnabled).toBe(false);
  });

  it('refuses accountEnabled to User.EnableDisableAccount.All without a read permission', async () => {
    const id = await createUser();
    const bearer = await tokenOf(ENABLE_DISABLE_NO_READ_APP);
    expect((await graph('PATCH', `/users/${id}`, { body: { accountEnabled: false } }, bearer)).status).toBe(403);
  });

  it('lets User.ManageIdentities.All change identities only', async () => {
    const id = await createUser();
    const bearer = await tokenOf(IDENTITIES_APP);
    const identities = [{ signInType: 'userPrincipalName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: 'x' }];
    expect((await graph('PATCH', `/users/${id}`, { body: { identities } }, bearer)).status).toBe(204);
    expect((await graph('PATCH', `/users/${id}`, { body: { jobTitle: 'x' } }, bearer)).status).toBe(403);
  });

  it('needs User-PasswordProfile.ReadWrite.All for an app-only passwordProfile update', async () => {
    const id = await createUser();
    const body = { passwordProfile: { forceChangePasswordNextSignIn: true, password: 'Zq7!wXr2#pLm' } };
    const denied = await graph('PATCH', `/users/${id}`, { body });
    expect({ status: denied.status, code: denied.json.error.code }).toEqual({
      status: 403,
      code: 'Authorization_RequestDenied',
    });
    expect((await graph('PATCH', `/users/${id}`, { body }, await tokenOf(PASSWORD_APP))).status).toBe(204);
  });
});

describe('PATCH /users/{id}: a UPN rename across managed and federated domains', () => {
  const INVALID_VALUES = 'One or more properties contains invalid values.';

  it('needs an onPremisesImmutableId to move a user onto a federated domain, sent or already stored', async () => {
    const id = await createUser();
    const local = uniqueLocal();
    const refused = await graph('PATCH', `/users/${id}`, { body: { userPrincipalName: `${local}@fed.contoso.com` } });
    expect({ status: refused.status, message: refused.json.error.message }).toEqual({
      status: 400,
      message: INVALID_VALUES,
    });
    const body = { userPrincipalName: `${local}@fed.contoso.com`, onPremisesImmutableId: 'abc123' };
    expect((await graph('PATCH', `/users/${id}`, { body })).status).toBe(204);
    const anchored = await createUser();
    expect((await graph('PATCH', `/users/${anchored}`, { body: { onPremisesImmutableId: 'def456' } })).status).toBe(
      204,
    );
    const moved = await graph('PATCH', `/users/${anchored}`, {
      body: { userPrincipalName: `${uniqueLocal()}@fed.contoso.com` },
    });
    expect(moved.status).toBe(204);
  });

  it('needs a new password to move a user off a federated domain, and nothing within it', async () => {
    const id = await createUser();
    const onto = { userPrincipalName: `${uniqueLocal()}@fed.contoso.com`, onPremisesImmutableId: 'abc123' };
    expect((await graph('PATCH', `/users/${id}`, { body: onto })).status).toBe(204);
    const within = { userPrincipalName: `${uniqueLocal()}@fed.contoso.com` };
    expect((await graph('PATCH', `/users/${id}`, { body: within })).status).toBe(204);
    const off = { userPrincipalName: `${uniqueLocal()}@contoso.com` };
    const refused = await graph('PATCH', `/users/${id}`, { body: off });
    expect({ status: refused.status, message: refused.json.error.message }).toEqual({
      status: 400,
      message: INVALID_VALUES,
    });
    const withPassword = { ...off, passwordProfile: { forceChangePasswordNextSignIn: true, password: 'Zq7!wXr2#pLm' } };
    const bearer = await tokenOf(PASSWORD_APP);
    expect((await graph('PATCH', `/users/${id}`, { body: withPassword }, bearer)).status).toBe(204);
  });
});

describe('$batch', () => {
  it('carries a text/plain /users/$count item base64-encoded', async () => {
    const res = await graph('POST', '/$batch', {
      body: { requests: [{ id: '1', method: 'GET', url: '/users/$count', headers: { ConsistencyLevel: 'eventual' } }] },
    });
    const item = res.json.responses[0];
    expect(item).toMatchObject({ id: '1', status: 200, headers: { 'Content-Type': 'text/plain' } });
    expect(Buffer.from(item.body as string, 'base64').toString('utf8')).toMatch(/^[0-9]+$/);
  });
});
