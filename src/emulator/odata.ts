import {
  GraphError,
  advancedQueryRequired,
  incompatibleOperands,
  notEmulated,
  odataBadRequest,
  repeatedQueryOption,
  unsupportedFilter,
} from './errors';
import { canonicalDateTimeOffset } from './date-time';
import type { JsonValue } from './state/store';

/**
 * The small part of OData v4 that Graph supports on the endpoints we emulate: query-string decoding, `$select`,
 * `$top`, and a `$filter` grammar of comparisons (`eq ne ge le gt lt`), `in`, `startsWith`/`endsWith`, `not`,
 * `and`/`or` and parentheses. String literals are single-quoted with `''` for a quote inside.
 */

/**
 * Decodes a query string as Graph does: `+` is a space, `%2B` is a plus. A system query option (`$…`) given twice is
 * refused as the OData library refuses it; for other parameters the later one wins.
 */
export function parseQuery(search: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!search) return out;
  for (const part of search.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawVal = eq < 0 ? '' : part.slice(eq + 1);
    let key: string;
    let val: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      val = decodeURIComponent(rawVal.replace(/\+/g, ' '));
    } catch {
      throw odataBadRequest('Invalid request: the query string is not correctly percent-encoded.');
    }
    // OData system query option names are case-insensitive.
    const lower = key.toLowerCase();
    if (lower.startsWith('$') && out.has(lower)) throw repeatedQueryOption(lower);
    out.set(lower, val);
  }
  return out;
}

/** An unquoted DateTimeOffset literal (`createdDateTime ge 2020-01-01T00:00:00Z`), kept with its instant. */
export class DateTimeOffsetLiteral {
  constructor(
    readonly text: string,
    readonly epochMs: number,
  ) {}
}

export type FilterLiteral = string | number | boolean | null | DateTimeOffsetLiteral;
export type ComparisonOperator = 'eq' | 'ne' | 'ge' | 'le' | 'gt' | 'lt';

export type FilterNode =
  | { kind: 'cmp'; op: ComparisonOperator; property: string; value: FilterLiteral }
  | { kind: 'in'; property: string; values: FilterLiteral[] }
  | { kind: 'fn'; fn: 'startswith' | 'endswith'; property: string; value: string }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode };

type Token =
  | { t: 'str'; v: string; pos: number }
  | { t: 'word'; v: string; pos: number }
  | { t: 'num'; v: number; pos: number }
  | { t: 'date'; v: DateTimeOffsetLiteral; pos: number }
  | { t: '(' | ')' | ','; pos: number };

/** OData's DateTimeOffset literal: date, time with optional seconds and fraction, then `Z` or an offset. */
const DATE_TIME_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/i;

/**
 * Reads a DateTimeOffset literal at the start of `rest`, or undefined when there is none. A literal of that shape
 * that names no real instant (2020-02-30, hour 25) is refused as odata.net's URI parser refuses it, not read the way
 * `Date.parse` would (as March 1).
 */
function dateTimeOffsetAt(rest: string): DateTimeOffsetLiteral | undefined {
  const m = DATE_TIME_OFFSET.exec(rest);
  if (!m) return undefined;
  const utc = canonicalDateTimeOffset(m[0].toUpperCase());
  if (utc === undefined) {
    throw odataBadRequest(
      `The DateTimeOffset text '${m[0]}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.`,
    );
  }
  // The exact instant, fraction included (the canonical form drops it; a filter compares what it was given).
  return new DateTimeOffsetLiteral(m[0], Date.parse(m[0].toUpperCase()));
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c, pos: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) {
          throw odataBadRequest(
            `Invalid filter clause: There is an unterminated string literal at position ${start} in '${src}'.`,
          );
        }
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += src[i];
        i++;
      }
      tokens.push({ t: 'str', v, pos: start });
    } else if (/[0-9]/.test(c) && dateTimeOffsetAt(src.slice(i))) {
      const date = dateTimeOffsetAt(src.slice(i))!;
      tokens.push({ t: 'date', v: date, pos: i });
      i += date.text.length;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
      if (!m) throw odataBadRequest(`Invalid filter clause: Syntax error at position ${i} in '${src}'.`);
      tokens.push({ t: 'num', v: Number(m[0]), pos: i });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$./]*/.exec(src.slice(i))!;
      tokens.push({ t: 'word', v: m[0], pos: i });
      i += m[0].length;
    } else {
      throw odataBadRequest(
        `Invalid filter clause: Syntax error: character '${c}' is not valid at position ${i} in '${src}'.`,
      );
    }
  }
  return tokens;
}

