import fc from 'fast-check';
import { createHarness, ENTERPRISE, ERROR, PRODUCT, snapshot, type Harness } from './harness';

/**
 * Requests generated from the shapes clients send — Entra's quirks, RFC forms, and hostile variations of both — with
 * the promises the SCIM server makes for every one of them: never a 5xx; a refusal is a SCIM error that changes
 * nothing; an accepted PATCH answers what a later GET reads; no prototype is polluted. The hand-written cases in
 * bad-input.test.ts pin known inputs; these find the combinations nobody wrote down. A failure prints the shrunk
 * request and the seed to replay it with (fc.assert's `seed` and `path`).
 */
let h: Harness;
const userIds: string[] = [];
let groupId: string;
beforeAll(async () => {
  h = await createHarness();
  for (const name of ['gen.a@contoso.com', 'gen.b@contoso.com', 'gen.c@contoso.com'])
    userIds.push(await h.scim.createUser(name, { externalId: name.split('@')[0] }));
  groupId = await h.scim.createGroup('Generated', { members: [{ value: userIds[0] }] });
  await h.db('custom_attribute_definitions').insert([
    { tenant_id: h.scim.tenantId, id: 'score', name: 'Score', type: 'number' },
    { tenant_id: h.scim.tenantId, id: 'hiredOn', name: 'Hired on', type: 'date' },
    { tenant_id: h.scim.tenantId, id: 'remote', name: 'Remote', type: 'boolean' },
  ]);
});
afterAll(async () => h.testDb.drop());

const RUNS = Number(process.env.GENERATED_RUNS ?? 150);

/** JSON.parse makes `__proto__` an own key, as express's body parser does with what a client sends. */
const protoObject = (inner: string) => JSON.parse(`{"__proto__": ${inner}}`) as Record<string, unknown>;

const userPaths = [
  'userName',
  'displayName',
  'title',
  'active',
  'externalId',
  'name',
  'name.givenName',
  'name.familyName',
  'name.formatted',
  'emails',
  'emails[type eq "work"].value',
  'emails[type eq "work"].primary',
  'emails[type eq "home"]',
  'emails[primary eq true].value',
  'emails[value eq "gen.a@contoso.com"]',
  'phoneNumbers[type eq "mobile"].value',
  'phoneNumbers',
  'addresses[type eq "work"].locality',
  'addresses',
  'photos',
  'photos[type eq "photo"].value',
  'id',
  'meta',
  'groups',
  'schemas',
  `${ENTERPRISE}:department`,
  `${ENTERPRISE}:employeeNumber`,
  `${ENTERPRISE}:manager`,
  `${ENTERPRISE}:manager.value`,
  ENTERPRISE,
  `${PRODUCT}:level`,
  `${PRODUCT}:startDate`,
  `${PRODUCT}:birthday`,
  `${ENTERPRISE}:score`,
  `${ENTERPRISE}:hiredOn`,
  `${ENTERPRISE}:remote`,
  `urn:ietf:params:scim:schemas:core:2.0:User:title`,
  '__proto__',
  '__proto__.polluted',
  'constructor.prototype.polluted',
  'name.__proto__',
  'emails[type eq "work"].__proto__',
  'emails[value eq "\\u0000"].value',
  'emails[type eq "work" or type eq "home"].value',
  'emails[not (type eq "work")].value',
  'emails[type eq ].value',
  'emails[[type eq "work"]].value',
  'members',
  'name..givenName',
  '',
];

