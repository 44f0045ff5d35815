import { badRequest } from './errors';
import { FORBIDDEN_SEGMENTS, URN } from './schemas';

export type SchemaKey = 'core' | 'enterprise' | 'product';

/** An attribute path (RFC 7644 §3.5.2 `attrPath` / `valuePath`) split into its parts, names not yet resolved. */
export interface ParsedPath {
  /** Which schema the path named explicitly by URN; null when unqualified. */
  schema: SchemaKey | null;
  /** Attribute name as sent; '' when the path is a schema URN alone (the whole extension). */
  attr: string;
  /** Text between `[` and `]` of a value path, e.g. `type eq "work"`. */
  filter?: string;
  sub?: string;
}

const USER_PREFIXES: Array<[string, SchemaKey]> = [
  [URN.enterprise.toLowerCase(), 'enterprise'],
  [URN.product.toLowerCase(), 'product'],
  [URN.user.toLowerCase(), 'core'],
];
const GROUP_PREFIXES: Array<[string, SchemaKey]> = [[URN.group.toLowerCase(), 'core']];

const REST = /^([A-Za-z0-9_$-]+)(?:\[(.*)\])?(?:\.([A-Za-z0-9_$-]+))?$/s;

/**
 * Splits a path such as `emails[type eq "work"].value`, `name.givenName` or
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`. The schema URN is matched case-insensitively;
 * after the enterprise URN a "." is accepted as well as ":" because the vendor article this product follows writes
 * custom attributes as `...:enterprise:2.0:User.<id>`. Segments that could reach a prototype are refused here, before
 * any lookup.
 */
export function parsePath(raw: string, resource: 'User' | 'Group'): ParsedPath {
  const path = raw.trim();
  const lower = path.toLowerCase();
  let schema: SchemaKey | null = null;
  let rest = path;
  for (const [prefix, key] of resource === 'User' ? USER_PREFIXES : GROUP_PREFIXES) {
    if (lower === prefix) return { schema: key, attr: '' };
    if (lower.startsWith(prefix)) {
      const sep = path[prefix.length];
      if (sep === ':' || (sep === '.' && key === 'enterprise')) {
        schema = key;
        rest = path.slice(prefix.length + 1);
        break;
      }
    }
  }
  if (schema === null && lower.startsWith('urn:'))
    throw badRequest('invalidPath', `unknown schema in path "${clip(path)}"`);
  const m = REST.exec(rest);
  if (!m) throw badRequest('invalidPath', `"${clip(path)}" is not a valid attribute path`);
  const [, attr, filter, sub] = m;
  for (const seg of [attr, sub]) {
    if (seg !== undefined && FORBIDDEN_SEGMENTS.has(seg.toLowerCase())) {
      throw badRequest('invalidPath', `"${seg}" is not an attribute`);
    }
  }
  const out: ParsedPath = { schema, attr };
  if (filter !== undefined) {
    if (filter.trim() === '') throw badRequest('invalidPath', `empty filter in path "${clip(path)}"`);
    out.filter = filter;
  }
  if (sub !== undefined) out.sub = sub;
  return out;
}

export const clip = (s: string, n = 80): string => (s.length > n ? `${s.slice(0, n)}…` : s);
