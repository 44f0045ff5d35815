import type { CustomAttributeDefinition } from '../../../src/db/custom-attributes';
import { ScimError } from '../../../src/api/scim/errors';
import { applyUserOperations, applyUserResource } from '../../../src/api/scim/patch';
import type { PatchOperation } from '../../../src/api/scim/normalize';
import { diffDrafts, emptyDraft, isEmptyDiff, cloneDraft, type UserDraft } from '../../../src/api/scim/user-draft';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PRODUCT = 'urn:ietf:params:scim:schemas:extension:entra-sync:2.0:User';
const defs: Record<string, CustomAttributeDefinition> = {
  Shirt: { id: 'Shirt', name: 'Shirt', type: 'string', createdAt: new Date(0) },
  remote: { id: 'remote', name: 'Remote', type: 'boolean', createdAt: new Date(0) },
};
const lookup = (id: string) => defs[id] ?? Object.values(defs).find((d) => d.id.toLowerCase() === id.toLowerCase());

function base(): UserDraft {
  const d = emptyDraft();
  d.userName = 'u@x.com';
  d.emails = [{ type: 'work', value: 'u@x.com', primary: true }];
  return d;
}
const apply = (ops: PatchOperation[], d = base()) => {
  applyUserOperations(d, ops, lookup);
  return d;
};
const rejects = (ops: PatchOperation[], scimType: string) => {
  try {
    apply(ops);
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    expect((err as ScimError).scimType).toBe(scimType);
    return;
  }
  throw new Error('expected a ScimError');
};

