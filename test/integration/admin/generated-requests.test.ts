import type { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Client, Connection } from '@temporalio/client';
import fc from 'fast-check';
import request from 'supertest';
import { buildOpenApiDocument } from '../../../src/api/admin/openapi';
import { createCustomAttributeDefinition } from '../../../src/db/custom-attributes';
import { upsertOutboundSettings } from '../../../src/db/outbound-settings';
import { recordFailure } from '../../../src/db/provisioning';
import { HR_FIELDS } from '../../../src/graph/mapping';
import { makeAppCertificate, type AppCertificate } from '../../support/app-certificates';
import { buildTestApp, platformToken, seedTenant, type SeededTenant } from '../../support/app';
import { createTestDb, type TestDb } from '../../support/db';
import { createEmployee, testSecretsKey } from '../outbound/support';

/**
 * Requests to every admin endpoint that takes input, generated from the OpenAPI document's schemas (so most are ones a
 * client means, and succeed) and hostile variations of them: wrong types, unknown and prototype keys, control
 * characters, huge strings, malformed JSON, other media types and codings, other tenants' ids, other callers. The
 * promises checked for each: never a 5xx; an error is problem+json whose `status` is the HTTP status; a refused request
 * (and any read) changes nothing, and an accepted one changes only its own tenant; no client secret, certificate key
 * or issued token is ever answered (a token only once, when created); no prototype is polluted; what an accepted
 * write answers is what a following GET reads. A failure prints the shrunk request and the seed to replay it with.
 */
const RUNS = Number(process.env.GENERATED_RUNS ?? 150);

const doc = buildOpenApiDocument() as {
  paths: Record<string, Record<string, { parameters?: Param[] }>>;
  components: { schemas: Record<string, JsonSchema> };
};
interface JsonSchema {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
}
interface Param {
  name: string;
  in: string;
  schema: JsonSchema;
}
const schemas = doc.components.schemas;
const queryParams = (template: string) => (doc.paths[template]!.get!.parameters ?? []).filter((p) => p.in === 'query');

// ---------------------------------------------------------------------------------------------------------------
// The world the requests are sent into.

let t: TestDb;
let server: Server;
let connection: Connection;
const secretsKey = testSecretsKey();
/** Origins besides Microsoft's that settings may point at; nothing is ever called there (no test connection). */
const ALLOWED_ORIGINS = ['https://login.example.test', 'https://graph.example.test'];
const GHOST = '5f0c2b1e-9a7d-4c3e-8b6a-0d1e2f3a4b5c';

let platform: string;
/** hr: tokens, custom attributes, teams, employees; ob: outbound settings; q: enrolment and retries; globex: someone else. */
let hr: SeededTenant;
let ob: SeededTenant;
let q: SeededTenant;
let globex: SeededTenant;
let revokedToken: string;
const hrEmployees: string[] = [];
const qEmployees: string[] = [];
const globexEmployees: string[] = [];
let scimTeam: string;
let globexTeam: string;
let globexTokenIds: string[] = [];
const GLOBEX_ATTRIBUTE = 'globexOnly';
let cert: AppCertificate;
let expiredCert: AppCertificate;

/** Ids created by generated requests, for later generated requests to address (by index). */
const pools = {
  team: [] as string[],
  attribute: [] as string[],
  scimToken: [] as string[],
  adminToken: [] as string[],
};
/** Strings no response may contain: client secrets sent, the certificate's key, tokens (bar their creation answer). */
const secrets = new Set<string>();

