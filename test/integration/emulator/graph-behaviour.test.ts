import { randomUUID } from 'node:crypto';
import { behaviouralTarget, DEFAULT_SET, tokenFor, uniqueLocal, type GraphTarget } from './target';
import type { HttpOptions, HttpResult } from './http';

/**
 * The behavioural contract of Graph v1.0 as entra-sync uses it. Runs against a fresh emulator by default; set
 * GRAPH_TEST_BASE_URL and friends (docs/graph-emulator.md) to run the very same assertions against a real tenant.
 */

const REAL = Boolean(process.env.GRAPH_TEST_BASE_URL);
/** Tests that need a fixture the real tenant may not have are skipped there unless it is configured. */
const itWhen = (available: boolean): jest.It => (available ? it : it.skip);
const HAS_READONLY = !REAL || Boolean(process.env.GRAPH_TEST_READONLY_CLIENT_ID);
const HAS_NOPERM = !REAL || Boolean(process.env.GRAPH_TEST_NOPERM_CLIENT_ID);
const HAS_UNVERIFIED = !REAL || Boolean(process.env.GRAPH_TEST_UNVERIFIED_DOMAIN);
const HAS_MULTI = !REAL || Boolean(process.env.GRAPH_TEST_MULTI_EXTENSION);

const PASSWORD = 'kT9#mQ2vLp!x';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let target: GraphTarget;
let token: string;
const created: string[] = [];

async function graph(method: string, path: string, opts: HttpOptions = {}, bearer = token): Promise<HttpResult> {
  return target.http(method, `/v1.0${path}`, {
    ...opts,
    headers: { Authorization: `Bearer ${bearer}`, ...(opts.headers ?? {}) },
  });
}

function newUserBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const local = uniqueLocal();
  return {
    accountEnabled: false,
    displayName: 'Jane Doe',
    givenName: 'Jane',
    surname: 'Doe',
    mailNickname: local,
    userPrincipalName: `${local}@${target.verifiedDomain}`,
    passwordProfile: { forceChangePasswordNextSignIn: true, password: PASSWORD },
    ...overrides,
  };
}