const strings = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('True', 'False', 'true', '2026-02-30', '2026-01-31', 'https://photos.example/a.png', 'x\u0000y'),
  fc.emailAddress(),
  fc.string({ minLength: 2040, maxLength: 2060 }),
);
const scalars = fc.oneof(strings, fc.boolean(), fc.integer(), fc.double(), fc.constant(null));
const elements = fc.array(
  fc.record(
    {
      value: scalars,
      type: fc.constantFrom('work', 'home', 'mobile', 'photo', 'Work', 7),
      primary: fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'maybe')),
      locality: scalars,
      display: scalars,
    },
    { requiredKeys: [] },
  ),
  { maxLength: 3 },
);
const values: fc.Arbitrary<unknown> = fc.oneof(
  scalars,
  elements,
  fc.record({ value: scalars }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom(...userPaths), scalars, { maxKeys: 4 }),
  fc.constantFrom(protoObject('{"polluted": "yes"}'), { constructor: { prototype: { polluted: 'yes' } } }),
  fc.jsonValue({ maxDepth: 3 }),
);
/** Values of the right kind for a path, so that most generated operations are ones a client means to be applied. */
const text = fc.string({ minLength: 1, maxLength: 20 });
const date = fc.oneof(
  fc
    .date({ min: new Date('1900-01-01'), max: new Date('2100-12-31'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom('2026-02-30', '31.01.2026'),
);
const fitting: Array<[string, fc.Arbitrary<unknown>]> = [
  ['userName', fc.emailAddress()],
  ['displayName', text],
  ['title', fc.oneof(text, fc.constant(null))],
  ['active', fc.constantFrom(true, false, 'True', 'False')],
  ['externalId', text],
  ['name', fc.record({ givenName: text, familyName: text }, { requiredKeys: [] })],
  ['name.givenName', text],
  ['name.familyName', text],
  [
    'emails',
    fc.array(fc.record({ value: fc.emailAddress(), type: fc.constantFrom('work', 'home') }), { maxLength: 2 }),
  ],
  ['emails[type eq "work"].value', fc.emailAddress()],
  ['emails[type eq "home"].primary', fc.constantFrom(true, 'True', false)],
  ['phoneNumbers[type eq "mobile"].value', fc.stringMatching(/^\+?[0-9 ]{3,15}$/)],
  ['addresses[type eq "work"].locality', text],
  ['photos', fc.constant([{ value: 'https://photos.example/p.png', type: 'photo' }])],
  [`${ENTERPRISE}:department`, text],
  [`${ENTERPRISE}:employeeNumber`, text],
  [`${ENTERPRISE}:manager`, fc.oneof(fc.constantFrom('0', '1', '2'), fc.uuid())],
  [`${PRODUCT}:level`, fc.constantFrom('L1', 'L2', 'Senior')],
  [`${PRODUCT}:startDate`, date],
  [`${PRODUCT}:birthday`, date],
  [`${ENTERPRISE}:score`, fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))],
  [`${ENTERPRISE}:hiredOn`, date],
  [`${ENTERPRISE}:remote`, fc.constantFrom(true, false, 'True')],
];
const wellFormedOperation = fc.oneof(
  ...fitting.map(([path, value]) =>
    fc.record({ op: fc.constantFrom('add', 'replace', 'Replace'), path: fc.constant(path), value }),
  ),
  fc.constantFrom(...fitting.map(([path]) => path)).map((path) => ({ op: 'remove', path })),
  // Entra's path-less form: a map of paths to values.
  fc
    .subarray(fitting, { minLength: 1, maxLength: 3 })
    .chain((pairs) => fc.tuple(...pairs.map(([path, value]) => value.map((v) => [path, v] as const))))
    .map((entries) => ({ op: 'replace', value: Object.fromEntries(entries) })),
);
const hostileOperation = fc.record(
  {
    op: fc.constantFrom('add', 'replace', 'remove', 'Add', 'copy', 7),
    path: fc.oneof(fc.constantFrom(...userPaths), fc.string({ maxLength: 30 })),
    value: values,
  },
  { requiredKeys: ['op'] },
);
const userOperation = fc.oneof(
  { weight: 6, arbitrary: wellFormedOperation },
  { weight: 1, arbitrary: hostileOperation },
);
/** '0'..'2' as a manager or member value stand for the pool's users, so references that exist are generated too. */
const withUserIds = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(withUserIds);
  if (typeof v === 'string' && ['0', '1', '2'].includes(v)) return userIds[Number(v)];
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withUserIds(x)]));
  return v;
};
const patchBody = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .array(userOperation, { minLength: 1, maxLength: 3 })
      .map((ops) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: withUserIds(ops) })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** The promises every refused request keeps: 4xx, SCIM's error shape, and nothing written. */
async function expectRefusedCleanly(
  res: { status: number; body: Record<string, unknown>; headers: Record<string, string> },
  before: unknown,
): Promise<void> {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.body.schemas).toEqual([ERROR]);
  expect(typeof res.body.detail).toBe('string');
  expect(await snapshot(h.db, h.scim.tenantId)).toEqual(before);
}

function expectNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(Object.keys(Object.prototype)).toEqual([]);
}