beforeAll(async () => {
  t = await createTestDb();
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  const app = buildTestApp(t.db, {
    secretsKey,
    temporal: new Client({ connection }),
    graphAllowedOrigins: ALLOWED_ORIGINS,
  });
  // One server for every request: supertest would otherwise start one per request.
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  [platform, hr, ob, q, globex] = await Promise.all([
    platformToken(t.db),
    seedTenant(t.db, 'Acme'),
    seedTenant(t.db, 'Outbound'),
    seedTenant(t.db, 'Queue'),
    seedTenant(t.db, 'Globex'),
  ]);
  const revoked = await request(server)
    .post(`/admin/v1/tenants/${globex.tenantId}/admin-tokens`)
    .set('Authorization', `Bearer ${platform}`)
    .send({ name: 'revoked' })
    .expect(201);
  revokedToken = revoked.body.token;
  await t.db('api_tokens').where({ id: revoked.body.id }).update({ revoked_at: t.db.fn.now() });
  for (const s of [platform, revokedToken, ...[hr, ob, q, globex].flatMap((x) => [x.adminToken, x.scimToken])]) {
    secrets.add(s);
  }
  for (let i = 0; i < 3; i++) {
    hrEmployees.push((await createEmployee(t.db, hr.tenantId, { user_name: `hr${i}@contoso.com` })).id);
    globexEmployees.push((await createEmployee(t.db, globex.tenantId, { user_name: `gx${i}@globex.com` })).id);
  }
  // The mappings generated for the outbound tenant read this custom attribute; a mapping may read only defined ones.
  await createCustomAttributeDefinition(t.db, ob.tenantId, { id: 'costCenter', name: 'Cost center', type: 'string' });
  for (let i = 0; i < 4; i++) {
    qEmployees.push((await createEmployee(t.db, q.tenantId, { user_name: `q${i}@contoso.com` })).id);
  }
  [{ id: scimTeam }] = await t
    .db('teams')
    .insert({ tenant_id: hr.tenantId, display_name: 'From Entra', origin: 'scim', scim_managed: true })
    .returning('id');
  [{ id: globexTeam }] = await t
    .db('teams')
    .insert({ tenant_id: globex.tenantId, display_name: 'Globex team', origin: 'manual' })
    .returning('id');
  await t
    .db('custom_attribute_definitions')
    .insert({ tenant_id: globex.tenantId, id: GLOBEX_ATTRIBUTE, name: 'Globex only', type: 'string' });
  globexTokenIds = await t.db('api_tokens').where({ tenant_id: globex.tenantId }).pluck('id');
  await upsertOutboundSettings(t.db, q.tenantId, { enabled: true }, secretsKey);
  cert = await makeAppCertificate();
  expiredCert = await makeAppCertificate({
    keyPem: cert.keyPem,
    notBefore: new Date(Date.now() - 3 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  // A line from the middle of the private key: the key never leaves the server once given.
  secrets.add(cert.keyPem.trim().split('\n')[3]!);
});

afterAll(async () => {
  printDistribution();
  await new Promise((resolve) => server?.close(resolve));
  await connection?.close();
  await t?.drop();
});

// ---------------------------------------------------------------------------------------------------------------
// Requests.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
type Home = 'hr' | 'ob' | 'q';
/** own: the home tenant's admin token; other: Globex's; revoked: a revoked admin token of Globex. */
type Caller = 'own' | 'platform' | 'other' | 'scim' | 'none' | 'garbage' | 'revoked' | 'huge';
/** own/upper: the home tenant (upper: its id in upper case); other: Globex; the rest: raw path segments. */
type TenantRef = 'own' | 'upper' | 'other' | 'ghost' | 'not-a-uuid' | '%zz' | '%00' | 'long';

/** A body as sent: JSON text, raw bytes refused before any handler (with the status the docs give), or none. */
type Body =
  | { kind: 'json'; value: unknown; gzip?: boolean; type?: string }
  | { kind: 'raw'; text: string; type?: string; encoding?: string; expect: number[]; what: string }
  | { kind: 'none' };

interface Op {
  /** The OpenAPI operation, e.g. `PATCH /tenants/{tenantId}`. */
  label: string;
  method: Method;
  home: Home;
  caller: Caller;
  /** Undefined for /tenants itself. */
  tenant?: TenantRef;
  /** The path after /tenants/{tenantId}; `{team#3}` and the like name the third id of a pool, resolved when sent. */
  rest: string;
  query?: string;
  body?: Body;
  /** Built from the schema with a caller that reaches the tenant: the server should accept it (bar conflicts). */
  wellFormed: boolean;
  /** Per-run state the request meets, for the queue endpoints: outbound on or off, employees blocked. */
  setup?: QueueSetup;
}

interface QueueSetup {
  enabled: boolean;
  blocked: Array<{ employee: number; errorType: string }>;
}

const homes = (): Record<Home, SeededTenant> => ({ hr, ob, q });

function tenantSegment(op: Op): string {
  const own = homes()[op.home].tenantId;
  switch (op.tenant) {
    case 'own':
      return own;
    case 'upper':
      return own.toUpperCase();
    case 'other':
      return globex.tenantId;
    case 'ghost':
      return GHOST;
    case 'long':
      return 'a'.repeat(3000);
    default:
      return op.tenant!;
  }
}

function resolveRefs(path: string): string {
  // `{team#3!}`: the id in upper case (ids are UUIDs read in any case).
  return path.replace(/\{(\w+)#(\d+)(!?)\}/g, (_, pool: keyof typeof pools, n: string, upper: string) => {
    const ids = pools[pool];
    const id = ids.length === 0 ? GHOST : ids[Number(n) % ids.length]!;
    return upper ? id.toUpperCase() : id;
  });
}

function urlOf(op: Op): string {
  const base = op.tenant === undefined ? '/admin/v1/tenants' : `/admin/v1/tenants/${tenantSegment(op)}`;
  return `${base}${resolveRefs(op.rest)}${op.query ? `?${op.query}` : ''}`;
}

function authorization(op: Op): string | undefined {
  switch (op.caller) {
    case 'own':
      return `Bearer ${homes()[op.home].adminToken}`;
    case 'platform':
      return `Bearer ${platform}`;
    case 'other':
      return `Bearer ${globex.adminToken}`;
    case 'revoked':
      return `Bearer ${revokedToken}`;
    case 'scim':
      return `Bearer ${homes()[op.home].scimToken}`;
    case 'garbage':
      return `Basic ${Buffer.from('admin:admin').toString('base64')}`;
    case 'huge':
      return `Bearer ${homes()[op.home].adminToken}${'x'.repeat(600)}`;
    case 'none':
      return undefined;
  }
}

/** The JSON the server parses from a body (JSON.stringify drops undefined and turns NaN into null). */
function sentJson(op: Op): unknown {
  if (op.body?.kind !== 'json') return undefined;
  const text = JSON.stringify(op.body.value);
  return text === undefined ? undefined : JSON.parse(text);
}

async function send(op: Op) {
  const method = op.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete' | 'put';
  let req = request(server)[method](urlOf(op));
  const auth = authorization(op);
  if (auth) req = req.set('Authorization', auth);
  const body = op.body;
  if (body?.kind === 'json') {
    const text = JSON.stringify(body.value) ?? '';
    req = req.set('Content-Type', body.type ?? 'application/json');
    if (body.gzip) {
      // As sent: supertest would JSON-encode a Buffer (its types say string; a Buffer passes through).
      return req
        .set('Content-Encoding', 'gzip')
        .serialize((bytes: Buffer) => bytes as unknown as string)
        .send(gzipSync(text) as unknown as string);
    }
    return req.send(text);
  }
  if (body?.kind === 'raw') {
    if (body.type) req = req.set('Content-Type', body.type);
    if (body.encoding) req = req.set('Content-Encoding', body.encoding);
    return req.send(body.text);
  }
  return req;
}

// ---------------------------------------------------------------------------------------------------------------
// Generators.

/** A well-formed value for a JSON schema of the document; `overrides` by property path replace what it cannot say. */
function fromSchema(
  schema: JsonSchema,
  overrides: Record<string, fc.Arbitrary<unknown>> = {},
  at = '',
): fc.Arbitrary<unknown> {
  if (overrides[at]) return overrides[at];
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, overrides, at)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 });
    case 'string': {
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? 40;
      // zod trims before checking the length: a name of spaces only is no name.
      return fc
        .oneof(
          { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 30) }) },
          { weight: 1, arbitrary: fc.string({ minLength: max, maxLength: max }) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'Ünïcödé Gmbh',
              '名前',
              '  padded  ',
              'emoji 😀',
              'tab\there',
              'bell\u0007',
              'nbsp\u00a0x',
              'line\u2028sep',
            ),
          },
        )
        .filter((s) => s.length <= max && s.trim().length >= min);
    }
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, overrides, `${at}[]`), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      });
    case 'object': {
      const props = schema.properties ?? {};
      return fc.record(
        Object.fromEntries(Object.entries(props).map(([k, s]) => [k, fromSchema(s, overrides, at ? `${at}.${k}` : k)])),
        { requiredKeys: (schema.required ?? []).filter((k) => k in props) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** JSON.parse makes `__proto__` an own key, as the body parser would. */
const protoObject = (inner: string) => JSON.parse(`{"__proto__": ${inner}}`) as Record<string, unknown>;

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    '   ',
    '\t\r\n',
    'a\u0000b',
    '\u0001\u001f\u007f\u0085',
    '\u2028\u2029',
    '\ud800',
    'lone \udc00 low, high \ud83d',
    '\ufeff',
    '<script>alert(1)</script>',
    "'; DROP TABLE tenants; --",
    '%00',
    '../../etc/passwd',
    '${jndi:ldap://x}',
    'x'.repeat(201),
    'y'.repeat(5000),
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(protoObject('{"polluted": "yes"}'), { constructor: { prototype: { polluted: 'yes' } } }),
);
/** Keys a body may be sent with besides its own: unknown ones, prototype machinery, near misses. */
const strayKeys = fc.oneof(
  fc.constantFrom('unknown', 'id', 'tenantId', 'Name', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'),
  fc.constantFrom('constructor', 'prototype', 'a\u0000b', ''),
  fc.string({ maxLength: 8 }),
);

/** A well-formed object with some keys (its own or stray) set to hostile values. */
function withHostileKeys(good: fc.Arbitrary<unknown>, schema: JsonSchema): fc.Arbitrary<unknown> {
  const own = Object.keys(schema.properties ?? {});
  const keys = own.length > 0 ? fc.oneof(fc.constantFrom(...own), strayKeys) : strayKeys;
  return fc.tuple(good, fc.array(fc.tuple(keys, hostileValue), { minLength: 1, maxLength: 3 })).map(([g, extra]) => {
    const out = { ...(g as Record<string, unknown>) };
    for (const [k, v] of extra) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
    return out;
  });
}

/** Bodies refused before any handler reads them, with the status docs/admin-api.md gives each. */
const transportBodies: fc.Arbitrary<Body> = fc.oneof(
  fc
    .constantFrom('{', '{"name": ', '{"a":1,}', "{'a':1}", '{"a":1}}', 'nul', '{"a": undefined}', '{"a":1} x', '\u00ff')
    .map((text): Body => ({ kind: 'raw', text, type: 'application/json', expect: [400], what: 'malformed JSON' })),
  fc
    .constantFrom(
      '{"__proto__": {"polluted": "yes"}}',
      '{"name": "x", "constructor": {"prototype": {"polluted": "yes"}}}',
      '{"mapping": [{"prototype": 1}]}',
      '{"name": "a\\u0000b"}',
      '{"a\\u0000": 1}',
      `{"a": ${'['.repeat(40)}${']'.repeat(40)}}`,
    )
    .map((text): Body => ({
      kind: 'raw',
      text,
      type: 'application/json',
      expect: [400],
      what: 'refused key or value',
    })),
  fc.constant<Body>({
    kind: 'raw',
    text: JSON.stringify({ name: 'x'.repeat(70 * 1024) }),
    type: 'application/json',
    expect: [413],
    what: 'too large',
  }),
  fc
    .constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/jsonx',
      'json',
      'application/json; charset=latin1',
    )
    .map((type): Body => ({ kind: 'raw', text: '{"name":"x"}', type, expect: [415], what: 'not JSON' })),
  fc.constantFrom('compress', 'x-custom', 'gzip, compress').map((encoding): Body => ({
    kind: 'raw',
    text: '{"name":"x"}',
    type: 'application/json',
    encoding,
    expect: [415],
    what: 'unknown coding',
  })),
  fc.constantFrom('gzip', 'deflate', 'br').map((encoding): Body => ({
    kind: 'raw',
    text: '{"name":"x"}',
    type: 'application/json',
    encoding,
    expect: [400],
    what: 'does not inflate',
  })),
);

/** A body for an operation whose request body is `schema`: mostly well-formed, sometimes hostile. */
function bodyFor(good: fc.Arbitrary<unknown>, schema: JsonSchema): fc.Arbitrary<{ body: Body; wellFormed: boolean }> {
  const json = (value: unknown, wellFormed: boolean, gzip = false, type?: string) => ({
    body: { kind: 'json', value, gzip, ...(type ? { type } : {}) } as Body,
    wellFormed,
  });
  // What docs/admin-api.md accepts besides plain application/json: any application/*+json, a charset, gzip.
  const jsonTypes = fc.constantFrom(
    'application/json; charset=utf-8',
    'application/merge-patch+json',
    'APPLICATION/JSON',
  );
  return fc.oneof(
    { weight: 14, arbitrary: good.map((v) => json(v, true)) },
    { weight: 1, arbitrary: good.map((v) => json(v, true, true)) },
    { weight: 1, arbitrary: fc.tuple(good, jsonTypes).map(([v, type]) => json(v, true, false, type)) },
    { weight: 4, arbitrary: withHostileKeys(good, schema).map((v) => json(v, false)) },
    { weight: 2, arbitrary: hostileValue.map((v) => json(v, false)) },
    { weight: 1, arbitrary: fc.constant({ body: { kind: 'none' } as Body, wellFormed: false }) },
    { weight: 3, arbitrary: transportBodies.map((body) => ({ body, wellFormed: false })) },
  );
}

/** Caller and tenant: mostly a caller that reaches the tenant, sometimes one that must not. */
const access: fc.Arbitrary<{ caller: Caller; tenant: TenantRef }> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ caller: 'own' as Caller, tenant: 'own' as TenantRef }) },
  { weight: 5, arbitrary: fc.constant({ caller: 'platform' as Caller, tenant: 'own' as TenantRef }) },
  { weight: 1, arbitrary: fc.constant({ caller: 'own' as Caller, tenant: 'upper' as TenantRef }) },
  {
    weight: 2,
    arbitrary: fc.record({
      caller: fc.constantFrom<Caller>('own', 'platform'),
      tenant: fc.constantFrom<TenantRef>('ghost', 'not-a-uuid', '%zz', '%00', 'long'),
    }),
  },
  // Another tenant's id with this tenant's token (the platform token would reach it: that is no hostile request).
  { weight: 1, arbitrary: fc.constant({ caller: 'own' as Caller, tenant: 'other' as TenantRef }) },
  {
    weight: 2,
    arbitrary: fc.record({
      caller: fc.constantFrom<Caller>('other', 'scim', 'none', 'garbage', 'revoked', 'huge'),
      tenant: fc.constant<TenantRef>('own'),
    }),
  },
);
const reaches = (a: { caller: Caller; tenant?: TenantRef }) =>
  (a.caller === 'own' || a.caller === 'platform') && (a.tenant === 'own' || a.tenant === 'upper');

