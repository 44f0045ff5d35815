import fc from 'fast-check';
import contractJson from '../../../src/graph/graph-user-contract.json';
import type { HttpOptions, HttpResult } from './http';
import {
  DEFAULT_SET,
  EXT_PREFIX,
  FULL_APP_ID,
  OTHER_TENANT_ID,
  TENANT_ID,
  emulatorTarget,
  tokenFor,
  type GraphTarget,
} from './target';

/**
 * Graph requests generated from the shapes entra-sync and other clients send — well-formed ones built from the user
 * contract (src/graph/graph-user-contract.json) and hostile variations of them — with the promises the emulator makes
 * for every one, as real Graph does: never a 5xx (fault injection stays off); every refusal is Graph's error envelope
 * and changes nothing; an accepted write reads back; list pages neither repeat nor lose users and hold exactly the
 * users the filter selects; no prototype is polluted. A failure prints the shrunk request and the seed to replay it
 * with (fc.assert's `seed` and `path`). GENERATED_RUNS sets the runs per property; GENERATED_STATS=1 prints the
 * status distribution of each property.
 */

const RUNS = Number(process.env.GENERATED_RUNS ?? 150);
const DOMAIN = 'contoso.com';
const HR_ID = `${EXT_PREFIX}_hrId`;
const SKILLS = `${EXT_PREFIX}_skills`;
const LEVEL = `${EXT_PREFIX}_level`;
const GROUP_ONLY = `${EXT_PREFIX}_groupOnly`;
const EXTENSIONS = [HR_ID, SKILLS, LEVEL];
const PASSWORD = 'kT9#mQ2vLp!x';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

interface PropertySchema {
  type?: string;
  format?: string;
  nullable?: boolean;
  maxLength?: number;
}
const CONTRACT = (contractJson as unknown as { properties: Record<string, PropertySchema> }).properties;
const PROPERTY_NAMES = Object.keys(CONTRACT);
const MAX_LENGTH_PROPERTIES = PROPERTY_NAMES.filter((p) => CONTRACT[p]!.maxLength !== undefined);

/** What Graph answers for a property that is not set: [] for collections, its odd default for two dates, else null. */
function unsetValue(name: string): unknown {
  if (CONTRACT[name]?.type === 'array') return [];
  if (name === 'birthday' || name === 'hireDate') return '0001-01-01T00:00:00Z';
  return null;
}

/** A property name as stored: contract names as sent (they are case-sensitive in bodies), extensions canonical. */
function storedName(key: string): string {
  return EXTENSIONS.find((e) => e.toLowerCase() === key.toLowerCase()) ?? key;
}

// ---------------------------------------------------------------------------------------------------------------
// The tenant: users with varied properties to filter on, pools for writes, and a second tenant with 120 users so
// that default-size pages (100) are exercised too.
// ---------------------------------------------------------------------------------------------------------------

const idOf = (n: number): string => `0000aaaa-0000-4000-8000-${String(n).padStart(12, '0')}`;
type SeedUser = { id: string; userPrincipalName: string; displayName: string } & Record<string, unknown>;

const GIVEN = ['Adele', 'adele', 'Alex', 'Seán', 'Zoë', 'Ådne', 'Bianca', 'bob', 'Chloé', 'İlker', 'Noor', "D'Arcy"];
const SURNAME = ["O'Brien", 'Vance', 'vance', 'Ó Ceallaigh', 'Smith', 'Nguyễn', 'Müller', '李'];
const JOBS = ['Engineer', 'engineer', 'Senior Engineer', 'Manager', "Head of R&D's team", '50% time', 'a+b'];
const DEPARTMENTS = ['Sales', 'sales', 'R&D', 'HR', 'Finance #1', 'IT'];
const CITIES = ['Zürich', 'Berlin', 'berlin', 'New York', "Val-d'Or"];