async function createUser(
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; upn: string; res: HttpResult }> {
  const body = newUserBody(overrides);
  const res = await graph('POST', '/users', { body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  created.push(res.json.id);
  return { id: res.json.id, upn: body.userPrincipalName as string, res };
}

/** Graph's error envelope, with innerError date and request-id matching the response header. */
function expectGraphError(res: HttpResult, status: number, code: string, message?: string | RegExp): void {
  expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
  if (message instanceof RegExp) expect(res.json.error.message).toMatch(message);
  else if (message !== undefined) expect(res.json.error.message).toBe(message);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const inner = res.json.error.innerError;
  expect(inner.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  expect(inner['request-id']).toBe(res.headers['request-id']);
  expect(inner['client-request-id']).toEqual(expect.any(String));
}

/** Graph's refusal of an advanced-only operator without the advanced query parameters (aad-advanced-queries). */
const advancedOperatorMessage = (operator: string): string =>
  `Operator '${operator}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information`;

/** The token endpoint of the target's authority: v2.0 unless the v1 `oauth2/token` is asked for. */
async function tokenEndpoint(opts: HttpOptions, endpoint = 'oauth2/v2.0/token'): Promise<HttpResult> {
  const http =
    target.kind === 'emulator' ? target.http : (await import('./http')).createHttp(target.authorityHost, undefined);
  return http('POST', `/${target.tenantId}/${endpoint}`, opts);
}

beforeAll(async () => {
  target = await behaviouralTarget();
  token = await tokenFor(target, target.full);
});

afterAll(async () => {
  for (const id of created) await graph('DELETE', `/users/${id}`).catch(() => undefined);
  await target.stop();
});

describe('POST /users', () => {
  it('answers 201 with @odata.context, the default property set and no password', async () => {
    const { res, upn } = await createUser({ jobTitle: 'Engineer' });
    expect(res.status).toBe(201);
    expect(res.json['@odata.context']).toMatch(/\/v1\.0\/\$metadata#users\/\$entity$/);
    const keys = Object.keys(res.json).filter((k) => !k.startsWith('@'));
    expect(keys.sort()).toEqual([...DEFAULT_SET].sort());
    expect(res.json).toMatchObject({ userPrincipalName: upn, jobTitle: 'Engineer', businessPhones: [] });
    expect(res.json.id).toMatch(GUID);
    expect(res.text).not.toContain(PASSWORD);
    expect(res.headers['request-id']).toMatch(GUID);
  });

  it('sets a single-valued extension property in the create body', async () => {
    const { id } = await createUser({ [target.singleExtension]: 'HR-000123' });
    const res = await graph('GET', `/users/${id}?$select=id,${target.singleExtension}`);
    expect(res.json[target.singleExtension]).toBe('HR-000123');
  });

  it.each(['accountEnabled', 'displayName', 'mailNickname', 'userPrincipalName', 'passwordProfile'])(
    'answers 400 when the required create property %s is missing',
    async (name) => {
      const body = newUserBody();
      delete body[name];
      const res = await graph('POST', '/users', { body });
      expectGraphError(
        res,
        400,
        'Request_BadRequest',
        REAL ? undefined : `A value is required for property '${name}' of resource 'User'.`,
      );
    },
  );

  it('answers 400 Request_BadRequest "Invalid property \'x\'." for an unknown property', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ favouriteColour: 'blue' }) });
    expectGraphError(res, 400, 'Request_BadRequest', "Invalid property 'favouriteColour'.");
  });

  it('answers 400 for a read-only property, naming it', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ assignedLicenses: [] }) });
    expectGraphError(res, 400, 'Request_BadRequest', "Property 'assignedLicenses' is read-only and cannot be set.");
  });

  it('answers 400 BadRequest for a value of the wrong JSON type', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ accountEnabled: 'yes' }) });
    expectGraphError(res, 400, 'BadRequest', "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'.");
  });

  it('answers 400 BadRequest for an array where a single value is expected', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ jobTitle: ['a', 'b'] }) });
    expectGraphError(res, 400, 'BadRequest', /StartArray/);
  });

  it('answers 400 for a givenName longer than 64 characters', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ givenName: 'x'.repeat(65) }) });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      "Invalid value specified for property 'givenName' of resource 'User'.",
    );
  });

  it('answers 400 InvalidValue for a mailNickname with a space', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ mailNickname: 'jane doe' }) });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      "Invalid value specified for property 'mailNickname' of resource 'User'.",
    );
    expect(res.json.error.details).toEqual([expect.objectContaining({ code: 'InvalidValue', target: 'mailNickname' })]);
  });

  it.each(['no-at-sign', 'two@@contoso.com', 'dot.@DOMAIN', 'accént@DOMAIN', `${'a'.repeat(65)}@DOMAIN`])(
    'answers 400 "Property userPrincipalName is invalid." for %s',
    async (upnTemplate) => {
      const upn = upnTemplate.replace('DOMAIN', target.verifiedDomain);
      const res = await graph('POST', '/users', { body: newUserBody({ userPrincipalName: upn }) });
      expectGraphError(res, 400, 'Request_BadRequest', 'Property userPrincipalName is invalid.');
    },
  );

  itWhen(HAS_UNVERIFIED)(
    'answers 400 with the domain-portion message when the UPN domain is not verified',
    async () => {
      const res = await graph('POST', '/users', {
        body: newUserBody({ userPrincipalName: `${uniqueLocal()}@${target.unverifiedDomain}` }),
      });
      expectGraphError(
        res,
        400,
        'Request_BadRequest',
        'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
      );
    },
  );

  it('answers 400 with the domain-portion message when the UPN domain is not in the tenant at all', async () => {
    const res = await graph('POST', '/users', {
      body: newUserBody({ userPrincipalName: `${uniqueLocal()}@not-this-tenant-${randomUUID().slice(0, 6)}.example` }),
    });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      /^The domain portion of the userPrincipalName property is invalid\./,
    );
  });

  it('answers 400 ObjectConflict when the UPN already exists, case-insensitively', async () => {
    const { upn } = await createUser();
    const res = await graph('POST', '/users', { body: newUserBody({ userPrincipalName: upn.toUpperCase() }) });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      'Another object with the same value for property userPrincipalName already exists.',
    );
    expect(res.json.error.details).toEqual([
      expect.objectContaining({ code: 'ObjectConflict', target: 'userPrincipalName' }),
    ]);
  });

  it.each(['short1!', 'alllowercaseletters', 'ALLUPPER123', 'lower123456'])(
    'answers 400 for the weak password %s',
    async (password) => {
      const res = await graph('POST', '/users', { body: newUserBody({ passwordProfile: { password } }) });
      expectGraphError(
        res,
        400,
        'Request_BadRequest',
        'The specified password does not comply with password complexity requirements. Please provide a different password.',
      );
    },
  );

  it('answers 400 for an extension property no app registered', async () => {
    const name = `extension_${'0'.repeat(32)}_nothing`;
    const res = await graph('POST', '/users', { body: newUserBody({ [name]: 'x' }) });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      `Property '${name}' does not exist as a declared property or extension property.`,
    );
  });

  it('answers 400 InvalidValue for an array sent to a single-valued extension property', async () => {
    const res = await graph('POST', '/users', { body: newUserBody({ [target.singleExtension]: ['a', 'b'] }) });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      `Invalid value specified for property '${target.singleExtension}' of resource 'User'.`,
    );
  });

  itWhen(HAS_MULTI)('stores an array in a multi-valued extension property', async () => {
    const ext = target.multiExtension!;
    const { id } = await createUser({ [ext]: ['a', 'b'] });
    const res = await graph('GET', `/users/${id}?$select=${ext}`);
    expect(res.json[ext]).toEqual(['a', 'b']);
  });

  it("answers 400 with Graph's JSON message for a body that is not JSON", async () => {
    const res = await graph('POST', '/users', {
      raw: '{"accountEnabled": tru',
      headers: { 'Content-Type': 'application/json' },
    });
    expectGraphError(res, 400, 'BadRequest', /Unable to read JSON request payload/);
  });
});