/** An id in the path: one that exists here (maybe in upper case), another tenant's, or none at all. */
function pathId(own: string[], others: string[]): fc.Arbitrary<{ id: string; known: boolean }> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...own).map((id) => ({ id, known: true })) },
    { weight: 1, arbitrary: fc.constantFrom(...own).map((id) => ({ id: id.toUpperCase(), known: true })) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.constantFrom(...others, GHOST, 'not-a-uuid', '%zz', '%00', '%E2%80%A8', 'a'.repeat(3000), '..'),
          fc.uuid(),
          fc.string({ maxLength: 12 }).map(encodeURIComponent),
        )
        .map((id) => ({ id, known: false })),
    },
  );
}

/** Query strings: the parameters as the document types them, or hostile ones. */
function queryFor(params: Param[], values: Record<string, fc.Arbitrary<string>> = {}) {
  const wellFormed = fc
    .record(
      Object.fromEntries(
        params.map((p) => [p.name, values[p.name] ?? (fromSchema(p.schema).map(String) as fc.Arbitrary<string>)]),
      ),
      { requiredKeys: [] },
    )
    .map((q) => ({ query: new URLSearchParams(q as Record<string, string>).toString(), wellFormed: true }));
  const names = params.map((p) => p.name);
  const hostileKey = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...names).map((n) => `${n}[]`),
    fc.constantFrom(...names).map((n) => `${n}[a]`),
    fc.constantFrom('__proto__[polluted]', 'constructor[prototype][polluted]', 'unknown', 'a[b][c][d]'),
  );
  const hostileRaw = fc.oneof(
    fc.constantFrom('', '-1', '0', '1.5', '1e3', '1e20', '9007199254740993', '9007199254740991', 'NaN', '0x10'),
    fc.constantFrom('Infinity', '%20%205', '-0', '+3', '1_000'),
    fc.constantFrom('true', 'TRUE', 'yes', '%zz', '%00', 'a'.repeat(3000), GHOST, 'BLOCKED', 'UpnConflict', 'active'),
    fc.string({ maxLength: 10 }).map(encodeURIComponent),
  );
  const hostile = fc
    .array(fc.tuple(hostileKey, hostileRaw), { minLength: 1, maxLength: 4 })
    .map((pairs) => ({ query: pairs.map(([k, v]) => `${k}=${v}`).join('&'), wellFormed: false }));
  return fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 1, arbitrary: hostile });
}

// ---------------------------------------------------------------------------------------------------------------
// Operations per area. Each returns requests with their own `home` tenant.

/** Limits that make pages short, and some of the document's. */
const smallLimit = fc.oneof(fc.integer({ min: 1, max: 4 }).map(String), fc.constantFrom('100', '500'));

const T = (rest: string) => `/tenants/{tenantId}${rest}`;

function op(
  label: string,
  method: Method,
  home: Home,
  a: { caller: Caller; tenant?: TenantRef },
  rest: string,
  extra: Partial<Op> = {},
): Op {
  return { label, method, home, caller: a.caller, tenant: a.tenant, rest, wellFormed: false, ...extra };
}

function bodyOp(
  label: string,
  method: Method,
  home: Home,
  rest: string,
  schema: JsonSchema,
  good: fc.Arbitrary<unknown>,
  path: fc.Arbitrary<{ rest: string; known: boolean }> = fc.constant({ rest, known: true }),
): fc.Arbitrary<Op> {
  return fc
    .tuple(access, path, bodyFor(good, schema))
    .map(([a, p, b]) =>
      op(label, method, home, a, p.rest, { body: b.body, wellFormed: b.wellFormed && p.known && reaches(a) }),
    );
}