function slug(s: string): string {
  return (
    s
      .normalize('NFD')
      .replace(/[^A-Za-z0-9']/g, '')
      .toLowerCase() || 'u'
  );
}

function mainSeedUsers(): SeedUser[] {
  const users: SeedUser[] = [];
  for (let i = 0; i < 28; i++) {
    const given = GIVEN[i % GIVEN.length]!;
    const surname = SURNAME[i % SURNAME.length]!;
    const local = `${slug(given)}.${i}`;
    const federated = i % 9 === 4;
    const u: SeedUser = {
      id: idOf(i),
      userPrincipalName: `${local}@${federated ? 'fed.contoso.com' : DOMAIN}`,
      displayName: `${given} ${surname}`,
      givenName: given,
      surname,
      mailNickname: local.replace(/'/g, ''),
      createdDateTime: new Date(Date.UTC(2019 + (i % 7), (i * 5) % 12, 1 + ((i * 3) % 28), i % 24, (i * 7) % 60))
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      userType: i % 6 === 5 ? 'Guest' : 'Member',
    };
    if (i % 4 !== 0) u.jobTitle = JOBS[i % JOBS.length];
    if (i % 3 !== 0) u.department = DEPARTMENTS[i % DEPARTMENTS.length];
    if (i % 3 !== 2) u.accountEnabled = i % 3 === 0;
    if (i % 2 === 0) u.mail = `${local.replace(/'/g, '')}@mail.${DOMAIN}`;
    if (i % 5 !== 0) u.employeeId = `E${1000 + i}`;
    if (i % 2 === 1) u.city = CITIES[i % CITIES.length];
    if (i % 3 === 1) u.country = i % 2 ? 'Switzerland' : 'Germany';
    if (i % 4 === 3) u.usageLocation = i % 2 ? 'CH' : 'DE';
    if (i % 5 === 2) u.companyName = 'Contoso';
    if (i % 3 === 1) u[HR_ID] = `HR-${i % 10}`;
    if (i % 4 === 2) u[LEVEL] = ((i * 37) % 200) - 50;
    if (i % 5 === 1) u[SKILLS] = ['ts', 'Go'];
    if (i % 4 === 1) u.otherMails = [`alt${i}@example.org`];
    if (federated) u.onPremisesImmutableId = `imm${i}`;
    users.push(u);
  }
  return users;
}
const MAIN_USERS = mainSeedUsers();
const PATCH_POOL = [0, 1, 2, 3].map((i) => idOf(100 + i));
const MANAGER_POOL = [0, 1, 2, 3, 4].map((i) => idOf(200 + i));
const MANAGER_UPNS = MANAGER_POOL.map((_, i) => `mgr${i}@${DOMAIN}`);
const BATCH_POOL = [0, 1, 2].map((i) => idOf(300 + i));
const poolUsers = (ids: string[], prefix: string): SeedUser[] =>
  ids.map((id, i) => ({
    id,
    userPrincipalName: `${prefix}${i}@${DOMAIN}`,
    displayName: `${prefix} ${i}`,
    mailNickname: `${prefix}${i}`,
    accountEnabled: true,
  }));
const OTHER_USERS: SeedUser[] = Array.from({ length: 120 }, (_, i) => ({
  id: idOf(1000 + i),
  userPrincipalName: `page${i}@other.example`,
  displayName: `Page ${i}`,
  ...(i % 2 ? { jobTitle: `Job ${i % 7}` } : {}),
}));

let target: GraphTarget;
let token: string;
let otherToken: string;

beforeAll(async () => {
  target = await emulatorTarget({ logRequests: false });
  target.emulator!.seed({
    tenants: [
      {
        id: TENANT_ID,
        users: [
          ...MAIN_USERS,
          ...poolUsers(PATCH_POOL, 'patch'),
          ...poolUsers(MANAGER_POOL, 'mgr'),
          ...poolUsers(BATCH_POOL, 'batch'),
        ],
      },
      { id: OTHER_TENANT_ID, users: OTHER_USERS },
    ],
  });
  token = await tokenFor(target, target.full);
  otherToken = await tokenFor(target, { clientId: FULL_APP_ID, secret: 'other-secret' }, OTHER_TENANT_ID);
});

const tallies = new Map<string, Record<string, number>>();
function tally(property: string, outcome: string | number): void {
  const t = tallies.get(property) ?? {};
  t[String(outcome)] = (t[String(outcome)] ?? 0) + 1;
  tallies.set(property, t);
}
afterAll(async () => {
  if (process.env.GENERATED_STATS) {
    const lines = [...tallies].map(([p, t]) => `${p}: ${JSON.stringify(t)}`);
    process.stdout.write(`\nstatus distribution\n${lines.join('\n')}\n`);
  }
  await target?.stop();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers: requests, the operator's view of the state, and the promises every answer keeps.
// ---------------------------------------------------------------------------------------------------------------

function graph(method: string, path: string, opts: HttpOptions = {}, bearer = token): Promise<HttpResult> {
  const url = path.startsWith('https://') ? path : `/v1.0${path}`;
  return target.http(method, url, { ...opts, headers: { Authorization: `Bearer ${bearer}`, ...(opts.headers ?? {}) } });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of any shape, as in http.ts
type Json = any;
type DumpUser = { tenantId: string; id: string; managerId: string | null } & Record<string, unknown>;

/** Every user of every tenant as the operator API sees it (props, manager): what a refused write must not change. */
async function dump(): Promise<DumpUser[]> {
  const res = await target.http('GET', '/_emulator/users');
  expect(res.status).toBe(200);
  return res.json.value as DumpUser[];
}

function expectBelow500(res: { status: number; text?: string }, what: string): void {
  if (res.status >= 500) throw new Error(`${what} answered ${res.status}: ${res.text ?? ''}`);
}

/** Graph's error envelope: a non-empty code and message, and innerError with date, request-id, client-request-id. */
function expectGraphErrorBody(status: number, body: Json, requestId?: unknown): void {
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  expect(body?.error).toEqual(
    expect.objectContaining({ code: expect.stringMatching(/\S/), message: expect.stringMatching(/\S/) }),
  );
  expect(body.error.innerError).toEqual(
    expect.objectContaining({
      date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/),
      'request-id': expect.stringMatching(/\S/),
      'client-request-id': expect.any(String),
    }),
  );
  if (requestId !== undefined) expect(body.error.innerError['request-id']).toBe(requestId);
}

function expectRefusal(res: HttpResult): void {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expectGraphErrorBody(res.status, res.json, res.headers['request-id']);
}

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
function expectNoPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
  expect(Object.keys(Object.prototype)).toEqual([]);
}

/** Sets a key as an own, enumerable property, even `__proto__` (as JSON.parse and express's body parser do). */
function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}
const protoObject = (): Record<string, unknown> => JSON.parse('{"__proto__": {"polluted": "yes"}}');
const POLLUTERS = (): unknown[] => [
  protoObject(),
  { constructor: { prototype: { polluted: 'yes' } } },
  { toString: 1, valueOf: 1 },
];

const caseOf = (s: string): fc.Arbitrary<string> => fc.constantFrom(s, s.toLowerCase(), s.toUpperCase());

// ---------------------------------------------------------------------------------------------------------------
// $filter: an AST of well-formed filters (rendered to text) with an oracle, and a grammar of junk.
// ---------------------------------------------------------------------------------------------------------------

type Lit =
  | { t: 'str'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'date'; text: string; ms: number }
  | { t: 'null' };
type FNode =
  | { k: 'cmp'; op: 'eq' | 'ne' | 'ge' | 'le'; p: string; name: string; lit: Lit }
  | { k: 'in'; p: string; name: string; lits: Lit[] }
  | { k: 'fn'; fn: 'startsWith' | 'endsWith'; p: string; name: string; v: string }
  | { k: 'not'; e: FNode }
  | { k: 'paren'; e: FNode }
  | { k: 'and' | 'or'; l: FNode; r: FNode };

type Kind = 'str' | 'bool' | 'int' | 'date';
/** Filterable user properties and what Microsoft's filter table allows on each (docs/graph-emulator.md). */
const FILTER_PROPS: Array<{ p: string; kind: Kind; range: boolean; ends: boolean }> = [
  ...[
    'userPrincipalName',
    'mail',
    'givenName',
    'surname',
    'mailNickname',
    'employeeId',
    'jobTitle',
    'department',
    'companyName',
    'employeeType',
    'officeLocation',
    'city',
    'country',
    'state',
    'onPremisesImmutableId',
    'usageLocation',
    'preferredLanguage',
    HR_ID,
  ].map((p) => ({ p, kind: 'str' as Kind, range: true, ends: p === 'userPrincipalName' || p === 'mail' })),
  ...['displayName', 'id', 'userType', 'creationType'].map((p) => ({
    p,
    kind: 'str' as Kind,
    range: false,
    ends: false,
  })),
  { p: 'accountEnabled', kind: 'bool', range: false, ends: false },
  { p: 'createdDateTime', kind: 'date', range: true, ends: false },
  { p: LEVEL, kind: 'int', range: true, ends: false },
];

/** Values the seeded users have, so generated literals often match someone. */
const SEEDED = new Map<string, unknown[]>();
for (const u of MAIN_USERS)
  for (const [k, v] of Object.entries(u)) if (v !== undefined) SEEDED.set(k, [...(SEEDED.get(k) ?? []), v]);

const odataString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
function renderLit(l: Lit): string {
  switch (l.t) {
    case 'str':
      return odataString(l.v);
    case 'bool':
      return String(l.v);
    case 'int':
      return String(l.v);
    case 'date':
      return l.text;
    case 'null':
      return 'null';
  }
}

const PRECEDENCE = { or: 1, and: 2 } as const;
function render(n: FNode, minPrecedence = 0): string {
  switch (n.k) {
    case 'cmp':
      return `${n.name} ${n.op} ${renderLit(n.lit)}`;
    case 'in':
      return `${n.name} in (${n.lits.map(renderLit).join(', ')})`;
    case 'fn':
      return `${n.fn}(${n.name},${odataString(n.v)})`;
    case 'not':
      return `not (${render(n.e)})`;
    case 'paren':
      return `(${render(n.e)})`;
    case 'and':
    case 'or': {
      const prec = PRECEDENCE[n.k];
      const s = `${render(n.l, prec)} ${n.k} ${render(n.r, prec)}`;
      return prec < minPrecedence ? `(${s})` : s;
    }
  }
}

const needsAdvanced = (n: FNode): boolean =>
  n.k === 'not' ||
  (n.k === 'cmp' && n.op === 'ne') ||
  (n.k === 'fn' && n.fn === 'endsWith') ||
  (n.k === 'paren' && needsAdvanced(n.e)) ||
  ((n.k === 'and' || n.k === 'or') && (needsAdvanced(n.l) || needsAdvanced(n.r)));

/** The emulator's documented comparison: strings case-insensitively, DateTimeOffsets as instants, null as unset. */
function compare(a: unknown, b: Lit): number | undefined {
  if (a === undefined || a === null || b.t === 'null')
    return b.t === 'null' && (a === undefined || a === null) ? 0 : undefined;
  if (b.t === 'date') {
    const ms = typeof a === 'string' ? Date.parse(a) : NaN;
    return Number.isNaN(ms) ? undefined : ms - b.ms;
  }
  if (typeof a === 'string' && b.t === 'str') {
    const [x, y] = [a.toLowerCase(), b.v.toLowerCase()];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'number' && b.t === 'int') return a - b.v;
  if (typeof a === 'boolean' && b.t === 'bool') return a === b.v ? 0 : a ? 1 : -1;
  return undefined;
}

function matches(n: FNode, u: DumpUser): boolean {
  const get = (p: string): unknown => (p === 'id' ? u.id : u[p]);
  switch (n.k) {
    case 'cmp': {
      const c = compare(get(n.p), n.lit);
      if (c === undefined) return n.op === 'ne';
      return n.op === 'eq' ? c === 0 : n.op === 'ne' ? c !== 0 : n.op === 'ge' ? c >= 0 : c <= 0;
    }
    case 'in':
      return n.lits.some((l) => compare(get(n.p), l) === 0);
    case 'fn': {
      const actual = get(n.p);
      if (typeof actual !== 'string') return false;
      const [a, v] = [actual.toLowerCase(), n.v.toLowerCase()];
      return n.fn === 'startsWith' ? a.startsWith(v) : a.endsWith(v);
    }
    case 'not':
      return !matches(n.e, u);
    case 'paren':
      return matches(n.e, u);
    case 'and':
      return matches(n.l, u) && matches(n.r, u);
    case 'or':
      return matches(n.l, u) || matches(n.r, u);
  }
}

const oddStrings = fc.constantFrom('', "'", "''", "O'", '%', '%25', '+', '&', '#', ' ', 'é', 'e\u0301', ',', '(', ')');
function stringLiteral(p: string): fc.Arbitrary<string> {
  const seeded = (SEEDED.get(p) ?? []).filter((v): v is string => typeof v === 'string');
  return fc.oneof(
    { weight: 4, arbitrary: seeded.length ? fc.constantFrom(...seeded).chain(caseOf) : fc.constant('x') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
    { weight: 1, arbitrary: oddStrings },
  );
}
function prefixLiteral(p: string): fc.Arbitrary<string> {
  // By code point, so that no surrogate pair is cut in half.
  const cut = (from: 'start' | 'end') =>
    stringLiteral(p).chain((s) => {
      const points = [...s];
      return fc.nat(points.length).map((k) => (from === 'start' ? points.slice(0, k) : points.slice(k)).join(''));
    });
  return fc.oneof(cut('start'), cut('end'));
}
const dateLiteral: fc.Arbitrary<Lit> = fc
  .oneof(
    fc.constantFrom(...(SEEDED.get('createdDateTime') as string[])).map((text) => ({ text, ms: Date.parse(text) })),
    fc
      .tuple(
        fc.date({ min: new Date('2018-01-01'), max: new Date('2027-01-01'), noInvalidDate: true }),
        fc.constantFrom('ms', 's', 'min', 'offset'),
        fc.integer({ min: -48, max: 56 }).map((q) => q * 15),
      )
      .map(([d, form, offset]) => {
        if (form === 'ms') return { text: d.toISOString() };
        if (form === 's') return { text: d.toISOString().slice(0, 19) + 'Z' };
        if (form === 'min') return { text: d.toISOString().slice(0, 16) + 'Z' };
        const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 19);
        const abs = Math.abs(offset);
        const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        return { text: local + zone };
      })
      .map(({ text }) => ({ text, ms: Date.parse(text) })),
  )
  .map(({ text, ms }) => ({ t: 'date', text, ms }));

function literalOf(kind: Kind, p: string): fc.Arbitrary<Lit> {
  const typed: fc.Arbitrary<Lit> =
    kind === 'str'
      ? stringLiteral(p).map((v) => ({ t: 'str', v }))
      : kind === 'bool'
        ? fc.boolean().map((v) => ({ t: 'bool', v }))
        : kind === 'int'
          ? fc
              .oneof(fc.constantFrom(...(SEEDED.get(p) as number[])), fc.integer({ min: -100, max: 300 }))
              .map((v) => ({ t: 'int', v }))
          : dateLiteral;
  return fc.oneof({ weight: 8, arbitrary: typed }, { weight: 1, arbitrary: fc.constant<Lit>({ t: 'null' }) });
}

const filterLeaf: fc.Arbitrary<FNode> = fc.constantFrom(...FILTER_PROPS).chain(({ p, kind, range, ends }) => {
  const name = caseOf(p);
  const ops: Array<'eq' | 'ne' | 'ge' | 'le'> = range && kind !== 'bool' ? ['eq', 'ne', 'ge', 'le'] : ['eq', 'ne'];
  const options: Array<fc.Arbitrary<FNode>> = [
    fc.record({
      k: fc.constant('cmp' as const),
      op: fc.constantFrom(...ops),
      p: fc.constant(p),
      name,
      lit: literalOf(kind, p),
    }),
    fc.record({
      k: fc.constant('in' as const),
      p: fc.constant(p),
      name,
      lits: fc.array(literalOf(kind, p), { minLength: 1, maxLength: 3 }),
    }),
  ];
  if (kind === 'str') {
    const fns: Array<'startsWith' | 'endsWith'> = ends ? ['startsWith', 'endsWith'] : ['startsWith'];
    options.push(
      fc.record({
        k: fc.constant('fn' as const),
        fn: fc.constantFrom(...fns),
        p: fc.constant(p),
        name,
        v: prefixLiteral(p),
      }),
    );
  }
  return fc.oneof(...options);
});

const { filterNode } = fc.letrec<{ filterNode: FNode }>((tie) => ({
  filterNode: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 4 },
    filterLeaf,
    tie('filterNode').map((e): FNode => ({ k: 'not', e })),
    tie('filterNode').map((e): FNode => ({ k: 'paren', e })),
    fc
      .record({ k: fc.constantFrom('and' as const, 'or' as const), l: tie('filterNode'), r: tie('filterNode') })
      .map((n): FNode => n),
  ),
}));

/** Names for $select: every contract property, registered extensions, and an unregistered well-formed one. */
const UNREGISTERED_EXTENSION = 'extension_0123456789abcdef0123456789abcdef_unset';
const selectNames = fc.uniqueArray(fc.constantFrom(...PROPERTY_NAMES, ...EXTENSIONS, UNREGISTERED_EXTENSION), {
  minLength: 1,
  maxLength: 6,
});

/** Encodes a query value as clients do: %20 for spaces, or `+` (which Graph reads as a space; `+` itself is %2B). */
const encodeValue = (v: string, plus: boolean): string => {
  const e = encodeURIComponent(v);
  return plus ? e.replace(/%20/g, '+') : e;
};

interface ListQuery {
  path: string;
  headers: Record<string, string>;
  filter?: FNode;
  select?: string[];
  top?: number;
  counted: boolean;
}

function listQuery(filters: fc.Arbitrary<FNode>, tops: fc.Arbitrary<number>): fc.Arbitrary<ListQuery> {
  return fc
    .record({
      filter: fc.option(filters, { nil: undefined, freq: 4 }),
      select: fc.option(selectNames, { nil: undefined }),
      top: fc.option(tops, { nil: undefined }),
      count: fc.constantFrom(undefined, 'true', 'false'),
      eventual: fc.boolean(),
      plus: fc.boolean(),
      dollar: fc.constantFrom('$', '%24'),
      rotate: fc.nat(4),
    })
    .map(({ filter, select, top, count, eventual, plus, dollar, rotate }): ListQuery => {
      const advanced = filter !== undefined && needsAdvanced(filter);
      const countOption = advanced ? 'true' : count;
      const withEventual = advanced || eventual;
      const params: string[] = [];
      if (filter) params.push(`${dollar}filter=${encodeValue(render(filter), plus)}`);
      if (select) params.push(`${dollar}select=${encodeValue(select.join(','), plus)}`);
      if (top !== undefined) params.push(`${dollar}top=${top}`);
      if (countOption) params.push(`${dollar}count=${countOption}`);
      const r = rotate % Math.max(params.length, 1);
      const ordered = [...params.slice(r), ...params.slice(0, r)];
      return {
        path: `/users${ordered.length ? `?${ordered.join('&')}` : ''}`,
        headers: withEventual ? { ConsistencyLevel: 'eventual' } : ({} as Record<string, string>),
        filter,
        select,
        top,
        counted: countOption === 'true' && withEventual,
      };
    });
}

/** The names a $select resolves to, as response keys: contract names canonical, registered extensions canonical. */
function canonicalSelect(names: readonly string[]): string[] {
  const byLower = new Map([...PROPERTY_NAMES, ...EXTENSIONS].map((n) => [n.toLowerCase(), n]));
  return names.map((n) => byLower.get(n.toLowerCase()) ?? n);
}

/** What a user looks like under $select (or the default set), per the documented projection. */
function projected(u: DumpUser, select: readonly string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of select ? canonicalSelect(select) : DEFAULT_SET) {
    if (name === 'id') out.id = u.id;
    else if (name === 'passwordProfile') out.passwordProfile = null;
    else if (name.startsWith('extension_')) {
      if (u[name] !== undefined && u[name] !== null) out[name] = u[name];
    } else out[name] = u[name] === undefined ? unsetValue(name) : u[name];
  }
  return out;
}

