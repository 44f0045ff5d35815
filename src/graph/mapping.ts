import { z } from 'zod';
import { ErrorTypes } from '../workflows/messages';
import { ProvisioningError } from './errors';

/**
 * HR employee → desired Entra user. Values go out as they are, unformatted (vendor article); only the fixed parts
 * are computed here: userPrincipalName from the username, accountEnabled from the lifecycle table, displayName
 * and mailNickname when the mapping does not provide them.
 */

/** The HR fields a mapping may read, in the camelCase names outbox rows use. */
export const HR_FIELDS = [
  'id',
  'externalId',
  'userName',
  'givenName',
  'familyName',
  'displayName',
  'jobTitle',
  'department',
  'division',
  'costCenter',
  'organization',
  'employeeNumber',
  'location',
  'startDate',
  'endDate',
  'managerId',
  'lifecycleStatus',
] as const;
export type HrField = (typeof HR_FIELDS)[number];

/** Graph user properties a mapping may write: plain single-valued strings that app-only callers may set. */
export const GRAPH_TARGETS = [
  'givenName',
  'surname',
  'displayName',
  'jobTitle',
  'department',
  'officeLocation',
  'employeeId',
  'employeeType',
  'companyName',
  'city',
  'state',
  'country',
  'postalCode',
  'streetAddress',
  'usageLocation',
  'employeeHireDate',
  'employeeLeaveDateTime',
  'employeeOrgData.division',
  'employeeOrgData.costCenter',
  // The on-premises anchor Entra needs for an account in a federated domain (usually from a custom attribute).
  'onPremisesImmutableId',
] as const;

/** extension_<appId without hyphens>_<name> (graph.md §9). */
export const EXTENSION_TARGET = /^extension_[0-9a-f]{32}_[A-Za-z0-9_]+$/;
const CUSTOM_SOURCE = /^customAttributes\.[A-Za-z0-9_.:-]+$/;

export const MappingEntrySchema = z.strictObject({
  source: z.string().refine((s) => (HR_FIELDS as readonly string[]).includes(s) || CUSTOM_SOURCE.test(s), {
    message: `must be one of ${HR_FIELDS.join(', ')} or customAttributes.<id>`,
  }),
  target: z.string().refine((t) => (GRAPH_TARGETS as readonly string[]).includes(t) || EXTENSION_TARGET.test(t), {
    message: `must be one of ${GRAPH_TARGETS.join(', ')} or extension_<appId without hyphens>_<name>`,
  }),
});
export type MappingEntry = z.infer<typeof MappingEntrySchema>;

export const MappingSchema = z
  .array(MappingEntrySchema)
  .max(100)
  .superRefine((entries, ctx) => {
    const targets = entries.map((e) => e.target);
    for (const required of ['givenName', 'surname']) {
      if (!targets.includes(required)) {
        ctx.addIssue({
          code: 'custom',
          message: `the mapping must fill ${required} (Entra needs first and last name)`,
        });
      }
    }
    const dup = targets.find((t, i) => targets.indexOf(t) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `${dup} is mapped twice` });
  });

/**
 * Names, job title, department, office location, employee id. `accountEnabled` (from the lifecycle) is always sent;
 * the manager relationship only with the tenant's `setManager` switch (off unless an admin turns it on: with it, an
 * employee without a manager in HR loses a manager link set in Entra by other means; `make start` turns it on).
 */
export const DEFAULT_MAPPING: MappingEntry[] = [
  { source: 'givenName', target: 'givenName' },
  { source: 'familyName', target: 'surname' },
  { source: 'jobTitle', target: 'jobTitle' },
  { source: 'department', target: 'department' },
  { source: 'location', target: 'officeLocation' },
  { source: 'employeeNumber', target: 'employeeId' },
];

export const DEFAULT_WATCHED_ATTRIBUTES: string[] = [
  'userName',
  'givenName',
  'familyName',
  'displayName',
  'jobTitle',
  'department',
  'location',
  'employeeNumber',
  'lifecycleStatus',
  'managerId',
  'active',
];

export type Lifecycle = 'hired' | 'active' | 'leave' | 'offboarding' | 'terminated' | 'deactivated';

/** The fixed table of the vendor article: only active and offboarding employees get an enabled account. */
export function accountEnabledFor(lifecycle: string | null | undefined): boolean {
  return lifecycle === 'active' || lifecycle === 'offboarding';
}

/** An employee as the mapping sees it (camelCase HR fields, custom attributes by id). */
export interface HrEmployee {
  id: string;
  externalId: string | null;
  userName: string;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  jobTitle: string | null;
  department: string | null;
  division: string | null;
  costCenter: string | null;
  organization: string | null;
  employeeNumber: string | null;
  location: string | null;
  startDate: string | null;
  endDate: string | null;
  managerId: string | null;
  lifecycleStatus: string;
  customAttributes: Record<string, unknown>;
  version: number;
}

