import type { Filter } from 'scim2-parse-filter';
import { ControlCharacterError, FilterTextError, parseFilterText } from './filter-text';
import type { CustomAttributeDefinition } from '../../db/custom-attributes';
import type { MultiValue } from '../../db/employees';
import { MAX_LEVEL_NAME_LENGTH } from '../../db/levels';
import { badRequest } from './errors';
import {
  coerceBoolean,
  coerceCustomValue,
  coerceDate,
  coerceHttpsUrl,
  coerceString,
  isPlainObject,
  referenceValue,
  unwrapSingle,
  type PatchOperation,
  type PatchOpName,
} from './normalize';
import { clip, parsePath, type ParsedPath } from './paths';
import { IGNORED_CORE_USER_ATTRIBUTES, URN } from './schemas';
import type { ScalarKey, UserDraft } from './user-draft';

/**
 * The PATCH engine for Users. It never writes to an object under a client-chosen key: every path is resolved
 * against an allow-list of canonical attribute names first (which also makes `__proto__`-style paths inert), then
 * applied to a typed `UserDraft`. The same engine builds drafts from POST/PUT bodies, so both speak one dialect.
 */

/** Finds a tenant's custom attribute definition by id (exact first, then case-insensitively). */
export type CustomAttributeLookup = (id: string) => CustomAttributeDefinition | undefined;

type MultiAttr = 'emails' | 'phoneNumbers' | 'photos' | 'addresses';
type ValueType = 'string' | 'date' | 'url';

export type UserTarget =
  | { kind: 'scalar'; key: ScalarKey; label: string; valueType: ValueType }
  | { kind: 'active' }
  | { kind: 'name' }
  | { kind: 'extension'; schema: 'enterprise' | 'product' }
  | { kind: 'multi'; attr: MultiAttr; filter?: Filter; sub?: string }
  | { kind: 'manager' }
  | { kind: 'custom'; def: CustomAttributeDefinition }
  | { kind: 'readOnly'; label: string }
  | { kind: 'ignored' };

type MultiTarget = Extract<UserTarget, { kind: 'multi' }>;

const scalar = (key: ScalarKey, label: string, valueType: ValueType = 'string'): UserTarget => ({
  kind: 'scalar',
  key,
  label,
  valueType,
});

const CORE: Record<string, UserTarget> = {
  username: scalar('userName', 'userName'),
  externalid: scalar('externalId', 'externalId'),
  displayname: scalar('displayName', 'displayName'),
  title: scalar('title', 'title'),
  active: { kind: 'active' },
  name: { kind: 'name' },
  id: { kind: 'readOnly', label: 'id' },
  meta: { kind: 'readOnly', label: 'meta' },
  schemas: { kind: 'readOnly', label: 'schemas' },
  groups: { kind: 'readOnly', label: 'groups' },
};
const NAME_SUBS: Record<string, UserTarget> = {
  givenname: scalar('givenName', 'name.givenName'),
  familyname: scalar('familyName', 'name.familyName'),
  formatted: scalar('formatted', 'name.formatted'),
  middlename: { kind: 'ignored' },
  honorificprefix: { kind: 'ignored' },
  honorificsuffix: { kind: 'ignored' },
};
const MULTI: Record<string, MultiAttr> = {
  emails: 'emails',
  phonenumbers: 'phoneNumbers',
  photos: 'photos',
  addresses: 'addresses',
};
const ENTERPRISE: Record<string, UserTarget> = {
  employeenumber: scalar('employeeNumber', 'employeeNumber'),
  costcenter: scalar('costCenter', 'costCenter'),
  organization: scalar('organization', 'organization'),
  division: scalar('division', 'division'),
  department: scalar('department', 'department'),
  manager: { kind: 'manager' },
};
const PRODUCT: Record<string, UserTarget> = {
  level: scalar('level', 'level'),
  location: scalar('location', 'location'),
  gender: scalar('gender', 'gender'),
  startdate: scalar('startDate', 'startDate', 'date'),
  enddate: scalar('endDate', 'endDate', 'date'),
  birthday: scalar('birthday', 'birthday', 'date'),
};

const MULTI_SUBS: Record<MultiAttr, Record<string, string>> = {
  emails: { value: 'value', type: 'type', primary: 'primary', display: 'display' },
  phoneNumbers: { value: 'value', type: 'type', primary: 'primary', display: 'display' },
  photos: { value: 'value', type: 'type', primary: 'primary', display: 'display' },
  addresses: {
    locality: 'locality',
    type: 'type',
    primary: 'primary',
    formatted: 'formatted',
    streetaddress: 'streetAddress',
    region: 'region',
    postalcode: 'postalCode',
    country: 'country',
  },
};

