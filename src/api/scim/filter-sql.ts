import type { AttrExp, Compare, Filter } from 'scim2-parse-filter';
import { ControlCharacterError, FilterTextError, parseFilterText } from './filter-text';
import type { CustomAttributeDefinition } from '../../db/custom-attributes';
import { badRequest, ScimError } from './errors';
import { isCalendarDate } from './normalize';
import { clip, parsePath } from './paths';
import type { CustomAttributeLookup } from './patch';

/**
 * SCIM filter (RFC 7644 §3.4.2.2) → SQL with bound parameters. Parsing is scim2-parse-filter's; everything after is
 * ours: attribute names resolve through an allow-list to fixed SQL expressions (no client text ever becomes SQL),
 * values are bindings, caseExact=false attributes compare with lower(), multi-valued attributes use EXISTS over
 * their elements, and each comparison is NULL-safe so `not` means what it says. Anything unknown or unparseable is
 * a 400 invalidFilter — never a silently unfiltered list.
 */

export interface SqlFragment {
  sql: string;
  bindings: unknown[];
}

export type FilterResource = 'User' | 'Group';

export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 40;
const MAX_TERMS = 200;

type SubKind = 'text' | 'bool';

/** What an attribute path means in SQL. `expr` strings are constants of this module, never client input. */
export type Column =
  | {
      kind: 'text';
      expr: string;
      caseExact: boolean;
      bindings?: unknown[];
      holdsDates?: boolean;
      /** Values are stored trimmed, so `eq`/`ne` compare with the trimmed operand: what was sent is found again. */
      storedTrimmed?: boolean;
    }
  | { kind: 'uuid'; expr: string }
  | { kind: 'bool'; expr: string }
  | { kind: 'date'; expr: string }
  | { kind: 'timestamp'; expr: string }
  | { kind: 'number'; expr: string; bindings: unknown[] }
  | { kind: 'multi'; column: string; subs: Record<string, SubKind>; sub: string | null }
  | { kind: 'link'; exists: string; target: string };

const text = (expr: string, caseExact = false): Column => ({ kind: 'text', expr, caseExact });
const MV_SUBS: Record<string, SubKind> = { value: 'text', type: 'text', primary: 'bool', display: 'text' };

const USER_CORE: Record<string, Column> = {
  id: { kind: 'uuid', expr: 'employees.id' },
  externalid: text('employees.external_id', true),
  username: text('employees.user_name'),
  displayname: text('employees.display_name'),
  title: text('employees.job_title'),
  active: { kind: 'bool', expr: 'employees.active' },
  'name.givenname': text('employees.given_name'),
  'name.familyname': text('employees.family_name'),
  'name.formatted': text('employees.formatted_name'),
  'photos.value': text('employees.photo_url', true),
  photos: text('employees.photo_url', true),
  'addresses.locality': text('employees.location'),
  'meta.created': { kind: 'timestamp', expr: 'employees.created_at' },
  'meta.lastmodified': { kind: 'timestamp', expr: 'employees.updated_at' },
  groups: {
    kind: 'link',
    exists:
      'SELECT 1 FROM team_members ug JOIN teams ugt ON ugt.id = ug.team_id WHERE ug.employee_id = employees.id AND ugt.scim_managed',
    target: 'ug.team_id',
  },
  'groups.value': {
    kind: 'link',
    exists:
      'SELECT 1 FROM team_members ug JOIN teams ugt ON ugt.id = ug.team_id WHERE ug.employee_id = employees.id AND ugt.scim_managed',
    target: 'ug.team_id',
  },
};
const USER_MULTI: Record<string, string> = { emails: 'employees.emails', phonenumbers: 'employees.phone_numbers' };
const USER_ENTERPRISE: Record<string, Column> = {
  employeenumber: text('employees.employee_number'),
  costcenter: text('employees.cost_center'),
  organization: text('employees.organization'),
  division: text('employees.division'),
  department: text('employees.department'),
  manager: { kind: 'uuid', expr: 'employees.manager_id' },
  'manager.value': { kind: 'uuid', expr: 'employees.manager_id' },
};
const USER_PRODUCT: Record<string, Column> = {
  // Level names are stored trimmed (patch.ts), like group names.
  level: {
    kind: 'text',
    expr: '(SELECT lv.name FROM levels lv WHERE lv.id = employees.level_id)',
    caseExact: false,
    storedTrimmed: true,
  },
  location: text('employees.location'),
  gender: text('employees.gender'),
  startdate: { kind: 'date', expr: 'employees.start_date' },
  enddate: { kind: 'date', expr: 'employees.end_date' },
  birthday: { kind: 'date', expr: 'employees.birthday' },
};
const GROUP_CORE: Record<string, Column> = {
  id: { kind: 'uuid', expr: 'teams.id' },
  externalid: text('teams.external_id', true),
  // Group names are stored trimmed (group-patch.ts): a lookup of the name as Entra sent it must find the group.
  displayname: { kind: 'text', expr: 'teams.display_name', caseExact: false, storedTrimmed: true },
  'meta.created': { kind: 'timestamp', expr: 'teams.created_at' },
  'meta.lastmodified': { kind: 'timestamp', expr: 'teams.updated_at' },
  members: {
    kind: 'link',
    exists: 'SELECT 1 FROM team_members gm WHERE gm.team_id = teams.id',
    target: 'gm.employee_id',
  },
  'members.value': {
    kind: 'link',
    exists: 'SELECT 1 FROM team_members gm WHERE gm.team_id = teams.id',
    target: 'gm.employee_id',
  },
};