export type GraphScalar = string | number | boolean | null;
/** A desired user: top-level Graph properties; `employeeOrgData` is the one nested object. */
export type DesiredUser = Record<string, GraphScalar | Record<string, GraphScalar>>;

export function hrValue(e: HrEmployee, source: string): unknown {
  const [record, key] = source.startsWith('customAttributes.')
    ? [e.customAttributes, source.slice('customAttributes.'.length)]
    : [e as unknown as Record<string, unknown>, source];
  // Own properties only: a mapping source such as customAttributes.constructor or __proto__ must not read Object's.
  return Object.hasOwn(record, key) ? (record[key] ?? null) : null;
}

/** Graph properties typed Edm.DateTimeOffset: Graph refuses a date without a time ("Cannot convert the literal"). */
const DATE_TIME_TARGETS = new Set(['employeeHireDate', 'employeeLeaveDateTime']);

/** YYYY-MM-DD, optionally followed by a time (hh:mm[:ss[.fraction]]) and a zone (Z or ±hh:mm). */
const HR_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|([+-])(\d{2}):(\d{2})))?$/;

/**
 * An HR date or date-time in the form Graph answers an Edm.DateTimeOffset in: the same instant in UTC, whole
 * seconds, `Z` (docs/outbound.md). Sending that form is what lets the next reconcile find nothing to change: Graph
 * keeps the instant, not the offset it was written with, so `2024-03-01T09:00:00+01:00` reads back as
 * `2024-03-01T08:00:00Z`, and a desired value kept with its offset would cost a PATCH on every reconcile. A fraction
 * of a second is dropped. A date (YYYY-MM-DD, as HR systems and SCIM send hire and leave dates) is midnight UTC.
 * Undefined for anything that is no real date: Feb 30, month 13, hour 25, a time without a zone (whose instant
 * nobody can know).
 */
export function graphDateTime(value: string): string | undefined {
  const m = HR_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, offsetHours, offsetRest] = [1, 2, 3, 4, 5, 6, 8, 9].map((i) =>
    Number(m[i] ?? 0),
  ) as [number, number, number, number, number, number, number, number];
  if (hour > 23 || minute > 59 || second > 59 || offsetRest > 59) return undefined;
  const offsetMinutes = (m[7] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest);
  if (Math.abs(offsetMinutes) > 14 * 60) return undefined;
  const at = new Date(0);
  // setUTCFullYear, not Date.UTC (which reads years 0–99 as 1900–1999); it rolls Feb 30 over to March, caught below.
  at.setUTCFullYear(year, month - 1, day);
  if (at.getUTCFullYear() !== year || at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) return undefined;
  at.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const utcYear = at.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return undefined;
  return `${at.toISOString().slice(0, 19)}Z`;
}

/**
 * `value` for a DateTimeOffset target (employeeHireDate, or a DateTime directory extension) in Graph's form; null
 * clears. Anything that is no real date blocks the sync here, naming the field, instead of being sent for Graph's
 * bare "Cannot convert the literal" — the same InvalidProperty a too-long value gets (sync-plan.ts).
 */
export function dateTimeFor(value: GraphScalar, source: string, target: string): GraphScalar {
  if (value === null) return null;
  const utc = typeof value === 'string' ? graphDateTime(value) : undefined;
  if (utc !== undefined) return utc;
  throw new ProvisioningError(
    ErrorTypes.InvalidProperty,
    `The HR field ${source} holds no valid date for ${target}; Entra ID takes a calendar date (YYYY-MM-DD) or a date and time with a zone (e.g. 2024-03-01T09:00:00+01:00). Fix: correct it in the HR system (the change syncs by itself), or map a date field to ${target}, then retry.`,
  );
}

/**
 * Puts the values of DateTime directory extensions into Graph's form, as `buildDesiredUser` does for
 * employeeHireDate: an extension's type is known only once its definition has been read.
 */
export function withDateTimeExtensions(
  desired: DesiredUser,
  dateTimeExtensions: readonly string[],
  mapping: readonly MappingEntry[],
): void {
  for (const name of dateTimeExtensions) {
    const value = desired[name];
    if (value === undefined || (typeof value === 'object' && value !== null)) continue;
    const source = mapping.find((m) => m.target === name)?.source ?? name;
    desired[name] = dateTimeFor(value, source, name);
  }
}

const blank = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

/**
 * The properties the employee's Entra user should have. Throws `MissingName` without first/last name,
 * `MultiValuedExtension` for a list value (only single-valued extension properties are supported) and
 * `InvalidProperty` for a hire or leave date that is no real date.
 */