const own = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;

function parseValueFilter(text: string, attr: MultiAttr): Filter {
  let f: Filter;
  try {
    f = parseFilterText(text);
  } catch (err) {
    if (err instanceof ControlCharacterError) throw badRequest('invalidPath', `a path ${err.message}`);
    if (err instanceof FilterTextError)
      throw badRequest('invalidPath', `the ${attr} filter "${clip(text)}" ${err.message}`);
    throw err;
  }
  checkFilterAttributes(f, attr);
  return f;
}

function checkFilterAttributes(f: Filter, attr: MultiAttr): void {
  switch (f.op) {
    case 'and':
    case 'or':
      f.filters.forEach((x) => checkFilterAttributes(x, attr));
      return;
    case 'not':
      checkFilterAttributes(f.filter, attr);
      return;
    case '[]':
      throw badRequest('invalidPath', `nested value filters are not supported in ${attr}`);
    default:
      if (!own(MULTI_SUBS[attr], subName(f.attrPath))) {
        throw badRequest('invalidPath', `"${clip(f.attrPath)}" is not a sub-attribute of ${attr}`);
      }
  }
}

/** `type`, `emails.type` → `type` (lower case). */
const subName = (attrPath: string): string => attrPath.slice(attrPath.lastIndexOf('.') + 1).toLowerCase();

/** Resolves a parsed path to what it writes. Unknown attributes and custom ids are rejected by name. */
export function resolveUserPath(p: ParsedPath, lookupCustom: CustomAttributeLookup): UserTarget {
  const attr = p.attr.toLowerCase();
  if (attr === '') {
    if (p.schema === 'enterprise' || p.schema === 'product') return { kind: 'extension', schema: p.schema };
    throw badRequest('invalidPath', 'the core schema URN alone is not a path');
  }
  const noFilter = () => {
    if (p.filter !== undefined) throw badRequest('invalidPath', `${p.attr} is not multi-valued`);
  };
  if (p.schema === null || p.schema === 'core') {
    const multi = own(MULTI, attr);
    if (multi) {
      let sub: string | undefined;
      if (p.sub !== undefined) {
        sub = own(MULTI_SUBS[multi], p.sub.toLowerCase());
        if (!sub) throw badRequest('invalidPath', `"${p.sub}" is not a sub-attribute of ${multi}`);
      }
      const t: UserTarget = { kind: 'multi', attr: multi };
      if (p.filter !== undefined) t.filter = parseValueFilter(p.filter, multi);
      if (sub !== undefined) t.sub = sub;
      return t;
    }
    const core = own(CORE, attr);
    if (core) {
      noFilter();
      if (core.kind === 'name' && p.sub !== undefined) {
        const sub = own(NAME_SUBS, p.sub.toLowerCase());
        if (!sub) throw badRequest('invalidPath', `"${p.sub}" is not a sub-attribute of name`);
        return sub;
      }
      if (p.sub !== undefined && core.kind !== 'readOnly')
        throw badRequest('invalidPath', `${p.attr} has no sub-attributes`);
      return core;
    }
    if (IGNORED_CORE_USER_ATTRIBUTES.has(attr)) return { kind: 'ignored' };
  }
  if (p.schema === null || p.schema === 'enterprise') {
    const ent = own(ENTERPRISE, attr);
    if (ent) {
      noFilter();
      if (ent.kind === 'manager' && p.sub !== undefined) {
        const s = p.sub.toLowerCase();
        if (s === 'value') return ent;
        if (s === '$ref' || s === 'displayname') return { kind: 'ignored' };
        throw badRequest('invalidPath', `"${p.sub}" is not a sub-attribute of manager`);
      }
      if (p.sub !== undefined) throw badRequest('invalidPath', `${p.attr} has no sub-attributes`);
      return ent;
    }
  }
  if (p.schema === null || p.schema === 'product') {
    const prod = own(PRODUCT, attr);
    if (prod) {
      noFilter();
      if (p.sub !== undefined) throw badRequest('invalidPath', `${p.attr} has no sub-attributes`);
      return prod;
    }
  }
  if (p.schema === 'enterprise') {
    const def = lookupCustom(p.attr);
    if (def && p.sub === undefined && p.filter === undefined) return { kind: 'custom', def };
    throw badRequest(
      'invalidPath',
      `unknown custom attribute "${clip(p.attr)}": define it in the HRIS first (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:<id>)`,
    );
  }
  throw badRequest('invalidPath', `unknown attribute "${clip(p.attr)}"`);
}