function tenantOps(): fc.Arbitrary<Op> {
  const createAccess = fc.oneof(
    { weight: 4, arbitrary: fc.constant<Caller>('platform') },
    { weight: 1, arbitrary: fc.constantFrom<Caller>('own', 'other', 'scim', 'none', 'revoked') },
  );
  const create = fc
    .tuple(createAccess, bodyFor(fromSchema(schemas.TenantCreate!), schemas.TenantCreate!))
    .map(([caller, b]) =>
      op('POST /tenants', 'POST', 'hr', { caller }, '', {
        body: b.body,
        wellFormed: b.wellFormed && caller === 'platform',
      }),
    );
  const tokenKind = fc.constantFrom('scim-tokens', 'admin-tokens');
  const tokenCreates = tokenKind.chain((kind) =>
    bodyOp(`POST ${T(`/${kind}`)}`, 'POST', 'hr', `/${kind}`, schemas.TokenCreate!, fromSchema(schemas.TokenCreate!)),
  );
  const tokenDeletes = fc
    .tuple(
      access,
      tokenKind,
      fc.oneof(
        { weight: 6, arbitrary: fc.nat().map((n) => ({ ref: `{scimToken#${n}}`, pool: 'scim-tokens' })) },
        { weight: 6, arbitrary: fc.nat().map((n) => ({ ref: `{adminToken#${n}}`, pool: 'admin-tokens' })) },
        {
          weight: 3,
          arbitrary: fc
            .oneof(fc.constantFrom(...globexTokenIds, GHOST, 'not-a-uuid', '%zz', '%00'), fc.uuid())
            .map((ref) => ({ ref, pool: 'none' })),
        },
      ),
    )
    .map(([a, kind, id]) =>
      op(`DELETE ${T(`/${kind}/{tokenId}`)}`, 'DELETE', 'hr', a, `/${kind}/${id.ref}`, {
        wellFormed: reaches(a) && id.pool === kind,
      }),
    );
  const patch = bodyOp(
    'PATCH /tenants/{tenantId}',
    'PATCH',
    'hr',
    '',
    schemas.TenantPatch!,
    fromSchema(schemas.TenantPatch!),
  );
  const reads = fc
    .tuple(access, fc.constantFrom('', '/scim-tokens', '/admin-tokens'))
    .map(([a, rest]) => op(`GET ${T(rest)}`, 'GET', 'hr', a, rest, { wellFormed: reaches(a) }));
  return fc.oneof(
    { weight: 1, arbitrary: reads },
    { weight: 2, arbitrary: create },
    { weight: 3, arbitrary: patch },
    { weight: 3, arbitrary: tokenCreates },
    { weight: 3, arbitrary: tokenDeletes },
  );
}

function hrOps(): fc.Arbitrary<Op> {
  const attributeSchema = schemas.CustomAttributeCreate!;
  const attributeIds = fc.oneof(
    fc.constantFrom('costCenter', 'badgeNumber', 'a-b_c', GLOBEX_ATTRIBUTE, 'x'.repeat(64)),
    fc.stringMatching(new RegExp(attributeSchema.properties!.id!.pattern!)),
  );
  const createAttribute = bodyOp(
    `POST ${T('/custom-attributes')}`,
    'POST',
    'hr',
    '/custom-attributes',
    attributeSchema,
    fromSchema(attributeSchema, { id: attributeIds }),
  );
  const deleteAttribute = fc
    .tuple(
      access,
      fc.oneof(
        { weight: 4, arbitrary: fc.nat().map((n) => ({ id: `{attribute#${n}}`, known: true })) },
        {
          weight: 2,
          arbitrary: fc
            .oneof(
              fc.constantFrom(
                GLOBEX_ATTRIBUTE,
                '__proto__',
                'constructor',
                '%00',
                '%zz',
                'x'.repeat(3000),
                '%E2%80%A8',
              ),
              fc.string({ maxLength: 20 }).map(encodeURIComponent),
            )
            .map((id) => ({ id, known: false })),
        },
      ),
    )
    .map(([a, p]) =>
      op(`DELETE ${T('/custom-attributes/{id}')}`, 'DELETE', 'hr', a, `/custom-attributes/${p.id}`, {
        wellFormed: reaches(a) && p.known,
      }),
    );
  const teamNames = fc.oneof(
    fromSchema(schemas.TeamCreate!.properties!.displayName!),
    fc.constantFrom('Engineering', 'ENGINEERING', ' engineering ', 'From Entra', 'Globex team'),
  );
  const createTeam = bodyOp(
    `POST ${T('/teams')}`,
    'POST',
    'hr',
    '/teams',
    schemas.TeamCreate!,
    fromSchema(schemas.TeamCreate!, { displayName: teamNames }),
  );
  const teamRef = fc.oneof(
    { weight: 4, arbitrary: fc.nat().map((n) => ({ id: `{team#${n}}`, known: true })) },
    { weight: 1, arbitrary: fc.nat().map((n) => ({ id: `{team#${n}!}`, known: true })) },
    { weight: 1, arbitrary: fc.constant({ id: scimTeam, known: true }) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(fc.constantFrom(globexTeam, GHOST, 'not-a-uuid', '%zz', '%00', 'a'.repeat(3000)), fc.uuid())
        .map((id) => ({ id, known: false })),
    },
  );
  const teamByMethod = fc
    .tuple(access, fc.constantFrom<Method>('GET', 'DELETE'), teamRef)
    .map(([a, method, p]) =>
      op(`${method} ${T('/teams/{teamId}')}`, method, 'hr', a, `/teams/${p.id}`, { wellFormed: reaches(a) && p.known }),
    );
  const employee = pathId(hrEmployees, globexEmployees);
  const listEmployees = fc
    .tuple(access, queryFor(queryParams(T('/employees')), { offset: fc.nat(4).map(String), limit: smallLimit }))
    .map(([a, qs]) =>
      op(`GET ${T('/employees')}`, 'GET', 'hr', a, '/employees', {
        query: qs.query,
        wellFormed: qs.wellFormed && reaches(a),
      }),
    );
  const getEmployee = fc.tuple(access, employee).map(([a, p]) =>
    op(`GET ${T('/employees/{employeeId}')}`, 'GET', 'hr', a, `/employees/${p.id}`, {
      wellFormed: reaches(a) && p.known,
    }),
  );
  const patchEmployee = bodyOp(
    `PATCH ${T('/employees/{employeeId}')}`,
    'PATCH',
    'hr',
    '',
    schemas.EmployeePatch!,
    fromSchema(schemas.EmployeePatch!),
    employee.map((p) => ({ rest: `/employees/${p.id}`, known: p.known })),
  );
  const audit = fc
    .tuple(access, employee, queryFor(queryParams(T('/employees/{employeeId}/audit')), { limit: smallLimit }))
    .map(([a, p, qs]) =>
      op(`GET ${T('/employees/{employeeId}/audit')}`, 'GET', 'hr', a, `/employees/${p.id}/audit`, {
        query: qs.query,
        wellFormed: reaches(a) && p.known && qs.wellFormed,
      }),
    );
  const reads = fc
    .tuple(access, fc.constantFrom('/custom-attributes', '/teams'))
    .map(([a, rest]) => op(`GET ${T(rest)}`, 'GET', 'hr', a, rest, { wellFormed: reaches(a) }));
  return fc.oneof(
    { weight: 1, arbitrary: reads },
    { weight: 3, arbitrary: createAttribute },
    { weight: 2, arbitrary: deleteAttribute },
    { weight: 3, arbitrary: createTeam },
    { weight: 2, arbitrary: teamByMethod },
    { weight: 2, arbitrary: listEmployees },
    { weight: 1, arbitrary: getEmployee },
    { weight: 3, arbitrary: patchEmployee },
    { weight: 2, arbitrary: audit },
  );
}

/** Client secrets are recognisable, so that none can be missed in a response. */
const clientSecret = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 })
  .map((hex) => `cs~${hex}`);
const SECRET_FORMAT = /^cs~[0-9a-f]{24}$/;
const EXTENSION_TARGET = `extension_${'5bfc8fdacfc943a9a6de214ea9d15fdb'}_costCenter`;

