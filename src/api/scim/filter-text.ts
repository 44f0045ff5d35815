import { parse, type Filter } from 'scim2-parse-filter';
import { clip } from './paths';

/**
 * C0 control characters and DEL. None belongs in a filter or a PATCH path, and line breaks are dangerous there:
 * scim2-parse-filter's pattern for a quoted string matches "\n" two ways, so an unclosed quote followed by line breaks
 * makes it backtrack exponentially (~40 of them block the event loop for hours).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Why filter text could not be read, in words for the client. Callers answer it in their own SCIM error: a query
 * filter with `invalidFilter`, a PATCH path with `invalidPath`.
 */
export class FilterTextError extends Error {
  override name = 'FilterTextError';
}

/** The text has a control character and was not parsed (see CONTROL_CHARACTER). */
export class ControlCharacterError extends FilterTextError {
  override name = 'ControlCharacterError';
  constructor() {
    super('must not contain control characters (line breaks, tabs, U+0000–U+001F, U+007F)');
  }
}

const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/g;
const PLACEHOLDER = /^\u00a7s(\d+)\u00a7$/;

/** Options of `parseFilterText`. */
export interface FilterTextOptions {
  /**
   * A second try when the text does not parse: given the text with its string literals masked, returns a rewritten
   * one (or the same text to give up). The query filter uses it to quote bare words.
   */
  rewrite?: (masked: string) => string;
}

/**
 * Parses SCIM filter text (RFC 7644 §3.4.2.2), whose string values are JSON strings. scim2-parse-filter decodes only
 * \" in string values (\\ and \uXXXX stay literal) and fails on a value ending in an escaped backslash, so every
 * string literal is swapped for a placeholder before parsing and decoded with JSON.parse afterwards. A decoded value
 * must not hold U+0000: PostgreSQL text cannot store or compare it.
 */
export function parseFilterText(text: string, options: FilterTextOptions = {}): Filter {
  if (CONTROL_CHARACTER.test(text)) throw new ControlCharacterError();
  const literals: string[] = [];
  const masked = text.replace(STRING_LITERAL, (lit) => `"\u00a7s${literals.push(lit) - 1}\u00a7"`);
  let ast = tryParse(masked);
  if (!ast && options.rewrite) {
    const rewritten = options.rewrite(masked);
    if (rewritten !== masked) ast = tryParse(rewritten);
  }
  if (!ast) throw new FilterTextError('is not valid SCIM filter syntax');
  return withDecodedStrings(ast, literals);
}

function tryParse(text: string): Filter | undefined {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

function withDecodedStrings(f: Filter, literals: readonly string[]): Filter {
  switch (f.op) {
    case 'and':
    case 'or':
      return { op: f.op, filters: f.filters.map((x) => withDecodedStrings(x, literals)) };
    case 'not':
      return { op: 'not', filter: withDecodedStrings(f.filter, literals) };
    case '[]':
      return { op: '[]', attrPath: f.attrPath, valFilter: withDecodedStrings(f.valFilter, literals) };
    case 'pr':
      return f;
    default: {
      const m = typeof f.compValue === 'string' ? PLACEHOLDER.exec(f.compValue) : null;
      if (!m) return f;
      const literal = literals[Number(m[1])] ?? '';
      let value: unknown;
      try {
        value = JSON.parse(literal);
      } catch {
        throw new FilterTextError(`has ${clip(literal, 40)}, which is not a valid JSON string`);
      }
      if (typeof value !== 'string') throw new FilterTextError(`has ${clip(literal, 40)}, which is not a string`);
      if (value.includes('\u0000'))
        throw new FilterTextError('has a value with the NUL character (U+0000), which is not allowed');
      return { ...f, compValue: value };
    }
  }
}