type Mode = 'patch' | 'resource';
type Elem = Record<string, unknown>;

/** Applies PATCH operations to a draft, in order; all or nothing is up to the caller (one transaction). */
export function applyUserOperations(
  draft: UserDraft,
  ops: readonly PatchOperation[],
  lookupCustom: CustomAttributeLookup,
): void {
  for (const op of ops) {
    if (op.path === undefined) {
      if (op.op === 'remove') throw badRequest('noTarget', '"remove" needs a "path"');
      if (!isPlainObject(op.value))
        throw badRequest('invalidValue', 'an operation without "path" needs an object "value"');
      applyValueMap(draft, op.op, op.value, lookupCustom, 'patch');
    } else {
      applyPath(draft, op.op, op.path, op.value, lookupCustom, 'patch');
    }
  }
}

/**
 * Applies a whole resource (POST/PUT body) to a draft. Keys are attribute paths, so nested objects, URN-keyed
 * extension objects and flattened `urn:…:User:department` keys all work; nulls mean "unassigned" and are skipped;
 * read-only attributes (id, meta, groups, schemas) are ignored as RFC 7644 §3.3 allows.
 */
export function applyUserResource(
  draft: UserDraft,
  body: Record<string, unknown>,
  lookupCustom: CustomAttributeLookup,
): void {
  applyValueMap(draft, 'replace', body, lookupCustom, 'resource');
}

/**
 * A path-less add/replace: with aadOptscim062020 Entra folds several replaces into one object whose keys are paths
 * (`"name.givenName"`, `"urn:…:enterprise:2.0:User:employeeNumber"`), so each key is applied as a path.
 */
function applyValueMap(
  draft: UserDraft,
  op: PatchOpName,
  value: Record<string, unknown>,
  lookupCustom: CustomAttributeLookup,
  mode: Mode,
): void {
  for (const [key, v] of Object.entries(value)) applyPath(draft, op, key, v, lookupCustom, mode);
}

function applyPath(
  draft: UserDraft,
  op: PatchOpName,
  path: string,
  value: unknown,
  lookupCustom: CustomAttributeLookup,
  mode: Mode,
): void {
  const target = resolveUserPath(parsePath(path, 'User'), lookupCustom);
  if (mode === 'resource' && value === null) return;
  switch (target.kind) {
    case 'ignored':
      return;
    case 'readOnly':
      if (mode === 'resource') return;
      throw badRequest('mutability', `${target.label} is read-only`);
    case 'scalar':
      // RFC 7644 §3.5.2.2: removing a required attribute is a mutability error.
      if (op === 'remove' && target.key === 'userName')
        throw badRequest('mutability', 'userName is required and cannot be removed');
      draft[target.key] = op === 'remove' ? null : scalarValue(target, value);
      return;
    case 'active':
      if (op === 'remove') throw badRequest('invalidValue', 'active cannot be removed; replace it with false');
      draft.active = coerceBoolean(value, 'active');
      return;
    case 'manager':
      draft.manager = op === 'remove' ? null : referenceValue(value, 'manager');
      return;
    case 'custom':
      if (op === 'remove') delete draft.custom[target.def.id];
      else {
        const v = coerceCustomValue(target.def, value);
        if (v === null) delete draft.custom[target.def.id];
        else draft.custom[target.def.id] = v;
      }
      return;
    case 'name':
      // null is "unassigned" (RFC 7643 §2.5): replacing name with null clears it, as a remove does.
      if (op === 'remove' || value === null) {
        draft.givenName = draft.familyName = draft.formatted = null;
        return;
      }
      if (!isPlainObject(value)) throw badRequest('invalidValue', 'name must be an object');
      for (const [k, v] of Object.entries(value)) applyPath(draft, op, `name.${k}`, v, lookupCustom, mode);
      return;
    case 'extension': {
      const urn = target.schema === 'enterprise' ? URN.enterprise : URN.product;
      if (op === 'remove' || value === null) {
        const keys: ScalarKey[] =
          target.schema === 'enterprise'
            ? ['employeeNumber', 'costCenter', 'organization', 'division', 'department']
            : ['level', 'location', 'gender', 'startDate', 'endDate', 'birthday'];
        for (const k of keys) draft[k] = null;
        if (target.schema === 'enterprise') draft.manager = null;
        return;
      }
      if (!isPlainObject(value)) throw badRequest('invalidValue', `${urn} must be an object`);
      for (const [k, v] of Object.entries(value)) applyPath(draft, op, `${urn}:${k}`, v, lookupCustom, mode);
      return;
    }
    case 'multi':
      applyMulti(draft, op, target, value);
      return;
  }
}

