import request from 'supertest';
import { createHarness, ENTERPRISE, ERROR, PATCH_OP, snapshot, type Harness } from './harness';

/**
 * Garbage at every endpoint: always a SCIM error (4xx, scim+json, Error schema), never a 500, and nothing changes in
 * the database (rows, versions, audit, outbox).
 */
let h: Harness;
let userId: string;
let groupId: string;
beforeAll(async () => {
  h = await createHarness();
  userId = await h.scim.createUser('victim@contoso.com', { externalId: 'victim' });
  groupId = await h.scim.createGroup('Victim Team', { members: [{ value: userId }] });
  await h.db('custom_attribute_definitions').insert([
    { tenant_id: h.scim.tenantId, id: 'score', name: 'Score', type: 'number' },
    { tenant_id: h.scim.tenantId, id: 'hiredOn', name: 'Hired on', type: 'date' },
  ]);
});
afterAll(async () => h.testDb.drop());

type Method = 'post' | 'put' | 'patch';
interface Case {
  name: string;
  method: Method | 'get' | 'delete';
  path: () => string;
  body?: string;
  contentType?: string;
  status: number;
  scimType?: string;
}

const json = (v: unknown) => JSON.stringify(v);
const patch = (ops: unknown) => json({ schemas: [PATCH_OP], Operations: ops });
const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const twoWorkEmails = [
  { type: 'work', value: 'a@b.example' },
  { type: 'work', value: 'c@d.example' },
];
const filtered = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;

/** Bodies that are JSON but not an object, for every endpoint that takes a resource. */
const nonObjectBodies: Case[] = (['[]', '"x"', '1', 'null'] as const).flatMap((body) => [
  {
    name: `PUT /Users with the body ${body}`,
    method: 'put',
    path: () => `/Users/${userId}`,
    body,
    status: 400,
    scimType: 'invalidSyntax',
  },
  {
    name: `PUT /Groups with the body ${body}`,
    method: 'put',
    path: () => `/Groups/${groupId}`,
    body,
    status: 400,
    scimType: 'invalidSyntax',
  },
  {
    name: `PATCH /Users with the body ${body}`,
    method: 'patch',
    path: () => `/Users/${userId}`,
    body,
    status: 400,
    scimType: 'invalidSyntax',
  },
]);

/** A replace or add on a value filter that matches nothing and names no type has nothing to change (RFC 7644 §3.5.2.3). */
const noTargetPaths: Case[] = [
  ['replace', 'emails[value eq "nomatch@x"].value'],
  ['replace', 'emails[type co "o"].value'],
  ['replace', 'emails[type pr].value'],
  ['replace', 'emails[type eq "work" or type eq "home"].value'],
  ['add', 'emails[value eq "nomatch@x"].value'],
  ['add', 'phoneNumbers[type pr].value'],
].map(([op, path]) => ({
  name: `PATCH ${op} on ${path}, which matches nothing`,
  method: 'patch',
  path: () => `/Users/${userId}`,
  body: patch([{ op, path, value: 'new@x.example' }]),
  status: 400,
  scimType: 'noTarget',
}));

/** Wrong JSON types for string attributes are refused, not converted. */
const wrongTypes: Case[] = [
  ['title', 123],
  ['title', 2 ** 64],
  ['title', true],
  ['title', ['a', 'b']],
  ['displayName', ['Babs']],
  ['userName', 42],
  [`${ENTERPRISE}:department`, 7],
  ['emails[type eq "work"].value', 5],
].map(([path, value]) => ({
  name: `PATCH ${String(path)} with ${JSON.stringify(value)}`,
  method: 'patch',
  path: () => `/Users/${userId}`,
  body: patch([{ op: 'replace', path, value }]),
  status: 400,
  scimType: 'invalidValue',
}));

