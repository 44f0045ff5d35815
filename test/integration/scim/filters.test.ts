import type { Knex } from 'knex';
import { filterToSql } from '../../../src/api/scim/filter-sql';
import { createHarness, ENTERPRISE, PRODUCT, type Harness } from './harness';

/** The RFC 7644 §3.4.2.2 filter grammar, translated to SQL and run on real PostgreSQL against a small fixture. */
let h: Harness;
const ids: Record<string, string> = {};
beforeAll(async () => {
  h = await createHarness();
  await h.db('custom_attribute_definitions').insert([
    { tenant_id: h.scim.tenantId, id: 'score', name: 'Score', type: 'number' },
    { tenant_id: h.scim.tenantId, id: 'remote', name: 'Remote', type: 'boolean' },
    { tenant_id: h.scim.tenantId, id: 'motto', name: 'Motto', type: 'string' },
  ]);
  ids.ann = await h.scim.createUser('ann@contoso.com', {
    externalId: 'EXT-Ann',
    displayName: 'Ann Archer',
    title: 'Engineer',
    name: { givenName: 'Ann', familyName: 'Archer' },
    emails: [
      { type: 'work', value: 'ann@contoso.com', primary: true },
      { type: 'home', value: 'ann@home.example' },
    ],
    [ENTERPRISE]: { department: 'R&D', score: 7, remote: true, motto: '100% _done_' },
    [PRODUCT]: { startDate: '2020-01-15', level: 'Senior' },
  });
  ids.bob = await h.scim.createUser('bob@contoso.com', {
    externalId: 'ext-bob',
    displayName: 'Bob Baker',
    title: 'Manager',
    emails: [{ type: 'work', value: 'bob@contoso.com' }],
    [ENTERPRISE]: { department: 'Sales', score: 3, remote: false, manager: ids.ann },
    [PRODUCT]: { startDate: '2022-06-01' },
  });
  ids.cy = await h.scim.createUser('cy@fabrikam.com', {
    displayName: 'Cy Cooper',
    emails: [{ type: 'home', value: 'cy@contoso.com' }],
    [ENTERPRISE]: { department: 'r&d' },
  });
  await h.scim.ops(`/Users/${ids.cy}`, [{ op: 'replace', path: 'active', value: false }]);
});
afterAll(async () => h.testDb.drop());

async function names(filter: string): Promise<string[]> {
  const res = await h.scim.get(`/Users?filter=${encodeURIComponent(filter)}&sortBy=userName`);
  if (res.status !== 200) throw new Error(`${filter}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.Resources.map((r: { userName: string }) => r.userName.split('@')[0]);
}

it.each([
  ['userName eq "ANN@contoso.com"', ['ann']],
  ['USERNAME EQ "ann@contoso.com"', ['ann']],
  ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@contoso.com"', ['bob']],
  ['userName ne "ann@contoso.com"', ['bob', 'cy']],
  ['userName co "CONTOSO"', ['ann', 'bob']],
  ['userName sw "b"', ['bob']],
  ['userName ew "fabrikam.com"', ['cy']],
  ['userName gt "b"', ['bob', 'cy']],
  ['userName ge "bob@contoso.com"', ['bob', 'cy']],
  ['userName lt "b"', ['ann']],
  ['userName le "bob@contoso.com"', ['ann', 'bob']],
  ['title pr', ['ann', 'bob']],
  ['not (title pr)', ['cy']],
  ['externalId eq "EXT-Ann"', ['ann']],
  ['externalId eq "ext-ann"', []],
  ['active eq false', ['cy']],
  ['active eq "True"', ['ann', 'bob']],
  ['active ne true', ['cy']],
  ['title eq "Engineer" or title eq "Manager"', ['ann', 'bob']],
  ['title eq "Engineer" and userName sw "a"', ['ann']],
  ['(title eq "Engineer" or title eq "Manager") and not (userName sw "a")', ['bob']],
  ['title eq "Manager" or title eq "Engineer" and userName sw "b"', ['bob']],
  ['not (title eq "Engineer")', ['bob', 'cy']],
  ['not (title eq "Engineer" or title eq "Manager")', ['cy']],
  ['emails[type eq "work"].value eq "bob@contoso.com"', ['bob']],
  ['emails[type eq "work" and value co "ann"]', ['ann']],
  ['emails[type eq "home"]', ['ann', 'cy']],
  ['emails.value co "home.example"', ['ann']],
  ['emails eq "cy@contoso.com"', ['cy']],
  ['emails[type eq "work"].value eq "cy@contoso.com"', []],
  ['emails[primary eq true]', ['ann']],
  ['emails[primary eq "True"]', ['ann']],
  ['emails[primary eq "TRUE" and type eq "work"]', ['ann']],
  ['emails.primary eq "True"', ['ann']],
  ['emails[primary ne "True"]', ['ann', 'bob', 'cy']],
  ['emails[type eq "work"].primary eq "true"', ['ann']],
  ['emails pr', ['ann', 'bob', 'cy']],
  ['name.familyName eq "archer"', ['ann']],
  [`${ENTERPRISE}:department eq "r&d"`, ['ann', 'cy']],
  ['department eq "Sales"', ['bob']],
  [`${ENTERPRISE}:manager eq "${'$ANN'}"`, ['bob']],
  ['manager.value pr', ['bob']],
  [`${ENTERPRISE}:score gt 5`, ['ann']],
  [`${ENTERPRISE}:score le "3"`, ['bob']],
  [`${ENTERPRISE}:remote eq true`, ['ann']],
  [`${ENTERPRISE}:motto co "0% _d"`, ['ann']],
  [`${ENTERPRISE}:motto co "%"`, ['ann']],
  [`${ENTERPRISE}:motto co "x%"`, []],
  [`${PRODUCT}:startDate ge "2021-01-01"`, ['bob']],
  [`${PRODUCT}:level eq "senior"`, ['ann']],
  ['meta.created gt "2000-01-01T00:00:00Z"', ['ann', 'bob', 'cy']],
  ['meta.lastModified lt "2000-01-01T00:00:00Z"', []],
  ['displayName eq "Ann \\"The\\" Archer"', []],
  ['id eq "not-a-uuid"', []],
])('%s', async (filter, expected) => {
  expect(await names(filter.replace('$ANN', ids.ann))).toEqual(expected);
});

it('accepts a filter in a deep but valid nesting of parentheses', async () => {
  expect(await names(`${'('.repeat(200)}userName eq "ann@contoso.com"${')'.repeat(200)}`)).toEqual(['ann']);
});

it('filters by id', async () => {
  expect(await names(`id eq "${ids.bob}"`)).toEqual(['bob']);
  expect(await names(`id ne "${ids.bob}"`)).toEqual(['ann', 'cy']);
});

it('can answer a work-email lookup from the GIN index of migration 010 instead of unpacking every row', async () => {
  const { sql, bindings } = filterToSql('emails[type eq "work"].value eq "ANN@contoso.com"', 'User', () => undefined);
  const plan = await h.db.transaction(async (trx) => {
    await trx.raw('SET LOCAL enable_seqscan = off');
    const explained = await trx.raw(`EXPLAIN SELECT id FROM employees WHERE ${sql}`, bindings as Knex.RawBinding[]);
    return explained as { rows: unknown[] };
  });
  expect(JSON.stringify(plan.rows)).toContain('employees_email_values_gin');
  expect(await names('emails[type eq "work"].value eq "ANN@contoso.com"')).toEqual(['ann']);
});