const own = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;

function customColumn(def: CustomAttributeDefinition): Column {
  // The id is bound, not spliced: `custom_attributes->>?`.
  switch (def.type) {
    case 'number':
      return {
        kind: 'number',
        expr: "(CASE WHEN jsonb_typeof(employees.custom_attributes->?) = 'number' THEN (employees.custom_attributes->>?)::numeric END)",
        bindings: [def.id, def.id],
      };
    case 'boolean':
      return { kind: 'text', expr: 'employees.custom_attributes->>?', caseExact: false, bindings: [def.id] };
    case 'string':
      return { kind: 'text', expr: 'employees.custom_attributes->>?', caseExact: false, bindings: [def.id] };
    case 'date':
      // Stored as 'YYYY-MM-DD' text, which orders like the dates; holdsDates makes comparisons check their operand.
      return {
        kind: 'text',
        expr: 'employees.custom_attributes->>?',
        caseExact: true,
        bindings: [def.id],
        holdsDates: true,
      };
  }
}

/** Resolves a filter/sort attribute path of `resource` to its column, or throws invalidFilter. */
export function resolveFilterColumn(
  attrPath: string,
  resource: FilterResource,
  lookupCustom: CustomAttributeLookup,
): Column {
  let p;
  try {
    p = parsePath(attrPath, resource);
  } catch (err) {
    if (err instanceof ScimError) throw badRequest('invalidFilter', err.detail);
    throw err;
  }
  const unknown = () => badRequest('invalidFilter', `unknown attribute "${clip(attrPath)}" in filter`);
  if (p.filter !== undefined) throw unknown();
  const attr = p.attr.toLowerCase();
  const key = p.sub === undefined ? attr : `${attr}.${p.sub.toLowerCase()}`;
  if (resource === 'Group') {
    const c = p.schema === 'core' || p.schema === null ? own(GROUP_CORE, key) : undefined;
    if (!c) throw unknown();
    return c;
  }
  if (p.schema === null || p.schema === 'core') {
    const multi = own(USER_MULTI, attr);
    if (multi) {
      const sub = p.sub === undefined ? null : p.sub.toLowerCase();
      if (sub !== null && !own(MV_SUBS, sub)) throw unknown();
      return { kind: 'multi', column: multi, subs: MV_SUBS, sub };
    }
    const c = own(USER_CORE, key);
    if (c) return c;
  }
  // Unqualified enterprise/product names are accepted too: Entra's reference probe says `manager eq "…"`.
  if (p.schema === null || p.schema === 'enterprise') {
    const c = own(USER_ENTERPRISE, key);
    if (c) return c;
  }
  if (p.schema === null || p.schema === 'product') {
    const c = own(USER_PRODUCT, key);
    if (c) return c;
  }
  if (p.schema === 'enterprise' && p.sub === undefined) {
    const def = lookupCustom(p.attr);
    if (def) return customColumn(def);
  }
  throw unknown();
}