function scalarValue(t: Extract<UserTarget, { kind: 'scalar' }>, value: unknown): string | null {
  const name = t.label;
  if (t.valueType === 'date') return coerceDate(value, name);
  if (t.valueType === 'url') return coerceHttpsUrl(value, name);
  const s = coerceString(value, name);
  if (t.key === 'level') return levelName(s);
  return s === '' && t.key !== 'userName' ? null : s;
}

/**
 * A level is named, and created on the fly, by what the client sends: "Senior " from an untrimmed HR source must be
 * the level "Senior", not a second one beside it (as group names are stored trimmed). Blank clears it.
 */
function levelName(s: string | null): string | null {
  const trimmed = s?.trim() ?? '';
  if (trimmed === '') return null;
  if (trimmed.length > MAX_LEVEL_NAME_LENGTH)
    throw badRequest('invalidValue', `level is longer than ${MAX_LEVEL_NAME_LENGTH} characters`);
  return trimmed;
}

function applyMulti(draft: UserDraft, op: PatchOpName, t: MultiTarget, value: unknown): void {
  let elems: Elem[];
  switch (t.attr) {
    case 'emails':
    case 'phoneNumbers':
      elems = draft[t.attr].map((e) => ({ ...e }));
      break;
    case 'photos':
      elems = draft.photoUrl ? [{ value: draft.photoUrl, type: 'photo', primary: true }] : [];
      break;
    case 'addresses':
      elems = draft.location ? [{ type: 'work', locality: draft.location, primary: true }] : [];
      break;
  }
  const before = elems.map((e) => ({ ...e }));
  const edit = editElements(elems, op, t, value);
  elems = edit.elems;
  assertNoNewDuplicateTypes(before, elems, t.attr);
  settlePrimary(elems, edit.madePrimary, t.attr);
  switch (t.attr) {
    case 'emails':
    case 'phoneNumbers':
      draft[t.attr] = elems.map((e) => toMultiValue(e, t.attr));
      return;
    case 'photos': {
      const photo = pick(elems, 'photo');
      draft.photoUrl = photo ? coerceHttpsUrl(photo.value, 'photos.value') : null;
      return;
    }
    case 'addresses': {
      const address = pick(elems, 'work');
      draft.location = address ? coerceString(address.locality, 'addresses.locality') || null : null;
      return;
    }
  }
}

/** The element of `type`, else the primary one, else the first. */
function pick(elems: Elem[], type: string): Elem | undefined {
  return (
    elems.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === type) ??
    elems.find((e) => e.primary === true) ??
    elems[0]
  );
}

function toMultiValue(e: Elem, attr: string): MultiValue {
  const value = coerceString(e.value, `${attr}.value`);
  if (value === null || value === '') throw badRequest('invalidValue', `every element of ${attr} needs a "value"`);
  const out: MultiValue = { value };
  if (typeof e.type === 'string') out.type = e.type;
  if (typeof e.primary === 'boolean') out.primary = e.primary;
  if (typeof e.display === 'string') out.display = e.display;
  return out;
}

/**
 * The schema publishes `type` as "one element per type" (and Entra addresses elements by type), so two elements of
 * one type (case-insensitively) are refused instead of leaving it to chance which one a later `[type eq …]` edits.
 */
function assertOneElementPerType(elems: readonly Elem[], attr: MultiAttr): void {
  const seen = new Set<string>();
  for (const e of elems) {
    if (typeof e.type !== 'string') continue;
    const type = e.type.toLowerCase();
    if (seen.has(type))
      throw badRequest('invalidValue', `${attr} has more than one element of type "${clip(e.type, 40)}"`);
    seen.add(type);
  }
}

/**
 * After an edit: no type has more elements than one, unless it already had them before (stored before the rule, they
 * must not make every later edit of the attribute fail — Entra would retry such a PATCH forever).
 */
