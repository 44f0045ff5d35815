import type { Filter } from 'scim2-parse-filter';
import { ControlCharacterError, FilterTextError, parseFilterText } from './filter-text';
import { badRequest } from './errors';
import { coerceString, isPlainObject, type PatchOperation } from './normalize';
import { clip, parsePath } from './paths';

/**
 * What a Group PATCH/PUT asks for. Membership changes stay a list of set operations so they can be executed as
 * INSERT … ON CONFLICT DO NOTHING / DELETE, never as a read-modify-write of the whole member list (a group of 50k
 * members costs the same to change as one of 5).
 */
export interface GroupPlan {
  displayName?: string;
  externalId?: string | null;
  members: MemberOp[];
}

export type MemberOp = { op: 'add' | 'remove' | 'replace'; refs: string[] } | { op: 'removeAll' };

export const MAX_MEMBER_REFS = 10_000;

/**
 * Member references from `[{value}]` (what Entra sends: `[{"$ref":null,"value":"<id>"}]`) or a single `{value}`.
 * A bare string is not a member object in any SCIM or Entra form, so it is refused rather than guessed at.
 */
export function memberRefs(value: unknown): string[] {
  if (!Array.isArray(value) && !isPlainObject(value))
    throw badRequest('invalidValue', 'members must be a list of {"value": "<user id>"} objects');
  const list = Array.isArray(value) ? value : [value];
  if (list.length > MAX_MEMBER_REFS) throw badRequest('tooMany', `at most ${MAX_MEMBER_REFS} members per request`);
  return list.map((m) => {
    const key = isPlainObject(m) ? Object.keys(m).find((k) => k.toLowerCase() === 'value') : undefined;
    const v = key === undefined ? undefined : (m as Record<string, unknown>)[key];
    if (typeof v !== 'string' || v.trim() === '' || v.length > 256) {
      throw badRequest('invalidValue', 'each member needs a string "value" (the user id)');
    }
    return v.trim();
  });
}

/** `value eq "a"` or `value eq "a" or value eq "b"` → ['a', 'b']; anything else is not a member selector. */
function refsFromFilter(text: string): string[] {
  let f: Filter;
  try {
    f = parseFilterText(text);
  } catch (err) {
    if (err instanceof ControlCharacterError) throw badRequest('invalidPath', `a path ${err.message}`);
    if (err instanceof FilterTextError)
      throw badRequest('invalidPath', `the member filter "${clip(text)}" ${err.message}`);
    throw err;
  }
  const out: string[] = [];
  const visit = (x: Filter) => {
    if (x.op === 'or') x.filters.forEach(visit);
    else if (x.op === 'eq' && x.attrPath.toLowerCase() === 'value' && typeof x.compValue === 'string')
      out.push(x.compValue);
    else throw badRequest('invalidPath', 'member filters must be `value eq "<id>"` (optionally joined by or)');
  };
  visit(f);
  return out;
}

function displayNameValue(v: unknown): string {
  const s = coerceString(v, 'displayName');
  if (s === null || s.trim() === '') throw badRequest('invalidValue', 'displayName must not be empty');
  if (s.length > 256) throw badRequest('invalidValue', 'displayName is longer than 256 characters');
  return s.trim();
}

function applyKey(
  plan: GroupPlan,
  op: PatchOperation['op'],
  path: string,
  value: unknown,
  hasValue: boolean,
  mode: 'patch' | 'resource',
): void {
  const p = parsePath(path, 'Group');
  const attr = p.attr.toLowerCase();
  if (attr === '') throw badRequest('invalidPath', 'the Group schema URN alone is not a path');
  if (attr === 'members') {
    if (p.sub !== undefined) throw badRequest('invalidPath', 'members sub-attributes cannot be patched');
    if (p.filter !== undefined) {
      // aadOptscim062020: {"op":"remove","path":"members[value eq \"<id>\"]"}.
      if (op !== 'remove') throw badRequest('invalidPath', 'a filtered members path can only be removed');
      plan.members.push({ op: 'remove', refs: refsFromFilter(p.filter) });
      return;
    }
    if (op === 'remove') {
      // Without the flag Entra removes members by listing them in `value`; with no value, all members go.
      plan.members.push(hasValue && value !== null ? { op: 'remove', refs: memberRefs(value) } : { op: 'removeAll' });
      return;
    }
    if (value === null) {
      if (op === 'replace') plan.members.push({ op: 'removeAll' });
      return;
    }
    plan.members.push({ op, refs: memberRefs(value) });
    return;
  }
  if (p.filter !== undefined || p.sub !== undefined)
    throw badRequest('invalidPath', `"${clip(path)}" is not a Group path`);
  if (attr === 'displayname') {
    // RFC 7644 §3.5.2.2: removing a required attribute is a mutability error.
    if (op === 'remove') throw badRequest('mutability', 'displayName is required and cannot be removed');
    plan.displayName = displayNameValue(value);
    return;
  }
  if (attr === 'externalid') {
    plan.externalId = op === 'remove' ? null : coerceString(value, 'externalId') || null;
    return;
  }
  if (attr === 'id' || attr === 'meta' || attr === 'schemas') {
    if (mode === 'resource') return;
    throw badRequest('mutability', `${p.attr} is read-only`);
  }
  throw badRequest('invalidPath', `unknown Group attribute "${clip(p.attr)}"`);
}

/** A Group PatchOp as a plan; path-less values are maps of paths, like for Users. */
export function planGroupPatch(ops: readonly PatchOperation[]): GroupPlan {
  const plan: GroupPlan = { members: [] };
  for (const o of ops) {
    if (o.path === undefined) {
      if (o.op === 'remove') throw badRequest('noTarget', '"remove" needs a "path"');
      if (!isPlainObject(o.value))
        throw badRequest('invalidValue', 'an operation without "path" needs an object "value"');
      for (const [k, v] of Object.entries(o.value)) applyKey(plan, o.op, k, v, true, 'patch');
    } else {
      applyKey(plan, o.op, o.path, o.value, 'value' in o, 'patch');
    }
  }
  return plan;
}

/** A Group resource (POST/PUT body) as a plan: members, when present, replace the list. */
export function planGroupResource(body: Record<string, unknown>, opts: { put: boolean }): GroupPlan {
  const plan: GroupPlan = { members: [] };
  let sawMembers = false;
  for (const [k, v] of Object.entries(body)) {
    if (v === null) continue;
    if (k.toLowerCase() === 'members') sawMembers = true;
    applyKey(plan, 'replace', k, v, true, 'resource');
  }
  if (plan.displayName === undefined) throw badRequest('invalidValue', 'displayName is required');
  if (opts.put) {
    if (!sawMembers) plan.members.push({ op: 'removeAll' });
  }
  return plan;
}