describe('GET /users/{id | userPrincipalName}', () => {
  it('returns only the default property set without $select', async () => {
    const { id } = await createUser({ department: 'R&D', employeeId: 'E1' });
    const res = await graph('GET', `/users/${id}`);
    expect(res.status).toBe(200);
    expect(
      Object.keys(res.json)
        .filter((k) => !k.startsWith('@'))
        .sort(),
    ).toEqual([...DEFAULT_SET].sort());
    expect(res.json['@odata.context']).toMatch(/\$metadata#users\/\$entity$/);
  });

  it('returns exactly the $select-ed properties, extension properties included', async () => {
    const { id } = await createUser({ department: 'R&D', [target.singleExtension]: 'HR-7' });
    const res = await graph('GET', `/users/${id}?$select=id,accountEnabled,department,${target.singleExtension}`);
    expect(res.json).toEqual({
      '@odata.context': expect.stringMatching(
        /\$metadata#users\(id,accountEnabled,department,extension_[0-9a-f]{32}_\w+\)\/\$entity$/,
      ),
      id,
      accountEnabled: false,
      department: 'R&D',
      [target.singleExtension]: 'HR-7',
    });
  });

  it('answers 400 for an unknown $select property', async () => {
    const { id } = await createUser();
    const res = await graph('GET', `/users/${id}?$select=id,shoeSize`);
    expectGraphError(
      res,
      400,
      'BadRequest',
      /Could not find a property named 'shoeSize' on type 'microsoft.graph.user'/,
    );
  });

  it("finds a user by UPN in the path, and in the ('…') form", async () => {
    const { id, upn } = await createUser();
    expect((await graph('GET', `/users/${encodeURIComponent(upn)}`)).json.id).toBe(id);
    expect((await graph('GET', `/users('${encodeURIComponent(upn)}')`)).json.id).toBe(id);
  });

  it("answers 400 to a key starting with $ after the slash, and reads the ('$…') form as a key", async () => {
    // user-get docs: `/users/$x@y.com` fails with 400 because only OData's own segments start with `$`.
    const upn = `$${uniqueLocal()}@${target.verifiedDomain}`;
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const res = await graph(method, `/users/${upn}`, method === 'PATCH' ? { body: { jobTitle: 'x' } } : {});
      if (REAL) expect(res.status).toBe(400);
      else expectGraphError(res, 400, 'BadRequest', `Resource not found for the segment '${upn}'.`);
    }
    expectGraphError(await graph('GET', `/users('${upn}')`), 404, 'Request_ResourceNotFound');
  });

  it('decodes %23 in a path UPN (guest-style #EXT# names)', async () => {
    const local = `${uniqueLocal('g')}_fabrikam.com#EXT#`;
    const { id } = await createUser({
      userPrincipalName: `${local}@${target.verifiedDomain}`,
      mailNickname: uniqueLocal('g'),
    });
    const res = await graph('GET', `/users/${encodeURIComponent(`${local}@${target.verifiedDomain}`)}`);
    expect(res.status).toBe(200);
    expect(res.json.id).toBe(id);
  });

  it("answers 404 Request_ResourceNotFound with Graph's message and echoes client-request-id", async () => {
    const missing = randomUUID();
    const clientRequestId = randomUUID();
    const res = await graph('GET', `/users/${missing}`, { headers: { 'client-request-id': clientRequestId } });
    expectGraphError(
      res,
      404,
      'Request_ResourceNotFound',
      `Resource '${missing}' does not exist or one of its queried reference-property objects are not present.`,
    );
    expect(res.headers['client-request-id']).toBe(clientRequestId);
    expect(res.json.error.innerError['client-request-id']).toBe(clientRequestId);
    expect(res.headers.date).toEqual(expect.any(String));
  });
});

