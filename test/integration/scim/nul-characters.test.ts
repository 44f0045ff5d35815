import request from 'supertest';
import { createHarness, ERROR, PATCH_OP, snapshot, type Harness } from './harness';

/**
 * U+0000 is valid JSON ("\u0000") but PostgreSQL text cannot hold it: every body carrying it, in any string or key,
 * is refused as the body is parsed — 400 invalidValue, never a 500 from the database, and nothing is written.
 */
let h: Harness;
let userId: string;
let groupId: string;
beforeAll(async () => {
  h = await createHarness();
  userId = await h.scim.createUser('nul.victim@contoso.com');
  groupId = await h.scim.createGroup('Nul Team');
});
afterAll(async () => h.testDb.drop());

const NUL = '\u0000';
const patch = (ops: unknown) => ({ schemas: [PATCH_OP], Operations: ops });

const cases: Array<{ name: string; method: 'post' | 'put' | 'patch'; path: () => string; body: () => unknown }> = [
  {
    name: 'a user attribute on create',
    method: 'post',
    path: () => '/Users',
    body: () => ({ userName: 'nul.new@contoso.com', title: `a${NUL}b` }),
  },
  { name: 'the userName on create', method: 'post', path: () => '/Users', body: () => ({ userName: `x${NUL}@c.com` }) },
  {
    name: 'a PATCH value',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: () => patch([{ op: 'replace', path: 'title', value: `a${NUL}` }]),
  },
  {
    name: 'a PATCH path',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: () => patch([{ op: 'replace', path: `title${NUL}`, value: 'x' }]),
  },
  {
    name: 'a key of a path-less PATCH value',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: () => patch([{ op: 'replace', value: { [`title${NUL}`]: 'x' } }]),
  },
  {
    name: 'a replaced user',
    method: 'put',
    path: () => `/Users/${userId}`,
    body: () => ({ userName: 'nul.victim@contoso.com', name: { givenName: NUL } }),
  },
  {
    name: 'a group displayName',
    method: 'post',
    path: () => '/Groups',
    body: () => ({ displayName: `Team${NUL}` }),
  },
  {
    name: 'a member value',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: () => patch([{ op: 'add', path: 'members', value: [{ value: `${userId}${NUL}` }] }]),
  },
];

it.each(cases)('U+0000 in $name → 400 invalidValue, nothing written', async (c) => {
  const before = await snapshot(h.db, h.scim.tenantId);
  const res = await request(h.app)
    [c.method](`/scim/v2${c.path()}`)
    .set('Authorization', `Bearer ${h.scim.token}`)
    .set('Content-Type', 'application/scim+json')
    .send(JSON.stringify(c.body()));
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue' });
  expect(res.body.detail).toMatch(/U\+0000/);
  expect(await snapshot(h.db, h.scim.tenantId)).toEqual(before);
});