function settingsOps(): fc.Arbitrary<Op> {
  const schema = schemas.OutboundSettingsPatch!;
  const uuid = fc.oneof(
    fc.uuid(),
    fc.uuid().map((u) => u.toUpperCase()),
  );
  const optionalMapping = [
    { source: 'jobTitle', target: 'jobTitle' },
    { source: 'department', target: 'department' },
    { source: 'location', target: 'officeLocation' },
    { source: 'employeeNumber', target: 'employeeId' },
    { source: 'displayName', target: 'displayName' },
    { source: 'startDate', target: 'employeeHireDate' },
    { source: 'customAttributes.costCenter', target: EXTENSION_TARGET },
    { source: 'division', target: 'employeeOrgData.division' },
  ];
  const mapping = fc
    .tuple(fc.constantFrom('givenName', 'displayName'), fc.subarray(optionalMapping))
    .map(([given, rest]) => [
      { source: given, target: 'givenName' },
      { source: 'familyName', target: 'surname' },
      ...rest,
    ]);
  const watched = fc.array(
    fc.constantFrom(...HR_FIELDS, 'active', 'teams', 'customAttributes', 'customAttributes.costCenter'),
    { maxLength: 8 },
  );
  const fields = fromSchema(schema, {
    graphTenantId: fc.oneof(
      uuid,
      fc.constantFrom('contoso.onmicrosoft.com', 'Contoso.OnMicrosoft.com', ' fabrikam.com ', null),
    ),
    clientId: fc.oneof(uuid, fc.constant(null)),
    // A credential is added below: at most one of them.
    clientSecret: fc.constant(undefined),
    clientCertificate: fc.constant(undefined),
    authorityHost: fc.constantFrom(
      'https://login.microsoftonline.com',
      'https://login.microsoftonline.us',
      'https://login.example.test',
      'https://LOGIN.example.test/',
      '  https://login.microsoftonline.com  ',
      null,
    ),
    graphBaseUrl: fc.constantFrom(
      'https://graph.microsoft.com',
      'https://graph.microsoft.com/',
      'https://graph.example.test/v1.0//',
      'https://graph.microsoft.us',
      null,
    ),
    mapping,
    watchedAttributes: watched,
  });
  const credential = fc.oneof(
    { weight: 2, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: clientSecret.map((s) => ({ clientSecret: s })) },
    { weight: 1, arbitrary: fc.constant(null).map(() => ({ clientCertificate: cert.pem })) },
  );
  const good = fc.tuple(fields, credential).map(([f, c]) => {
    const out = Object.fromEntries(Object.entries(f as object).filter(([, v]) => v !== undefined));
    return { ...out, ...c };
  });
  // Values the schema's types allow but the server refuses: where the secret would go, broken certificates.
  const refusedValue = fc.oneof(
    fc.record({
      authorityHost: fc.constantFrom(
        'http://login.microsoftonline.com',
        'https://evil.example',
        'https://user:pw@login.microsoftonline.com',
        'https://login.microsoftonline.com/tenant',
        'https://login.microsoftonline.com?x=1',
        'javascript:alert(1)',
        `https://${'a'.repeat(2100)}.com`,
        '',
      ),
    }),
    fc.record({
      graphBaseUrl: fc.constantFrom(
        'https://graph.microsoft.com#frag',
        'https://graph.evil.example',
        'ftp://graph.microsoft.com',
        `https://graph.microsoft.com/${'/'.repeat(2100)}`,
        `https://graph.microsoft.com/${'ä'.repeat(1000)}`,
        'https://graph.example.test:8443',
      ),
    }),
    fc.record({
      clientCertificate: fc.constantFrom(
        'not a pem',
        cert.certPem,
        cert.keyPem,
        'x'.repeat(40_000),
        '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      ),
    }),
    fc.constant(null).map(() => ({ clientCertificate: expiredCert.pem })),
    clientSecret.map((s) => ({ clientSecret: s, clientCertificate: cert.pem })),
    // The secret under a misspelt key, or of the wrong type: refused without being quoted.
    clientSecret.chain((s) =>
      fc.constantFrom({ client_secret: s }, { ClientSecret: s }, { clientSecret: [s] }, { clientSecret: { value: s } }),
    ),
    fc.record({ clientSecret: fc.constantFrom('', 'z'.repeat(1001)) }),
    fc.record({ graphTenantId: fc.constantFrom('', 'not a domain', 'contoso', '-a.com', `${'a'.repeat(250)}.com`) }),
    fc.record({ clientId: fc.constantFrom('', 'contoso.com', '{5bfc8fda-cfc9-43a9-a6de-214ea9d15fdb}') }),
    fc.record({
      mapping: fc.constantFrom(
        [],
        [{ source: 'givenName', target: 'givenName' }],
        [
          { source: 'givenName', target: 'givenName' },
          { source: 'familyName', target: 'surname' },
          { source: 'department', target: 'surname' },
        ],
        [
          { source: 'givenName', target: 'givenName' },
          { source: 'familyName', target: 'surname' },
          { source: 'customAttributes.__proto__', target: 'department' },
        ],
        [
          { source: 'givenName', target: 'givenName' },
          { source: 'familyName', target: 'surname' },
          { source: 'password', target: 'passwordProfile' },
        ],
      ),
    }),
    fc.record({
      watchedAttributes: fc.constantFrom(['customAttributes.a.b'], ['password'], Array(201).fill('department')),
    }),
  );
  const refused = fc.tuple(good, refusedValue).map(([g, r]) => {
    const out: Record<string, unknown> = { ...g, ...r };
    if ('clientCertificate' in r && !('clientSecret' in r)) delete out.clientSecret;
    return out;
  });
  const body = fc.oneof(
    { weight: 5, arbitrary: bodyFor(good, schema) },
    { weight: 2, arbitrary: refused.map((value) => ({ body: { kind: 'json', value } as Body, wellFormed: false })) },
  );
  const patch = fc.tuple(access, body).map(([a, b]) =>
    op(`PATCH ${T('/outbound/settings')}`, 'PATCH', 'ob', a, '/outbound/settings', {
      body: b.body,
      wellFormed: b.wellFormed && reaches(a),
    }),
  );
  const get = access.map((a) =>
    op(`GET ${T('/outbound/settings')}`, 'GET', 'ob', a, '/outbound/settings', { wellFormed: reaches(a) }),
  );
  return fc.oneof({ weight: 6, arbitrary: patch }, { weight: 1, arbitrary: get });
}

function queueOps(): fc.Arbitrary<Op> {
  const errorTypes = schemas.RetryBlockedBody!.properties!.errorType!.enum as string[];
  const setup: fc.Arbitrary<QueueSetup> = fc.record({
    enabled: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    blocked: fc.array(
      fc.record({ employee: fc.nat(qEmployees.length - 1), errorType: fc.constantFrom(...errorTypes) }),
      { maxLength: 3 },
    ),
  });
  const ownIds = fc.array(
    fc.constantFrom(...qEmployees).chain((id) => fc.constantFrom(id, id.toUpperCase())),
    { minLength: 1, maxLength: 4 },
  );
  const enrolBody = fc.oneof(
    fc.constant({ all: true }),
    ownIds.map((employeeIds) => ({ employeeIds })),
  );
  const strangers = fc.array(fc.oneof(fc.constantFrom(...qEmployees, ...globexEmployees, ...hrEmployees), fc.uuid()), {
    minLength: 1,
    maxLength: 3,
  });
  const enrol = fc
    .tuple(
      access,
      fc.oneof(
        { weight: 5, arbitrary: bodyFor(enrolBody, schemas.EnrolBody!.anyOf![1]!) },
        {
          weight: 1,
          arbitrary: fc
            .oneof(
              strangers.map((employeeIds) => ({ employeeIds })),
              fc.constantFrom({}, { all: false }, { employeeIds: [] }, { all: true, employeeIds: [GHOST] }),
              fc.constant(null).map(() => ({ employeeIds: Array(1001).fill(qEmployees[0]) })),
              fc.constant({ employeeIds: ['not-a-uuid'] }),
            )
            .map((value) => ({ body: { kind: 'json', value } as Body, wellFormed: false })),
        },
      ),
      setup,
    )
    .map(([a, b, s]) =>
      op(`POST ${T('/outbound/enrol')}`, 'POST', 'q', a, '/outbound/enrol', {
        body: b.body,
        wellFormed: b.wellFormed && reaches(a),
        setup: s,
      }),
    );
  const retry = fc
    .tuple(access, bodyFor(fromSchema(schemas.RetryBlockedBody!), schemas.RetryBlockedBody!), setup)
    .map(([a, b, s]) =>
      op(`POST ${T('/outbound/retry')}`, 'POST', 'q', a, '/outbound/retry', {
        body: b.body,
        wellFormed: b.wellFormed && reaches(a),
        setup: s,
      }),
    );
  const employee = pathId(qEmployees, globexEmployees);
  const list = fc
    .tuple(
      access,
      queryFor(queryParams(T('/outbound/employees')), {
        after: fc.oneof(fc.constantFrom(...qEmployees), fc.uuid()),
        limit: smallLimit,
      }),
      setup,
    )
    .map(([a, qs, s]) =>
      op(`GET ${T('/outbound/employees')}`, 'GET', 'q', a, '/outbound/employees', {
        query: qs.query,
        wellFormed: qs.wellFormed && reaches(a),
        setup: s,
      }),
    );
  const one = fc
    .tuple(
      access,
      employee,
      fc.constantFrom('', '/retry', '/preview'),
      queryFor(queryParams(T('/outbound/employees/{employeeId}/preview'))),
    )
    .map(([a, p, sub, qs]) =>
      op(
        `${sub === '/retry' ? 'POST' : 'GET'} ${T(`/outbound/employees/{employeeId}${sub}`)}`,
        sub === '/retry' ? 'POST' : 'GET',
        'q',
        a,
        `/outbound/employees/${p.id}${sub}`,
        { query: sub === '/preview' ? qs.query : undefined, wellFormed: reaches(a) && p.known && qs.wellFormed },
      ),
    );
  const plain = fc
    .tuple(access, fc.constantFrom<[Method, string]>(['GET', '/outbound/summary'], ['POST', '/outbound/settings/test']))
    .map(([a, [method, rest]]) => op(`${method} ${T(rest)}`, method, 'q', a, rest, { wellFormed: reaches(a) }));
  return fc.oneof(
    { weight: 4, arbitrary: enrol },
    { weight: 3, arbitrary: retry },
    { weight: 2, arbitrary: list },
    { weight: 3, arbitrary: one },
    { weight: 1, arbitrary: plain },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// What every answer must keep.

/** Digests of every tenant's rows per table, keyed `table/tenant` (`-` for the platform's); volatile columns left out. */
async function snapshot(): Promise<Record<string, string>> {
  const digest = (table: string, row: string, order: string) =>
    `SELECT '${table}' AS tbl, coalesce(tenant_id::text, '-') AS tenant,
            md5(string_agg(${row}, '|' ORDER BY ${order})) AS digest FROM ${table} x GROUP BY tenant_id`;
  const { rows } = await t.db.raw<{ rows: Array<{ tbl: string; tenant: string; digest: string }> }>(
    [
      `SELECT 'tenants' AS tbl, id::text AS tenant, md5(x::text) AS digest FROM tenants x`,
      // last_used_at is written (at most once a minute) by any authenticated request.
      digest('api_tokens', `concat_ws(',', id, kind, name, token_prefix, revoked_at)`, 'id'),
      digest('custom_attribute_definitions', 'x::text', 'id'),
      digest('teams', 'x::text', 'id'),
      digest('team_members', 'x::text', 'team_id, employee_id'),
      digest('employees', 'x::text', 'id'),
      digest('employee_provisioning', 'x::text', 'employee_id'),
      digest('outbound_settings', 'x::text', 'tenant_id'),
      digest('pending_references', 'x::text', 'x::text'),
      // Append-only: how many and the last one.
      `SELECT 'audit_events', tenant_id::text, count(*) || ':' || max(id) FROM audit_events GROUP BY tenant_id`,
      `SELECT 'outbox', tenant_id::text, count(*) || ':' || max(id) FROM outbox GROUP BY tenant_id`,
    ].join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [`${r.tbl}/${r.tenant}`, r.digest]));
}

const ofTenant = (state: Record<string, string>, tenant: string | undefined) =>
  Object.fromEntries(Object.entries(state).filter(([k]) => k.split('/')[1] !== tenant));

function expectNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(Object.keys(Array.prototype)).toEqual([]);
}

/** The statuses a request must get whatever its body says, where the order of the checks decides it. */
function expectedStatuses(o: Op): number[] | undefined {
  if (['scim', 'none', 'garbage', 'revoked', 'huge'].includes(o.caller)) return [401];
  if (o.body?.kind === 'raw') return o.body.expect;
  if (o.body?.kind === 'json' && refusedByParser(sentJson(o))) return [400];
  if (o.tenant === undefined) return o.label === 'POST /tenants' && o.caller !== 'platform' ? [403] : undefined;
  if (o.tenant === '%zz') return [400];
  if (!reaches(o)) return [404];
  return undefined;
}

/** A string PostgreSQL cannot hold as sent: U+0000, or a UTF-16 surrogate without its other half. */
const unstorable = (s: string) =>
  s.includes('\u0000') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/**
 * Whether the JSON body parser refuses a value outright, before the tenant is looked at: a prototype key, or a key or
 * string PostgreSQL cannot hold, anywhere.
 */
function refusedByParser(value: unknown): boolean {
  if (typeof value === 'string') return unstorable(value);
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value).some(
    ([k, v]) => ['__proto__', 'constructor', 'prototype'].includes(k) || unstorable(k) || refusedByParser(v),
  );
}

