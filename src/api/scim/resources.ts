import type { EmployeeView } from '../../db/employees';
import type { TeamRow } from '../../db/teams';
import { badRequest } from './errors';
import { queryParams } from './list';
import { URN } from './schemas';

/** Row ⇄ SCIM resource rendering and the attributes/excludedAttributes projection (RFC 7644 §3.9). */

export type ScimResource = Record<string, unknown>;

export interface RenderContext {
  /** Absolute base of /scim/v2 as clients see it, for meta.location and $ref. */
  baseUrl: string;
  /** Custom attributes are rendered only while a definition exists. */
  /** Whether a stored custom attribute value is shown: its id is defined, and the value has the defined type. */
  showsCustomAttribute: (id: string, value: unknown) => boolean;
}

const setIf = (o: Record<string, unknown>, k: string, v: unknown) => {
  if (v !== null && v !== undefined) o[k] = v;
};

/**
 * A SCIM User from an employee row. Nulls are omitted (Entra: "don't send null values"); booleans are JSON booleans;
 * the manager is the RFC 7643 §4.3 complex `{value, $ref, displayName}` under the enterprise key with the enterprise
 * URN in `schemas` — a bare string makes Entra fail to deserialize the user, and a missing URN makes it re-PATCH the
 * manager every cycle.
 */
export function renderUser(row: EmployeeView, ctx: RenderContext): ScimResource {
  const location = `${ctx.baseUrl}/Users/${row.id}`;
  const out: ScimResource = { schemas: [URN.user], id: row.id };
  setIf(out, 'externalId', row.external_id);
  out.userName = row.user_name;
  const name: Record<string, unknown> = {};
  setIf(name, 'formatted', row.formatted_name);
  setIf(name, 'familyName', row.family_name);
  setIf(name, 'givenName', row.given_name);
  if (Object.keys(name).length > 0) out.name = name;
  setIf(out, 'displayName', row.display_name);
  setIf(out, 'title', row.job_title);
  out.active = row.active;
  if (row.emails?.length) out.emails = row.emails;
  if (row.phone_numbers?.length) out.phoneNumbers = row.phone_numbers;
  if (row.photo_url) out.photos = [{ value: row.photo_url, type: 'photo', primary: true }];
  if (row.location) out.addresses = [{ type: 'work', locality: row.location, primary: true }];
  if (row.teams) {
    const groups = row.teams
      .filter((t) => t.scimManaged)
      .map((t) => ({ value: t.id, display: t.displayName, $ref: `${ctx.baseUrl}/Groups/${t.id}` }));
    if (groups.length > 0) out.groups = groups;
  }

  const ent: Record<string, unknown> = {};
  setIf(ent, 'employeeNumber', row.employee_number);
  setIf(ent, 'costCenter', row.cost_center);
  setIf(ent, 'organization', row.organization);
  setIf(ent, 'division', row.division);
  setIf(ent, 'department', row.department);
  if (row.manager_id) {
    const manager: Record<string, unknown> = { value: row.manager_id, $ref: `${ctx.baseUrl}/Users/${row.manager_id}` };
    setIf(manager, 'displayName', row.manager_display_name);
    ent.manager = manager;
  }
  for (const [id, v] of Object.entries(row.custom_attributes ?? {})) {
    if (ctx.showsCustomAttribute(id, v)) ent[id] = v;
  }
  const prod: Record<string, unknown> = {};
  setIf(prod, 'level', row.level_name);
  setIf(prod, 'location', row.location);
  setIf(prod, 'gender', row.gender);
  setIf(prod, 'startDate', row.start_date);
  setIf(prod, 'endDate', row.end_date);
  setIf(prod, 'birthday', row.birthday);
  const schemas = out.schemas as string[];
  if (Object.keys(ent).length > 0) {
    schemas.push(URN.enterprise);
    out[URN.enterprise] = ent;
  }
  if (Object.keys(prod).length > 0) {
    schemas.push(URN.product);
    out[URN.product] = prod;
  }
  out.meta = {
    resourceType: 'User',
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location,
    version: `W/"${row.version}"`,
  };
  return out;
}

export interface GroupMember {
  id: string;
  display: string | null;
}

