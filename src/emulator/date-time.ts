/**
 * Edm.DateTimeOffset as Graph reads and returns it (docs/graph-emulator.md, "DateTimeOffset values").
 *
 * Reading: Graph's OData reader takes the ABNF form (date, `T`, hours and minutes, optional seconds and fraction, then
 * `Z` or an offset) and converts it with .NET's XmlConvert, which refuses a day the month does not have (Feb 30,
 * Feb 29 outside leap years), month 13, hour 24 or more, minute or second 60 or more, and an offset beyond ±14:00.
 * JavaScript's Date.parse is no guide here: it reads 2020-02-30 as March 1. A refused value is the reader's
 * "Cannot convert the literal" error (validation.ts).
 *
 * Returning: the directory keeps the instant, not the offset it was written with, and answers it in UTC with `Z`
 * and whole seconds — the form of every directory timestamp in Microsoft's samples. The fraction is dropped, not
 * rounded; which of the two Graph does is not documented.
 *
 * Written independently of the worker's own normalisation (src/graph/mapping.ts) on purpose: the emulator checks
 * the worker, so it must not share its reading of a date.
 */

const DATE_TIME_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** .NET DateTimeOffset's limit for an offset. */
const MAX_OFFSET_MINUTES = 14 * 60;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * The value as Graph stores and returns it (`2024-03-01T08:00:00Z` for `2024-03-01T09:00:00.5+01:00`), or undefined
 * when Graph's reader refuses it: not the ABNF form (a date without a time, no zone), or no real date and time.
 */
export function canonicalDateTimeOffset(text: string): string | undefined {
  const m = DATE_TIME_OFFSET.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[7] !== undefined) {
    const offsetHours = Number(m[8]);
    const offsetRest = Number(m[9]);
    offsetMinutes = offsetHours * 60 + offsetRest;
    if (offsetRest > 59 || offsetMinutes > MAX_OFFSET_MINUTES) return undefined;
    if (m[7] === '-') offsetMinutes = -offsetMinutes;
  }
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute - offsetMinutes, second, 0);
  // The UTC instant must still be a .NET DateTimeOffset (years 1–9999): 0001-01-01T00:30+01:00 is not.
  const utcYear = instant.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return undefined;
  return `${instant.toISOString().slice(0, 19)}Z`;
}