function assertNoNewDuplicateTypes(before: readonly Elem[], after: readonly Elem[], attr: MultiAttr): void {
  const countByType = (elems: readonly Elem[]) => {
    const counts = new Map<string, number>();
    for (const e of elems) {
      if (typeof e.type === 'string') counts.set(e.type.toLowerCase(), (counts.get(e.type.toLowerCase()) ?? 0) + 1);
    }
    return counts;
  };
  const was = countByType(before);
  for (const [type, count] of countByType(after)) {
    if (count > 1 && count > (was.get(type) ?? 0)) {
      throw badRequest('invalidValue', `${attr} has more than one element of type "${clip(type, 40)}"`);
    }
  }
}

/**
 * One primary at most (RFC 7643 §2.4). An edit that makes one element primary demotes the others to `primary: false`
 * (RFC 7644 §3.5.2); an edit that makes two primary at once — a body, a whole-attribute replace or a value filter
 * matching two elements — is refused. Elements stored with two primaries before the rule are left as they are
 * unless an edit names a new primary.
 */
function settlePrimary(elems: readonly Elem[], madePrimary: readonly Elem[], attr: MultiAttr): void {
  if (madePrimary.length > 1) throw badRequest('invalidValue', `${attr} can have only one primary element`);
  const chosen = madePrimary[0];
  if (chosen === undefined) return;
  for (const e of elems) if (e !== chosen && e.primary === true) e.primary = false;
}

/** Reads a client element into canonical sub-attribute names, dropping unknown keys and cleared ("", null) ones. */
function normalizeElement(raw: unknown, attr: MultiAttr): Elem {
  if (!isPlainObject(raw)) throw badRequest('invalidValue', `elements of ${attr} must be objects`);
  const out: Elem = {};
  for (const [k, v] of Object.entries(raw)) {
    const sub = own(MULTI_SUBS[attr], k.toLowerCase());
    if (!sub) continue;
    const value = subValue(sub, v, attr);
    if (value !== null) out[sub] = value;
  }
  return out;
}

/** A sub-attribute value; null means "clear it" and stands for null and "" alike. */
function subValue(sub: string, v: unknown, attr: string): unknown {
  if (v === null || v === undefined || v === '') return null;
  if (sub === 'primary') return coerceBoolean(v, `${attr}.primary`);
  const s = coerceString(v, `${attr}.${sub}`);
  return s === '' ? null : s;
}

const sameText = (a: unknown, b: unknown) =>
  typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/** The edited elements, and those the edit set `primary: true` on (for `settlePrimary`). */
interface Edit {
  elems: Elem[];
  madePrimary: Elem[];
}

const primaryOnes = (elems: readonly Elem[]) => elems.filter((e) => e.primary === true);

function editElements(elems: Elem[], op: PatchOpName, t: MultiTarget, value: unknown): Edit {
  if (t.sub === undefined && t.filter === undefined) return editWholeAttribute(elems, op, t.attr, value);
  const matches = (e: Elem) => (t.filter ? matchElement(t.filter, e) : true);
  if (op === 'remove') return { elems: clearMatched(elems, matches, t.sub), madePrimary: [] };
  const fields =
    t.sub === undefined
      ? normalizeElement(unwrapArray(value, t.attr), t.attr)
      : { [t.sub]: subValue(t.sub, unwrapSingle(value), t.attr) };
  // "" (or null) for a sub-attribute clears it; clearing an element's `value` leaves nothing, so the element goes.
  if (t.sub !== undefined && fields[t.sub] === null) {
    return { elems: clearMatched(elems, matches, t.sub), madePrimary: [] };
  }
  const hit = elems.filter(matches);
  if (hit.length === 0) {
    const added = newElementFor(t, fields);
    return { elems: [...elems, added], madePrimary: primaryOnes([added]) };
  }
  for (const e of hit) Object.assign(e, fields);
  return { elems, madePrimary: fields.primary === true ? hit : [] };
}