const sortedKeys = (o: Record<string, unknown>): string =>
  JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );

/**
 * Follows `@odata.nextLink` to the end. Checks every page (200, `value` an array, at most `pageSize` items, the count
 * when asked for) and that paging ends within as many pages as the users need. Returns all items.
 */
async function readAllPages(
  first: HttpResult,
  q: { headers: Record<string, string>; counted: boolean; pageSize: number; maxPages?: number },
  expectedTotal: number,
  bearer: string,
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  const maxPages = q.maxPages ?? Math.ceil(expectedTotal / q.pageSize) + 1;
  let res = first;
  for (let page = 1; ; page++) {
    if (res.status !== 200) throw new Error(`page ${page} answered ${res.status}: ${res.text}`);
    expect(Array.isArray(res.json.value)).toBe(true);
    expect(res.json.value.length).toBeLessThanOrEqual(q.pageSize);
    if (q.counted) expect(res.json['@odata.count']).toBe(expectedTotal);
    else expect(res.json).not.toHaveProperty('@odata.count');
    items.push(...(res.json.value as Array<Record<string, unknown>>));
    const next = res.json['@odata.nextLink'] as string | undefined;
    if (next === undefined) return items;
    expect(next.startsWith(`${target.graphUrl}/v1.0/users?`)).toBe(true);
    if (page >= maxPages) throw new Error(`paging did not end after ${page} pages (${expectedTotal} users)`);
    res = await graph('GET', next, { headers: q.headers }, bearer);
  }
}

/** The pages of a list, together, are exactly the expected users: none repeated, none lost. */
function expectSameUsers(items: Array<Record<string, unknown>>, expected: Array<Record<string, unknown>>): void {
  const ids = items.map((i) => i.id).filter((id) => id !== undefined);
  expect(new Set(ids).size).toBe(ids.length);
  expect(items.map(sortedKeys).sort()).toEqual(expected.map(sortedKeys).sort());
}