const cases: Case[] = [
  {
    // Varied, so that PostgreSQL cannot compress the index entry below its limit.
    name: 'a userName too long for its index (2,000 different three-byte characters)',
    method: 'post',
    path: () => '/Users',
    body: JSON.stringify({
      userName: Array.from({ length: 2000 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join(''),
    }),
    status: 400,
    scimType: 'invalidValue',
  },
  ...nonObjectBodies,
  ...noTargetPaths,
  ...wrongTypes,
  ...[' new.hire@contoso.com', 'new.hire@contoso.com ', '\tnew.hire@contoso.com'].map((userName): Case => ({
    name: `POST a userName with white space around it (${JSON.stringify(userName)})`,
    method: 'post',
    path: () => '/Users',
    body: json({ userName }),
    status: 400,
    scimType: 'invalidValue',
  })),
  {
    name: "PATCH a userName that is another user's with a space after it",
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'userName', value: 'other@contoso.com ' }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PUT a userName with a space before it',
    method: 'put',
    path: () => `/Users/${userId}`,
    body: json({ userName: ' victim@contoso.com' }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH replacing emails with two of type work',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'emails', value: twoWorkEmails }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH adding two emails of type work',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: 'emails', value: twoWorkEmails }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Users with two emails of type work',
    method: 'post',
    path: () => '/Users',
    body: json({ userName: 'two.work@x.example', emails: twoWorkEmails }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PUT /Users with two emails of type work',
    method: 'put',
    path: () => `/Users/${userId}`,
    body: json({ userName: 'victim@contoso.com', emails: twoWorkEmails }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Users with a numeric title',
    method: 'post',
    path: () => '/Users',
    body: json({ userName: 'num.title@x.example', title: 123 }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Groups with an array displayName',
    method: 'post',
    path: () => '/Groups',
    body: json({ displayName: ['Array Team'] }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Groups with a numeric displayName',
    method: 'post',
    path: () => '/Groups',
    body: json({ displayName: 42 }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH /Groups with a numeric displayName',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'replace', path: 'displayName', value: 42 }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Groups with members as a bare string',
    method: 'post',
    path: () => '/Groups',
    body: json({ displayName: 'Bare Members', members: 'someone' }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH /Groups adding a bare string member',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'add', path: 'members', value: 'someone' }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'GET with U+0000 as a JSON escape in a filter value',
    method: 'get',
    path: () => filtered('userName eq "a\\u0000b"'),
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with a raw U+0000 in a filter value',
    method: 'get',
    path: () => filtered('userName eq "a\u0000b"'),
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET /Groups with U+0000 in a filter value',
    method: 'get',
    path: () => `/Groups?filter=${encodeURIComponent('displayName eq "\\u0000"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'PATCH /Users with U+0000 as a JSON escape in a value-path filter (the type of a new element)',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: 'emails[type eq "a\\u0000"].value', value: 'x@contoso.com' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH /Users with an invalid JSON escape in a value-path filter',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'emails[type eq "\\x"].value', value: 'x@contoso.com' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH /Groups with U+0000 as a JSON escape in a member filter',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'remove', path: 'members[value eq "\\u0000"]' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'GET with a boolean sub-attribute compared with a non-boolean',
    method: 'get',
    path: () => filtered('emails[primary eq "maybe"]'),
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with a non-date on a custom date attribute',
    method: 'get',
    path: () => filtered(`${ENTERPRISE}:hiredOn gt "garbage"`),
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'malformed JSON on POST /Users',
    method: 'post',
    path: () => '/Users',
    body: '{"userName": ',
    status: 400,
    scimType: 'invalidSyntax',
  },
  {
    name: 'malformed JSON on PATCH /Users',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: '{,}',
    status: 400,
    scimType: 'invalidSyntax',
  },
  { name: 'JSON array body on POST /Users', method: 'post', path: () => '/Users', body: '[]', status: 400 },
  { name: 'JSON string body on POST /Groups', method: 'post', path: () => '/Groups', body: '"x"', status: 400 },
  {
    name: 'wrong content type',
    method: 'post',
    path: () => '/Users',
    body: 'userName=x',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
  },
  {
    name: 'text/plain PATCH',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([]),
    contentType: 'text/plain',
    status: 415,
  },
  {
    name: 'oversized body',
    method: 'post',
    path: () => '/Users',
    body: json({ userName: 'big@x.com', displayName: 'x'.repeat(1024 * 1024 + 10) }),
    status: 413,
  },
  { name: 'deep nesting', method: 'post', path: () => '/Users', body: deep(100), status: 400 },
  {
    name: '__proto__ key in POST body',
    method: 'post',
    path: () => '/Users',
    body: '{"userName":"p@x.com","__proto__":{"admin":true}}',
    status: 400,
  },
  {
    name: 'constructor key in PATCH value',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', value: { constructor: { prototype: { x: 1 } } } }]),
    status: 400,
  },
  {
    name: '__proto__ in a PATCH path',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: '__proto__.polluted', value: 'yes' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'constructor.prototype in a PATCH path',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: 'constructor.prototype.polluted', value: 'yes' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'prototype as an enterprise attribute',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: `${ENTERPRISE}:prototype`, value: 'x' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: '__proto__ in a group path',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'add', path: '__proto__', value: [{ value: 'x' }] }]),
    status: 400,
  },
  {
    name: 'PATCH without Operations',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: json({ schemas: [PATCH_OP] }),
    status: 400,
    scimType: 'invalidSyntax',
  },
  {
    name: 'PATCH with empty Operations',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([]),
    status: 400,
  },
  {
    name: 'PATCH with an unknown op',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'merge', path: 'displayName', value: 'x' }]),
    status: 400,
    scimType: 'invalidSyntax',
  },
  {
    name: 'PATCH op without value',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'displayName' }]),
    status: 400,
  },
  {
    name: 'PATCH path of the wrong type',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 42, value: 'x' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH path with an unknown schema URN',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'urn:evil:schema:attr', value: 'x' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH with a broken value filter',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'emails[type eq ].value', value: 'x' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH a later op failing rolls back earlier ones',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([
      { op: 'replace', path: 'displayName', value: 'changed' },
      { op: 'replace', path: 'nope', value: 1 },
    ]),
    status: 400,
  },
  {
    name: 'PATCH active with a non-boolean',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'active', value: 'maybe' }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH removing userName (required: RFC 7644 §3.5.2.2 answers mutability)',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'remove', path: 'userName' }]),
    status: 400,
    scimType: 'mutability',
  },
  {
    name: 'PATCH userName with an object',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'userName', value: { a: 1 } }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH id (read-only)',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'id', value: 'x' }]),
    status: 400,
    scimType: 'mutability',
  },
  {
    name: "PATCH id in a path-less value (read-only; only the user's own id may be restated)",
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', value: { id: '0b7e3c4e-1111-4a2b-9c3d-5e6f7a8b9c0d', title: 'Boss' } }]),
    status: 400,
    scimType: 'mutability',
  },
  {
    name: 'PATCH with a lone surrogate in a string (UTF-8 cannot hold it; it would be stored as U+FFFD)',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"a\\ud800b"}]}',
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Users with a lone low surrogate in a key',
    method: 'post',
    path: () => '/Users',
    body: '{"userName":"surrogate@contoso.com","\\udc00":"x"}',
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH emails with a non-object element',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'emails', value: ['x@y'] }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH an unknown custom attribute id',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: `${ENTERPRISE}:doesNotExist`, value: 'x' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH a number custom attribute with text',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: `${ENTERPRISE}:score`, value: 'high' }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH the manager with a number array',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'add', path: `${ENTERPRISE}:manager`, value: [1, 2] }]),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'PATCH a userName onto another user (409)',
    method: 'patch',
    path: () => `/Users/${userId}`,
    body: patch([{ op: 'replace', path: 'userName', value: 'other@contoso.com' }]),
    status: 409,
    scimType: 'uniqueness',
  },
  {
    name: 'PUT without userName',
    method: 'put',
    path: () => `/Users/${userId}`,
    body: json({ displayName: 'x' }),
    status: 400,
  },
  {
    name: 'POST with a bad date',
    method: 'post',
    path: () => '/Users',
    body: json({
      userName: 'd@x.com',
      'urn:ietf:params:scim:schemas:extension:entra-sync:2.0:User': { startDate: '2024-13-45' },
    }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST with a javascript: photo',
    method: 'post',
    path: () => '/Users',
    body: json({ userName: 'ph@x.com', photos: [{ value: 'javascript:alert(1)', type: 'photo' }] }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST with an unknown top-level attribute',
    method: 'post',
    path: () => '/Users',
    body: json({ userName: 'u@x.com', hacker: true }),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'POST with a huge userName',
    method: 'post',
    path: () => '/Users',
    body: json({ userName: 'x'.repeat(5000) }),
    status: 400,
    scimType: 'invalidValue',
  },
  {
    name: 'POST /Groups without displayName',
    method: 'post',
    path: () => '/Groups',
    body: json({ externalId: 'g' }),
    status: 400,
  },
  {
    name: 'POST /Groups with members of the wrong shape',
    method: 'post',
    path: () => '/Groups',
    body: json({ displayName: 'Bad Members', members: [{ value: 5 }] }),
    status: 400,
  },
  {
    name: 'PATCH /Groups adding members with a filter path',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'add', path: 'members[value eq "x"]', value: [] }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH /Groups removing displayName (required: mutability)',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'remove', path: 'displayName' }]),
    status: 400,
    scimType: 'mutability',
  },
  {
    name: 'PATCH /Groups with a broken member filter',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'remove', path: 'members[value eq ]' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'PATCH /Groups unknown attribute',
    method: 'patch',
    path: () => `/Groups/${groupId}`,
    body: patch([{ op: 'replace', path: 'owner', value: 'x' }]),
    status: 400,
    scimType: 'invalidPath',
  },
  {
    name: 'GET with a filter of bad syntax',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('userName eq')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with a dangling and',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('and userName eq "x"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with an unknown filter attribute',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('shoeSize eq "42"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with an unknown operator',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('userName like "x"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with pr on a value',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('userName pr "x"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with gt on a boolean',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('active gt true')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with a non-date on a date',
    method: 'get',
    path: () =>
      `/Users?filter=${encodeURIComponent('urn:ietf:params:scim:schemas:extension:entra-sync:2.0:User:birthday gt "yesterday"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with very deep nesting of not',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('not ('.repeat(600) + 'userName eq "x"' + ')'.repeat(600))}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with a filter too long',
    method: 'get',
    path: () =>
      `/Users?filter=${encodeURIComponent(Array.from({ length: 400 }, () => 'userName eq "x"').join(' or '))}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with filter given twice',
    method: 'get',
    path: () => '/Users?filter=a&filter=b',
    status: 400,
    scimType: 'invalidFilter',
  },
  { name: 'GET with a non-numeric startIndex', method: 'get', path: () => '/Users?startIndex=abc', status: 400 },
  { name: 'GET with an unknown sortBy', method: 'get', path: () => '/Users?sortBy=shoeSize', status: 400 },
  {
    name: 'GET with a bad sortOrder',
    method: 'get',
    path: () => '/Users?sortBy=userName&sortOrder=sideways',
    status: 400,
  },
  {
    name: 'GET Groups with a filter on a User attribute',
    method: 'get',
    path: () => `/Groups?filter=${encodeURIComponent('userName eq "x"')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  {
    name: 'GET with a filter injection attempt',
    method: 'get',
    path: () => `/Users?filter=${encodeURIComponent('userName eq "x") OR 1=1 --')}`,
    status: 400,
    scimType: 'invalidFilter',
  },
  { name: 'GET an unknown endpoint', method: 'get', path: () => '/Whatever', status: 404 },
  { name: 'POST /Bulk', method: 'post', path: () => '/Bulk', body: json({ Operations: [] }), status: 501 },
  { name: 'GET /Me', method: 'get', path: () => '/Me', status: 501 },
  { name: 'DELETE a malformed id', method: 'delete', path: () => '/Users/%00%27', status: 404 },
  { name: 'GET with a broken %-escape in the id', method: 'get', path: () => '/Users/%E0%A4%A', status: 400 },
  { name: 'GET with a broken %-escape in the query', method: 'get', path: () => '/Users?filter=%E0%A4%A', status: 400 },
  {
    name: 'PATCH a malformed group id',
    method: 'patch',
    path: () => "/Groups/1' or '1'='1",
    body: patch([{ op: 'replace', path: 'displayName', value: 'x' }]),
    status: 404,
  },
];

it.each(cases)('$name → $status, a SCIM error, and nothing changes', async (c) => {
  await h.scim.createUser('other@contoso.com').catch(() => undefined);
  const before = await snapshot(h.db, h.scim.tenantId);
  let req = request(h.app)[c.method](`/scim/v2${c.path()}`).set('Authorization', `Bearer ${h.scim.token}`);
  if (c.body !== undefined) req = req.set('Content-Type', c.contentType ?? 'application/scim+json').send(c.body);
  const res = await req;
  expect(res.status).toBe(c.status);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.body).toMatchObject({ schemas: [ERROR], status: String(c.status) });
  if (c.scimType) expect(res.body.scimType).toBe(c.scimType);
  expect(await snapshot(h.db, h.scim.tenantId)).toEqual(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).admin).toBeUndefined();
});

it('never stores a filter injection: values are bound parameters', async () => {
  const res = await h.scim.get(`/Users?filter=${encodeURIComponent(`userName eq "x' OR '1'='1"`)}`);
  expect(res.status).toBe(200);
  expect(res.body.totalResults).toBe(0);
});

it('keeps a userName stored with white space before the rule editable: only a new userName is checked', async () => {
  const id = await h.scim.createUser('legacy.space@contoso.com');
  await h.db('employees').where({ id }).update({ user_name: 'legacy.space@contoso.com ' });
  const res = await h.scim.ops(`/Users/${id}`, [{ op: 'replace', path: 'title', value: 'Still editable' }]);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ userName: 'legacy.space@contoso.com ', title: 'Still editable' });
});
