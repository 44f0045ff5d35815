import { ProvisioningError } from '../../../src/graph/errors';
import {
  accountEnabledFor,
  buildDesiredUser,
  createBody,
  DEFAULT_MAPPING,
  diffUser,
  graphDateTime,
  mailNicknameFor,
  MappingSchema,
  withDateTimeExtensions,
  type HrEmployee,
} from '../../../src/graph/mapping';

const jane: HrEmployee = {
  id: '7d3c1a2e-0000-4000-8000-000000000001',
  externalId: null,
  userName: 'jane.doe@contoso.test',
  givenName: 'Jane',
  familyName: 'Doe',
  displayName: null,
  jobTitle: 'Engineer',
  department: 'R&D',
  division: 'Platform',
  costCenter: 'CC-1',
  organization: null,
  employeeNumber: 'E-42',
  location: 'Berlin',
  startDate: '2026-01-01',
  endDate: null,
  managerId: null,
  lifecycleStatus: 'active',
  customAttributes: { shirt: 'M', langs: ['de', 'en'] },
  version: 3,
};

describe('lifecycle → accountEnabled (fixed table of the vendor article)', () => {
  it.each([
    ['active', true],
    ['offboarding', true],
    ['hired', false],
    ['leave', false],
    ['terminated', false],
    ['deactivated', false],
    ['', false],
    [null, false],
    ['something-else', false],
  ])('%s → %s', (lifecycle, enabled) => {
    expect(accountEnabledFor(lifecycle)).toBe(enabled);
  });
});