/** Parses `$filter`. Throws Graph's 400 on syntax errors. */
export function parseFilter(src: string): FilterNode {
  const tokens = tokenize(src);
  let p = 0;
  const syntax = (pos: number): GraphError =>
    odataBadRequest(`Invalid filter clause: Syntax error at position ${pos} in '${src}'.`);
  const peek = (): Token | undefined => tokens[p];
  const isWord = (tok: Token | undefined, w: string): boolean => tok?.t === 'word' && tok.v.toLowerCase() === w;
  const expect = (t: Token['t']): Token => {
    const tok = tokens[p];
    if (!tok || tok.t !== t) throw syntax(tok?.pos ?? src.length);
    p++;
    return tok;
  };
  const literal = (): FilterLiteral => {
    const tok = tokens[p++];
    if (!tok) throw syntax(src.length);
    if (tok.t === 'str' || tok.t === 'num' || tok.t === 'date') return tok.v;
    if (tok.t === 'word') {
      const w = tok.v.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    throw syntax(tok.pos);
  };
  const primary = (): FilterNode => {
    const tok = peek();
    if (!tok) throw syntax(src.length);
    if (tok.t === '(') {
      p++;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (isWord(tok, 'not')) {
      p++;
      return { kind: 'not', operand: primary() };
    }
    if (tok.t !== 'word') throw syntax(tok.pos);
    const lower = tok.v.toLowerCase();
    if ((lower === 'startswith' || lower === 'endswith') && tokens[p + 1]?.t === '(') {
      p += 2;
      const prop = expect('word') as { v: string };
      expect(',');
      const value = literal();
      expect(')');
      if (typeof value !== 'string') throw syntax(tok.pos);
      return { kind: 'fn', fn: lower, property: prop.v, value };
    }
    p++;
    const opTok = tokens[p++];
    if (!opTok || opTok.t !== 'word') throw syntax(opTok?.pos ?? src.length);
    const op = opTok.v.toLowerCase();
    if (op === 'in') {
      expect('(');
      const values: FilterLiteral[] = [literal()];
      while (peek()?.t === ',') {
        p++;
        values.push(literal());
      }
      expect(')');
      return { kind: 'in', property: tok.v, values };
    }
    if (op === 'eq' || op === 'ne' || op === 'ge' || op === 'le' || op === 'gt' || op === 'lt') {
      return { kind: 'cmp', op, property: tok.v, value: literal() };
    }
    if (op === 'has' || op === 'add' || op === 'sub') throw notEmulated(`the '${op}' operator in $filter`);
    throw syntax(opTok.pos);
  };
  const andExpr = (): FilterNode => {
    let left = primary();
    while (isWord(peek(), 'and')) {
      p++;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };
  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isWord(peek(), 'or')) {
      p++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const node = orExpr();
  if (p < tokens.length) throw syntax(tokens[p]!.pos);
  return node;
}

export interface FilterSchema {
  /** Graph's resource name in error messages ('User', 'Application'). */
  resource: string;
  /** lower-case property name → canonical name, for the properties that may be filtered. */
  filterable: ReadonlyMap<string, string>;
  /** Extra names accepted (e.g. extension_* on users); returns the canonical name or undefined. */
  dynamic?: (name: string) => string | undefined;
  /** Edm type of a canonical property (of its items for a collection), for the OData operand type check. */
  edmType?: (property: string) => string | undefined;
  /** False when Microsoft's filter table has no such operator for the property, even in advanced queries. */
  supports?: (property: string, operator: FilterOperator) => boolean;
}

/** What the support tables distinguish: comparison operators plus the string functions. */
export type FilterOperator = ComparisonOperator | 'in' | 'startsWith' | 'endsWith';

/** ODL's names for the comparison operators, as they appear in its messages. */
const OPERATOR_KIND: Record<ComparisonOperator, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  ge: 'GreaterThanOrEqual',
  le: 'LessThanOrEqual',
  gt: 'GreaterThan',
  lt: 'LessThan',
};

/** The Edm type ODL gives a literal; null fits every type, so it has none. */
function literalEdmType(value: FilterLiteral): string | undefined {
  if (value === null) return undefined;
  if (value instanceof DateTimeOffsetLiteral) return 'Edm.DateTimeOffset';
  if (typeof value === 'string') return 'Edm.String';
  if (typeof value === 'boolean') return 'Edm.Boolean';
  if (!Number.isInteger(value)) return 'Edm.Decimal'; // ODL's type for a literal with a fraction and no suffix [I]
  return value >= -2147483648 && value <= 2147483647 ? 'Edm.Int32' : 'Edm.Int64';
}

/** Types ODL promotes into each other (the numeric ones) share a family; any other pair is incompatible. */
function typeFamily(edm: string): string {
  return /^Edm\.(Int16|Int32|Int64|Byte|SByte|Decimal|Double|Single)$/.test(edm) ? 'number' : edm;
}

function checkOperandTypes(schema: FilterSchema, property: string, op: ComparisonOperator, value: FilterLiteral): void {
  const left = schema.edmType?.(property);
  const right = literalEdmType(value);
  if (left && right && typeFamily(left) !== typeFamily(right))
    throw incompatibleOperands(left, right, OPERATOR_KIND[op]);
}

/**
 * Resolves property names, checks operand types, and applies Graph's operator support for directory objects:
 * `gt`/`lt` are in none of Microsoft's directory filter tables, so they are refused like any unsupported clause;
 * `ne`, `not` and `endsWith` need advanced query parameters (`ConsistencyLevel: eventual` and `$count=true`).
 */
export function checkFilter(node: FilterNode, schema: FilterSchema, advancedAllowed: boolean): FilterNode {
  const resolve = (name: string): string => {
    const canonical = schema.filterable.get(name.toLowerCase()) ?? schema.dynamic?.(name);
    if (!canonical) throw unsupportedFilter(name, schema.resource);
    return canonical;
  };
  const requireSupport = (property: string, operator: FilterOperator): void => {
    if (operator === 'gt' || operator === 'lt' || schema.supports?.(property, operator) === false)
      throw unsupportedFilter(property, schema.resource);
  };
  switch (node.kind) {
    case 'cmp': {
      const property = resolve(node.property);
      checkOperandTypes(schema, property, node.op, node.value);
      requireSupport(property, node.op);
      if (node.op === 'ne' && !advancedAllowed) throw advancedQueryRequired('ne');
      return { ...node, property };
    }
    case 'in': {
      const property = resolve(node.property);
      for (const value of node.values) checkOperandTypes(schema, property, 'eq', value);
      requireSupport(property, 'in');
      return { ...node, property };
    }
    case 'fn': {
      const property = resolve(node.property);
      requireSupport(property, node.fn === 'endswith' ? 'endsWith' : 'startsWith');
      if (node.fn === 'endswith' && !advancedAllowed) throw advancedQueryRequired('endsWith');
      return { ...node, property };
    }
    case 'not': {
      if (!advancedAllowed) throw advancedQueryRequired('not');
      return { kind: 'not', operand: checkFilter(node.operand, schema, advancedAllowed) };
    }
    case 'and':
    case 'or':
      return {
        kind: node.kind,
        left: checkFilter(node.left, schema, advancedAllowed),
        right: checkFilter(node.right, schema, advancedAllowed),
      };
  }
}

/** A stored DateTimeOffset string against a DateTimeOffset literal: compared as instants, not as text. */
function compareInstant(a: JsonValue, b: DateTimeOffsetLiteral): number | undefined {
  const ms = typeof a === 'string' ? Date.parse(a) : NaN;
  return Number.isNaN(ms) ? undefined : ms - b.epochMs;
}

/** Directory string comparisons are case-insensitive (UPN `eq` in particular, graph.md §2.7). */
function compare(a: JsonValue | undefined, b: FilterLiteral): number | undefined {
  if (a === undefined || a === null || b === null) return a === b || (a === undefined && b === null) ? 0 : undefined;
  if (b instanceof DateTimeOffsetLiteral) return compareInstant(a, b);
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  return undefined;
}

export function evaluateFilter(node: FilterNode, get: (property: string) => JsonValue | undefined): boolean {
  switch (node.kind) {
    case 'cmp': {
      const actual = get(node.property);
      if (Array.isArray(actual)) return node.op === 'eq' ? actual.some((v) => compare(v, node.value) === 0) : false;
      const c = compare(actual, node.value);
      if (c === undefined) return node.op === 'ne';
      switch (node.op) {
        case 'eq':
          return c === 0;
        case 'ne':
          return c !== 0;
        case 'ge':
          return c >= 0;
        case 'le':
          return c <= 0;
        case 'gt':
          return c > 0;
        case 'lt':
          return c < 0;
      }
      return false;
    }
    case 'in': {
      const actual = get(node.property);
      return node.values.some((v) => compare(actual, v) === 0);
    }
    case 'fn': {
      const actual = get(node.property);
      if (typeof actual !== 'string') return false;
      const a = actual.toLowerCase();
      const v = node.value.toLowerCase();
      return node.fn === 'startswith' ? a.startsWith(v) : a.endsWith(v);
    }
    case 'not':
      return !evaluateFilter(node.operand, get);
    case 'and':
      return evaluateFilter(node.left, get) && evaluateFilter(node.right, get);
    case 'or':
      return evaluateFilter(node.left, get) || evaluateFilter(node.right, get);
  }
}

/**
 * If the filter is exactly `<property> eq '<literal>'`, returns the literal so callers can use an index instead
 * of a scan (the UPN lookup is the worker's hot path).
 */
export function equalityOn(node: FilterNode, property: string): string | undefined {
  return node.kind === 'cmp' && node.op === 'eq' && node.property === property && typeof node.value === 'string'
    ? node.value
    : undefined;
}

/** `$top`: 1..999 for directory collections. */
export function parseTop(raw: string | undefined, max = 999): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw))
    throw odataBadRequest(
      `Invalid value '${raw}' for $top query option found. The $top query option requires a non-negative integer value.`,
    );
  const n = Number(raw);
  if (n < 1 || n > max) {
    throw new GraphError(
      400,
      'Request_UnsupportedQuery',
      `Invalid page size specified: '${n}'. Must be between 1 and ${max} inclusive.`,
    );
  }
  return n;
}

/** Splits `$select`; resolves each name through `resolve`, which throws for unknown names. */
export function parseSelect(raw: string | undefined, resolve: (name: string) => string): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) return undefined;
  return names.map(resolve);
}

/** Graph's answer for a `$select` name that is not a property of the type. */
export const unknownSelect = (name: string, type: string): GraphError =>
  odataBadRequest(
    `Parsing OData Select and Expand failed: Could not find a property named '${name}' on type '${type}'.`,
  );