const seen = new Map<string, Map<string, number>>();
function count(o: Op, status: number) {
  const key = o.label;
  const byStatus = seen.get(key) ?? new Map<string, number>();
  const k = `${o.wellFormed ? 'wf' : 'hostile'} ${status}`;
  byStatus.set(k, (byStatus.get(k) ?? 0) + 1);
  seen.set(key, byStatus);
}
function printDistribution() {
  const lines = [...seen.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, byStatus]) => {
      const part = (kind: string) =>
        [...byStatus.entries()]
          .filter(([k]) => k.startsWith(kind))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, n]) => `${k.split(' ')[1]}×${n}`)
          .join(' ');
      return `${label.padEnd(56)} well-formed: ${part('wf ').padEnd(28)} hostile: ${part('hostile ')}`;
    });
  if (lines.length > 0) console.log(`Statuses of generated admin requests (runs: ${RUNS})\n${lines.join('\n')}`);
}

type Answer = Awaited<ReturnType<typeof send>>;

/** Sends `o` and holds the answer to every promise; `check` then holds a success to what the endpoint promises. */
async function exercise(o: Op, check: (res: Answer, sent: unknown) => Promise<void>): Promise<Answer> {
  const sent = sentJson(o);
  // Every client secret sent, wherever in the body: under a misspelt key or of the wrong type it is one all the same.
  JSON.stringify(sent, (_k, v: unknown) => {
    if (typeof v === 'string' && SECRET_FORMAT.test(v)) secrets.add(v);
    return v;
  });
  const before = await snapshot();
  const res = await send(o);
  count(o, res.status);
  const context = `${o.method} ${urlOf(o).slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`;

  if (res.status >= 500) throw new Error(`5xx: ${context}`);
  const expected = expectedStatuses(o);
  if (expected && !expected.includes(res.status)) throw new Error(`expected ${expected.join('/')}: ${context}`);
  if (res.status >= 200 && res.status < 300 && res.status !== 204) {
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  }
  if (res.status >= 400) {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String) }));
    expect(res.body.status).toBe(res.status);
    if ('detail' in res.body) expect(typeof res.body.detail).toBe('string');
  }
  for (const secret of secrets) {
    if (res.text.includes(secret)) throw new Error(`a secret was answered: ${context}`);
  }
  expectNoPollution();

  const after = await snapshot();
  if (res.status >= 300 || o.method === 'GET') {
    expect(after).toEqual(before);
  } else {
    // A write changes its own tenant only (a new tenant: itself only).
    const target = o.tenant === undefined ? res.body.id : homes()[o.home].tenantId;
    expect(ofTenant(after, target)).toEqual(ofTenant(before, target));
    await check(res, sent);
  }
  return res;
}

