import { parse, type Filter } from 'scim2-parse-filter';

/**
 * C0 control characters and DEL. None belongs in a filter or a PATCH path, and line breaks are dangerous there:
 * scim2-parse-filter's pattern for a quoted string matches "\n" two ways, so an unclosed quote followed by line breaks
 * makes it backtrack exponentially (~40 of them block the event loop for hours).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Thrown instead of parsing text that has a control character; callers answer it in their own SCIM error. */
export class ControlCharacterError extends Error {
  override name = 'ControlCharacterError';
  constructor() {
    super('must not contain control characters (line breaks, tabs, U+0000–U+001F, U+007F)');
  }
}

/** scim2-parse-filter's parse, refusing control characters first (see CONTROL_CHARACTER). */
export function parseFilterText(text: string): Filter {
  if (CONTROL_CHARACTER.test(text)) throw new ControlCharacterError();
  return parse(text);
}
