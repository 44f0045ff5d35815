import type { CustomAttributeDefinition } from '../../../src/db/custom-attributes';
import { ScimError } from '../../../src/api/scim/errors';
import { filterToSql, parseFilter } from '../../../src/api/scim/filter-sql';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const defs: Record<string, CustomAttributeDefinition> = {
  score: { id: 'score', name: 'Score', type: 'number', createdAt: new Date(0) },
  hired: { id: 'hired', name: 'Hired on', type: 'date', createdAt: new Date(0) },
};
const lookup = (id: string) => defs[id];
const users = (f: string) => filterToSql(f, 'User', lookup);

function rejects(f: string, resource: 'User' | 'Group' = 'User'): ScimError {
  try {
    filterToSql(f, resource, lookup);
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    expect((err as ScimError).status).toBe(400);
    expect((err as ScimError).scimType).toBe('invalidFilter');
    return err as ScimError;
  }
  throw new Error(`expected ${f} to be rejected`);
}

describe('filter → SQL', () => {
  it("compares case-insensitive attributes with lower() so the lower(user_name) index serves Entra's lookup", () => {
    expect(users('userName eq "A@B.com"')).toEqual({
      sql: '(lower(employees.user_name) = lower(?))',
      bindings: ['A@B.com'],
    });
  });

  it('compares externalId case-exactly', () => {
    expect(users('externalId eq "X"')).toEqual({ sql: '(employees.external_id = ?)', bindings: ['X'] });
  });

  it('binds every value, so quotes and SQL in values stay data', () => {
    const { sql, bindings } = users(`displayName eq "x' OR 1=1 --"`);
    expect(sql).not.toContain('OR 1=1');
    expect(bindings).toEqual([`x' OR 1=1 --`]);
  });

  it('escapes LIKE wildcards in co/sw/ew', () => {
    expect(users('displayName co "50%_off\\\\"')).toEqual({
      sql: "(lower(employees.display_name) LIKE lower(?) ESCAPE '\\')",
      bindings: ['%50\\%\\_off\\\\%'],
    });
    expect(users('displayName sw "a"').bindings).toEqual(['a%']);
    expect(users('displayName ew "a"').bindings).toEqual(['%a']);
  });

  it('decodes JSON escapes in string values', () => {
    expect(users('displayName eq "a\\"b"').bindings).toEqual(['a"b']);
    expect(users('displayName eq "CONTOSO\\\\alice"').bindings).toEqual(['CONTOSO\\alice']);
    expect(users('displayName eq "caf\\u00e9"').bindings).toEqual(['café']);
  });

  it('keeps and/or precedence and groups with parentheses', () => {
    expect(users('title eq "a" or title eq "b" and title eq "c"').sql).toBe(
      '((lower(employees.job_title) = lower(?)) OR ((lower(employees.job_title) = lower(?)) AND (lower(employees.job_title) = lower(?))))',
    );
  });

  it('makes leaves under not NULL-safe, and only there', () => {
    expect(users('not (title eq "a")').sql).toBe('(NOT COALESCE((lower(employees.job_title) = lower(?)), FALSE))');
  });

  it('requires the value filter and the sub-attribute to hold for the same element', () => {
    const { sql, bindings } = users('emails[type eq "work"].value eq "x@y"');
    expect(sql).toBe(
      "(scim_lower_values(employees.emails) @> ARRAY[lower(?)] AND EXISTS (SELECT 1 FROM jsonb_array_elements(employees.emails) AS el WHERE ((lower(el->>'type') = lower(?)) AND (lower(el->>'value') = lower(?)))))",
    );
    expect(bindings).toEqual(['x@y', 'work', 'x@y']);
  });

  it('narrows email lookups with the indexed lower-cased value array, and only for eq on the value', () => {
    expect(users('emails eq "A@B"').sql).toMatch(
      /^\(scim_lower_values\(employees\.emails\) @> ARRAY\[lower\(\?\)\] AND EXISTS/,
    );
    expect(users('emails.value co "A@B"').sql).not.toContain('scim_lower_values');
    expect(users('phoneNumbers eq "1"').sql).not.toContain('scim_lower_values');
  });

  it('turns an eq on a malformed id into FALSE rather than a uuid cast error', () => {
    expect(users('id eq "nope"')).toEqual({ sql: 'FALSE', bindings: [] });
    expect(users('manager eq "5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11"')).toEqual({
      sql: '(employees.manager_id = ?::uuid)',
      bindings: ['5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11'],
    });
  });

  it('binds custom attribute ids instead of splicing them', () => {
    const { sql, bindings } = users(`${ENT}:score ge 2.5`);
    expect(sql).toContain('employees.custom_attributes->?');
    expect(bindings).toEqual(['score', 'score', 2.5]);
  });

  it('translates Group members filters to EXISTS on team_members', () => {
    const id = '5d48a0a8-e3f9-4b4c-9c2a-7d2b8d0c2f11';
    expect(filterToSql(`members eq "${id}"`, 'Group', lookup).sql).toBe(
      'EXISTS (SELECT 1 FROM team_members gm WHERE gm.team_id = teams.id AND (gm.employee_id = ?::uuid))',
    );
    expect(filterToSql(`displayName eq "Eng"`, 'Group', lookup).sql).toBe('(lower(teams.display_name) = lower(?))');
  });

  it.each([
    'userName eq',
    'userName eq "a" and',
    'and userName eq "a"',
    '(userName eq "a"',
    'userName eq "a")',
    'userName pr "x"',
    'userName like "x"',
    'shoeSize eq 1',
    `${ENT}:unknownCustom eq 1`,
    'urn:evil:x eq 1',
    'emails[shoe eq "x"]',
    'emails[type eq "x"][value eq "y"]',
    'active gt true',
    'active eq "yes"',
    `${ENT}:score co "1"`,
    `${ENT}:score eq "many"`,
    'meta.created gt "not a date"',
    'meta.created gt "1"',
    'urn:ietf:params:scim:schemas:extension:entra-sync:2.0:User:birthday eq "2024-02-30"',
    'meta.created gt "2020-13-45T00:00:00Z"',
    'title pr and',
    '',
    '   ',
    '__proto__ eq "x"',
    'constructor.prototype eq "x"',
  ])('rejects %j with invalidFilter', (f) => {
    rejects(f);
  });

  it('rejects U+0000 in a filter value, raw or as the JSON escape, before PostgreSQL sees it', () => {
    expect(rejects('userName eq "a\\u0000b"').detail).toMatch(/U\+0000/);
    expect(rejects('userName eq "a\u0000b"').detail).toMatch(/U\+0000/);
    rejects('emails[value eq "\\u0000"]');
    expect(users('userName eq "a\\u0001b"').bindings).toEqual(['a\u0001b']);
  });

  it('compares boolean sub-attributes with true/false and with Entra\'s "True"/"False" in any case', () => {
    const primary =
      "EXISTS (SELECT 1 FROM jsonb_array_elements(employees.emails) AS el WHERE (lower(el->>'primary') = ?))";
    expect(users('emails[primary eq "True"]')).toEqual({ sql: primary, bindings: ['true'] });
    expect(users('emails[primary eq true]')).toEqual({ sql: primary, bindings: ['true'] });
    expect(users('emails.primary eq "FALSE"')).toEqual({ sql: primary, bindings: ['false'] });
    expect(users('emails[type eq "work" and primary ne "true"]').bindings).toEqual(['work', 'true']);
    rejects('emails[primary eq "yes"]');
    rejects('emails[primary gt "True"]');
    rejects('emails.primary co "t"');
  });

  it('checks that a custom date attribute is compared with a date, as the built-in dates are', () => {
    expect(users(`${ENT}:hired gt "2024-01-31"`).bindings).toEqual(['hired', '2024-01-31']);
    expect(users(`${ENT}:hired sw "2024"`).bindings).toEqual(['hired', '2024%']);
    expect(rejects(`${ENT}:hired gt "garbage"`).detail).toContain('YYYY-MM-DD');
    rejects(`${ENT}:hired eq "2024-02-30"`);
  });

  it('rejects user attributes on Groups and vice versa', () => {
    rejects('userName eq "a"', 'Group');
    rejects('members eq "a"', 'User');
  });

  it('rejects filters over the length, depth and term limits', () => {
    rejects('x'.repeat(5000));
    rejects(`${'not ('.repeat(50)}title pr${')'.repeat(50)}`);
    rejects(Array.from({ length: 201 }, () => 'title pr').join(' or '));
  });

  it('quotes bare words only as a fallback for the old tutorial sample', () => {
    expect(parseFilter('externalId eq jyoung')).toEqual({ op: 'eq', attrPath: 'externalId', compValue: 'jyoung' });
    expect(parseFilter('active eq true')).toEqual({ op: 'eq', attrPath: 'active', compValue: true });
  });
});