describe('generated GET /users queries', () => {
  const tops = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 2, max: 10 }) },
    { weight: 2, arbitrary: fc.integer({ min: 11, max: 999 }) },
    { weight: 1, arbitrary: fc.constant(1) },
  );

  it('well-formed: 200, and the pages hold exactly the users the filter selects, none repeated or lost', async () => {
    await fc.assert(
      fc.asyncProperty(listQuery(filterNode, tops), async (q) => {
        const users = (await dump()).filter((u) => u.tenantId === TENANT_ID);
        const selected = q.filter ? users.filter((u) => matches(q.filter!, u)) : users;
        const res = await graph('GET', q.path, { headers: q.headers });
        tally('GET /users well-formed', res.status);
        const n = selected.length;
        tally(
          'GET /users well-formed, users selected',
          n === 0 ? '0' : n === 1 ? '1' : n < users.length ? '2+' : 'all',
        );
        if (res.status !== 200) throw new Error(`well-formed query refused: ${res.status} ${res.text}`);
        expect(res.json['@odata.context']).toEqual(expect.stringContaining('$metadata#users'));
        const items = await readAllPages(res, { ...q, pageSize: q.top ?? 100 }, selected.length, token);
        expectSameUsers(
          items,
          selected.map((u) => projected(u, q.select)),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('page through 120 users of another tenant: default and chosen page sizes neither repeat nor lose a user', async () => {
    const pageFilter = fc.oneof(
      fc
        .constantFrom('page1', 'PAGE', 'page11', 'nope')
        .map((v): FNode => ({ k: 'fn', fn: 'startsWith', p: 'userPrincipalName', name: 'userPrincipalName', v })),
      fc
        .constantFrom('Job 3', 'job 1')
        .map((v): FNode => ({ k: 'cmp', op: 'eq', p: 'jobTitle', name: 'jobTitle', lit: { t: 'str', v } })),
    );
    const pageTops = fc.oneof(fc.integer({ min: 7, max: 130 }), fc.constantFrom(99, 100, 101, 119, 120, 121));
    await fc.assert(
      fc.asyncProperty(listQuery(pageFilter, pageTops), async (q) => {
        const users = (await dump()).filter((u) => u.tenantId === OTHER_TENANT_ID);
        const selected = q.filter ? users.filter((u) => matches(q.filter!, u)) : users;
        const res = await graph('GET', q.path, { headers: q.headers }, otherToken);
        tally('GET /users paging (120 users)', res.status);
        if (res.status !== 200) throw new Error(`well-formed query refused: ${res.status} ${res.text}`);
        const items = await readAllPages(res, { ...q, pageSize: q.top ?? 100 }, selected.length, otherToken);
        expectSameUsers(
          items,
          selected.map((u) => projected(u, q.select)),
        );
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  // ---- junk: every option, operator and literal Graph might see, well-formed or not ----
  const junkProperty = fc.oneof(
    fc.constantFrom(...FILTER_PROPS.map((f) => f.p)).chain(caseOf),
    fc.constantFrom(
      'otherMails',
      'proxyAddresses',
      SKILLS,
      GROUP_ONLY,
      'manager',
      'memberOf',
      '__proto__',
      'constructor',
      'toString',
      'passwordProfile',
      'assignedLicenses',
      'signInActivity/lastSignInDateTime',
      'employeeHireDate',
      'birthday',
      'extension_0123_x',
      'a.b',
      '$count',
      '$it',
    ),
    fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_$./]{0,10}$/),
  );
  const junkOperator = fc.constantFrom(
    'eq',
    'ne',
    'ge',
    'le',
    'gt',
    'lt',
    'in',
    'has',
    'add',
    'sub',
    'EQ',
    'Eq',
    '=',
    'like',
    '',
  );
  const junkLiteral = fc.oneof(
    fc.constantFrom(...FILTER_PROPS).chain(({ kind, p }) => literalOf(kind, p).map(renderLit)),
    fc.constantFrom(
      "'unterminated",
      "''",
      "'a''",
      "'''",
      '2020-13-45T00:00Z',
      '2020-02-30T00:00:00Z',
      '2020-01-01',
      '2020-01-01T00:00:00',
      '2020-01-01T25:61:00Z',
      '-',
      '--1',
      '-x',
      '1e5',
      '1.5',
      '.5',
      '0x1F',
      '99999999999999999999999',
      '2147483648',
      "binary'AA=='",
      "duration'P1D'",
      "guid'0000aaaa-0000-4000-8000-000000000001'",
      '0000aaaa-0000-4000-8000-000000000001',
      "microsoft.graph.x'y'",
      'True',
      'NULL',
      '()',
      "('a')",
      '$it',
      "otherMails/any(x:x eq 'a')",
      '\u0000',
      '%',
    ),
    fc.string({ maxLength: 8 }),
  );
  const junkComparison = fc.oneof(
    fc.tuple(junkProperty, junkOperator, junkLiteral).map(([p, o, l]) => `${p} ${o} ${l}`),
    fc.tuple(junkProperty, fc.array(junkLiteral, { maxLength: 3 })).map(([p, ls]) => `${p} in (${ls.join(',')})`),
    fc
      .tuple(
        fc.constantFrom('startsWith', 'endsWith', 'startswith', 'contains', 'substringof'),
        junkProperty,
        junkLiteral,
      )
      .map(([f, p, l]) => `${f}(${p}, ${l})`),
    fc.tuple(fc.constantFrom('startsWith', 'endsWith'), junkProperty).map(([f, p]) => `${f}(${p})`),
    fc.tuple(junkProperty, junkLiteral).map(([p, l]) => `${p}/any(x:x eq ${l})`),
    filterNode.map((n) => render(n)),
  );
  const { junkFilter } = fc.letrec<{ junkFilter: string }>((tie) => ({
    junkFilter: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth: 3 },
      junkComparison,
      fc
        .tuple(tie('junkFilter'), fc.constantFrom('and', 'or', 'AND', 'Or', ''), tie('junkFilter'))
        .map(([l, j, r]) => `${l} ${j} ${r}`),
      tie('junkFilter').map((f) => `not ${f}`),
      tie('junkFilter').map((f) => `not(${f})`),
      tie('junkFilter').map((f) => `(${f})`),
      tie('junkFilter').map((f) => `(${f}`),
      tie('junkFilter').map((f) => `${f})`),
      fc.string({ maxLength: 20 }),
    ),
  }));
  const junkSelect = fc.oneof(
    selectNames.map((n) => n.join(',')),
    fc
      .array(
        fc.oneof(
          fc.constantFrom(...PROPERTY_NAMES).chain(caseOf),
          fc.constantFrom(
            '*',
            '',
            ' ',
            '__proto__',
            'constructor',
            'manager',
            'extension_x',
            GROUP_ONLY,
            'id,id',
            'a/b',
          ),
          fc.string({ maxLength: 8 }),
        ),
        { maxLength: 4 },
      )
      .map((n) => n.join(',')),
  );
  const skiptoken = fc.oneof(
    fc.integer({ min: 0, max: 200 }).map((n) => Buffer.from(`o${n}`).toString('base64url')),
    fc.constantFrom(
      'o5',
      '',
      'bzE',
      Buffer.from('o-1').toString('base64url'),
      Buffer.from(`o${'9'.repeat(30)}`).toString('base64url'),
    ),
    fc.string({ maxLength: 12 }),
  );
  const junkParam = fc.oneof(
    fc
      .tuple(fc.constantFrom('$filter', '%24filter', '$FILTER', '$Filter'), junkFilter, fc.boolean())
      .map(([k, v, plus]) => `${k}=${encodeValue(v, plus)}`),
    fc.tuple(fc.constantFrom('$select', '$SELECT'), junkSelect).map(([k, v]) => `${k}=${encodeValue(v, false)}`),
    fc
      .constantFrom('0', '1', '2', '999', '1000', '-1', 'abc', '', '1.5', ' 5', '+5', '05', '99999999999999999999')
      .map((v) => `$top=${encodeValue(v, false)}`),
    fc.constantFrom('true', 'false', 'TRUE', '1', '', 'yes').map((v) => `$count=${v}`),
    skiptoken.map((v) => `$skiptoken=${encodeValue(v, false)}`),
    fc.constantFrom(
      '$orderby=displayName',
      '$search=%22displayName:a%22',
      '$expand=manager',
      '$skip=1',
      '$format=json',
      '$apply=x',
      '$foo=1',
      'foo=bar',
      'api-version=1',
      '$=1',
      '=x',
      '&',
      '%',
      '%zz=1',
      '$filter=%E0%A4%A',
      '$top=1&$top=2',
      '$select=id&%24select=id',
    ),
  );
  const junkPath = fc.oneof(
    { weight: 6, arbitrary: fc.constant('/users') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '/users/',
        '/users/$count',
        '/users/%24count',
        `/users/${PATCH_POOL[0]}`,
        `/users/${MANAGER_UPNS[0]}`,
        `/users('${MANAGER_UPNS[0]}')`,
        `/users/${MANAGER_POOL[0]}/manager`,
        `/users/${MANAGER_POOL[0]}/manager/$ref`,
        '/users/$ref',
        '/users/%',
        '/Users',
        '/users/x/y/z',
        '/users/00000000-0000-4000-8000-000000000000',
      ),
    },
  );
  const junkQuery = fc.record({
    path: junkPath,
    params: fc.array(junkParam, { maxLength: 5 }),
    consistency: fc.constantFrom(undefined, 'eventual', 'Eventual', 'session', ''),
  });

  it('junk queries: never 5xx; refusals are Graph errors; an answered list pages cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(junkQuery, async ({ path, params, consistency }) => {
        const headers: Record<string, string> = consistency === undefined ? {} : { ConsistencyLevel: consistency };
        const url = params.length ? `${path}?${params.join('&')}` : path;
        const res = await graph('GET', url, { headers });
        tally('GET junk', res.status);
        expectBelow500(res, `GET ${url}`);
        expectNoPollution();
        if (res.status >= 400) return expectRefusal(res);
        expect(res.status).toBe(200);
        if (/^\/users\/(\$|%24)count/.test(path)) return expect(res.text).toMatch(/^[0-9]+$/);
        if (path !== '/users' && path !== '/users/') return expect(typeof res.json).toBe('object');
        const counted = res.json['@odata.count'] !== undefined;
        const users = (await dump()).filter((u) => u.tenantId === TENANT_ID).length;
        const total = counted ? (res.json['@odata.count'] as number) : users;
        const items = await readAllPages(res, { headers, counted, pageSize: 999, maxPages: users + 1 }, total, token);
        const ids = items.map((i) => i.id).filter((id) => id !== undefined);
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// POST /users and PATCH /users/{id}: bodies from the contract, and hostile variations.
// ---------------------------------------------------------------------------------------------------------------

/** Stands for a fresh, unique UPN in the verified domain; replaced just before the request is sent. */
const FRESH_UPN = '\u0000fresh-upn';
let serial = 0;
const freshUpn = (): string => `gen${++serial}.${Date.now().toString(36)}@${DOMAIN}`;

const text = (max: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 24) }) },
      { weight: 1, arbitrary: fc.constant('m'.repeat(max)) }, // exactly the maximum
    )
    .filter((s) => s.length <= max);
const nonBlank = (max: number): fc.Arbitrary<string> => text(max).filter((s) => s.trim() !== '');
const orNull = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 5, arbitrary: a }, { weight: 1, arbitrary: fc.constant(null) });
const atom = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]{1,8}$/);
const nickname = fc.oneof(
  fc.array(atom, { minLength: 1, maxLength: 4 }).map((a) => a.join('.')),
  fc.constant('n'.repeat(64)),
);
const email = fc
  .tuple(nickname, fc.constantFrom('contoso.com', 'example.org', 'mail.fabrikam.co.uk', 'x-y.io'))
  .map(([l, d]) => `${l}@${d}`)
  .filter((e) => e.length <= 250);