async function applySetup(s: QueueSetup) {
  await upsertOutboundSettings(t.db, q.tenantId, { enabled: s.enabled }, secretsKey);
  for (const b of s.blocked) {
    await recordFailure(t.db, q.tenantId, qEmployees[b.employee]!, {
      blocked: true,
      reason: 'generated',
      errorType: b.errorType,
    });
  }
}

/** A reader of the tenant a request went to, with the token that reached it. */
function reader(o: Op) {
  const auth = authorization(o)!;
  const base = o.tenant === undefined ? '/admin/v1/tenants' : `/admin/v1/tenants/${homes()[o.home].tenantId}`;
  return (path: string) => request(server).get(`${base}${path}`).set('Authorization', auth);
}
const asRecord = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------------------------------------------------------
// Round trips: what an accepted write answers is what a following GET reads (and what was sent).

async function checkTenantWrite(o: Op, res: Answer, sent: unknown) {
  const body = asRecord(sent);
  if (o.method === 'POST' && o.tenant === undefined) {
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(UUID_RE);
    expect(res.headers.location).toBe(`/admin/v1/tenants/${res.body.id}`);
    expect(res.body.name).toBe(String(body.name).trim());
    expect(res.body.inviteNewEmployees).toBe(body.inviteNewEmployees ?? false);
    const read = await request(server)
      .get(`/admin/v1/tenants/${res.body.id}`)
      .set('Authorization', `Bearer ${platform}`);
    expect(read.body).toEqual(res.body);
    return;
  }
  expect(res.status).toBe(200);
  if (typeof body.name === 'string') expect(res.body.name).toBe(body.name.trim());
  if (typeof body.inviteNewEmployees === 'boolean') expect(res.body.inviteNewEmployees).toBe(body.inviteNewEmployees);
  expect((await reader(o)('')).body).toEqual(res.body);
}

async function checkTokenWrite(o: Op, res: Answer, sent: unknown) {
  const kind = o.rest.startsWith('/scim-tokens') ? 'scim' : 'admin';
  const path = `/${kind}-tokens`;
  if (o.method === 'POST') {
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const { token, ...record } = res.body as Record<string, unknown>;
    expect(String(token)).toMatch(new RegExp(`^es_${kind}_`));
    expect(record).toMatchObject({
      name: String(asRecord(sent).name ?? 'token').trim(),
      active: true,
      revokedAt: null,
    });
    expect(String(token).startsWith(String(record.prefix))).toBe(true);
    const listed = (await reader(o)(path)).body.items as Array<Record<string, unknown>>;
    expect(listed).toContainEqual(record);
    // Shown once: from now on no answer may carry it.
    secrets.add(String(token));
    pools[kind === 'scim' ? 'scimToken' : 'adminToken'].push(String(record.id));
    return;
  }
  expect(res.status).toBe(204);
  const id = resolveRefs(o.rest).split('/').pop()!.toLowerCase();
  const listed = (await reader(o)(path)).body.items as Array<Record<string, unknown>>;
  // Revoked through …/scim-tokens, it is a SCIM token (and so on): the list of that kind shows it revoked.
  expect(listed.find((x) => x.id === id)).toMatchObject({ active: false, revokedAt: expect.any(String) });
}