describe('generated PATCH /Users requests', () => {
  it('answer 200 with what a GET then reads, or a SCIM 4xx that wrote nothing; never 5xx or a polluted prototype', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1, 2), patchBody, async (which, body) => {
        const id = userIds[which];
        const before = await snapshot(h.db, h.scim.tenantId);
        const res = await h.scim.patch(`/Users/${id}`, body);
        expectNoPollution();
        if (res.status === 200) {
          const read = await h.scim.get(`/Users/${id}`);
          expect(read.status).toBe(200);
          expect(read.body).toEqual(res.body);
          expect(typeof read.body.userName).toBe('string');
          expect(read.body.userName.trim()).not.toBe('');
        } else {
          await expectRefusedCleanly(res, before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('generated string values', () => {
  /** Plain string attributes and where a GET shows them. */
  type Resource = Record<string, Record<string, unknown> | undefined>;
  const targets: Array<[string, (u: Resource) => unknown]> = [
    ['title', (u) => u.title],
    ['displayName', (u) => u.displayName],
    ['name.givenName', (u) => u.name?.givenName],
    [`${ENTERPRISE}:department`, (u) => u[ENTERPRISE]?.department],
    [`${ENTERPRISE}:employeeNumber`, (u) => u[ENTERPRISE]?.employeeNumber],
    [`${PRODUCT}:gender`, (u) => u[PRODUCT]?.gender],
  ];
  /** Any text a client may send: every Unicode unit, also emoji and combining marks, and lone surrogates. */
  const anyText = fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), minLength: 1 }),
  );
  const isStorable = (s: string) =>
    !s.includes('\u0000') && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

  it('read back exactly as sent, or are refused with 400 when PostgreSQL cannot hold them (NUL, lone surrogates)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), anyText, async ([path, read], value) => {
        const res = await h.scim.ops(`/Users/${userIds[1]}`, [{ op: 'replace', path, value }]);
        if (!isStorable(value)) {
          expect(res.status).toBe(400);
          expect(res.body.scimType).toBe('invalidValue');
          return;
        }
        expect(res.status).toBe(200);
        expect(read((await h.scim.get(`/Users/${userIds[1]}`)).body)).toBe(value);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('generated POST /Users bodies', () => {
  const resource = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .subarray(fitting, { maxLength: 6 })
        .chain((pairs) => fc.tuple(...pairs.map(([path, value]) => value.map((v) => [path, v] as const))))
        .map((entries) => withUserIds(Object.fromEntries(entries)) as Record<string, unknown>),
    },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...userPaths), values, { maxKeys: 6 }) },
  );
  it('create a user a GET reads back as answered, or a SCIM 4xx that wrote nothing', async () => {
    await fc.assert(
      fc.asyncProperty(resource, fc.emailAddress(), async (body, userName) => {
        const sent = { userName, ...body };
        const before = await snapshot(h.db, h.scim.tenantId);
        const res = await h.scim.post('/Users', sent);
        expectNoPollution();
        if (res.status === 201) {
          const read = await h.scim.get(`/Users/${res.body.id}`);
          expect(read.status).toBe(200);
          expect(read.body).toEqual(res.body);
          // Keep the tenant small: the generated users are not needed again.
          expect((await h.scim.delete(`/Users/${res.body.id}`)).status).toBe(204);
          await h.db('employees').where({ id: res.body.id }).delete();
        } else {
          await expectRefusedCleanly(res, before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('generated filters', () => {
  const attributePaths = fc.constantFrom(
    'userName',
    'externalId',
    'id',
    'active',
    'title',
    'name.givenName',
    'emails',
    'emails.value',
    'emails[type eq "work"].value',
    'emails[type eq "work"]',
    'phoneNumbers.type',
    'meta.created',
    'meta.lastModified',
    `${ENTERPRISE}:manager`,
    `${ENTERPRISE}:department`,
    `${ENTERPRISE}:score`,
    `${ENTERPRISE}:hiredOn`,
    `${ENTERPRISE}:remote`,
    `${PRODUCT}:startDate`,
    'groups',
    'members',
    '__proto__',
    'constructor',
    'unknownAttr',
  );
  const operators = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'xx');
  const operands = fc.oneof(
    fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
    fc.constantFrom('true', 'false', 'null', '"2026-01-01"', '"2026-01-01T00:00:00Z"', 'jyoung', '"\\u00', '"a\\"b"'),
    fc.integer().map(String),
    fc.double({ noNaN: true }).map(String),
    fc.uuid().map((u) => JSON.stringify(u)),
  );
  const comparison = fc.oneof(
    fc.tuple(attributePaths, operators, operands).map(([a, o, v]) => `${a} ${o} ${v}`),
    attributePaths.map((a) => `${a} pr`),
  );
  const { filter } = fc.letrec<{ filter: string }>((tie) => ({
    filter: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      comparison,
      fc.tuple(tie('filter'), fc.constantFrom('and', 'or', 'AND'), tie('filter')).map(([l, j, r]) => `${l} ${j} ${r}`),
      tie('filter').map((f) => `not (${f})`),
      tie('filter').map((f) => `(${f})`),
      fc.string({ maxLength: 30 }),
    ),
  }));

  it('answer 200 with a ListResponse, or 400 invalidFilter, on /Users and /Groups; never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(filter, fc.constantFrom('Users', 'Groups'), async (f, resource) => {
        const res = await h.scim.get(`/${resource}?filter=${encodeURIComponent(f)}`);
        if (res.status === 200) {
          expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
          expect(res.body.Resources.length).toBeLessThanOrEqual(res.body.totalResults);
        } else {
          expect(res.status).toBe(400);
          expect(res.body.schemas).toEqual([ERROR]);
          expect(res.body.scimType).toBe('invalidFilter');
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('generated PATCH /Groups requests', () => {
  const groupPaths = fc.constantFrom(
    'displayName',
    'externalId',
    'members',
    'members[value eq "x"]',
    `members[value eq "${'0'.repeat(8)}-0000-0000-0000-000000000000"]`,
    'members.value',
    'id',
    'meta',
    '__proto__',
    'urn:ietf:params:scim:schemas:core:2.0:Group:displayName',
  );
  const memberValues = fc.oneof(
    fc.array(fc.record({ value: fc.oneof(fc.constantFrom(...(['0', '1', '2'] as const)), fc.uuid(), fc.string()) }), {
      maxLength: 3,
    }),
    values,
  );
  const hostileOperation = fc.record(
    {
      op: fc.constantFrom('add', 'replace', 'remove', 'Add', 'Remove'),
      path: groupPaths,
      value: memberValues,
    },
    { requiredKeys: ['op'] },
  );
  /** Operations Entra and Okta send, with the pool's users ('0'..'2') as members. */
  const poolRefs = fc.subarray(['0', '1', '2'], { minLength: 1 }).map((ids) => ids.map((value) => ({ value })));
  const wellFormedOperation = fc.oneof(
    fc.record({ op: fc.constantFrom('add', 'Add'), path: fc.constant('members'), value: poolRefs }),
    fc.record({ op: fc.constantFrom('remove', 'Remove'), path: fc.constant('members'), value: poolRefs }),
    fc.record({ op: fc.constant('replace'), path: fc.constant('members'), value: poolRefs }),
    fc.constantFrom('0', '1', '2').map((i) => ({ op: 'remove', path: `members[value eq "${i}"]` })),
    fc.record({
      op: fc.constantFrom('replace', 'Replace'),
      path: fc.constant('displayName'),
      value: fc.string({ minLength: 1, maxLength: 30 }).filter((n) => n.trim() !== ''),
    }),
  );
  type GroupModel = { displayName: string; members: Set<string> };
  /** What the group must look like after well-formed operations, applied in order. */
  const modelAfter = (model: GroupModel, ops: Array<{ op: string; path?: string; value?: unknown }>): GroupModel => {
    const next = { displayName: model.displayName, members: new Set(model.members) };
    const ids = (v: unknown) => (v as Array<{ value: string }>).map((m) => m.value);
    for (const o of ops) {
      const op = o.op.toLowerCase();
      const filtered = /^members\[value eq "(.+)"\]$/.exec(o.path ?? '');
      if (o.path === 'displayName') next.displayName = String(o.value).trim();
      else if (filtered) next.members.delete(filtered[1]);
      else if (op === 'add') ids(o.value).forEach((id) => next.members.add(id));
      else if (op === 'remove') ids(o.value).forEach((id) => next.members.delete(id));
      else next.members = new Set(ids(o.value));
    }
    return next;
  };
  const withPoolIds = (o: { op: string; path?: string; value?: unknown }) => ({
    ...o,
    ...(o.path ? { path: o.path.replace(/"([012])"/, (_, i: string) => `"${userIds[Number(i)]}"`) } : {}),
    ...('value' in o ? { value: withUserIds(o.value) } : {}),
  });

  it('apply well-formed operations as a model of the group says: 204, then a GET shows that name and those members', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(wellFormedOperation, { minLength: 1, maxLength: 4 }), async (ops) => {
        const current = await h.scim.get(`/Groups/${groupId}`);
        const members = (current.body.members ?? []) as Array<{ value: string }>;
        const sent = ops.map(withPoolIds);
        const expected = modelAfter(
          { displayName: current.body.displayName, members: new Set(members.map((m) => m.value)) },
          sent,
        );
        const res = await h.scim.ops(`/Groups/${groupId}`, sent);
        expect(res.status).toBe(204);
        const read = await h.scim.get(`/Groups/${groupId}`);
        expect(read.body.displayName).toBe(expected.displayName);
        expect(((read.body.members ?? []) as Array<{ value: string }>).map((m) => m.value).sort()).toEqual(
          [...expected.members].sort(),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('answer 204 and leave a readable group, or a SCIM 4xx that wrote nothing; never 5xx', async () => {
    const operation = fc.oneof(
      { weight: 1, arbitrary: wellFormedOperation },
      { weight: 2, arbitrary: hostileOperation },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 3 }), async (ops) => {
        const before = await snapshot(h.db, h.scim.tenantId);
        const res = await h.scim.ops(`/Groups/${groupId}`, ops.map(withPoolIds));
        expectNoPollution();
        if (res.status === 204) {
          const read = await h.scim.get(`/Groups/${groupId}`);
          expect(read.status).toBe(200);
          expect(typeof read.body.displayName).toBe('string');
        } else {
          await expectRefusedCleanly(res, before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