/** add/replace/remove of a whole multi-valued attribute (`"path":"emails"`, or a POST/PUT body). */
function editWholeAttribute(elems: Elem[], op: PatchOpName, attr: MultiAttr, value: unknown): Edit {
  if (op === 'remove') {
    if (value === undefined || value === null) return { elems: [], madePrimary: [] };
    const gone = (Array.isArray(value) ? value : [value]).map((v) => normalizeElement(v, attr));
    return { elems: elems.filter((e) => !gone.some((g) => sameText(g.value, e.value))), madePrimary: [] };
  }
  const incoming = value === null ? [] : (Array.isArray(value) ? value : [value]).map((v) => normalizeElement(v, attr));
  assertOneElementPerType(incoming, attr);
  if (op === 'replace') return { elems: incoming, madePrimary: primaryOnes(incoming) };
  const out = elems.slice();
  const madePrimary: Elem[] = [];
  for (const n of incoming) {
    const same = out.findIndex(
      (e) => (n.type !== undefined && sameText(e.type, n.type)) || (n.type === undefined && sameText(e.value, n.value)),
    );
    const merged = same >= 0 ? { ...out[same], ...n } : n;
    if (same >= 0) out[same] = merged;
    else out.push(merged);
    if (n.primary === true) madePrimary.push(merged);
  }
  return { elems: out, madePrimary };
}

/** The value of a filtered path without a sub-attribute (`emails[type eq "work"]`): one element, maybe in an array. */
function unwrapArray(v: unknown, attr: string): unknown {
  if (Array.isArray(v)) {
    if (v.length !== 1) throw badRequest('invalidValue', `a filtered ${attr} path takes one element`);
    return v[0];
  }
  return v;
}

/** Removes the matched elements (whole, or when their `value` goes), or just one sub-attribute of them. */
function clearMatched(elems: Elem[], matches: (e: Elem) => boolean, sub: string | undefined): Elem[] {
  if (sub === undefined || sub === 'value') return elems.filter((e) => !matches(e));
  for (const e of elems.filter(matches)) delete e[sub];
  return elems;
}

/**
 * The element an add/replace creates when its value filter matched nothing. Entra sends
 * `phoneNumbers[type eq "mobile"].value` for a user without a mobile number and expects one to be added, so a plain
 * `type eq "X"` creates an element of type X. Any other filter does not say what the new element would be (an
 * untyped copy would pile up on every retry): RFC 7644 §3.5.2.3 answers that with 400 noTarget.
 */
function newElementFor(t: MultiTarget, fields: Elem): Elem {
  const type = t.filter === undefined ? undefined : plainTypeOf(t.filter);
  if (type === undefined) {
    throw badRequest(
      'noTarget',
      `no element of ${t.attr} matches the path; only a [type eq "…"] filter can add one that does not exist yet`,
    );
  }
  const element: Elem = { type, ...fields };
  element.type = type;
  return element;
}

/** X of a filter that is exactly `type eq "X"`; undefined for anything else. */
function plainTypeOf(f: Filter): string | undefined {
  if (f.op !== 'eq' || subName(f.attrPath) !== 'type') return undefined;
  return typeof f.compValue === 'string' && f.compValue.trim() !== '' ? f.compValue : undefined;
}

/** Evaluates a value filter against one element; strings compare case-insensitively (type/value are caseExact=false). */
export function matchElement(f: Filter, e: Elem): boolean {
  switch (f.op) {
    case 'and':
      return f.filters.every((x) => matchElement(x, e));
    case 'or':
      return f.filters.some((x) => matchElement(x, e));
    case 'not':
      return !matchElement(f.filter, e);
    case '[]':
      return false;
    case 'pr': {
      const v = e[canonicalKey(e, f.attrPath)];
      return v !== undefined && v !== null && v !== '';
    }
    default: {
      const actual = e[canonicalKey(e, f.attrPath)];
      const expected = f.compValue;
      if (typeof actual === 'boolean' || typeof expected === 'boolean') {
        const a = toBool(actual);
        const b = toBool(expected);
        if (f.op === 'eq') return a === b;
        if (f.op === 'ne') return a !== b;
        return false;
      }
      if (expected === null) return f.op === 'eq' ? actual == null : f.op === 'ne' ? actual != null : false;
      if (actual === undefined || actual === null) return f.op === 'ne';
      const a = String(actual).toLowerCase();
      const b = String(expected).toLowerCase();
      switch (f.op) {
        case 'eq':
          return a === b;
        case 'ne':
          return a !== b;
        case 'co':
          return a.includes(b);
        case 'sw':
          return a.startsWith(b);
        case 'ew':
          return a.endsWith(b);
        case 'gt':
          return a > b;
        case 'ge':
          return a >= b;
        case 'lt':
          return a < b;
        case 'le':
          return a <= b;
      }
    }
  }
}

function canonicalKey(e: Elem, attrPath: string): string {
  const want = subName(attrPath);
  return Object.keys(e).find((k) => k.toLowerCase() === want) ?? want;
}

function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return undefined;
}
