import { ScimError } from '../../../src/api/scim/errors';
import {
  coerceBoolean,
  coerceCustomValue,
  coerceDate,
  coerceHttpsUrl,
  coerceString,
  isCalendarDate,
  parsePatchRequest,
  referenceValue,
} from '../../../src/api/scim/normalize';

const fails = (fn: () => unknown, scimType?: string) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    if (scimType) expect((err as ScimError).scimType).toBe(scimType);
    return;
  }
  throw new Error('expected a ScimError');
};

describe('Entra normalizer', () => {
  it('lower-cases op names and finds Operations/op/path/value case-insensitively', () => {
    expect(
      parsePatchRequest({
        operations: [
          { OP: 'Replace', Path: ' displayName ', Value: 'x' },
          { op: 'REMOVE', path: 'title' },
        ],
      }),
    ).toEqual([
      { op: 'replace', path: 'displayName', value: 'x' },
      { op: 'remove', path: 'title' },
    ]);
  });

  it('accepts Operations listed before schemas and a missing schemas member', () => {
    expect(parsePatchRequest({ Operations: [{ op: 'Add', value: { a: 1 } }] })).toEqual([
      { op: 'add', value: { a: 1 } },
    ]);
  });

  it('rejects PatchOp bodies that are not one', () => {
    fails(() => parsePatchRequest(null), 'invalidSyntax');
    fails(() => parsePatchRequest([]), 'invalidSyntax');
    fails(() => parsePatchRequest({ Operations: {} }), 'invalidSyntax');
    fails(() => parsePatchRequest({ Operations: [1] }), 'invalidSyntax');
    fails(() => parsePatchRequest({ Operations: [{ op: 'move', path: 'a' }] }), 'invalidSyntax');
    fails(() => parsePatchRequest({ Operations: [{ op: 'add', path: 'a' }] }), 'invalidValue');
    fails(() => parsePatchRequest({ Operations: [{ op: 'remove' }] }), 'noTarget');
    fails(
      () => parsePatchRequest({ Operations: Array.from({ length: 1001 }, () => ({ op: 'remove', path: 'a' })) }),
      'tooMany',
    );
  });

  it('coerces "True"/"False" in any case to booleans and refuses other strings', () => {
    expect(coerceBoolean('True', 'active')).toBe(true);
    expect(coerceBoolean('FALSE', 'active')).toBe(false);
    expect(coerceBoolean(false, 'active')).toBe(false);
    expect(coerceBoolean([{ value: 'true' }], 'active')).toBe(true);
    fails(() => coerceBoolean('yes', 'active'), 'invalidValue');
    fails(() => coerceBoolean(1, 'active'), 'invalidValue');
  });

  it('reads the manager as string, {value}, [{value}], and clears it with null, "" or {value:null}', () => {
    expect(referenceValue('m1', 'manager')).toBe('m1');
    expect(referenceValue({ value: 'm1', $ref: 'x' }, 'manager')).toBe('m1');
    expect(referenceValue({ Value: 'm1' }, 'manager')).toBe('m1');
    expect(referenceValue([{ $ref: null, value: 'm1' }], 'manager')).toBe('m1');
    expect(referenceValue(null, 'manager')).toBeNull();
    expect(referenceValue('', 'manager')).toBeNull();
    expect(referenceValue({ value: null }, 'manager')).toBeNull();
    fails(() => referenceValue({ value: { x: 1 } }, 'manager'), 'invalidValue');
    fails(() => referenceValue(12345, 'manager'), 'invalidValue');
  });

  it('takes strings for string attributes and refuses numbers, booleans and arrays instead of converting them', () => {
    expect(coerceString('Engineer', 'title')).toBe('Engineer');
    expect(coerceString([{ $ref: null, value: 'Engineer' }], 'title')).toBe('Engineer');
    expect(coerceString(null, 'title')).toBeNull();
    for (const v of [123, 2 ** 64, true, ['Engineer'], ['a', 'b'], { value: 'x' }]) {
      fails(() => coerceString(v, 'title'), 'invalidValue');
    }
  });

  it('clears a custom attribute of any type with "" as with null', () => {
    for (const type of ['string', 'number', 'boolean', 'date'] as const) {
      expect(coerceCustomValue({ id: 'c', name: 'C', type, createdAt: new Date(0) }, '')).toBeNull();
    }
  });

  it('accepts real calendar dates only', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2023-02-29')).toBe(false);
    expect(isCalendarDate('2024-1-01')).toBe(false);
    expect(coerceDate('', 'birthday')).toBeNull();
    fails(() => coerceDate('2024-02-30', 'birthday'), 'invalidValue');
  });

  it('accepts https photo URLs only', () => {
    expect(coerceHttpsUrl('https://x.example/p.png', 'photo')).toBe('https://x.example/p.png');
    fails(() => coerceHttpsUrl('http://x.example/p.png', 'photo'), 'invalidValue');
    fails(() => coerceHttpsUrl('not a url', 'photo'), 'invalidValue');
  });

  it('type-checks custom attribute values against their definition and names the id', () => {
    const def = (type: 'string' | 'number' | 'boolean' | 'date') => ({
      id: 'c1',
      name: 'C',
      type,
      createdAt: new Date(0),
    });
    expect(coerceCustomValue(def('number'), '42')).toBe(42);
    expect(coerceCustomValue(def('boolean'), 'True')).toBe(true);
    expect(coerceCustomValue(def('date'), '2024-05-01')).toBe('2024-05-01');
    fails(() => coerceCustomValue(def('string'), 7), 'invalidValue');
    fails(() => coerceCustomValue(def('string'), true), 'invalidValue');
    try {
      coerceCustomValue(def('number'), 'lots');
      throw new Error('expected failure');
    } catch (err) {
      expect((err as ScimError).detail).toContain('"c1"');
    }
  });
});