export function renderGroup(
  row: TeamRow,
  members: GroupMember[] | undefined,
  ctx: Pick<RenderContext, 'baseUrl'>,
): ScimResource {
  const out: ScimResource = { schemas: [URN.group], id: row.id };
  setIf(out, 'externalId', row.external_id);
  out.displayName = row.display_name;
  if (members) {
    out.members = members.map((m) => {
      const e: Record<string, unknown> = { value: m.id, $ref: `${ctx.baseUrl}/Users/${m.id}`, type: 'User' };
      setIf(e, 'display', m.display);
      return e;
    });
  }
  out.meta = {
    resourceType: 'Group',
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${ctx.baseUrl}/Groups/${row.id}`,
    version: `W/"${row.version}"`,
  };
  return out;
}

/**
 * A parsed `attributes` / `excludedAttributes` list: each entry is the path to one attribute, names in lower case —
 * `['username']`, `['name', 'givenname']`, `[<enterprise URN>, 'manager', 'value']`.
 */
export type AttributeList = string[][];

const EXTENSION_URNS = [URN.enterprise, URN.product].map((u) => u.toLowerCase());
const CORE_URNS = [URN.user, URN.group].map((u) => u.toLowerCase());

/** Parses a comma-separated attribute list; unknown names simply match nothing. */
export function parseAttributeList(raw: unknown, param: string): AttributeList | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badRequest('invalidValue', `${param} must be a single comma-separated string`);
  if (raw.length > 2000) throw badRequest('invalidValue', `${param} is too long`);
  const out: AttributeList = [];
  for (const part of raw.split(',')) {
    let p = part.trim().toLowerCase();
    if (p === '') continue;
    const core = CORE_URNS.find((u) => p.startsWith(`${u}:`));
    if (core) p = p.slice(core.length + 1);
    // An extension URN contains dots ("2.0"), so it is one path segment of its own; dots after it separate names.
    const ext = EXTENSION_URNS.find((u) => p === u || p.startsWith(`${u}:`));
    if (ext) out.push(p === ext ? [ext] : [ext, ...p.slice(ext.length + 1).split('.')]);
    else out.push(p.split('.'));
  }
  return out;
}

/** Names (lower case) that are always returned whatever the projection says. */
const ALWAYS = new Set(['id', 'schemas', 'meta']);

/** A projection as a tree of lower-case names; `true` marks an attribute named as a whole. */
type PathTree = Map<string, PathTree | true>;

function treeOf(list: AttributeList): PathTree {
  const root: PathTree = new Map();
  for (const path of list) {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const existing = node.get(path[i]);
      if (existing === true) break;
      if (i === path.length - 1) {
        node.set(path[i], true);
        break;
      }
      const child: PathTree = existing ?? new Map();
      node.set(path[i], child);
      node = child;
    }
  }
  return root;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** What is left of `v` when only the attributes in `tree` are kept; undefined when nothing is. */
function keepSelected(v: unknown, tree: PathTree): unknown {
  if (Array.isArray(v)) {
    const kept = v.map((e) => keepSelected(e, tree)).filter((e) => e !== undefined);
    return kept.length > 0 ? kept : undefined;
  }
  // A sub-attribute of a simple value selects nothing.
  if (!isObject(v)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const t = tree.get(k.toLowerCase());
    if (t === undefined) continue;
    const kept = t === true ? val : keepSelected(val, t);
    if (kept !== undefined) out[k] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** What is left of `v` when the attributes in `tree` are dropped; undefined when nothing is. */
function dropSelected(v: unknown, tree: PathTree): unknown {
  if (Array.isArray(v)) {
    const kept = v.map((e) => dropSelected(e, tree)).filter((e) => e !== undefined);
    return kept.length > 0 ? kept : undefined;
  }
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const t = tree.get(k.toLowerCase());
    if (t === undefined) out[k] = val;
    else if (t !== true) {
      const kept = dropSelected(val, t);
      if (kept !== undefined) out[k] = kept;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Applies `attributes` (keep only these) or `excludedAttributes` (drop these) to a rendered resource, at any depth
 * (RFC 7644 §3.9): `name.givenName`, `emails.value`, `urn:…:enterprise:2.0:User:manager.value`. id, schemas and
 * meta are always returned.
 */
export function project(
  resource: ScimResource,
  attributes: AttributeList | undefined,
  excluded: AttributeList | undefined,
): ScimResource {
  const keep = attributes !== undefined && attributes.length > 0;
  if (!keep && (excluded === undefined || excluded.length === 0)) return resource;
  const tree = treeOf(keep ? attributes : excluded!);
  const out: ScimResource = {};
  for (const [k, v] of Object.entries(resource)) {
    if (ALWAYS.has(k.toLowerCase())) {
      out[k] = v;
      continue;
    }
    const projected = keep ? keepSelected({ [k]: v }, tree) : dropSelected({ [k]: v }, tree);
    if (projected !== undefined) Object.assign(out, projected);
  }
  return withSchemasOf(out);
}

/** Keeps `schemas` in step with the extension objects left after projection. */
function withSchemasOf(r: ScimResource): ScimResource {
  if (!Array.isArray(r.schemas)) return r;
  r.schemas = (r.schemas as string[]).filter((s) => !EXTENSION_URNS.includes(s.toLowerCase()) || s in r);
  return r;
}

/** The projection a request asks for with `attributes` / `excludedAttributes` (parameter names in any case). */
export interface Projection {
  attributes?: AttributeList;
  excluded?: AttributeList;
}

export function projectionOf(query: unknown): Projection {
  const q = queryParams(query);
  return {
    attributes: parseAttributeList(q.get('attributes'), 'attributes'),
    excluded: parseAttributeList(q.get('excludedattributes'), 'excludedAttributes'),
  };
}

/** Whether a projection returns the top-level attribute `name` (lower case), so its subquery can be skipped. */
export function projectionIncludes(p: Projection, name: string): boolean {
  if (p.attributes && p.attributes.length > 0) return p.attributes.some(([top]) => top === name);
  if (p.excluded) return !p.excluded.some((path) => path[0] === name && path.length === 1);
  return true;
}