describe('desired Entra user from the mapping', () => {
  it('maps HR fields unformatted and adds UPN, accountEnabled and a displayName from the names', () => {
    expect(buildDesiredUser(jane, DEFAULT_MAPPING)).toEqual({
      givenName: 'Jane',
      surname: 'Doe',
      jobTitle: 'Engineer',
      department: 'R&D',
      officeLocation: 'Berlin',
      employeeId: 'E-42',
      userPrincipalName: 'jane.doe@contoso.test',
      accountEnabled: true,
      displayName: 'Jane Doe',
    });
  });

  it('sends references to other people as the HR id, and extension and org-data targets', () => {
    const user = buildDesiredUser({ ...jane, managerId: 'mgr-hr-id' }, [
      ...DEFAULT_MAPPING,
      { source: 'managerId', target: 'extension_0123456789abcdef0123456789abcdef_hrManagerId' },
      { source: 'division', target: 'employeeOrgData.division' },
      { source: 'costCenter', target: 'employeeOrgData.costCenter' },
      { source: 'customAttributes.shirt', target: 'extension_0123456789abcdef0123456789abcdef_shirt' },
    ]);
    expect(user).toMatchObject({
      extension_0123456789abcdef0123456789abcdef_hrManagerId: 'mgr-hr-id',
      extension_0123456789abcdef0123456789abcdef_shirt: 'M',
      employeeOrgData: { division: 'Platform', costCenter: 'CC-1' },
    });
  });

  it('refuses an employee without last name with MissingName and says how to fix it', () => {
    const err = captured(() => buildDesiredUser({ ...jane, familyName: ' ' }, DEFAULT_MAPPING));
    expect(err.type).toBe('MissingName');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/last name.*Fix:/);
  });

  it("reads only the employee's own custom attributes, never what every object inherits", () => {
    const ext = (name: string) => `extension_0123456789abcdef0123456789abcdef_${name}`;
    const user = buildDesiredUser(jane, [
      ...DEFAULT_MAPPING,
      { source: 'customAttributes.constructor', target: ext('a') },
      { source: 'customAttributes.__proto__', target: ext('b') },
      { source: 'customAttributes.toString', target: ext('c') },
    ]);
    expect(user).toMatchObject({ [ext('a')]: null, [ext('b')]: null, [ext('c')]: null });
  });

  it('sends HR dates to the date-time properties as midnight UTC (Graph refuses a bare date)', () => {
    const user = buildDesiredUser({ ...jane, endDate: '2026-12-31T17:30:00Z' }, [
      ...DEFAULT_MAPPING,
      { source: 'startDate', target: 'employeeHireDate' },
      { source: 'endDate', target: 'employeeLeaveDateTime' },
      { source: 'startDate', target: 'extension_0123456789abcdef0123456789abcdef_start' },
    ]);
    expect(user).toMatchObject({
      employeeHireDate: '2026-01-01T00:00:00Z',
      employeeLeaveDateTime: '2026-12-31T17:30:00Z',
      extension_0123456789abcdef0123456789abcdef_start: '2026-01-01',
    });
  });

  it('sends a date-time written with an offset or a fraction as the UTC instant Graph answers, so a reconcile finds it equal', () => {
    const mapping = [
      ...DEFAULT_MAPPING,
      { source: 'customAttributes.hired', target: 'employeeHireDate' as const },
      { source: 'endDate', target: 'employeeLeaveDateTime' as const },
    ];
    const user = buildDesiredUser(
      { ...jane, endDate: '2026-12-31T17:30:00.999-05:30', customAttributes: { hired: '2024-03-01T09:00:00+01:00' } },
      mapping,
    );
    expect(user).toMatchObject({
      employeeHireDate: '2024-03-01T08:00:00Z',
      employeeLeaveDateTime: '2026-12-31T23:00:00Z',
    });
    // What Graph reads back for that account: the same instants in UTC, so nothing differs.
    expect(
      diffUser(user, {
        ...user,
        employeeHireDate: '2024-03-01T08:00:00Z',
        employeeLeaveDateTime: '2026-12-31T23:00:00Z',
      }),
    ).toEqual({});
  });

  it.each([
    '2020-02-30',
    '2021-02-29T00:00:00Z',
    '2020-13-01',
    '2020-01-01T25:00:00Z',
    '2020-01-01T09:00:00',
    'soon',
    '',
  ])('blocks the hire date %p with InvalidProperty naming the HR field, instead of sending it', (value) => {
    const err = captured(() =>
      buildDesiredUser({ ...jane, customAttributes: { hired: value } }, [
        ...DEFAULT_MAPPING,
        { source: 'customAttributes.hired', target: 'employeeHireDate' },
      ]),
    );
    expect(err).toMatchObject({ type: 'InvalidProperty', retryable: false });
    expect(err.message).toMatch(/customAttributes\.hired holds no valid date for employeeHireDate.*Fix:/);
  });

  it('blocks a number or a boolean mapped to a date-time property, and clears it for null', () => {
    for (const hired of [20240301, true]) {
      const err = captured(() =>
        buildDesiredUser({ ...jane, customAttributes: { hired } }, [
          ...DEFAULT_MAPPING,
          { source: 'customAttributes.hired', target: 'employeeHireDate' },
        ]),
      );
      expect(err.type).toBe('InvalidProperty');
    }
    const cleared = buildDesiredUser({ ...jane, customAttributes: { hired: null } }, [
      ...DEFAULT_MAPPING,
      { source: 'customAttributes.hired', target: 'employeeHireDate' },
    ]);
    expect(cleared.employeeHireDate).toBeNull();
  });

  it('puts DateTime extension values into the same UTC form once their type is known', () => {
    const name = 'extension_0123456789abcdef0123456789abcdef_start';
    const mapping = [...DEFAULT_MAPPING, { source: 'customAttributes.start', target: name }];
    const user = buildDesiredUser({ ...jane, customAttributes: { start: '2024-03-01T09:00:00+01:00' } }, mapping);
    withDateTimeExtensions(user, [name], mapping);
    expect(user[name]).toBe('2024-03-01T08:00:00Z');
    const bad = buildDesiredUser({ ...jane, customAttributes: { start: '2024-02-30' } }, mapping);
    expect(captured(() => withDateTimeExtensions(bad, [name], mapping)).type).toBe('InvalidProperty');
  });

  it('refuses a list value with MultiValuedExtension', () => {
    const err = captured(() =>
      buildDesiredUser(jane, [
        ...DEFAULT_MAPPING,
        { source: 'customAttributes.langs', target: 'extension_0123456789abcdef0123456789abcdef_langs' },
      ]),
    );
    expect(err.type).toBe('MultiValuedExtension');
  });
});

