import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureEmulatorCertificate } from '../../../src/emulator';
import { userContract, DEFAULT_USER_PROPERTIES } from '../../../src/emulator/contract';
import { GraphError } from '../../../src/emulator/errors';
import { DateTimeOffsetLiteral, evaluateFilter, parseFilter, parseQuery } from '../../../src/emulator/odata';
import { isCompliantPassword, isValidMailNickname, isValidUpn } from '../../../src/emulator/validation';

/** The pure rules underneath the HTTP behaviour: OData parsing, UPN/mailNickname/password policy, contract, cert. */

describe('OData query parsing', () => {
  it('decodes + as a space and %2B as a plus, and lower-cases option names', () => {
    const q = parseQuery("$Filter=displayName+eq+'a%2Bb'&$select=id");
    expect(q.get('$filter')).toBe("displayName eq 'a+b'");
    expect(q.get('$select')).toBe('id');
  });

  it("reads '' inside a literal as one quote", () => {
    expect(parseFilter("userPrincipalName eq 'o''brien@contoso.com'")).toEqual({
      kind: 'cmp',
      op: 'eq',
      property: 'userPrincipalName',
      value: "o'brien@contoso.com",
    });
  });

  it('parses in, startsWith, not, and/or with parentheses', () => {
    const f = parseFilter(
      "(startsWith(displayName,'Ja') or displayName in ('Bob','Eve')) and not (accountEnabled eq false)",
    );
    const get = (props: Record<string, unknown>) => (p: string) => props[p] as never;
    expect(evaluateFilter(f, get({ displayName: 'jane', accountEnabled: true }))).toBe(true);
    expect(evaluateFilter(f, get({ displayName: 'EVE', accountEnabled: true }))).toBe(true);
    expect(evaluateFilter(f, get({ displayName: 'jane', accountEnabled: false }))).toBe(false);
    expect(evaluateFilter(f, get({ displayName: 'Max', accountEnabled: true }))).toBe(false);
  });

  it.each(["userPrincipalName eq 'open", 'userPrincipalName eq', "userPrincipalName foo 'x'", "eq 'x'", "a eq 'x' b"])(
    'rejects %p with a 400 GraphError',
    (src) => {
      expect(() => parseFilter(src)).toThrow(GraphError);
      try {
        parseFilter(src);
      } catch (e) {
        expect((e as GraphError).status).toBe(400);
      }
    },
  );
});

describe('userPrincipalName policy', () => {
  it.each([
    'jane@contoso.com',
    "o'brien@contoso.com",
    'a.b-c_d!e#f^g~h@x.contoso.com',
    'jdoe_fabrikam.com#EXT#@contoso.onmicrosoft.com',
    `${'a'.repeat(64)}@c.com`,
  ])('accepts %s', (upn) => expect(isValidUpn(upn)).toBe(true));
  it.each([
    'jane',
    '@contoso.com',
    'a@b@contoso.com',
    'jane.@contoso.com',
    'jäne@contoso.com',
    'ja ne@contoso.com',
    'ja+ne@contoso.com',
    `${'a'.repeat(65)}@c.com`,
    `a@${'d'.repeat(45)}.com`,
    'a@localhost',
  ])('rejects %s', (upn) => expect(isValidUpn(upn)).toBe(false));
});

describe('mailNickname (dot-atom, at most 64)', () => {
  it.each(['jane', 'jane.doe', "o'brien", 'a+b', 'x'.repeat(64)])('accepts %s', (v) =>
    expect(isValidMailNickname(v)).toBe(true),
  );
  it.each(['', 'jane doe', '.jane', 'jane.', 'ja..ne', 'ja@ne', 'ja(ne)', 'x'.repeat(65)])('rejects %p', (v) =>
    expect(isValidMailNickname(v)).toBe(false),
  );
});

describe('password policy', () => {
  it('needs 8–256 characters from the allowed set and three of four classes', () => {
    expect(isCompliantPassword('kT9#mQ2vLp!x', true)).toBe(true);
    expect(isCompliantPassword('Abcdefg1', true)).toBe(true);
    expect(isCompliantPassword('Abcdef1', true)).toBe(false);
    expect(isCompliantPassword('abcdefgh1', true)).toBe(false);
    expect(isCompliantPassword('Abcdefgh1é', true)).toBe(false);
    expect(isCompliantPassword('A1b!'.repeat(65), true)).toBe(false);
  });
  it('drops the class rule under DisableStrongPassword, not the length rule', () => {
    expect(isCompliantPassword('abcdefgh', false)).toBe(true);
    expect(isCompliantPassword('abc', false)).toBe(false);
  });
});

describe('user contract file', () => {
  it('drives required, read-only and settable flags', () => {
    const c = userContract();
    expect([...c.requiredOnCreate].sort()).toEqual([
      'accountEnabled',
      'displayName',
      'mailNickname',
      'passwordProfile',
      'userPrincipalName',
    ]);
    expect(c.properties.get('assignedLicenses')).toMatchObject({ readOnly: true });
    expect(c.properties.get('employeeId')).toMatchObject({ maxLength: 16, update: true });
    for (const name of DEFAULT_USER_PROPERTIES) expect(c.properties.has(name)).toBe(true);
  });
});

describe('ensureEmulatorCertificate', () => {
  it('generates once a matching key and certificate valid for 127.0.0.1, ::1 and localhost', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-cert-test-'));
    const first = ensureEmulatorCertificate(dir);
    const second = ensureEmulatorCertificate(dir);
    expect(second.cert).toBe(first.cert);
    const x509 = new crypto.X509Certificate(first.cert);
    expect(x509.checkPrivateKey(crypto.createPrivateKey(first.key))).toBe(true);
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.subjectAltName).toMatch(/IP Address:0:0:0:0:0:0:0:1|IP Address:::1/);
    expect(first.certPath).toBe(path.join(dir, 'cert.pem'));
  });
});

describe('DateTimeOffset literals and repeated options', () => {
  it('reads an unquoted DateTimeOffset literal as an instant', () => {
    const f = parseFilter('createdDateTime ge 2020-01-01T01:00:00+01:00');
    expect(f).toMatchObject({ kind: 'cmp', op: 'ge', property: 'createdDateTime' });
    const value = (f as { value: DateTimeOffsetLiteral }).value;
    expect(value).toBeInstanceOf(DateTimeOffsetLiteral);
    expect(value.epochMs).toBe(Date.parse('2020-01-01T00:00:00Z'));
    expect(evaluateFilter(f, () => '2020-01-01T00:00:00Z')).toBe(true);
    expect(evaluateFilter(f, () => '2019-12-31T23:59:59Z')).toBe(false);
  });

  it('refuses a system query option given twice, in any case, and lets a custom parameter repeat', () => {
    expect(() => parseQuery('$top=1&$TOP=2')).toThrow(GraphError);
    expect(parseQuery('x=1&x=2').get('x')).toBe('2');
  });
});