/**
 * PostgreSQL text cannot hold U+0000 and refuses the whole query, so a value that has one (sent raw as %00 or as the
 * JSON escape \u0000) is a client mistake to answer with 400, not a 500.
 */
function assertNoNul(text: string): void {
  if (text.includes('\u0000'))
    throw badRequest('invalidFilter', 'filter values must not contain the NUL character (U+0000)');
}

/** Bare words after a comparison operator, quoted (numbers, booleans and null stay as they are). */
const quoteBareWords = (masked: string): string =>
  masked.replace(/(\s(?:eq|ne|co|sw|ew|gt|ge|lt|le)\s+)([^\s"()[\]]+)/gi, (m, op: string, word: string) =>
    /^(true|false|null|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/.test(word) ? m : `${op}"${word}"`,
  );

/**
 * Parses a filter. Microsoft's tutorial shows an unquoted value (`externalId eq jyoung`); when the strict parse fails,
 * bare words after a comparison operator are quoted and the parse is tried once more.
 */
export function parseFilter(textIn: string): Filter {
  if (textIn.length > MAX_FILTER_LENGTH)
    throw badRequest('invalidFilter', `filter longer than ${MAX_FILTER_LENGTH} characters`);
  if (textIn.trim() === '') throw badRequest('invalidFilter', 'empty filter');
  assertNoNul(textIn);
  try {
    return parseFilterText(textIn, { rewrite: quoteBareWords });
  } catch (err) {
    if (err instanceof ControlCharacterError) throw badRequest('invalidFilter', `a filter ${err.message}`);
    if (err instanceof FilterTextError)
      throw badRequest('invalidFilter', `the filter "${clip(textIn)}" ${err.message}`);
    throw err;
  }
}

/** Translates `filterText` for `resource` into a WHERE fragment (caller ANDs it with the tenant predicate). */
export function filterToSql(
  filterText: string,
  resource: FilterResource,
  lookupCustom: CustomAttributeLookup,
): SqlFragment {
  const ast = parseFilter(filterText);
  const bindings: unknown[] = [];
  let terms = 0;

  const leafLimit = () => {
    if (++terms > MAX_TERMS) throw badRequest('invalidFilter', `filter has more than ${MAX_TERMS} comparisons`);
  };

  const walk = (f: Filter, depth: number, neg = false): string => {
    if (depth > MAX_DEPTH) throw badRequest('invalidFilter', 'filter nested too deeply');
    switch (f.op) {
      case 'and':
      case 'or': {
        const parts: string[] = [];
        for (let i = 0; i < f.filters.length; i++) {
          const cur = f.filters[i];
          const next = f.filters[i + 1];
          // `emails[type eq "work"].value eq "x"` reaches us as `emails[type eq "work"] and emails.value eq "x"`;
          // both conditions must hold for the same element.
          if (f.op === 'and' && cur.op === '[]' && next && isSubCompareOf(next, cur.attrPath)) {
            const sub = next.attrPath.slice(cur.attrPath.length + 1);
            parts.push(
              valuePath(cur.attrPath, { op: 'and', filters: [cur.valFilter, { ...next, attrPath: sub }] }, depth, neg),
            );
            i++;
            continue;
          }
          parts.push(walk(cur, depth + 1, neg));
        }
        return parts.length === 1 ? parts[0] : `(${parts.join(f.op === 'and' ? ' AND ' : ' OR ')})`;
      }
      case 'not':
        return `(NOT ${walk(f.filter, depth + 1, true)})`;
      case '[]':
        return valuePath(f.attrPath, f.valFilter, depth, neg);
      default:
        leafLimit();
        return nullSafe(
          compare(
            resolveFilterColumn(f.attrPath, resource, lookupCustom),
            f.op,
            f.op === 'pr' ? undefined : f.compValue,
            f.attrPath,
          ),
          neg,
        );
    }
  };

  const valuePath = (attrPath: string, inner: Filter, depth: number, neg: boolean): string => {
    const col = resolveFilterColumn(attrPath, resource, lookupCustom);
    if (col.kind === 'multi') {
      const prefilter = emailPrefilter(col.column, inner);
      const cond = walkElement(inner, col.subs, attrPath, depth + 1, neg);
      const exists = `EXISTS (SELECT 1 FROM jsonb_array_elements(${col.column}) AS el WHERE ${cond})`;
      return prefilter ? `(${prefilter}${exists})` : exists;
    }
    if (col.kind === 'link') {
      const cond = walkLink(inner, col, attrPath, depth + 1, neg);
      return `EXISTS (${col.exists} AND ${cond})`;
    }
    throw badRequest('invalidFilter', `"${clip(attrPath)}" is not multi-valued`);
  };

  /**
   * The and/or/not structure inside a value path (`emails[…]`, `members[…]`): one recursion for both kinds of
   * value path; only the comparison at the leaves differs.
   */
  const walkInside = (
    f: Filter,
    parent: string,
    depth: number,
    neg: boolean,
    leaf: (c: AttrExp, neg: boolean) => string,
  ): string => {
    if (depth > MAX_DEPTH) throw badRequest('invalidFilter', 'filter nested too deeply');
    switch (f.op) {
      case 'and':
      case 'or':
        return `(${f.filters.map((x) => walkInside(x, parent, depth + 1, neg, leaf)).join(f.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${walkInside(f.filter, parent, depth + 1, true, leaf)})`;
      case '[]':
        throw badRequest('invalidFilter', 'nested value filters are not supported');
      default:
        leafLimit();
        return leaf(f, neg);
    }
  };

  /** A multi-valued attribute's element (`el`), its sub-attributes allow-listed in `subs`. */
  const walkElement = (f: Filter, subs: Record<string, SubKind>, parent: string, depth: number, neg = false): string =>
    walkInside(f, parent, depth, neg, (c, n) => {
      const name = c.attrPath.slice(c.attrPath.lastIndexOf('.') + 1).toLowerCase();
      const kind = own(subs, name);
      if (!kind) throw badRequest('invalidFilter', `"${clip(c.attrPath)}" is not a sub-attribute of ${clip(parent)}`);
      // `name` is one of the allow-listed keys above, so it is safe as a literal.
      if (kind === 'bool') return nullSafe(compareElementBoolean(`lower(el->>'${name}')`, c), n);
      return nullSafe(compare(text(`el->>'${name}'`), c.op, c.op === 'pr' ? undefined : c.compValue, c.attrPath), n);
    });

  /**
   * `emails[primary eq "True"]`: element booleans compare like top-level ones — true/false or Entra's "True"/"False"
   * in any case, with eq or ne only. The JSON text of the element (`el->>'primary'`) is 'true' or 'false'.
   */
  const compareElementBoolean = (expr: string, c: AttrExp): string => {
    if (c.op === 'pr') return `(${expr} IS NOT NULL)`;
    const b = filterBoolean(c.compValue);
    if (b === undefined) throw badRequest('invalidFilter', `${clip(c.attrPath)}: compare with true or false`);
    if (c.op === 'eq') return `(${expr} = ${bind(String(b))})`;
    if (c.op === 'ne') return `(${expr} IS DISTINCT FROM ${bind(String(b))})`;
    throw badRequest('invalidFilter', `${clip(c.attrPath)}: ${c.op} is not defined for booleans`);
  };

  /** A reference list (group members, …) where only `value` can be compared. */
  const walkLink = (
    f: Filter,
    col: Extract<Column, { kind: 'link' }>,
    parent: string,
    depth: number,
    neg = false,
  ): string =>
    walkInside(f, parent, depth, neg, (c) => {
      const name = c.attrPath.slice(c.attrPath.lastIndexOf('.') + 1).toLowerCase();
      if (name !== 'value') throw badRequest('invalidFilter', `only "value" can be filtered inside ${clip(parent)}`);
      return compare({ kind: 'uuid', expr: col.target }, c.op, c.op === 'pr' ? undefined : c.compValue, c.attrPath);
    });

  /**
   * `… value eq "x" …` on emails: an indexed containment test on scim_lower_values(emails) (migration 010) narrows the
   * rows before the per-element EXISTS decides. It is implied by the EXISTS, so it never changes the result.
   */
  const emailPrefilter = (column: string, inner: Filter): string => {
    if (column !== 'employees.emails') return '';
    const eq = [inner, ...(inner.op === 'and' ? inner.filters : [])].find(
      (x): x is Compare => x.op === 'eq' && x.attrPath.toLowerCase() === 'value' && typeof x.compValue === 'string',
    );
    if (!eq) return '';
    return `scim_lower_values(employees.emails) @> ARRAY[lower(${bind(eq.compValue)})] AND `;
  };

  const bind = (v: unknown) => {
    bindings.push(v);
    return '?';
  };

  const compare = (
    col: Column,
    op: Compare['op'] | 'pr',
    value: Compare['compValue'] | undefined,
    attrPath: string,
  ): string => {
    const bad = (why: string) => badRequest('invalidFilter', `${clip(attrPath)}: ${why}`);
    const v = value;
    switch (col.kind) {
      case 'multi': {
        if (col.sub === null && op === 'pr') return `(jsonb_array_length(${col.column}) > 0)`;
        const sub = col.sub ?? 'value';
        const inner: Filter =
          op === 'pr' ? { op: 'pr', attrPath: sub } : { op, attrPath: sub, compValue: v === undefined ? null : v };
        const prefilter = emailPrefilter(col.column, inner);
        const exists = `EXISTS (SELECT 1 FROM jsonb_array_elements(${col.column}) AS el WHERE ${walkElementLeaf(inner, col.subs, attrPath)})`;
        return prefilter ? `(${prefilter}${exists})` : exists;
      }
      case 'link': {
        if (op === 'pr') return `EXISTS (${col.exists})`;
        if (op !== 'eq' && op !== 'ne') throw bad('only eq, ne and pr are supported');
        const cond = compare({ kind: 'uuid', expr: col.target }, 'eq', v, attrPath);
        return op === 'eq' ? `EXISTS (${col.exists} AND ${cond})` : `(NOT EXISTS (${col.exists} AND ${cond}))`;
      }
      case 'text': {
        const expr = col.expr;
        col.bindings?.forEach((b) => bindings.push(b));
        // The column expression's own bindings come first; repeat them if the expression appears twice.
        const again = () => {
          col.bindings?.forEach((b) => bindings.push(b));
          return expr;
        };
        if (op === 'pr') return `(${expr} IS NOT NULL AND ${again()} <> '')`;
        if (v === null || v === undefined) {
          if (op === 'eq') return `(${expr} IS NULL)`;
          if (op === 'ne') return `(${expr} IS NOT NULL)`;
          throw bad('null can only be compared with eq or ne');
        }
        if (col.holdsDates && op !== 'co' && op !== 'sw' && op !== 'ew' && !isCalendarDate(String(v)))
          throw bad(`"${clip(String(v), 40)}" is not a date (YYYY-MM-DD)`);
        if (typeof v === 'boolean' || typeof v === 'number') {
          // Custom boolean/number-as-text attributes are stored as JSON; compare their text form.
          return textCompare(expr, col.caseExact, op, String(v), bad);
        }
        const operand = col.storedTrimmed && (op === 'eq' || op === 'ne') ? v.trim() : v;
        return textCompare(expr, col.caseExact, op, operand, bad);
      }
      case 'uuid': {
        if (op === 'pr') return `(${col.expr} IS NOT NULL)`;
        if (v === null) return compareWithNull(col.expr, op, bad);
        if (typeof v !== 'string') throw bad('compare ids with a string');
        if (op === 'eq' || op === 'ne') {
          if (!UUID.test(v)) return op === 'eq' ? 'FALSE' : 'TRUE';
          return op === 'eq' ? `(${col.expr} = ${bind(v)}::uuid)` : `(${col.expr} IS DISTINCT FROM ${bind(v)}::uuid)`;
        }
        return textCompare(`${col.expr}::text`, false, op, v, bad);
      }
      case 'bool': {
        if (op === 'pr') return `(${col.expr} IS NOT NULL)`;
        const b = filterBoolean(v);
        if (b === undefined) throw bad('compare with true or false');
        if (op === 'eq') return `(${col.expr} = ${bind(b)})`;
        if (op === 'ne') return `(${col.expr} IS DISTINCT FROM ${bind(b)})`;
        throw bad(`${op} is not defined for booleans`);
      }
      case 'date':
      case 'timestamp': {
        if (op === 'pr') return `(${col.expr} IS NOT NULL)`;
        if (v === null) return compareWithNull(col.expr, op, bad);
        if (typeof v !== 'string') throw bad('compare dates with a string');
        if (op === 'co' || op === 'sw' || op === 'ew') return textCompare(`${col.expr}::text`, true, op, v, bad);
        const cast = col.kind === 'date' ? 'date' : 'timestamptz';
        if (col.kind === 'date' ? !isCalendarDate(v) : !DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))
          throw bad(`"${clip(v, 40)}" is not a ${cast === 'date' ? 'date (YYYY-MM-DD)' : 'dateTime'}`);
        const sqlOp = { eq: '=', ne: 'IS DISTINCT FROM', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
        return `(${col.expr} ${sqlOp} ${bind(v)}::${cast})`;
      }
      case 'number': {
        const expr = () => {
          col.bindings.forEach((b) => bindings.push(b));
          return col.expr;
        };
        if (op === 'pr') return `(${expr()} IS NOT NULL)`;
        const n =
          typeof v === 'number'
            ? v
            : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
              ? Number(v)
              : undefined;
        if (n === undefined) throw bad('compare with a number');
        const sqlOp = { eq: '=', ne: 'IS DISTINCT FROM', gt: '>', ge: '>=', lt: '<', le: '<=' }[op as string];
        if (!sqlOp) throw bad(`${op} is not defined for numbers`);
        const e = expr();
        return `(${e} ${sqlOp} ${bind(n)}::numeric)`;
      }
    }
  };

  const walkElementLeaf = (f: Filter, subs: Record<string, SubKind>, parent: string) => walkElement(f, subs, parent, 0);

  const textCompare = (
    expr: string,
    caseExact: boolean,
    op: Compare['op'],
    v: string,
    bad: (w: string) => ScimError,
  ): string => {
    const l = (x: string) => (caseExact ? x : `lower(${x})`);
    switch (op) {
      case 'eq':
        return `(${l(expr)} = ${l(bind(v))})`;
      case 'ne':
        return `(${l(expr)} IS DISTINCT FROM ${l(bind(v))})`;
      case 'co':
        return `(${l(expr)} LIKE ${l(bind(`%${escapeLike(v)}%`))} ESCAPE '\\')`;
      case 'sw':
        return `(${l(expr)} LIKE ${l(bind(`${escapeLike(v)}%`))} ESCAPE '\\')`;
      case 'ew':
        return `(${l(expr)} LIKE ${l(bind(`%${escapeLike(v)}`))} ESCAPE '\\')`;
      case 'gt':
        return `(${l(expr)} > ${l(bind(v))})`;
      case 'ge':
        return `(${l(expr)} >= ${l(bind(v))})`;
      case 'lt':
        return `(${l(expr)} < ${l(bind(v))})`;
      case 'le':
        return `(${l(expr)} <= ${l(bind(v))})`;
      default:
        throw bad(`unsupported operator ${String(op)}`);
    }
  };

  return { sql: walk(ast, 0), bindings };
}

/**
 * A comparison with a NULL column is NULL, and NOT NULL is still NULL, so under `not` a leaf is wrapped in
 * COALESCE(…, FALSE) to keep `not (title eq "x")` true for users without a title. Outside `not`, NULL already acts as
 * false in WHERE, and leaving the leaf bare keeps expression indexes (lower(user_name)) usable on the hot path.
 */
function nullSafe(sql: string, neg: boolean): string {
  return neg ? `COALESCE(${sql}, FALSE)` : sql;
}

function isSubCompareOf(f: Filter, parent: string): f is Compare {
  if (f.op === 'and' || f.op === 'or' || f.op === 'not' || f.op === '[]' || f.op === 'pr') return false;
  return (f as Compare).attrPath.toLowerCase().startsWith(`${parent.toLowerCase()}.`);
}

/** A filter value as a boolean: JSON true/false, or "True"/"False" in any case as Entra writes them; else undefined. */
function filterBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return undefined;
}

/** RFC 3339 date-time as SCIM uses it (RFC 7643 §2.3.5); a bare date is accepted too. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `attr eq null` / `attr ne null` on a nullable column; other operators have no meaning with null. */
function compareWithNull(expr: string, op: string, bad: (detail: string) => ScimError): string {
  if (op === 'eq') return `(${expr} IS NULL)`;
  if (op === 'ne') return `(${expr} IS NOT NULL)`;
  throw bad('null needs eq or ne');
}
