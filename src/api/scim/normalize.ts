import type { CustomAttributeDefinition } from '../../db/custom-attributes';
import type { CustomValue } from '../../db/employees';
import { badRequest } from './errors';

/**
 * The Entra normalizer: turns what Entra's provisioning service actually sends into typed values. Every quirk here is
 * documented Entra behaviour (see docs/scim.md "Quirks tolerated"); anything else is rejected with a SCIM 400 that
 * names the attribute.
 */

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  /** Absent for `remove` without value; `null` is kept (RFC 7643 §2.5: null means unassigned). */
  value?: unknown;
}

export const MAX_OPERATIONS = 1000;
export const MAX_PATH_LENGTH = 1000;
export const MAX_STRING_LENGTH = 2048;

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a PatchOp request body (RFC 7644 §3.5.2). Op names are matched case-insensitively because Entra sends
 * "Add"/"Replace"/"Remove" unless the tenant URL carries aadOptscim062020. The `schemas` member is not enforced:
 * key order and extra URIs vary between Entra builds, and the operations are what matters.
 */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw badRequest('invalidSyntax', 'PATCH body must be a JSON object with "Operations"');
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const raw = opsKey === undefined ? undefined : body[opsKey];
  if (!Array.isArray(raw)) throw badRequest('invalidSyntax', '"Operations" must be an array');
  if (raw.length === 0) throw badRequest('invalidSyntax', '"Operations" must not be empty');
  if (raw.length > MAX_OPERATIONS) throw badRequest('tooMany', `at most ${MAX_OPERATIONS} operations per request`);
  return raw.map((item, i) => {
    if (!isPlainObject(item)) throw badRequest('invalidSyntax', `operation ${i + 1} is not an object`);
    let op: unknown;
    let path: unknown;
    let value: unknown;
    let hasValue = false;
    for (const [k, v] of Object.entries(item)) {
      const key = k.toLowerCase();
      if (key === 'op') op = v;
      else if (key === 'path') path = v;
      else if (key === 'value') {
        value = v;
        hasValue = true;
      }
    }
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name !== 'add' && name !== 'replace' && name !== 'remove') {
      throw badRequest('invalidSyntax', `operation ${i + 1}: "op" must be add, replace or remove`);
    }
    if (path !== undefined && path !== null && typeof path !== 'string') {
      throw badRequest('invalidPath', `operation ${i + 1}: "path" must be a string`);
    }
    if (typeof path === 'string' && path.length > MAX_PATH_LENGTH) {
      throw badRequest('invalidPath', `operation ${i + 1}: "path" is too long`);
    }
    const trimmed = typeof path === 'string' && path.trim() !== '' ? path.trim() : undefined;
    if (name !== 'remove' && !hasValue)
      throw badRequest('invalidValue', `operation ${i + 1}: "${name}" needs a "value"`);
    if (name === 'remove' && trimmed === undefined && !hasValue) {
      throw badRequest('noTarget', `operation ${i + 1}: "remove" needs a "path"`);
    }
    const out: PatchOperation = { op: name };
    if (trimmed !== undefined) out.path = trimmed;
    if (hasValue) out.value = value;
    return out;
  });
}

/**
 * The operations without those that only restate the resource's own `id`: Okta renames a group with a path-less
 * replace whose value carries the group's `id` next to the new `displayName`. Restating a read-only value modifies
 * nothing, so it is no mutability error (RFC 7644 §3.5.2); any other `id` still is one.
 */
export function withoutOwnIdRestated(ops: readonly PatchOperation[], ownId: string): PatchOperation[] {
  const isOwnId = (v: unknown) => typeof v === 'string' && v.trim().toLowerCase() === ownId.toLowerCase();
  return ops.flatMap((o): PatchOperation[] => {
    if (o.op === 'remove') return [o];
    if (o.path !== undefined) return o.path.toLowerCase() === 'id' && isOwnId(o.value) ? [] : [o];
    const value = o.value;
    if (!isPlainObject(value)) return [o];
    const idKeys = Object.keys(value).filter((k) => k.toLowerCase() === 'id' && isOwnId(value[k]));
    if (idKeys.length === 0) return [o];
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => !idKeys.includes(k)));
    return Object.keys(rest).length === 0 ? [] : [{ ...o, value: rest }];
  });
}