describe("Graph's form of an Edm.DateTimeOffset", () => {
  it.each([
    ['2026-01-01', '2026-01-01T00:00:00Z'],
    ['2024-02-29', '2024-02-29T00:00:00Z'],
    ['2024-03-01T09:00+01:00', '2024-03-01T08:00:00Z'],
    ['2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00Z'],
    ['2024-03-01T08:00:00.1234567Z', '2024-03-01T08:00:00Z'],
    ['0099-06-01T00:00:00Z', '0099-06-01T00:00:00Z'],
    ['9999-12-31T23:59:59-00:00', '9999-12-31T23:59:59Z'],
  ])('reads %p as %p', (value, utc) => {
    expect(graphDateTime(value)).toBe(utc);
  });

  it.each([
    '2020-02-30',
    '1900-02-29',
    '2020-00-10',
    '2020-04-31T00:00:00Z',
    '2020-01-01T24:00:00Z',
    '2020-01-01T23:60:00Z',
    '2020-01-01T23:59:60Z',
    '2020-01-01T00:00:00+15:00',
    '2020-01-01T00:00:00+01:60',
    '0001-01-01T00:00:00+01:00',
    '2020-01-01T00:00:00',
    '01.03.2024',
  ])('finds no date in %p', (value) => {
    expect(graphDateTime(value)).toBeUndefined();
  });
});

describe('mapping validation (admin API)', () => {
  it('requires givenName and surname to be mapped', () => {
    const r = MappingSchema.safeParse([{ source: 'givenName', target: 'givenName' }]);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/surname/);
  });
  it('rejects unknown targets and doubly mapped ones', () => {
    expect(
      MappingSchema.safeParse([...DEFAULT_MAPPING, { source: 'department', target: 'passwordProfile' }]).success,
    ).toBe(false);
    expect(MappingSchema.safeParse([...DEFAULT_MAPPING, { source: 'department', target: 'jobTitle' }]).success).toBe(
      false,
    );
  });
  it('accepts the default mapping and extension targets', () => {
    expect(MappingSchema.safeParse(DEFAULT_MAPPING).success).toBe(true);
    expect(
      MappingSchema.safeParse([
        ...DEFAULT_MAPPING,
        { source: 'customAttributes.x', target: 'extension_0123456789abcdef0123456789abcdef_x' },
      ]).success,
    ).toBe(true);
  });
});

describe('diff against the current Entra user', () => {
  const desired = buildDesiredUser(jane, DEFAULT_MAPPING);
  const current = { id: 'o1', ...desired, userPrincipalName: 'JANE.DOE@contoso.test' };

  it('is empty when nothing differs (UPNs compare case-insensitively), so nothing is written', () => {
    expect(diffUser(desired, current)).toEqual({});
  });
  it('holds only what differs, with null to clear a value', () => {
    expect(diffUser({ ...desired, jobTitle: null, department: 'Sales' }, current)).toEqual({
      jobTitle: null,
      department: 'Sales',
    });
  });
  it('renames by PATCHing the UPN', () => {
    expect(diffUser({ ...desired, userPrincipalName: 'jane.smith@contoso.test' }, current)).toEqual({
      userPrincipalName: 'jane.smith@contoso.test',
    });
  });
});

describe('create body', () => {
  it('omits nulls and derives mailNickname from the UPN', () => {
    const body = createBody(buildDesiredUser({ ...jane, jobTitle: null }, DEFAULT_MAPPING));
    expect(body).not.toHaveProperty('jobTitle');
    expect(body.mailNickname).toBe('jane.doe');
    expect(body).not.toHaveProperty('passwordProfile');
  });
  it('keeps mailNickname within Graph rules', () => {
    expect(mailNicknameFor('Jö rg..Mül(ler).@x.test')).toBe('Jrg.Mller');
  });
});

function captured(fn: () => unknown): ProvisioningError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProvisioningError) return err;
    throw err;
  }
  throw new Error('expected a ProvisioningError');
}