const isoDateTime = fc
  .date({ min: new Date('1900-01-01'), max: new Date('2100-12-31'), noInvalidDate: true })
  .map((d) => d.toISOString());
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const passwordChars =
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@#$%^&*-_!+=[]{}|\\:\',.?/`~"();<> ';
const password = fc
  .tuple(
    fc.constantFrom(...'abcxyz'),
    fc.constantFrom(...'ABCXYZ'),
    fc.constantFrom(...'0189'),
    fc.constantFrom(...'#!%?'),
    fc.array(fc.constantFrom(...passwordChars), { minLength: 4, maxLength: 16 }),
  )
  .map(([a, b, c, d, rest]) => [a, b, c, d, ...rest].join(''));

/** Properties the full app may write on create and update, with values Graph accepts (docs/graph-emulator.md). */
const FITTING: Array<[string, fc.Arbitrary<unknown>]> = [
  ['givenName', orNull(text(64))],
  ['surname', orNull(text(64))],
  ['jobTitle', orNull(text(128))],
  ['department', orNull(text(64))],
  ['companyName', orNull(text(64))],
  ['city', orNull(text(128))],
  ['country', orNull(text(128))],
  ['state', orNull(text(128))],
  ['postalCode', orNull(text(40))],
  ['streetAddress', orNull(text(1024))],
  ['officeLocation', orNull(text(200))],
  ['preferredLanguage', orNull(fc.constantFrom('en-US', 'de-CH', 'fr'))],
  ['employeeId', orNull(text(16))],
  ['employeeType', orNull(text(40))],
  ['faxNumber', orNull(text(30))],
  ['mobilePhone', orNull(text(64))],
  ['businessPhones', fc.array(fc.stringMatching(/^\+?[0-9 ()-]{3,20}$/), { maxLength: 1 })],
  ['otherMails', fc.array(email, { maxLength: 3 })],
  ['mail', orNull(email)],
  ['usageLocation', orNull(fc.stringMatching(/^[A-Z]{2}$/))],
  ['userType', orNull(fc.constantFrom('Member', 'Guest'))],
  ['ageGroup', orNull(fc.constantFrom('Minor', 'NotAdult', 'Adult', 'adult'))],
  ['consentProvidedForMinor', orNull(fc.constantFrom('Granted', 'Denied', 'NotRequired', 'denied'))],
  [
    'passwordPolicies',
    orNull(
      fc.constantFrom(
        'DisablePasswordExpiration',
        'DisableStrongPassword',
        'DisablePasswordExpiration, DisableStrongPassword',
      ),
    ),
  ],
  ['employeeHireDate', orNull(isoDateTime)],
  [
    'employeeOrgData',
    orNull(fc.record({ costCenter: orNull(text(20)), division: orNull(text(20)) }, { requiredKeys: [] })),
  ],
  [
    'onPremisesExtensionAttributes',
    orNull(
      fc.dictionary(
        fc.integer({ min: 1, max: 15 }).map((n) => `extensionAttribute${n}`),
        orNull(fc.oneof(text(40), fc.constant('e'.repeat(1024)))),
        { maxKeys: 3 },
      ),
    ),
  ],
  ['onPremisesImmutableId', orNull(text(40))],
  ['preferredDataLocation', orNull(fc.constantFrom('EUR', 'NAM', 'APC'))],
  ['deviceEnrollmentLimit', int32],
  ['authorizationInfo', orNull(fc.record({ certificateUserIds: fc.array(text(30), { maxLength: 2 }) }))],
  [HR_ID, orNull(text(256))],
  [LEVEL, orNull(int32)],
  [SKILLS, orNull(fc.array(text(256), { maxLength: 3 }))],
];
const REQUIRED_ON_UPDATE: Array<[string, fc.Arbitrary<unknown>]> = [
  ['displayName', nonBlank(256)],
  ['mailNickname', nickname],
  ['accountEnabled', fc.boolean()],
  ['userPrincipalName', fc.constant(FRESH_UPN)],
];

const entriesOf = (table: Array<[string, fc.Arbitrary<unknown>]>, min: number, max: number) =>
  fc
    .subarray(table, { minLength: min, maxLength: max })
    .chain((pairs) => fc.tuple(...pairs.map(([k, v]) => v.map((x) => [k, x] as const))))
    .map((entries) => Object.fromEntries(entries) as Record<string, unknown>);

const validCreate = fc
  .record({
    accountEnabled: fc.boolean(),
    displayName: nonBlank(256),
    mailNickname: nickname,
    passwordProfile: fc.record(
      {
        password,
        forceChangePasswordNextSignIn: fc.boolean(),
        forceChangePasswordNextSignInWithMfa: fc.boolean(),
      },
      { requiredKeys: ['password'] },
    ),
    optional: entriesOf(FITTING, 0, 6),
  })
  .map(({ optional, ...required }) => ({ ...required, userPrincipalName: FRESH_UPN, ...optional }));
const validUpdate = entriesOf([...FITTING, ...REQUIRED_ON_UPDATE], 1, 5);