describe('GET /users?$filter=userPrincipalName eq …', () => {
  const lit = (v: string): string => `'${encodeURIComponent(v.replace(/'/g, "''"))}'`;

  it('returns the match in value[], compared case-insensitively', async () => {
    const { id, upn } = await createUser();
    const res = await graph(
      'GET',
      `/users?$filter=userPrincipalName eq ${lit(upn.toUpperCase())}&$select=id,userPrincipalName`,
    );
    expect(res.status).toBe(200);
    expect(res.json['@odata.context']).toMatch(/\$metadata#users\(id,userPrincipalName\)$/);
    expect(res.json.value).toEqual([{ id, userPrincipalName: upn }]);
  });

  it('returns an empty value[] (not 404) when nobody matches', async () => {
    const res = await graph(
      'GET',
      `/users?$filter=userPrincipalName eq ${lit(`nobody-${randomUUID()}@${target.verifiedDomain}`)}`,
    );
    expect(res.status).toBe(200);
    expect(res.json.value).toEqual([]);
  });

  it("matches a UPN with an apostrophe written as a doubled quote (o''brien)", async () => {
    const upn = `o'brien.${randomUUID().slice(0, 6)}@${target.verifiedDomain}`;
    const { id } = await createUser({ userPrincipalName: upn });
    const res = await graph('GET', `/users?$filter=userPrincipalName eq ${lit(upn)}&$select=id`);
    expect(res.json.value).toEqual([{ id }]);
  });

  it('matches a UPN containing # sent as %23', async () => {
    const upn = `${uniqueLocal('h')}_x.com#EXT#@${target.verifiedDomain}`;
    const { id } = await createUser({ userPrincipalName: upn });
    const res = await graph('GET', `/users?$filter=userPrincipalName%20eq%20'${upn.replace(/#/g, '%23')}'&$select=id`);
    expect(res.json.value).toEqual([{ id }]);
  });

  it('reads + in the query as a space and %2B as a plus', async () => {
    const { id, upn } = await createUser();
    const res = await graph('GET', `/users?$filter=userPrincipalName+eq+'${upn}'&$select=id`);
    expect(res.json.value).toEqual([{ id }]);
  });

  it('answers 400 on an unterminated string literal', async () => {
    const res = await graph('GET', `/users?$filter=userPrincipalName eq 'jdoe_fabrikam.com`);
    expectGraphError(res, 400, 'BadRequest', /unterminated string literal/i);
  });

  it('refuses endsWith without ConsistencyLevel: eventual and $count=true, and allows it with them', async () => {
    const { id, upn } = await createUser();
    const q = `/users?$filter=endsWith(userPrincipalName,${lit(upn.slice(2))})&$select=id`;
    const plain = await graph('GET', q);
    expectGraphError(plain, 400, 'Request_UnsupportedQuery', advancedOperatorMessage('endsWith'));
    const advanced = await graph('GET', `${q}&$count=true`, { headers: { ConsistencyLevel: 'eventual' } });
    expect(advanced.status).toBe(200);
    expect(advanced.json.value).toEqual([{ id }]);
  });

  it('pages with $top and @odata.nextLink', async () => {
    const prefix = `p${randomUUID().slice(0, 6)}`;
    for (let i = 0; i < 3; i++) await createUser({ userPrincipalName: `${prefix}.${i}@${target.verifiedDomain}` });
    const first = await graph(
      'GET',
      `/users?$filter=startsWith(userPrincipalName,'${prefix}')&$select=userPrincipalName&$top=2`,
    );
    expect(first.json.value).toHaveLength(2);
    expect(first.json['@odata.nextLink']).toEqual(expect.any(String));
    const second = await target.http('GET', first.json['@odata.nextLink'], {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(second.json.value).toHaveLength(1);
    expect(second.json['@odata.nextLink']).toBeUndefined();
  });

  it('answers 400 for $top outside 1..999', async () => {
    expect((await graph('GET', '/users?$top=1000')).status).toBe(400);
    expect((await graph('GET', '/users?$top=0')).status).toBe(400);
  });
});

describe('PATCH /users/{id}', () => {
  it('answers 204 with an empty body and applies the change', async () => {
    const { id } = await createUser();
    const res = await graph('PATCH', `/users/${id}`, { body: { accountEnabled: true, jobTitle: 'Lead' } });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const after = await graph('GET', `/users/${id}?$select=accountEnabled,jobTitle`);
    expect(after.json).toMatchObject({ accountEnabled: true, jobTitle: 'Lead' });
  });

  it('renames the UPN and keeps the object id', async () => {
    const { id, upn } = await createUser();
    const renamed = `${uniqueLocal('r')}@${target.verifiedDomain}`;
    expect((await graph('PATCH', `/users/${id}`, { body: { userPrincipalName: renamed } })).status).toBe(204);
    expect((await graph('GET', `/users/${encodeURIComponent(renamed)}?$select=id`)).json.id).toBe(id);
    expect((await graph('GET', `/users/${encodeURIComponent(upn)}`)).status).toBe(404);
  });

  it("answers 400 ObjectConflict when renaming onto another user's UPN", async () => {
    const a = await createUser();
    const b = await createUser();
    const res = await graph('PATCH', `/users/${b.id}`, { body: { userPrincipalName: a.upn } });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      'Another object with the same value for property userPrincipalName already exists.',
    );
  });

  it.each([null, ''])('answers 400 when displayName is cleared with %p', async (value) => {
    const { id } = await createUser();
    const res = await graph('PATCH', `/users/${id}`, { body: { displayName: value } });
    expectGraphError(
      res,
      400,
      'Request_BadRequest',
      "Invalid value specified for property 'displayName' of resource 'User'.",
    );
  });

  it('removes an extension value set to null', async () => {
    const { id } = await createUser({ [target.singleExtension]: 'HR-9' });
    expect((await graph('PATCH', `/users/${id}`, { body: { [target.singleExtension]: null } })).status).toBe(204);
    const res = await graph('GET', `/users/${id}?$select=id,${target.singleExtension}`);
    expect(res.json[target.singleExtension]).toBeUndefined();
  });

  it('answers 400 for a read-only property', async () => {
    const { id } = await createUser();
    const res = await graph('PATCH', `/users/${id}`, { body: { createdDateTime: '2020-01-01T00:00:00Z' } });
    expectGraphError(res, 400, 'Request_BadRequest', "Property 'createdDateTime' is read-only and cannot be set.");
  });

  it('answers 404 for an unknown id', async () => {
    const res = await graph('PATCH', `/users/${randomUUID()}`, { body: { jobTitle: 'x' } });
    expectGraphError(res, 404, 'Request_ResourceNotFound');
  });
});

describe('manager', () => {
  it('sets, reads and removes the manager through $ref', async () => {
    const boss = await createUser();
    const report = await createUser();
    const put = await graph('PUT', `/users/${report.id}/manager/$ref`, {
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${boss.id}` },
    });
    expect(put.status).toBe(204);
    const got = await graph('GET', `/users/${report.id}/manager`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: boss.id });
    expect((await graph('DELETE', `/users/${report.id}/manager/$ref`)).status).toBe(204);
    expectGraphError(await graph('GET', `/users/${report.id}/manager`), 404, 'Request_ResourceNotFound');
  });

  it('answers 404 when the referenced manager does not exist', async () => {
    const report = await createUser();
    const missing = randomUUID();
    const res = await graph('PUT', `/users/${report.id}/manager/$ref`, {
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${missing}` },
    });
    expectGraphError(res, 404, 'Request_ResourceNotFound', new RegExp(missing));
  });

  it('reads the manager reference through GET $ref as a bare @odata.id in the directory form', async () => {
    const boss = await createUser();
    const report = await createUser();
    const put = await graph('PUT', `/users/${report.id}/manager/$ref`, {
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${boss.id}` },
    });
    expect(put.status).toBe(204);
    const ref = await graph('GET', `/users/${report.id}/manager/$ref`);
    expect(ref.status).toBe(200);
    expect(ref.json).toEqual({
      '@odata.context': `${target.graphUrl}/v1.0/$metadata#directoryObjects/$ref`,
      '@odata.id': `${target.graphUrl}/v2/${target.tenantId}/directoryObjects/${boss.id}/Microsoft.DirectoryServices.User`,
    });
    // Also by UPN, like every other /users/{id | userPrincipalName} path.
    const byUpn = await graph('GET', `/users/${encodeURIComponent(report.upn)}/manager/$ref`);
    expect(byUpn.json['@odata.id']).toBe(ref.json['@odata.id']);
  });

  it('answers GET $ref for a user without a manager with the same 404 as GET manager', async () => {
    const loner = await createUser();
    const entity = await graph('GET', `/users/${loner.id}/manager`);
    const ref = await graph('GET', `/users/${loner.id}/manager/$ref`);
    expectGraphError(ref, 404, 'Request_ResourceNotFound');
    expect(ref.json.error.message).toBe(entity.json.error.message);
    // Removing the manager leaves the reference gone too.
    const boss = await createUser();
    await graph('PUT', `/users/${loner.id}/manager/$ref`, {
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${boss.id}` },
    });
    expect((await graph('GET', `/users/${loner.id}/manager/$ref`)).status).toBe(200);
    expect((await graph('DELETE', `/users/${loner.id}/manager/$ref`)).status).toBe(204);
    expectGraphError(await graph('GET', `/users/${loner.id}/manager/$ref`), 404, 'Request_ResourceNotFound');
  });

  it('answers GET $ref for an unknown user with 404 naming that user', async () => {
    const missing = randomUUID();
    expectGraphError(
      await graph('GET', `/users/${missing}/manager/$ref`),
      404,
      'Request_ResourceNotFound',
      new RegExp(missing),
    );
  });

  itWhen(HAS_NOPERM)('answers GET $ref with 403 to an app without a user read permission', async () => {
    const none = await tokenFor(target, target.none!);
    const { id } = await createUser();
    expectGraphError(await graph('GET', `/users/${id}/manager/$ref`, {}, none), 403, 'Authorization_RequestDenied');
  });
});

describe('domains, organization, applications', () => {
  it('lists the tenant domains with isVerified', async () => {
    const res = await graph('GET', '/domains');
    expect(res.status).toBe(200);
    const verified = res.json.value.find((d: { id: string }) => d.id === target.verifiedDomain);
    expect(verified).toMatchObject({ isVerified: true, authenticationType: expect.any(String) });
    if (target.unverifiedDomain) {
      expect(res.json.value.find((d: { id: string }) => d.id === target.unverifiedDomain)).toMatchObject({
        isVerified: false,
      });
    }
  });

  it('answers 403 to organization for an app without Organization.Read.All or Directory.*', async () => {
    // The standard test app holds User.ReadWrite.All, Domain.Read.All and Application.Read.All only.
    expectGraphError(await graph('GET', '/organization?$select=verifiedDomains'), 403, 'Authorization_RequestDenied');
  });

  it('finds the app by appId and lists its extension properties with Graph names', async () => {
    const apps = await graph('GET', `/applications?$filter=appId eq '${target.full.clientId}'&$select=id,appId`);
    expect(apps.json.value).toEqual([{ id: target.full.applicationObjectId, appId: target.full.clientId }]);
    const exts = await graph('GET', `/applications/${target.full.applicationObjectId}/extensionProperties`);
    expect(exts.status).toBe(200);
    const single = exts.json.value.find((e: { name: string }) => e.name === target.singleExtension);
    expect(single).toMatchObject({ dataType: 'String', isMultiValued: false, targetObjects: ['User'] });
    expect(single.name).toBe(
      `extension_${target.full.clientId.replace(/-/g, '')}_${single.name.split('_').slice(2).join('_')}`,
    );
    const byAppId = await graph('GET', `/applications(appId='${target.full.clientId}')/extensionProperties`);
    expect(byAppId.json.value.map((e: { name: string }) => e.name)).toEqual(
      exts.json.value.map((e: { name: string }) => e.name),
    );
  });
});

describe('permissions and tokens', () => {
  itWhen(HAS_READONLY)(
    'lets a User.Read.All app read users but answers 403 Authorization_RequestDenied to its writes',
    async () => {
      const ro = await tokenFor(target, target.readOnly!);
      const { id } = await createUser();
      expect((await graph('GET', `/users/${id}`, {}, ro)).status).toBe(200);
      expectGraphError(
        await graph('PATCH', `/users/${id}`, { body: { jobTitle: 'x' } }, ro),
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
      expectGraphError(await graph('POST', '/users', { body: newUserBody() }, ro), 403, 'Authorization_RequestDenied');
      expectGraphError(await graph('GET', '/domains', {}, ro), 403, 'Authorization_RequestDenied');
    },
  );

  itWhen(HAS_NOPERM)('answers 403 to an app with no granted permission', async () => {
    const none = await tokenFor(target, target.none!);
    expectGraphError(
      await graph('GET', '/users', {}, none),
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
    expectGraphError(
      await graph('GET', `/applications?$filter=appId eq '${target.full.clientId}'`, {}, none),
      403,
      'Authorization_RequestDenied',
    );
  });

  it('answers 401 InvalidAuthenticationToken without a token, and with a forged one', async () => {
    const none = await target.http('GET', '/v1.0/users');
    expectGraphError(none, 401, 'InvalidAuthenticationToken');
    const forged = await graph('GET', '/users', {}, `${token.slice(0, -4)}AAAA`);
    expectGraphError(forged, 401, 'InvalidAuthenticationToken');
  });

  it('answers the token endpoint with invalid_client (AADSTS7000215) for a wrong secret', async () => {
    const http =
      target.kind === 'emulator' ? target.http : (await import('./http')).createHttp(target.authorityHost, undefined);
    const res = await http('POST', `/${target.tenantId}/oauth2/v2.0/token`, {
      form: {
        grant_type: 'client_credentials',
        client_id: target.full.clientId,
        client_secret: 'wrong',
        scope: 'https://graph.microsoft.com/.default',
      },
    });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(res.json.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
  });

  it('publishes OpenID metadata whose token_endpoint is on the same authority', async () => {
    const http =
      target.kind === 'emulator' ? target.http : (await import('./http')).createHttp(target.authorityHost, undefined);
    const res = await http('GET', `/${target.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.json.token_endpoint).toBe(`${target.authorityHost}/${target.tenantId}/oauth2/v2.0/token`);
    for (const k of ['issuer', 'authorization_endpoint', 'jwks_uri', 'end_session_endpoint'])
      expect(res.json[k]).toEqual(expect.any(String));
  });
});

describe('POST /$batch', () => {
  it('answers 200 with one response per request, each with its own status', async () => {
    const { id } = await createUser();
    const res = await graph('POST', '/$batch', {
      body: {
        requests: [
          { id: '1', method: 'GET', url: `/users/${id}?$select=id` },
          { id: '2', method: 'GET', url: `/users/${randomUUID()}` },
          {
            id: '3',
            method: 'PATCH',
            url: `/users/${id}`,
            headers: { 'Content-Type': 'application/json' },
            body: { jobTitle: 'Batch' },
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.json.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['1']).toMatchObject({ status: 200, body: { id } });
    expect(byId['2']).toMatchObject({ status: 404, body: { error: { code: 'Request_ResourceNotFound' } } });
    expect(byId['3'].status).toBe(204);
  });

  it('answers 424 for a request whose dependency failed', async () => {
    const res = await graph('POST', '/$batch', {
      body: {
        requests: [
          { id: 'a', method: 'GET', url: `/users/${randomUUID()}` },
          { id: 'b', method: 'GET', url: '/users?$top=1', dependsOn: ['a'] },
        ],
      },
    });
    expect(res.status).toBe(200);
    const b = res.json.responses.find((r: { id: string }) => r.id === 'b');
    expect(b.status).toBe(424);
  });

  it('answers 400 for more than 20 requests, and for duplicate ids', async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users?$top=1' }));
    expectGraphError(await graph('POST', '/$batch', { body: { requests: many } }), 400, 'BadRequest');
    const dup = [
      { id: 'x', method: 'GET', url: '/users?$top=1' },
      { id: 'X', method: 'GET', url: '/users?$top=1' },
    ];
    expectGraphError(await graph('POST', '/$batch', { body: { requests: dup } }), 400, 'BadRequest');
  });
});

describe('values Graph checks beyond the JSON type', () => {
  const invalid = (property: string): string =>
    `Invalid value specified for property '${property}' of resource 'User'.`;

  it.each([['us'], ['USA'], ['U1'], ['']])('answers 400 for usageLocation %p on PATCH and on POST', async (value) => {
    const { id } = await createUser();
    const patch = await graph('PATCH', `/users/${id}`, { body: { usageLocation: value } });
    expectGraphError(patch, 400, 'Request_BadRequest', invalid('usageLocation'));
    const post = await graph('POST', '/users', { body: newUserBody({ usageLocation: value }) });
    expectGraphError(post, 400, 'Request_BadRequest', invalid('usageLocation'));
  });

  it('accepts a two-letter upper-case usageLocation and null', async () => {
    const { id } = await createUser({ usageLocation: 'DE' });
    expect((await graph('PATCH', `/users/${id}`, { body: { usageLocation: 'GB' } })).status).toBe(204);
    expect((await graph('GET', `/users/${id}?$select=usageLocation`)).json.usageLocation).toBe('GB');
    expect((await graph('PATCH', `/users/${id}`, { body: { usageLocation: null } })).status).toBe(204);
  });

  it.each([
    ['userType', 'Admin'],
    ['ageGroup', 'Senior'],
    ['mail', 'not-an-address'],
    ['mail', 'two@@contoso.com'],
    ['otherMails', ['ok@contoso.com', 'not-an-address']],
    ['passwordPolicies', 'NeverExpire'],
    ['passwordPolicies', 'DisableStrongPassword, Whatever'],
  ])('answers 400 for %s = %p', async (property, value) => {
    const { id } = await createUser();
    const res = await graph('PATCH', `/users/${id}`, { body: { [property]: value } });
    expectGraphError(res, 400, 'Request_BadRequest', REAL ? undefined : invalid(property));
  });

  it.each([
    ['userType', 'Guest'],
    ['ageGroup', 'NotAdult'],
    ['ageGroup', null],
    ['mail', 'jane.doe@contoso.com'],
    ['otherMails', ['jane@fabrikam.com', 'j.doe@example.org']],
    ['passwordPolicies', 'DisablePasswordExpiration'],
    ['passwordPolicies', 'DisablePasswordExpiration, DisableStrongPassword'],
    ['passwordPolicies', null],
  ])('accepts %s = %p', async (property, value) => {
    const { id } = await createUser();
    expect((await graph('PATCH', `/users/${id}`, { body: { [property]: value } })).status).toBe(204);
  });

  it('limits each onPremisesExtensionAttributes member to 1,024 characters', async () => {
    const { id } = await createUser();
    const long = await graph('PATCH', `/users/${id}`, {
      body: { onPremisesExtensionAttributes: { extensionAttribute1: 'x'.repeat(1025) } },
    });
    expectGraphError(long, 400, 'Request_BadRequest', REAL ? undefined : invalid('extensionAttribute1'));
    const fits = await graph('PATCH', `/users/${id}`, {
      body: { onPremisesExtensionAttributes: { extensionAttribute1: 'x'.repeat(1024) } },
    });
    expect(fits.status).toBe(204);
  });
});

describe('Edm.DateTimeOffset values (employeeHireDate)', () => {
  const hireDate = async (id: string): Promise<unknown> =>
    (await graph('GET', `/users/${id}?$select=employeeHireDate`)).json.employeeHireDate;
  const cannotConvert = (value: string): string =>
    `Cannot convert the literal '${value}' to the expected type 'Edm.DateTimeOffset'.`;

  it('keeps the instant of a value written with an offset and answers it in UTC with Z, on POST and on PATCH', async () => {
    const { id } = await createUser({ employeeHireDate: '2024-03-01T09:00:00+01:00' });
    expect(await hireDate(id)).toBe('2024-03-01T08:00:00Z');
    expect(
      (await graph('PATCH', `/users/${id}`, { body: { employeeHireDate: '2024-03-01T19:30-05:00' } })).status,
    ).toBe(204);
    expect(await hireDate(id)).toBe('2024-03-02T00:30:00Z');
  });

  it('answers whole seconds for a value written with a fraction', async () => {
    // Every directory timestamp Microsoft shows has whole seconds; whether Graph truncates or rounds is not documented.
    const { id } = await createUser({ employeeHireDate: '2024-03-01T08:00:00.9876543Z' });
    expect(await hireDate(id)).toBe('2024-03-01T08:00:00Z');
  });

  it('accepts February 29 in a leap year', async () => {
    const { id } = await createUser({ employeeHireDate: '2024-02-29T00:00:00Z' });
    expect(await hireDate(id)).toBe('2024-02-29T00:00:00Z');
  });

  it.each([
    '2020-02-30T00:00:00Z',
    '2019-02-29T00:00:00Z',
    '2020-04-31T00:00:00Z',
    '2020-13-01T00:00:00Z',
    '2020-01-01T25:00:00Z',
    '2020-01-01T00:60:00Z',
    '2020-01-01',
    '2020-01-01T00:00:00',
  ])(
    'refuses %p with 400 BadRequest "Cannot convert the literal", on POST and on PATCH, writing nothing',
    async (value) => {
      const post = await graph('POST', '/users', { body: newUserBody({ employeeHireDate: value }) });
      expectGraphError(post, 400, 'BadRequest', cannotConvert(value));
      const { id } = await createUser({ employeeHireDate: '2024-01-01T00:00:00Z' });
      const patch = await graph('PATCH', `/users/${id}`, { body: { employeeHireDate: value, jobTitle: 'Changed' } });
      expectGraphError(patch, 400, 'BadRequest', cannotConvert(value));
      const after = await graph('GET', `/users/${id}?$select=employeeHireDate,jobTitle`);
      expect(after.json).toMatchObject({ employeeHireDate: '2024-01-01T00:00:00Z', jobTitle: null });
    },
  );

  it("applies the same rules to $batch items: an impossible date is that item's 400, an offset is stored in UTC", async () => {
    const { id } = await createUser();
    const json = { 'Content-Type': 'application/json' };
    const res = await graph('POST', '/$batch', {
      body: {
        requests: [
          {
            id: '1',
            method: 'POST',
            url: '/users',
            headers: json,
            body: newUserBody({ employeeHireDate: '2020-02-30T00:00:00Z' }),
          },
          {
            id: '2',
            method: 'PATCH',
            url: `/users/${id}`,
            headers: json,
            body: { employeeHireDate: '2021-02-29T08:00:00Z' },
          },
          {
            id: '3',
            method: 'PATCH',
            url: `/users/${id}`,
            headers: json,
            body: { employeeHireDate: '2024-03-01T09:00:00+01:00' },
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.json.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['1']).toMatchObject({
      status: 400,
      body: { error: { code: 'BadRequest', message: cannotConvert('2020-02-30T00:00:00Z') } },
    });
    expect(byId['2']).toMatchObject({
      status: 400,
      body: { error: { code: 'BadRequest', message: cannotConvert('2021-02-29T08:00:00Z') } },
    });
    expect(byId['3'].status).toBe(204);
    expect(await hireDate(id)).toBe('2024-03-01T08:00:00Z');
  });
});

describe('$count', () => {
  it('ignores $count=true without ConsistencyLevel: eventual (200, no @odata.count), and counts with it', async () => {
    const plain = await graph('GET', '/users?$count=true&$select=id&$top=1');
    expect(plain.status).toBe(200);
    expect(plain.json['@odata.count']).toBeUndefined();
    const eventual = await graph('GET', '/users?$count=true&$select=id&$top=1', {
      headers: { ConsistencyLevel: 'eventual' },
    });
    expect(eventual.json['@odata.count']).toEqual(expect.any(Number));
  });

  it('answers GET /users/$count without ConsistencyLevel with 400 "$count is not currently supported."', async () => {
    const res = await graph('GET', '/users/$count');
    expectGraphError(res, 400, 'Request_BadRequest', '$count is not currently supported.');
  });

  it('answers GET /users/$count with ConsistencyLevel: eventual as a text/plain integer, $filter included', async () => {
    const { upn } = await createUser();
    const all = await graph('GET', '/users/$count', { headers: { ConsistencyLevel: 'eventual' } });
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toMatch(/^text\/plain/);
    expect(all.text).toMatch(/^[0-9]+$/);
    expect(Number(all.text)).toBeGreaterThanOrEqual(1);
    const one = await graph('GET', `/users/$count?$filter=endsWith(userPrincipalName,'${upn.slice(1)}')`, {
      headers: { ConsistencyLevel: 'eventual' },
    });
    expect(one.text).toBe('1');
  });
});

describe('$filter operators, literals and query options', () => {
  it.each([
    ['ne', "userPrincipalName ne 'x@contoso.com'"],
    ['not', "not(userPrincipalName eq 'x@contoso.com')"],
  ])("refuses '%s' without the advanced query parameters, naming the operator", async (operator, filter) => {
    const res = await graph('GET', `/users?$filter=${encodeURIComponent(filter)}`);
    expectGraphError(res, 400, 'Request_UnsupportedQuery', advancedOperatorMessage(operator));
  });

  it('filters createdDateTime with unquoted DateTimeOffset literals, compared as instants', async () => {
    const { id, upn } = await createUser();
    const local = upn.slice(0, upn.indexOf('@'));
    const query = (clause: string): Promise<HttpResult> =>
      graph('GET', `/users?$filter=${encodeURIComponent(`${clause} and startsWith(userPrincipalName,'${local}')`)}`);
    const since = await query('createdDateTime ge 2020-01-01T00:00:00Z');
    expect(since.status).toBe(200);
    expect(since.json.value.map((u: { id: string }) => u.id)).toEqual([id]);
    // An offset literal: 2020-01-01T01:00:00+01:00 is midnight UTC, so the same instant as above.
    const offset = await query('createdDateTime ge 2020-01-01T01:00:00+01:00');
    expect(offset.json.value).toHaveLength(1);
    const before = await query('createdDateTime le 2000-01-01T00:00:00.000Z');
    expect(before.json.value).toEqual([]);
  });

  it.each(['2020-02-30T00:00:00Z', '2019-02-29T00:00:00Z', '2020-01-01T25:00:00Z', '2020-01-01T00:00:00+15:00'])(
    'refuses the DateTimeOffset literal %s, which names no real instant, instead of reading it as another day',
    async (literal) => {
      const res = await graph('GET', `/users?$filter=${encodeURIComponent(`createdDateTime ge ${literal}`)}`);
      expectGraphError(
        res,
        400,
        'BadRequest',
        `The DateTimeOffset text '${literal}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.`,
      );
    },
  );

  it('answers 400 when a query option is given twice', async () => {
    const res = await graph('GET', '/users?$top=1&$top=2');
    expectGraphError(
      res,
      400,
      'BadRequest',
      "Query option '$top' was specified more than once, but it must be specified at most once.",
    );
  });

  it.each([
    ['employeeId eq 1', 'Edm.String', 'Edm.Int32', 'Equal'],
    ["accountEnabled eq 'true'", 'Edm.Boolean', 'Edm.String', 'Equal'],
    ["createdDateTime ge '2020-01-01T00:00:00Z'", 'Edm.DateTimeOffset', 'Edm.String', 'GreaterThanOrEqual'],
  ])('answers 400 for operands of incompatible types: %s', async (filter, left, right, kind) => {
    const res = await graph('GET', `/users?$filter=${encodeURIComponent(filter)}`);
    expectGraphError(
      res,
      400,
      'BadRequest',
      `A binary operator with incompatible types was detected. Found operand types '${left}' and '${right}' for operator kind '${kind}'.`,
    );
  });

  it.each([
    ['gt', 'createdDateTime gt 2020-01-01T00:00:00Z', 'createdDateTime'],
    ['lt', "surname lt 'm'", 'surname'],
    ['ge on displayName', "displayName ge 'a'", 'displayName'],
  ])('refuses %s as an unsupported filter clause', async (_what, filter, property) => {
    const res = await graph('GET', `/users?$filter=${encodeURIComponent(filter)}&$count=true`, {
      headers: { ConsistencyLevel: 'eventual' },
    });
    expectGraphError(
      res,
      400,
      'Request_UnsupportedQuery',
      REAL
        ? undefined
        : `Unsupported or invalid query filter clause specified for property '${property}' of resource 'User'.`,
    );
  });

  it('refuses endsWith on a property other than mail, otherMails, userPrincipalName, proxyAddresses', async () => {
    const res = await graph('GET', `/users?$filter=${encodeURIComponent("endsWith(displayName,'e')")}&$count=true`, {
      headers: { ConsistencyLevel: 'eventual' },
    });
    expectGraphError(res, 400, 'Request_UnsupportedQuery');
  });
});

describe('identities', () => {
  it('moves the userPrincipalName sign-in identity along with a UPN rename', async () => {
    const { id } = await createUser();
    const renamed = `${uniqueLocal('r')}@${target.verifiedDomain}`;
    expect((await graph('PATCH', `/users/${id}`, { body: { userPrincipalName: renamed } })).status).toBe(204);
    const res = await graph('GET', `/users/${id}?$select=identities`);
    expect(res.json.identities).toEqual(
      expect.arrayContaining([expect.objectContaining({ signInType: 'userPrincipalName', issuerAssignedId: renamed })]),
    );
  });
});

describe('token endpoint parameters', () => {
  const form = (): Record<string, string> => ({
    grant_type: 'client_credentials',
    client_id: target.full.clientId,
    client_secret: target.full.secret,
    scope: 'https://graph.microsoft.com/.default',
  });

  it.each(['grant_type', 'scope'])('answers 400 invalid_request AADSTS900144 when %s is missing', async (name) => {
    const body = form();
    delete body[name];
    const res = await tokenEndpoint({ form: body });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_request', error_codes: [900144] });
    expect(res.json.error_description).toMatch(
      new RegExp(`^AADSTS900144: The request body must contain the following parameter: '${name}'\\.`),
    );
  });

  describe('the v1 endpoint (resource= instead of scope=)', () => {
    const v1Form = (resource?: string): Record<string, string> => {
      const { grant_type, client_id, client_secret } = form();
      return { grant_type, client_id, client_secret, ...(resource === undefined ? {} : { resource }) };
    };

    it('issues a Graph token for resource=https://graph.microsoft.com, its numbers written as strings', async () => {
      const res = await tokenEndpoint({ form: v1Form('https://graph.microsoft.com') }, 'oauth2/token');
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        token_type: 'Bearer',
        resource: 'https://graph.microsoft.com',
        expires_in: expect.stringMatching(/^\d+$/),
        expires_on: expect.stringMatching(/^\d+$/),
        not_before: expect.stringMatching(/^\d+$/),
        access_token: expect.any(String),
      });
      const users = await graph('GET', '/users?$top=1&$select=id', {}, res.json.access_token);
      expect(users.status).toBe(200);
    });

    it('answers 400 invalid_resource AADSTS500011 for a resource the tenant does not have', async () => {
      const res = await tokenEndpoint({ form: v1Form('https://nothing.invalid') }, 'oauth2/token');
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: 'invalid_resource', error_codes: [500011] });
      expect(res.json.error_description).toMatch(
        /^AADSTS500011: The resource principal named https:\/\/nothing\.invalid /,
      );
    });

    itWhen(!REAL)('answers 400 invalid_request AADSTS900144 when resource is missing', async () => {
      const res = await tokenEndpoint({ form: v1Form() }, 'oauth2/token');
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: 'invalid_request', error_codes: [900144] });
      expect(res.json.error_description).toMatch(/^AADSTS900144: .*'resource'\./);
    });
  });

  it('accepts client_secret_basic: the client id and secret in an HTTP Basic Authorization header', async () => {
    const { grant_type, scope } = form();
    const basic = Buffer.from(
      `${encodeURIComponent(target.full.clientId)}:${encodeURIComponent(target.full.secret)}`,
    ).toString('base64');
    const res = await tokenEndpoint({ form: { grant_type, scope }, headers: { Authorization: `Basic ${basic}` } });
    expect(res.status).toBe(200);
    const users = await graph('GET', '/users?$top=1&$select=id', {}, res.json.access_token);
    expect(users.status).toBe(200);
    const wrong = Buffer.from(`${target.full.clientId}:wrong`).toString('base64');
    const refused = await tokenEndpoint({ form: { grant_type, scope }, headers: { Authorization: `Basic ${wrong}` } });
    expect(refused.json).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });
});