describe('PATCH engine', () => {
  it('applies dotted and URN keys of a path-less value map as paths', () => {
    const d = apply([
      {
        op: 'replace',
        value: {
          'name.givenName': 'G',
          [`${ENT}:employeeNumber`]: '7',
          [`${ENT}:manager`]: 'm',
          'emails[type eq "work"].value': 'n@x.com',
          active: 'False',
        },
      },
    ]);
    expect(d).toMatchObject({ givenName: 'G', employeeNumber: '7', manager: 'm', active: false });
    expect(d.emails).toEqual([{ type: 'work', value: 'n@x.com', primary: true }]);
  });

  it('expands nested objects, leaving unnamed sub-attributes alone', () => {
    const d = base();
    d.familyName = 'Keep';
    apply(
      [
        {
          op: 'add',
          value: { name: { givenName: 'G' }, [ENT]: { department: 'D', Shirt: 'M' }, [PRODUCT]: { level: 'L2' } },
        },
      ],
      d,
    );
    expect(d).toMatchObject({
      givenName: 'G',
      familyName: 'Keep',
      department: 'D',
      level: 'L2',
      custom: { Shirt: 'M' },
    });
  });

  it('resolves names case-insensitively to their canonical attribute', () => {
    const d = apply([
      { op: 'replace', path: 'NAME.GIVENNAME', value: 'G' },
      { op: 'replace', path: `${ENT.toLowerCase()}:COSTCENTER`, value: 'C' },
    ]);
    expect(d).toMatchObject({ givenName: 'G', costCenter: 'C' });
  });

  it("accepts the vendor article's dot form for custom attributes", () => {
    expect(apply([{ op: 'add', path: `${ENT}.Shirt`, value: 'XL' }]).custom).toEqual({ Shirt: 'XL' });
  });

  it('coerces custom booleans and removes custom values', () => {
    const d = apply([{ op: 'add', path: `${ENT}:remote`, value: 'True' }]);
    expect(d.custom).toEqual({ remote: true });
    apply([{ op: 'remove', path: `${ENT}:remote` }], d);
    expect(d.custom).toEqual({});
  });

  it('adds a typed element when a value-filter replace matches nothing, and merges add by type', () => {
    const d = apply([{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1' }]);
    expect(d.phoneNumbers).toEqual([{ type: 'mobile', value: '+1' }]);
    apply(
      [
        {
          op: 'add',
          path: 'phoneNumbers',
          value: [
            { type: 'mobile', value: '+2' },
            { type: 'fax', value: '+3' },
          ],
        },
      ],
      d,
    );
    expect(d.phoneNumbers).toEqual([
      { type: 'mobile', value: '+2' },
      { type: 'fax', value: '+3' },
    ]);
  });

  it('adds an element of type X for a plain [type eq "X"] filter, with add as with replace', () => {
    const d = base();
    apply([{ op: 'add', path: 'emails[type eq "home"].value', value: 'h@x' }], d);
    apply([{ op: 'replace', path: 'emails[type eq "other"]', value: { value: 'o@x', type: 'work' } }], d);
    expect(d.emails).toEqual([
      { type: 'work', value: 'u@x.com', primary: true },
      { type: 'home', value: 'h@x' },
      { type: 'other', value: 'o@x' },
    ]);
  });

  it.each([
    ['replace', 'emails[value eq "nomatch@x"].value'],
    ['replace', 'emails[type co "o"].value'],
    ['replace', 'emails[type pr].value'],
    ['replace', 'emails[type eq "work" or type eq "home"].value'],
    ['replace', 'emails[type eq "work" and primary eq true].value'],
    ['replace', 'emails[not (type eq "work")].value'],
    ['replace', 'emails.value'],
    ['add', 'emails[value eq "nomatch@x"].value'],
    ['add', 'emails[type co "o"]'],
  ] as const)('answers noTarget for %s on %s when no element matches, as the filter names no type', (op, path) => {
    const d = base();
    d.emails = [];
    const value = path.endsWith(']') ? { value: 'new@x' } : 'new@x';
    try {
      apply([{ op, path, value }], d);
      throw new Error('expected a ScimError');
    } catch (err) {
      expect((err as ScimError).scimType).toBe('noTarget');
    }
    expect(d.emails).toEqual([]);
  });

  it('refuses two elements of one type (case-insensitively), however they arrive', () => {
    const twoWork = [
      { type: 'work', value: 'a@b' },
      { type: 'Work', value: 'c@d' },
    ];
    rejects([{ op: 'replace', path: 'emails', value: twoWork }], 'invalidValue');
    rejects([{ op: 'add', path: 'emails', value: twoWork }], 'invalidValue');
    const d = base();
    d.emails.push({ type: 'home', value: 'h@x' });
    expect(() => apply([{ op: 'replace', path: 'emails[type eq "home"].type', value: 'WORK' }], d)).toThrow(
      /more than one element of type/,
    );
    rejects(
      [
        {
          op: 'replace',
          path: 'phoneNumbers',
          value: [
            { type: 'mobile', value: '1' },
            { type: 'mobile', value: '2' },
          ],
        },
      ],
      'invalidValue',
    );
    const post = emptyDraft();
    expect(() => applyUserResource(post, { userName: 'a@b', emails: twoWork }, lookup)).toThrow(ScimError);
    // Elements without a type do not collide.
    expect(apply([{ op: 'replace', path: 'emails', value: [{ value: 'a@b' }, { value: 'c@d' }] }]).emails).toHaveLength(
      2,
    );
  });

  it('still edits a user stored with two elements of one type (before the rule) instead of refusing every PATCH', () => {
    const d = base();
    d.emails = [
      { type: 'work', value: 'a@b' },
      { type: 'work', value: 'c@d' },
    ];
    apply([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@b' }], d);
    expect(d.emails.map((e) => e.value)).toEqual(['new@b', 'new@b']);
    apply([{ op: 'add', path: 'emails[type eq "home"].value', value: 'h@x' }], d);
    expect(d.emails).toHaveLength(3);
    // A third work address would add to the duplicates: refused.
    expect(() =>
      apply(
        [
          {
            op: 'add',
            path: 'emails',
            value: [
              { type: 'work', value: 'x@y' },
              { type: 'work', value: 'z@y' },
            ],
          },
        ],
        d,
      ),
    ).toThrow(/more than one element of type/);
  });

  it('keeps one primary element: a PATCH that names a new primary demotes the old one (RFC 7644 §3.5.2)', () => {
    const d = base();
    apply([{ op: 'add', path: 'emails[type eq "home"]', value: { value: 'h@x', primary: 'True' } }], d);
    expect(d.emails).toEqual([
      { type: 'work', value: 'u@x.com', primary: false },
      { type: 'home', value: 'h@x', primary: true },
    ]);
    apply([{ op: 'replace', path: 'emails[type eq "work"].primary', value: true }], d);
    expect(d.emails.map((e) => [e.type, e.primary])).toEqual([
      ['work', true],
      ['home', false],
    ]);
    apply([{ op: 'add', path: 'emails', value: [{ type: 'other', value: 'o@x', primary: true }] }], d);
    expect(d.emails.filter((e) => e.primary).map((e) => e.type)).toEqual(['other']);
    // Setting primary false, or editing another sub-attribute, leaves the others alone.
    apply([{ op: 'replace', path: 'emails[type eq "home"].value', value: 'h2@x' }], d);
    apply([{ op: 'replace', path: 'emails[type eq "work"].primary', value: false }], d);
    expect(d.emails.filter((e) => e.primary).map((e) => e.type)).toEqual(['other']);
  });

  it('refuses an edit or a body that makes two elements primary at once (RFC 7643 §2.4)', () => {
    const twoPrimaries = [
      { type: 'work', value: 'a@b', primary: true },
      { type: 'home', value: 'c@d', primary: 'True' },
    ];
    rejects([{ op: 'replace', path: 'emails', value: twoPrimaries }], 'invalidValue');
    rejects([{ op: 'add', path: 'emails', value: twoPrimaries }], 'invalidValue');
    expect(() => applyUserResource(emptyDraft(), { userName: 'a@b', emails: twoPrimaries }, lookup)).toThrow(
      /only one primary/,
    );
    const d = base();
    d.emails.push({ type: 'home', value: 'h@x' });
    // A value filter (or no filter) matching both elements would make both primary.
    expect(() => apply([{ op: 'replace', path: 'emails.primary', value: true }], d)).toThrow(/only one primary/);
    expect(() => apply([{ op: 'replace', path: 'emails[value co "x"]', value: { primary: true } }], d)).toThrow(
      /only one primary/,
    );
    expect(d.emails).toEqual([
      { type: 'work', value: 'u@x.com', primary: true },
      { type: 'home', value: 'h@x' },
    ]);
  });

  it('still edits a user stored with two primaries (before the rule) until an edit names one', () => {
    const d = base();
    d.emails = [
      { type: 'work', value: 'a@b', primary: true },
      { type: 'home', value: 'c@d', primary: true },
    ];
    apply([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@b' }], d);
    expect(d.emails.filter((e) => e.primary)).toHaveLength(2);
    apply([{ op: 'replace', path: 'emails[type eq "home"].primary', value: 'True' }], d);
    expect(d.emails.map((e) => e.primary)).toEqual([false, true]);
  });

  it('treats "" as "clear" for single-valued strings, custom attributes and value-path sub-attributes', () => {
    const d = base();
    d.title = 'T';
    d.department = 'D';
    d.custom = { Shirt: 'L', remote: true };
    d.emails.push({ type: 'home', value: 'h@x', display: 'Home' });
    apply(
      [
        { op: 'replace', path: 'title', value: '' },
        { op: 'replace', path: `${ENT}:department`, value: '' },
        { op: 'replace', path: `${ENT}:Shirt`, value: '' },
        { op: 'replace', path: `${ENT}:remote`, value: '' },
        { op: 'replace', path: 'emails[type eq "home"].display', value: '' },
        { op: 'replace', path: 'emails[type eq "work"].value', value: '' },
        { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '' },
      ],
      d,
    );
    expect(d).toMatchObject({ title: null, department: null, custom: {}, phoneNumbers: [] });
    expect(d.emails).toEqual([{ type: 'home', value: 'h@x' }]);
  });

  it('removes elements by value filter, by value list, and all at once', () => {
    const d = base();
    d.emails = [
      { type: 'work', value: 'a@x' },
      { type: 'home', value: 'b@x' },
      { type: 'other', value: 'c@x' },
    ];
    apply([{ op: 'remove', path: 'emails[type eq "home" or type eq "OTHER"]' }], d);
    expect(d.emails).toEqual([{ type: 'work', value: 'a@x' }]);
    apply([{ op: 'remove', path: 'emails', value: [{ value: 'A@X' }] }], d);
    expect(d.emails).toEqual([]);
  });

  it('handles the roles-style "True" in a value filter', () => {
    const d = base();
    apply([{ op: 'replace', path: 'emails[primary eq "True"].value', value: 'p@x.com' }], d);
    expect(d.emails).toEqual([{ type: 'work', value: 'p@x.com', primary: true }]);
  });

  it('reads value-filter strings as JSON strings: \\uXXXX, \\" and a trailing \\\\ are decoded', () => {
    const d = base();
    apply([{ op: 'replace', path: 'emails[value eq "u\\u0040X.com"].value', value: 'v@x.com' }], d);
    expect(d.emails[0].value).toBe('v@x.com');
    apply([{ op: 'add', path: 'emails[type eq "h\\u00f6me"].value', value: 'h@x' }], d);
    apply([{ op: 'add', path: 'phoneNumbers[type eq "say \\"hi\\"\\\\"].value', value: '+1' }], d);
    expect(d.emails[1]).toEqual({ type: 'h\u00f6me', value: 'h@x' });
    expect(d.phoneNumbers).toEqual([{ type: 'say "hi"\\', value: '+1' }]);
    // Filtering again by the decoded text finds the same element instead of adding another.
    apply([{ op: 'replace', path: 'emails[type eq "höme"].value', value: 'h2@x' }], d);
    expect(d.emails).toHaveLength(2);
    rejects([{ op: 'replace', path: 'emails[type eq "\\x"].value', value: 'a' }], 'invalidPath');
    rejects([{ op: 'add', path: 'emails[type eq "\\u0000"].value', value: 'a' }], 'invalidPath');
  });

  it('clears name or an extension replaced with null (unassigned, RFC 7643 §2.5), as a remove does', () => {
    const d = base();
    d.givenName = 'Ann';
    d.familyName = 'Lee';
    d.department = 'R&D';
    d.level = 'L3';
    apply(
      [
        { op: 'replace', path: 'name', value: null },
        { op: 'replace', path: ENT, value: null },
        { op: 'replace', value: { [PRODUCT]: null } },
      ],
      d,
    );
    expect([d.givenName, d.familyName, d.department, d.level]).toEqual([null, null, null, null]);
  });

  it('answers mutability for removing the required userName (RFC 7644 §3.5.2.2)', () => {
    rejects([{ op: 'remove', path: 'userName' }], 'mutability');
  });

  it('refuses prototype-reaching segments and unknown attributes before touching anything', () => {
    rejects([{ op: 'add', path: '__proto__.x', value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: 'name.__proto__', value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: 'constructor', value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: `${ENT}:prototype`, value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: 'emails[__proto__ eq "x"].value', value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: 'unknown', value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: `${ENT}:nope`, value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: 'title[type eq "x"]', value: 1 }], 'invalidPath');
    rejects([{ op: 'add', path: 'emails.shoe', value: 1 }], 'invalidPath');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses read-only attributes in PATCH but ignores them in a resource body', () => {
    rejects([{ op: 'replace', path: 'id', value: 'x' }], 'mutability');
    rejects([{ op: 'add', path: 'groups', value: [] }], 'mutability');
    const d = emptyDraft();
    applyUserResource(d, { id: 'x', meta: {}, schemas: [], groups: [], userName: 'a@b' }, lookup);
    expect(d.userName).toBe('a@b');
  });

  it('skips nulls in a resource body (RFC 7643 §2.5: null is unassigned)', () => {
    const d = emptyDraft();
    applyUserResource(
      d,
      { userName: 'a@b', displayName: null, name: { givenName: null, familyName: 'F' }, [ENT]: { manager: null } },
      lookup,
    );
    expect(d).toMatchObject({ userName: 'a@b', displayName: null, familyName: 'F', manager: null });
  });

  it('reports no difference for a no-op and exactly the changed fields otherwise', () => {
    const before = base();
    const same = cloneDraft(before);
    apply(
      [
        { op: 'replace', path: 'userName', value: 'u@x.com' },
        { op: 'replace', path: 'active', value: 'True' },
      ],
      same,
    );
    expect(isEmptyDiff(diffDrafts(before, same))).toBe(true);
    const changed = apply(
      [
        { op: 'replace', path: 'title', value: 'T' },
        { op: 'add', path: `${ENT}:Shirt`, value: 'S' },
      ],
      cloneDraft(before),
    );
    expect(diffDrafts(before, changed)).toMatchObject({
      scalars: ['title'],
      custom: ['Shirt'],
      emails: false,
      active: false,
    });
  });

  it('treats a level that differs only in case as unchanged', () => {
    const before = base();
    before.level = 'Senior';
    const after = apply([{ op: 'replace', path: `${PRODUCT}:level`, value: 'SENIOR' }], cloneDraft(before));
    expect(diffDrafts(before, after).scalars).toEqual([]);
  });
});