/**
 * Older Entra builds wrap single values as `[{"$ref":null,"value":"x"}]`; that one-element array of `{value}` stands
 * for its value. Other arrays (`["x"]`, `["a","b"]`) are not an Entra form and stay arrays, so they are refused as
 * the wrong type.
 */
export function unwrapSingle(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 1) {
    const only: unknown = v[0];
    if (isPlainObject(only) && 'value' in only) return only.value;
  }
  return v;
}

/** Entra sends booleans as "True"/"False" strings without aadOptscim062020; any case is accepted, JSON booleans returned. */
export function coerceBoolean(v: unknown, name: string): boolean {
  const u = unwrapSingle(v);
  if (typeof u === 'boolean') return u;
  if (typeof u === 'string') {
    const s = u.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  throw badRequest('invalidValue', `${name} must be a boolean`);
}

/**
 * A string attribute value; null clears. Numbers and booleans are refused rather than stringified: Entra sends string
 * attributes as strings, and `123` turned into "123" (or a large number into a rounded one) would store a value
 * nobody sent.
 */
export function coerceString(v: unknown, name: string): string | null {
  const u = unwrapSingle(v);
  if (u === null || u === undefined) return null;
  if (typeof u !== 'string') throw badRequest('invalidValue', `${name} must be a string, got ${jsonTypeOf(u)}`);
  if (u.length > MAX_STRING_LENGTH)
    throw badRequest('invalidValue', `${name} is longer than ${MAX_STRING_LENGTH} characters`);
  return u;
}

/** The JSON type of a value, for error details ("got number"). */
export function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date as YYYY-MM-DD (a real date: 2026-02-30 is refused). */
export function isCalendarDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

export function coerceDate(v: unknown, name: string): string | null {
  const s = coerceString(v, name);
  if (s === null || s === '') return null;
  if (!isCalendarDate(s))
    throw badRequest('invalidValue', `${name} must be a date as YYYY-MM-DD, got "${s.slice(0, 40)}"`);
  return s;
}

/** Photos must be https URLs: the HRIS shows them in browsers and the article requires the full https:// URL. */
export function coerceHttpsUrl(v: unknown, name: string): string | null {
  const s = coerceString(v, name);
  if (s === null || s === '') return null;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw badRequest('invalidValue', `${name} must be an https URL`);
  }
  if (url.protocol !== 'https:') throw badRequest('invalidValue', `${name} must be an https URL`);
  return s;
}

/**
 * A reference to another user (the manager). Entra sends it as a plain string on PATCH, `{value}` per RFC 7643, or
 * `[{value}]` in older builds; `null`, `{value: null}` and "" clear it.
 */
export function referenceValue(v: unknown, name: string): string | null {
  let u = unwrapSingle(v);
  if (isPlainObject(u)) {
    const key = Object.keys(u).find((k) => k.toLowerCase() === 'value');
    u = key === undefined ? null : u[key];
  }
  if (u === null || u === undefined || u === '') return null;
  if (typeof u !== 'string') throw badRequest('invalidValue', `${name} must be a string or {"value": "<id>"}`);
  if (u.length > 256) throw badRequest('invalidValue', `${name} is too long`);
  return u.trim();
}

/**
 * A custom attribute value checked against its definition. Null and "" clear it, whatever its type: "" is how a
 * cleared single value reaches us, as for the core string attributes (title, department, …).
 */
export function coerceCustomValue(def: CustomAttributeDefinition, v: unknown): CustomValue | null {
  const name = `custom attribute "${def.id}" (${def.name})`;
  const u = unwrapSingle(v);
  if (u === null || u === undefined || u === '') return null;
  switch (def.type) {
    case 'string':
      return coerceString(u, name);
    case 'number': {
      if (typeof u === 'number' && Number.isFinite(u)) return u;
      if (typeof u === 'string' && u.trim() !== '' && Number.isFinite(Number(u))) return Number(u);
      throw badRequest('invalidValue', `${name} must be a number`);
    }
    case 'boolean':
      return coerceBoolean(u, name);
    case 'date':
      return coerceDate(u, name);
  }
}