/** Values of every JSON type, and objects that try to pollute a prototype. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant(null),
  fc.constantFrom(...POLLUTERS()),
);
const seededUpn = MAIN_USERS[3]!.userPrincipalName;
/** One hostile key/value pair, put over an otherwise well-formed body. */
const hostilePair: fc.Arbitrary<[string, unknown]> = fc.oneof(
  // any property (read-only, create-only, navigation, complex) with a value of any type
  fc.tuple(fc.constantFrom(...PROPERTY_NAMES), anyValue),
  // over-long strings
  fc
    .tuple(fc.constantFrom(...MAX_LENGTH_PROPERTIES), fc.integer({ min: 1, max: 3 }))
    .map(([k, extra]): [string, unknown] => [k, 'x'.repeat(CONTRACT[k]!.maxLength! + extra)]),
  // unknown properties and prototype keys
  fc.tuple(
    fc.oneof(
      fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'toString',
        'hasOwnProperty',
        'valueOf',
        'DisplayName',
        'displayname',
        'manager',
        'memberOf',
        'password',
        GROUP_ONLY,
        `extension_${'0'.repeat(32)}_nope`,
        'extension_short_x',
        '@odata.id',
        '@odata.context',
        '@odata.etag',
        'givenName@odata.type',
        '',
      ),
      fc.string({ maxLength: 10 }),
    ),
    anyValue,
  ),
  // nulls where Graph allows none
  fc.constantFrom(
    ...['displayName', 'businessPhones', 'otherMails', 'deviceEnrollmentLimit', 'identities', 'accountEnabled'].map(
      (k): [string, unknown] => [k, null],
    ),
  ),
  fc
    .constantFrom<unknown>(
      '#microsoft.graph.user',
      '#microsoft.graph.group',
      '#Microsoft.Graph.User',
      'microsoft.graph.user',
      7,
      null,
      {},
      { toString: 1 },
    )
    .map((v): [string, unknown] => ['@odata.type', v]),
  // directory extensions: wrong types, too long, array into a single value, a case variant of the name
  fc.constantFrom<[string, unknown]>(
    [HR_ID, 'x'.repeat(257)],
    [HR_ID, 5],
    [HR_ID, ['a']],
    [HR_ID, {}],
    [HR_ID.toUpperCase(), 'upper-cased name'],
    [LEVEL, 2147483648],
    [LEVEL, 1.5],
    [LEVEL, '5'],
    [LEVEL, true],
    [SKILLS, 'single'],
    [SKILLS, [1]],
    [SKILLS, ['x'.repeat(257)]],
    [SKILLS, [null]],
    [SKILLS, [[]]],
  ),
  // control characters and lone surrogates in strings
  fc
    .tuple(
      fc.constantFrom('displayName', 'givenName', 'jobTitle', 'department', HR_ID),
      fc.constantFrom('\u0000', '\u0007', '\u001b', '\u007f', '\u2028', '\ud800', '\r\n'),
    )
    .map(([k, c]): [string, unknown] => [k, `a${c}b`]),
  // properties an app-only caller may not write (403)
  fc.constantFrom<[string, unknown]>(
    ['aboutMe', 'hi'],
    ['skills', ['a']],
    ['birthday', '2000-01-01T00:00:00Z'],
    ['mySite', 'https://x'],
    ['identities', [{ signInType: 'userPrincipalName', issuer: DOMAIN, issuerAssignedId: `x@${DOMAIN}` }]],
    ['customSecurityAttributes', {}],
    ['employeeLeaveDateTime', '2030-01-01T00:00:00Z'],
    ['passwordProfile', { password: PASSWORD }],
  ),
  // UPN, mailNickname, password, displayName and date rules
  fc
    .constantFrom<unknown>(
      'noat',
      `a@b@${DOMAIN}`,
      `a.@${DOMAIN}`,
      `@${DOMAIN}`,
      'x@fabrikam.com',
      'x@unknown.example',
      'x@fed.contoso.com',
      `PATCH0@${DOMAIN.toUpperCase()}`,
      seededUpn.toUpperCase(),
      `a b@${DOMAIN}`,
      `é@${DOMAIN}`,
      `${'x'.repeat(65)}@${DOMAIN}`,
      5,
      '',
    )
    .map((v): [string, unknown] => ['userPrincipalName', v]),
  fc
    .constantFrom<unknown>('a b', '.a', 'a.', 'a..b', 'n'.repeat(65), '', 'ä', 5, 'a@b')
    .map((v): [string, unknown] => ['mailNickname', v]),
  fc
    .constantFrom<unknown>(
      { password: 'short' },
      { password: 'alllowercaseletters' },
      { password: 'Ünicode1!aa' },
      { password: 'Gen1!gen1!gen1!' },
      {},
      { password: null },
      { password: 5 },
      { forceChangePasswordNextSignIn: 'yes', password: PASSWORD },
      { password: PASSWORD, extra: 1 },
      null,
      'pw',
    )
    .map((v): [string, unknown] => ['passwordProfile', v]),
  fc.constantFrom<unknown>('', '   ', '\u3000', 'x'.repeat(257)).map((v): [string, unknown] => ['displayName', v]),
  fc
    .constantFrom<unknown>('2020-01-01', '2020-02-30T00:00:00Z', '2020-01-01T00:00:00+01:00', 'yesterday', 0)
    .map((v): [string, unknown] => ['employeeHireDate', v]),
  fc.constantFrom<unknown>(1.5, 2147483648, -1, '5').map((v): [string, unknown] => ['deviceEnrollmentLimit', v]),
  fc.constantFrom<unknown>(['1', '2'], 'single', [5], [null]).map((v): [string, unknown] => ['businessPhones', v]),
  fc
    .constantFrom<unknown>(['not-an-email'], [`${'x'.repeat(251)}@x.io`], ['a@b'], [5])
    .map((v): [string, unknown] => ['otherMails', v]),
  fc
    .constantFrom<unknown>(
      { extensionAttribute1: 'e'.repeat(1025) },
      { extensionAttribute16: 'x' },
      { extensionAttribute1: 5 },
      protoObject(),
    )
    .map((v): [string, unknown] => ['onPremisesExtensionAttributes', v]),
  fc
    .constantFrom<unknown>({ costCenter: 5 }, { unknown: 'x' }, protoObject(), [], 'x')
    .map((v): [string, unknown] => ['employeeOrgData', v]),
);

type BodySpec = { json: unknown } | { raw: string; contentType?: string };
interface WriteCase {
  /** Well-formed by construction: Graph must accept it. */
  wellFormed: boolean;
  body: BodySpec;
}