export function buildDesiredUser(e: HrEmployee, mapping: readonly MappingEntry[]): DesiredUser {
  const user: DesiredUser = {};
  for (const { source, target } of mapping) {
    const value = hrValue(e, source);
    if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
      throw new ProvisioningError(
        ErrorTypes.MultiValuedExtension,
        `${source} holds a list or object, but ${target} takes a single value; only single-valued properties are synced. Fix: map a single-valued HR field to ${target}, then retry.`,
      );
    }
    const scalar = DATE_TIME_TARGETS.has(target)
      ? dateTimeFor(value as GraphScalar, source, target)
      : (value as GraphScalar);
    if (target.startsWith('employeeOrgData.')) {
      const org = (user.employeeOrgData as Record<string, GraphScalar> | undefined) ?? {};
      org[target.slice('employeeOrgData.'.length)] = scalar;
      user.employeeOrgData = org;
    } else {
      user[target] = scalar;
    }
  }
  for (const name of ['givenName', 'surname'] as const) {
    if (blank(user[name])) {
      const source = mapping.find((m) => m.target === name)?.source ?? name;
      throw new ProvisioningError(
        ErrorTypes.MissingName,
        `The employee has no ${source === 'familyName' ? 'last name' : source === 'givenName' ? 'first name' : source} (mapped to ${name}); Entra accounts need first and last name. Fix: fill it in the HR system (the change syncs by itself).`,
      );
    }
  }
  user.userPrincipalName = e.userName;
  user.accountEnabled = accountEnabledFor(e.lifecycleStatus);
  if (blank(user.displayName))
    user.displayName = blank(e.displayName) ? `${user.givenName} ${user.surname}` : e.displayName;
  return user;
}

/**
 * mailNickname (required on create only): the UPN's local part reduced to the dot-atom characters Graph accepts
 * (graph.md §5), at most 64 characters.
 */
export function mailNicknameFor(upn: string): string {
  const local = upn.split('@')[0] ?? '';
  const cleaned = local
    .replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 64);
  return cleaned || 'user';
}

/** The mapped extension property names, to check their definitions before writing. */
export function extensionTargets(mapping: readonly MappingEntry[]): string[] {
  return mapping.map((m) => m.target).filter((t) => EXTENSION_TARGET.test(t));
}

/** The app id (a GUID) of the app registration an extension property belongs to, from its name. */
export function extensionAppId(extensionName: string): string | undefined {
  const hex = /^extension_([0-9a-f]{32})_/i.exec(extensionName)?.[1]?.toLowerCase();
  return hex && `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Properties to `$select` when reading the current user, so the diff compares like with like. */
export function selectFor(mapping: readonly MappingEntry[]): string[] {
  const props = new Set(['id', 'userPrincipalName', 'accountEnabled', 'displayName', 'givenName', 'surname']);
  for (const { target } of mapping) props.add(target.startsWith('employeeOrgData.') ? 'employeeOrgData' : target);
  return [...props];
}

const same = (a: unknown, b: unknown): boolean => (a ?? null) === (b ?? null);

/**
 * The PATCH body: only what differs from `current`. UPNs compare case-insensitively, as Entra does. Empty when
 * nothing differs — the caller then writes nothing.
 */
export function diffUser(desired: DesiredUser, current: Record<string, unknown>): DesiredUser {
  const patch: DesiredUser = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = current[key];
    if (key === 'employeeOrgData' && typeof want === 'object' && want !== null) {
      const haveOrg = (typeof have === 'object' && have !== null ? have : {}) as Record<string, unknown>;
      if (Object.entries(want).some(([k, v]) => !same(v, haveOrg[k]))) patch.employeeOrgData = { ...want };
      continue;
    }
    if (key === 'userPrincipalName' && typeof want === 'string' && typeof have === 'string') {
      if (want.toLowerCase() !== have.toLowerCase()) patch[key] = want;
      continue;
    }
    // displayName cannot be cleared in Entra; leave it if HR has none.
    if (key === 'displayName' && blank(want)) continue;
    if (!same(want, have)) patch[key] = want;
  }
  return patch;
}

/** The create body without nulls (POST needs no explicit absences). The password is added by the caller. */
export function createBody(desired: DesiredUser): DesiredUser {
  const body: DesiredUser = {};
  for (const [k, v] of Object.entries(desired)) {
    if (v === null) continue;
    if (typeof v === 'object') {
      const inner = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null));
      if (Object.keys(inner).length > 0) body[k] = inner;
    } else body[k] = v;
  }
  body.mailNickname = mailNicknameFor(String(desired.userPrincipalName));
  return body;
}

/** The domain part of a UPN, lower-cased. */
export function upnDomain(upn: string): string {
  const at = upn.lastIndexOf('@');
  return at < 0 ? '' : upn.slice(at + 1).toLowerCase();
}