async function checkHrWrite(o: Op, res: Answer, sent: unknown) {
  const body = asRecord(sent);
  const read = reader(o);
  if (o.label.endsWith('/custom-attributes')) {
    expect(res.status).toBe(201);
    if (typeof body.id === 'string') expect(res.body.id).toBe(body.id);
    expect(res.body).toMatchObject({ name: String(body.name).trim(), type: body.type });
    expect(res.body.scimPath).toBe(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:${res.body.id}`);
    expect((await read('/custom-attributes')).body.items).toContainEqual(res.body);
    pools.attribute.push(res.body.id);
  } else if (o.label.endsWith('/custom-attributes/{id}')) {
    expect(res.status).toBe(204);
    const id = decodeURIComponent(resolveRefs(o.rest).split('/').pop()!);
    const items = (await read('/custom-attributes')).body.items as Array<{ id: string }>;
    expect(items.map((d) => d.id)).not.toContain(id);
    pools.attribute.splice(pools.attribute.indexOf(id), 1);
  } else if (o.label.endsWith('/teams')) {
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ displayName: String(body.displayName).trim(), origin: 'manual', memberCount: 0 });
    expect((await read(`/teams/${res.body.id}`)).body).toEqual(res.body);
    pools.team.push(res.body.id);
  } else if (o.label.startsWith('DELETE') && o.label.endsWith('/teams/{teamId}')) {
    expect(res.status).toBe(204);
    const id = resolveRefs(o.rest).split('/').pop()!.toLowerCase();
    expect((await read(`/teams/${id}`)).status).toBe(404);
    pools.team.splice(pools.team.indexOf(id), 1);
  } else if (o.label.endsWith('/employees/{employeeId}')) {
    expect(res.status).toBe(200);
    expect(res.body.lifecycleStatus).toBe(body.lifecycleStatus);
    expect(res.body.active).toBe(!['deactivated', 'terminated'].includes(String(body.lifecycleStatus)));
    expect((await read(`/employees/${res.body.id}`)).body).toEqual(res.body);
  } else {
    throw new Error(`no round trip for ${o.label}`);
  }
}

/** The settings after a PATCH of `body` to `previous`: what was sent, normalised as documented; the rest as it was. */
function settingsAfter(previous: Record<string, unknown>, body: Record<string, unknown>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...previous };
  const url = (v: unknown) => (v === null ? null : new URL(String(v).trim()));
  for (const k of ['enabled', 'setManager', 'mapping']) if (k in body) next[k] = body[k];
  if ('graphTenantId' in body) {
    const v = body.graphTenantId === null ? null : String(body.graphTenantId).trim();
    next.graphTenantId = v !== null && UUID_RE.test(v.toLowerCase()) ? v.toLowerCase() : v;
  }
  if ('clientId' in body) next.clientId = body.clientId === null ? null : String(body.clientId).toLowerCase();
  if ('authorityHost' in body) next.authorityHost = url(body.authorityHost)?.origin ?? null;
  if ('graphBaseUrl' in body) {
    const u = url(body.graphBaseUrl);
    next.graphBaseUrl = u ? `${u.origin}${u.pathname.replace(/\/+$/, '')}` : null;
  }
  if ('watchedAttributes' in body) next.watchedAttributes = [...new Set(body.watchedAttributes as string[])];
  if ('clientSecret' in body) Object.assign(next, { clientSecretSet: true, clientCertificate: null });
  if ('clientCertificate' in body) {
    Object.assign(next, {
      clientSecretSet: false,
      clientCertificate: { thumbprint: cert.thumbprint, notAfter: cert.notAfter.toISOString() },
    });
  }
  delete next.updatedAt;
  return next;
}

async function checkSettingsWrite(o: Op, res: Answer, sent: unknown, previous: Record<string, unknown>) {
  expect(res.status).toBe(200);
  const { updatedAt, ...written } = res.body as Record<string, unknown>;
  expect(written).toEqual(settingsAfter(previous, asRecord(sent)));
  expect(typeof updatedAt).toBe('string');
  expect((await reader(o)('/outbound/settings')).body).toEqual(res.body);
}

// ---------------------------------------------------------------------------------------------------------------

describe('generated admin API requests', () => {
  it('tenants and tokens: a write a GET reads back, or a problem+json 4xx that changed nothing', async () => {
    await fc.assert(
      fc.asyncProperty(tenantOps(), async (o) => {
        await exercise(o, async (res, sent) =>
          o.rest.includes('tokens') ? checkTokenWrite(o, res, sent) : checkTenantWrite(o, res, sent),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('custom attributes, teams and employees: the same promises, and reads of employees answer pages as asked', async () => {
    await fc.assert(
      fc.asyncProperty(hrOps(), async (o) => {
        const res = await exercise(o, async (r, sent) => checkHrWrite(o, r, sent));
        if (o.wellFormed && res.status === 200 && o.query !== undefined) checkPage(o, res);
      }),
      { numRuns: RUNS },
    );
  });

  it('outbound settings: written as sent (the credential write-only), or refused and unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(settingsOps(), async (o) => {
        const previous = (
          await request(server)
            .get(`/admin/v1/tenants/${ob.tenantId}/outbound/settings`)
            .set('Authorization', `Bearer ${platform}`)
        ).body;
        const res = await exercise(o, async (r, sent) => checkSettingsWrite(o, r, sent, previous));
        if (!o.wellFormed) return;
        // Well-formed settings are taken, unless they change where the stored credential goes without giving it again.
        if (res.status === 400) {
          const body = asRecord(sentJson(o));
          const next = settingsAfter(previous, body);
          const moved = ['graphTenantId', 'clientId', 'authorityHost', 'graphBaseUrl'].filter((k) => {
            const fold = (v: unknown) => (typeof v === 'string' && k.endsWith('Id') ? v.toLowerCase() : v);
            return fold(next[k]) !== fold(previous[k]);
          });
          expect(String(res.body.detail)).toMatch(/^Changing /);
          expect(previous.clientSecretSet || previous.clientCertificate !== null).toBe(true);
          expect('clientSecret' in body || 'clientCertificate' in body).toBe(false);
          expect(moved.length).toBeGreaterThan(0);
        } else {
          expect(res.status).toBe(200);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('enrolment, retries and provisioning status: queued as asked, or refused and unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(queueOps(), async (o) => {
        if (o.setup) await applySetup(o.setup);
        const blockedBefore = await blockedOf();
        const res = await exercise(o, async (r, sent) => checkQueueWrite(o, r, sent, blockedBefore));
        if (!o.wellFormed) return;
        // What the state decides: queueing needs outbound switched on; no workflow runs here to take a retry.
        if (o.label.endsWith('/enrol') || o.label.endsWith('/outbound/retry')) {
          expect(res.status).toBe(o.setup!.enabled ? 202 : 409);
        } else if (o.label.endsWith('/retry')) {
          expect({ status: res.status, detail: res.body.detail }).toEqual({
            status: 409,
            detail: 'not retried: the employee is not enrolled in outbound provisioning',
          });
        } else if (o.label.endsWith('/preview')) {
          expect(res.body).toMatchObject({ action: 'blocked', errorType: 'NotConfigured' });
        } else if (o.label.endsWith('/settings/test')) {
          expect(res.status).toBe(409);
        } else {
          expect(res.status).toBe(200);
          if (o.query !== undefined) checkPage(o, res);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('paths and methods the API does not have: 405 with Allow, or 404; problem+json either way', async () => {
    const templates = Object.keys(doc.paths);
    const methods: Method[] = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'];
    const arbitrary = fc.tuple(
      fc.constantFrom(...templates),
      fc.constantFrom(...methods),
      fc.constantFrom('', '/', '/nope/deeper'),
      fc.constantFrom<Caller>('own', 'platform'),
    );
    await fc.assert(
      fc.asyncProperty(arbitrary, async ([template, method, suffix, caller]) => {
        const rest = template.replace(/^\/tenants(\/\{tenantId\})?/, '').replace(/\{[^}]+\}/g, GHOST) + suffix;
        const documented = Object.keys(doc.paths[template]!).map((m) => m.toUpperCase());
        const o = op(
          suffix === '/nope/deeper' ? 'probe: a path the API does not have' : 'probe: a method the path does not have',
          method,
          'hr',
          { caller, tenant: template === '/tenants' ? undefined : 'own' },
          rest,
        );
        if (template === '/tenants' && suffix !== '') return;
        const res = await exercise(o, async () => {});
        if (suffix === '' || suffix === '/') {
          if (!documented.includes(method)) {
            expect(res.status).toBe(405);
            expect(res.headers.allow).toBeDefined();
          }
        } else {
          expect(res.status).toBe(404);
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

async function blockedOf(): Promise<Array<{ employee_id: string; error_type: string }>> {
  return t
    .db('employee_provisioning')
    .where({ tenant_id: q.tenantId, state: 'BLOCKED' })
    .select('employee_id', 'error_type');
}

async function checkQueueWrite(
  o: Op,
  res: Answer,
  sent: unknown,
  blockedBefore: Awaited<ReturnType<typeof blockedOf>>,
) {
  const body = asRecord(sent);
  const states = async () =>
    Object.fromEntries(
      (await t.db('employee_provisioning').where({ tenant_id: q.tenantId })).map((r) => [r.employee_id, r.state]),
    ) as Record<string, string>;
  if (o.label.endsWith('/enrol')) {
    expect(res.status).toBe(202);
    const ids =
      body.all === true ? qEmployees : [...new Set((body.employeeIds as string[]).map((id) => id.toLowerCase()))];
    expect(res.body).toEqual({ enrolled: ids.length });
    const now = await states();
    for (const id of ids) expect(now[id]).toBe('PENDING');
  } else if (o.label.endsWith('/outbound/retry')) {
    expect(res.status).toBe(202);
    const retried = blockedBefore.filter((b) => body.errorType === undefined || b.error_type === body.errorType);
    expect(res.body).toEqual({ retried: retried.length });
    const now = await states();
    for (const b of retried) expect(now[b.employee_id]).toBe('PENDING');
  } else {
    throw new Error(`unexpected success of ${o.label}: ${res.status} ${res.text}`);
  }
}

/** A page answered as asked: no more than the limit, only what the filters name, in order, with the right cursor. */
function checkPage(o: Op, res: Answer) {
  const params = new URLSearchParams(o.query);
  const num = (name: string, fallback: number) => (params.has(name) ? Number(params.get(name)) : fallback);
  const items = res.body.items as Array<Record<string, unknown>>;
  if (o.label.endsWith('/outbound/employees')) {
    const limit = num('limit', 100);
    expect(items.length).toBeLessThanOrEqual(limit);
    const ids = items.map((i) => String(i.employeeId));
    expect([...ids].sort()).toEqual(ids);
    if (params.has('after')) for (const id of ids) expect(id > params.get('after')!.toLowerCase()).toBe(true);
    if (params.has('state')) for (const i of items) expect(i.state).toBe(params.get('state'));
    if (params.has('errorType')) for (const i of items) expect(i.errorType).toBe(params.get('errorType'));
    if (res.body.next !== null)
      expect({ next: res.body.next, full: items.length === limit }).toEqual({ next: ids.at(-1), full: true });
  } else if (o.label.endsWith('/audit')) {
    const limit = num('limit', 100);
    expect(items.length).toBeLessThanOrEqual(limit);
    const ids = items.map((i) => Number(i.id));
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    if (params.has('before')) for (const id of ids) expect(id).toBeLessThan(num('before', 0));
    if (res.body.next !== null)
      expect({ next: res.body.next, full: items.length === limit }).toEqual({ next: ids.at(-1), full: true });
  } else if (o.label.endsWith('/employees')) {
    const limit = num('limit', 100);
    const offset = num('offset', 0);
    expect({ limit: res.body.limit, offset: res.body.offset }).toEqual({ limit, offset });
    expect(items.length).toBeLessThanOrEqual(Math.min(limit, Math.max(0, res.body.total - offset)));
    if (params.has('active')) for (const i of items) expect(i.active).toBe(params.get('active') === 'true');
    if (params.has('lifecycleStatus'))
      for (const i of items) expect(i.lifecycleStatus).toBe(params.get('lifecycleStatus'));
  }
}