function hostileWrite(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<WriteCase> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(valid, fc.array(hostilePair, { minLength: 1, maxLength: 2 })).map(([base, pairs]) => {
        const body = { ...base };
        for (const [k, v] of pairs) withKey(body, k, v);
        return { wellFormed: false, body: { json: body } };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(null, [], 'str', 7, true, {}, [{}]).map((json) => ({
        wellFormed: false,
        body: { json },
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          valid,
          fc.constantFrom<(s: string) => BodySpec>(
            (s) => ({ raw: s.slice(0, -1), contentType: 'application/json' }),
            (s) => ({ raw: `${s}garbage`, contentType: 'application/json' }),
            (s) => ({ raw: `\uFEFF${s}`, contentType: 'application/json' }),
            (s) => ({ raw: s, contentType: 'text/plain' }),
            (s) => ({ raw: s }),
            (s) => ({ raw: s, contentType: 'application/json; charset=utf-8' }),
            (s) => ({ raw: s.replace('{', '{"__proto__": {"polluted": "yes"}, '), contentType: 'application/json' }),
            () => ({ raw: '', contentType: 'application/json' }),
            () => ({ raw: '{"displayName": }', contentType: 'application/json' }),
            () => ({ raw: 'null', contentType: 'application/json' }),
            () => ({ raw: '{"a":1e999}', contentType: 'application/json' }),
          ),
        )
        .map(([base, make]) => ({ wellFormed: false, body: make(JSON.stringify(base)) })),
    },
  );
}

const writeCase = (valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<WriteCase> =>
  fc.oneof(
    { weight: 3, arbitrary: valid.map((json) => ({ wellFormed: true, body: { json } })) },
    { weight: 2, arbitrary: hostileWrite(valid) },
  );

/** The body with FRESH_UPN replaced by `upn`. */
function withUpn(body: BodySpec, upn: string): BodySpec {
  if ('raw' in body) return { ...body, raw: body.raw.split(JSON.stringify(FRESH_UPN)).join(JSON.stringify(upn)) };
  const json = body.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return body;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) withKey(copy, k, v === FRESH_UPN ? upn : v);
  return { json: copy };
}

function send(method: string, path: string, body: BodySpec): Promise<HttpResult> {
  if ('json' in body) return graph(method, path, { body: body.json });
  return graph(method, path, { raw: body.raw, headers: body.contentType ? { 'Content-Type': body.contentType } : {} });
}

/** The JSON object the server read, when the body is one. */
function sentObject(body: BodySpec): Record<string, unknown> | undefined {
  let v: unknown;
  if ('json' in body) v = body.json;
  else
    try {
      v = JSON.parse(body.raw);
    } catch {
      return undefined;
    }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** How Graph answers a DateTimeOffset it accepted: the instant in UTC, whole seconds, `Z` (docs/graph-emulator.md). */
const utcSeconds = (text: string): string =>
  `${new Date(Math.floor(Date.parse(text) / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/**
 * An accepted write reads back: a GET with $select of the written properties answers what was sent, allowing for the
 * documented normalisation (null clears: [] for collections, absent for extensions; the password is never returned;
 * a created user without userType is a Member; a DateTimeOffset reads back as its instant in UTC, whole seconds, `Z`).
 */
async function expectReadBack(id: string, sent: Record<string, unknown>, mode: 'create' | 'update'): Promise<void> {
  const expected = new Map<string, unknown>();
  for (const [k, v] of Object.entries(sent)) {
    if (k.startsWith('@odata.')) continue;
    const key = storedName(k);
    if (key === 'passwordProfile') expected.set(key, null);
    else if (v !== null) expected.set(key, v);
    else if (key.startsWith('extension_')) expected.set(key, undefined);
    else expected.set(key, mode === 'create' && key === 'userType' ? 'Member' : unsetValue(key));
  }
  if (expected.size === 0) return;
  const res = await graph('GET', `/users/${id}?$select=${[...expected.keys()].join(',')}`);
  if (res.status !== 200) throw new Error(`read-back answered ${res.status}: ${res.text}`);
  for (const [key, want] of expected) {
    const got = res.json[key];
    if (want === undefined) expect(res.json).not.toHaveProperty(key);
    else if (CONTRACT[key]?.format === 'date-time' && typeof want === 'string')
      expect({ key, value: got }).toEqual({ key, value: utcSeconds(want) });
    else expect({ key, value: got }).toEqual({ key, value: want });
  }
  const upn = sent.userPrincipalName;
  if (typeof upn === 'string') {
    // The UPN index follows the write: the worker's lookup finds the user by its new name.
    const found = await graph(
      'GET',
      `/users?$filter=${encodeURIComponent(`userPrincipalName eq ${odataString(upn)}`)}&$select=id`,
    );
    expect(found.json.value).toEqual([{ id }]);
  }
}

describe('generated POST /users bodies', () => {
  it('create a user that reads back as sent, or are refused with a Graph error that wrote nothing', async () => {
    await fc.assert(
      fc.asyncProperty(writeCase(validCreate), async (c) => {
        const upn = freshUpn();
        const body = withUpn(c.body, upn);
        const sent = sentObject(body);
        const pw = (sent?.passwordProfile as { password?: unknown } | undefined)?.password;
        // Graph refuses a password that contains the UPN's local part; a generated one almost never does.
        const strict = c.wellFormed && !(typeof pw === 'string' && pw.toLowerCase().includes(upn.split('@')[0]!));
        const before = await dump();
        const res = await send('POST', '/users', body);
        tally(`POST /users ${c.wellFormed ? 'well-formed' : 'hostile'}`, res.status);
        expectBelow500(res, 'POST /users');
        expectNoPollution();
        if (res.status === 201) {
          const id = res.json.id as string;
          expect(id).toMatch(GUID);
          expect(res.headers.location).toBe(
            `${target.graphUrl}/v2/${TENANT_ID}/directoryObjects/${id}/Microsoft.DirectoryServices.User`,
          );
          expect(Object.keys(res.json).sort()).toEqual(['@odata.context', ...DEFAULT_SET].sort());
          expect(res.json).not.toHaveProperty('passwordProfile');
          await expectReadBack(id, sent!, 'create');
          expect((await graph('DELETE', `/users/${id}`)).status).toBe(204);
        } else {
          if (strict) throw new Error(`well-formed create refused: ${res.status} ${res.text}`);
          expectRefusal(res);
          expect(await dump()).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('generated PATCH /users/{id} bodies', () => {
  it('answer 204 and read back as sent, or are refused with a Graph error that wrote nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATCH_POOL), writeCase(validUpdate), async (id, c) => {
        const body = withUpn(c.body, freshUpn());
        const before = await dump();
        // A hostile rename may have moved the user onto the federated domain; moving it back needs a password
        // (docs/graph-emulator.md), which a well-formed update does not send.
        const federated = String(before.find((u) => u.id === id)?.userPrincipalName).endsWith('@fed.contoso.com');
        const strict = c.wellFormed && !(federated && 'userPrincipalName' in (sentObject(body) ?? {}));
        const res = await send('PATCH', `/users/${id}`, body);
        const kind = c.wellFormed ? (strict ? 'well-formed' : 'well-formed, rename off federated') : 'hostile';
        tally(`PATCH /users/{id} ${kind}`, res.status);
        expectBelow500(res, 'PATCH /users/{id}');
        expectNoPollution();
        if (res.status === 204) {
          expect(res.text).toBe('');
          await expectReadBack(id, sentObject(body)!, 'update');
        } else {
          if (strict) throw new Error(`well-formed update refused: ${res.status} ${res.text}`);
          expectRefusal(res);
          expect(await dump()).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Manager references: PUT/DELETE …/manager/$ref against a model of the manager graph.
// ---------------------------------------------------------------------------------------------------------------

describe('generated manager $ref requests', () => {
  const UNKNOWN = '0000aaaa-0000-4000-8000-999999999999';
  const refForms: Array<(id: string, upn: string) => string> = [
    (id) => `https://graph.microsoft.com/v1.0/users/${id}`,
    (id) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`,
    (id) => `${target.graphUrl}/v1.0/users/${id}`,
    (id) => `https://graph.microsoft.com/v1.0/users/${id.toUpperCase()}`,
    (id) => `https://graph.microsoft.com/v1.0/users/${id}/`,
    (_, upn) => `https://graph.microsoft.com/v1.0/users/${encodeURIComponent(upn)}`,
    (id) => `https://graph.microsoft.com/beta/directoryObjects/${id}`,
  ];
  const junkRef = fc.oneof(
    fc
      .constantFrom<unknown>(
        'users/%',
        'https://graph.microsoft.com/v1.0/users/%E0%A4%A',
        'https://graph.microsoft.com/v1.0/users/%zz',
        'not a url',
        '',
        'https://graph.microsoft.com/v1.0/users/',
        `https://graph.microsoft.com/v1.0/users/${UNKNOWN}`,
        `https://graph.microsoft.com/v1.0/groups/${MANAGER_POOL[1]}`,
        5,
        null,
        [],
        {},
        { toString: 1 },
      )
      .map((ref): BodySpec => ({ json: { '@odata.id': ref } })),
    fc.string({ maxLength: 30 }).map((ref): BodySpec => ({ json: { '@odata.id': ref } })),
    fc.constantFrom<BodySpec>(
      { json: {} },
      { json: { '@odata.ID': `https://graph.microsoft.com/v1.0/users/${MANAGER_POOL[1]}` } },
      { json: null },
      { json: [] },
      { json: 'str' },
      { json: protoObject() },
      { raw: '{"@odata.id": ', contentType: 'application/json' },
      { raw: `{"@odata.id": "https://graph.microsoft.com/v1.0/users/${MANAGER_POOL[1]}"}` },
      { raw: '', contentType: 'application/json' },
    ),
  );
  type Op =
    | { kind: 'put'; who: number; manager: number; form: number; key: number }
    | { kind: 'putJunk'; who: number; body: BodySpec }
    | { kind: 'delete'; who: number; key: number };
  const who = fc.oneof({ weight: 6, arbitrary: fc.nat(4) }, { weight: 1, arbitrary: fc.constant(-1) });
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('put' as const),
        who,
        manager: fc.nat(4),
        form: fc.nat(refForms.length - 1),
        key: fc.nat(2),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('putJunk' as const), who, body: junkRef }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), who, key: fc.nat(2) }) },
  );
  /** The user's path key: its id, its UPN, or the `users('upn')` form. */
  const refPath = (i: number, key: number): string => {
    if (i < 0) return `/users/${UNKNOWN}/manager/$ref`;
    if (key === 1) return `/users/${encodeURIComponent(MANAGER_UPNS[i]!)}/manager/$ref`;
    if (key === 2) return `/users('${MANAGER_UPNS[i]}')/manager/$ref`;
    return `/users/${MANAGER_POOL[i]}/manager/$ref`;
  };
  const managers = (all: DumpUser[]): Map<string, string | null> =>
    new Map(all.filter((u) => u.tenantId === TENANT_ID).map((u) => [u.id, u.managerId]));
  /** Whether `from`'s chain of managers reaches `to` (guarded against a cycle, which must not exist). */
  const reaches = (m: Map<string, string | null>, from: string, to: string): boolean => {
    let cur: string | null | undefined = from;
    for (let steps = 0; cur; steps++) {
      if (cur === to) return true;
      if (steps > m.size) throw new Error('a cycle in the manager chain');
      cur = m.get(cur);
    }
    return false;
  };

  it('set and remove managers as a model of the chain says, or refuse with a Graph error that wrote nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 5 }), async (ops) => {
        for (const o of ops) {
          const before = await dump();
          const m = managers(before);
          const whoId = o.who < 0 ? UNKNOWN : MANAGER_POOL[o.who]!;
          let res: HttpResult;
          let expected: number | undefined;
          if (o.kind === 'put') {
            const managerId = MANAGER_POOL[o.manager]!;
            const ref = refForms[o.form]!(managerId, MANAGER_UPNS[o.manager]!);
            res = await graph('PUT', refPath(o.who, o.key), { body: { '@odata.id': ref } });
            expected = o.who < 0 ? 404 : managerId === whoId || reaches(m, managerId, whoId) ? 400 : 204;
          } else if (o.kind === 'putJunk') {
            res = await send('PUT', refPath(o.who, 0), o.body);
          } else {
            res = await graph('DELETE', refPath(o.who, o.key));
            expected = o.who >= 0 && m.get(whoId) ? 204 : 404;
          }
          tally(`manager ${o.kind}`, res.status);
          expectBelow500(res, `${o.kind} manager`);
          expectNoPollution();
          if (expected !== undefined) expect({ op: o, status: res.status }).toEqual({ op: o, status: expected });
          const after = await dump();
          if (res.status >= 400) {
            expectRefusal(res);
            expect(after).toEqual(before);
          } else {
            expect(res.status).toBe(204);
          }
          // The chain never loops, and GET …/manager agrees with the state.
          const m2 = managers(after);
          for (const id of MANAGER_POOL) reaches(m2, id, UNKNOWN);
          if (o.who >= 0) {
            const read = await graph('GET', `/users/${whoId}/manager?$select=id`);
            const managerId = m2.get(whoId);
            if (managerId) expect({ status: read.status, id: read.json.id }).toEqual({ status: 200, id: managerId });
            else expectRefusal(read);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// $batch: envelopes of generated items, well-formed and not.
// ---------------------------------------------------------------------------------------------------------------

describe('generated $batch requests', () => {
  interface Item {
    method: unknown;
    url: unknown;
    headers?: unknown;
    body?: unknown;
  }
  const jsonHeaders = fc.constantFrom<unknown>(
    { 'Content-Type': 'application/json' },
    { 'content-type': 'application/json; charset=utf-8' },
  );
  const pool = fc.constantFrom(...BATCH_POOL);
  const wellFormedItem: fc.Arbitrary<Item> = fc.oneof(
    listQuery(filterNode, fc.integer({ min: 1, max: 999 })).map((q) => ({
      method: 'GET',
      url: q.path,
      headers: q.headers,
    })),
    fc.tuple(pool, selectNames).map(([id, s]) => ({ method: 'GET', url: `/users/${id}?$select=${s.join(',')}` })),
    fc.tuple(pool, writeCase(validUpdate), jsonHeaders).map(([id, c, headers]) => ({
      method: 'PATCH',
      url: `/users/${id}`,
      headers,
      body: 'json' in c.body ? c.body.json : c.body.raw,
    })),
    fc.tuple(writeCase(validCreate), jsonHeaders).map(([c, headers]) => ({
      method: 'POST',
      url: '/users',
      headers,
      body: 'json' in c.body ? c.body.json : c.body.raw,
    })),
    fc.tuple(pool, pool, jsonHeaders).map(([id, manager, headers]) => ({
      method: 'PUT',
      url: `/users/${id}/manager/$ref`,
      headers,
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${manager}` },
    })),
    pool.map((id) => ({ method: 'DELETE', url: `/users/${id}/manager/$ref` })),
    fc.constant({ method: 'DELETE', url: '/users/0000aaaa-0000-4000-8000-999999999999' }),
    fc.constant({ method: 'GET', url: '/users/$count', headers: { ConsistencyLevel: 'eventual' } }),
  );
  const junkItem: fc.Arbitrary<Item> = fc.oneof(
    fc.record({
      method: fc.constantFrom<unknown>('GET', 'get', 'FOO', 'HEAD', 'OPTIONS', 'PATCH', 7),
      url: fc.constantFrom<unknown>(
        'https://graph.microsoft.com/v1.0/users',
        '/v1.0/users',
        '/$batch',
        'users',
        '/users?$filter=%',
        '/users?$top=1&$top=2',
        '/users?%zz=1',
        "/users?$filter=startsWith(displayName,'a",
        '/users/%',
        '/nope',
        '',
        5,
      ),
    }),
    fc.record({
      method: fc.constant('GET'),
      url: fc.constant('/users'),
      headers: fc.constantFrom<unknown>(
        'x',
        [],
        null,
        { x: { toString: 1 } },
        { x: [1, 2] },
        { x: null },
        { x: 5 },
        protoObject(),
        { consistencylevel: 'eventual', ConsistencyLevel: 'session' },
      ),
    }),
  );
  /** Rarely: one flaw that makes the whole envelope invalid (Graph then answers 400 and runs no item). */
  const rarely = <T>(usual: fc.Arbitrary<T>, flawed: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    fc.oneof({ weight: 60, arbitrary: usual }, { weight: 1, arbitrary: flawed });
  const itemWithMeta = fc.record({
    item: fc.oneof({ weight: 16, arbitrary: wellFormedItem }, { weight: 1, arbitrary: junkItem }),
    // undefined: the item's position, unique
    id: rarely(fc.constant(undefined), fc.constantFrom<unknown>('A', 'a', '', 7, null, '__proto__', 'constructor')),
    dependsOn: rarely(
      // earlier items, by position
      fc.option(fc.array(fc.nat(20), { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 2 }),
      fc.constantFrom<unknown>('1', ['nope'], [{ toString: 1 }], [5], {}),
    ),
    noContentType: rarely(fc.constant(false), fc.constant(true)),
  });
  const envelope = fc.oneof(
    {
      weight: 15,
      arbitrary: fc.array(itemWithMeta, { minLength: 1, maxLength: 6 }).map((metas) => ({
        requests: metas.map((m, i) => {
          const r: Record<string, unknown> = { id: m.id === undefined ? String(i + 1) : m.id, ...m.item };
          if (m.item.body !== undefined) r.body = m.item.body;
          if (m.noContentType) delete r.headers;
          if (Array.isArray(m.dependsOn) && m.dependsOn.every((d) => typeof d === 'number')) {
            const earlier = (m.dependsOn as number[]).filter((d) => d < i).map((d) => String(d + 1));
            if (earlier.length) r.dependsOn = earlier;
          } else if (m.dependsOn !== undefined) r.dependsOn = m.dependsOn;
          return r;
        }),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        null,
        [],
        {},
        { requests: 'x' },
        { requests: [] },
        { requests: [null] },
        { requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/users' })) },
        protoObject(),
      ),
    },
  );

  it('answer a 200 envelope of items that are never 5xx and are Graph errors when refused, or a Graph error that wrote nothing', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, async (env) => {
        const resolved = JSON.parse(JSON.stringify(env), (_k, v) => (v === FRESH_UPN ? freshUpn() : v));
        const before = await dump();
        const res = await graph('POST', '/$batch', { body: resolved });
        tally('POST /$batch envelope', res.status);
        expectBelow500(res, 'POST /$batch');
        expectNoPollution();
        if (res.status !== 200) {
          expectRefusal(res);
          expect(await dump()).toEqual(before);
          return;
        }
        const requests = resolved.requests as Array<Record<string, unknown>>;
        const responses = res.json.responses as Array<{ id: string; status: number; body?: Json }>;
        expect(responses.map((r) => r.id)).toEqual(requests.map((r) => r.id));
        const failed = new Set<string>();
        let wrote = false;
        for (const [i, r] of responses.entries()) {
          tally('POST /$batch items', r.status);
          if (r.status >= 500) throw new Error(`item ${r.id} answered ${r.status}: ${JSON.stringify(r.body)}`);
          const dependsOn = (requests[i]!.dependsOn as string[] | undefined) ?? [];
          if (dependsOn.some((d) => failed.has(d.toLowerCase()))) expect(r.status).toBe(424);
          if (r.status >= 400) {
            expectGraphErrorBody(r.status, r.body);
            failed.add(r.id.toLowerCase());
          } else if (WRITE_METHODS.has(String(requests[i]!.method).toUpperCase())) {
            wrote = true;
          }
        }
        if (!wrote) expect(await dump()).toEqual(before);
        for (const r of responses)
          if (r.status === 201) expect((await graph('DELETE', `/users/${r.body.id}`)).status).toBe(204);
      }),
      { numRuns: RUNS },
    );
  });
});
