import type { CustomValue, EmployeeView, MultiValue } from '../../db/employees';

/**
 * The writable state of a SCIM User, in the shape the PATCH engine edits. It is built from the employee row, edited
 * in memory, and diffed against the original to produce exactly the columns (and HR attribute names) that changed.
 */
export interface UserDraft {
  userName: string | null;
  externalId: string | null;
  displayName: string | null;
  title: string | null;
  givenName: string | null;
  familyName: string | null;
  formatted: string | null;
  employeeNumber: string | null;
  costCenter: string | null;
  organization: string | null;
  division: string | null;
  department: string | null;
  level: string | null;
  location: string | null;
  gender: string | null;
  startDate: string | null;
  endDate: string | null;
  birthday: string | null;
  photoUrl: string | null;
  active: boolean;
  emails: MultiValue[];
  phoneNumbers: MultiValue[];
  /** The manager reference: our employee id once linked, or the value as sent while it is pending. */
  manager: string | null;
  custom: Record<string, CustomValue>;
}

export type ScalarKey = Exclude<keyof UserDraft, 'active' | 'emails' | 'phoneNumbers' | 'manager' | 'custom'>;

/** Column and HR (outbox) name of every scalar field. */
export const SCALAR_FIELDS: Record<ScalarKey, { column: string; hr: string }> = {
  userName: { column: 'user_name', hr: 'userName' },
  externalId: { column: 'external_id', hr: 'externalId' },
  displayName: { column: 'display_name', hr: 'displayName' },
  title: { column: 'job_title', hr: 'jobTitle' },
  givenName: { column: 'given_name', hr: 'givenName' },
  familyName: { column: 'family_name', hr: 'familyName' },
  formatted: { column: 'formatted_name', hr: 'formattedName' },
  employeeNumber: { column: 'employee_number', hr: 'employeeNumber' },
  costCenter: { column: 'cost_center', hr: 'costCenter' },
  organization: { column: 'organization', hr: 'organization' },
  division: { column: 'division', hr: 'division' },
  department: { column: 'department', hr: 'department' },
  level: { column: 'level_id', hr: 'level' },
  location: { column: 'location', hr: 'location' },
  gender: { column: 'gender', hr: 'gender' },
  startDate: { column: 'start_date', hr: 'startDate' },
  endDate: { column: 'end_date', hr: 'endDate' },
  birthday: { column: 'birthday', hr: 'birthday' },
  photoUrl: { column: 'photo_url', hr: 'photoUrl' },
};

export function emptyDraft(): UserDraft {
  return {
    userName: null,
    externalId: null,
    displayName: null,
    title: null,
    givenName: null,
    familyName: null,
    formatted: null,
    employeeNumber: null,
    costCenter: null,
    organization: null,
    division: null,
    department: null,
    level: null,
    location: null,
    gender: null,
    startDate: null,
    endDate: null,
    birthday: null,
    photoUrl: null,
    active: true,
    emails: [],
    phoneNumbers: [],
    manager: null,
    custom: {},
  };
}

export function draftFromRow(row: EmployeeView): UserDraft {
  return {
    userName: row.user_name,
    externalId: row.external_id,
    displayName: row.display_name,
    title: row.job_title,
    givenName: row.given_name,
    familyName: row.family_name,
    formatted: row.formatted_name,
    employeeNumber: row.employee_number,
    costCenter: row.cost_center,
    organization: row.organization,
    division: row.division,
    department: row.department,
    level: row.level_name,
    location: row.location,
    gender: row.gender,
    startDate: row.start_date,
    endDate: row.end_date,
    birthday: row.birthday,
    photoUrl: row.photo_url,
    active: row.active,
    emails: row.emails ?? [],
    phoneNumbers: row.phone_numbers ?? [],
    manager: row.manager_id ?? row.pending_manager_ref ?? null,
    custom: { ...(row.custom_attributes ?? {}) },
  };
}

export function cloneDraft(d: UserDraft): UserDraft {
  return {
    ...d,
    emails: d.emails.map((e) => ({ ...e })),
    phoneNumbers: d.phoneNumbers.map((e) => ({ ...e })),
    custom: { ...d.custom },
  };
}

/** What differs between two drafts, in the terms the write path needs. */
export interface DraftDiff {
  scalars: ScalarKey[];
  active: boolean;
  emails: boolean;
  phoneNumbers: boolean;
  manager: boolean;
  /** Custom attribute ids whose value changed (set, changed or removed). */
  custom: string[];
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function diffDrafts(before: UserDraft, after: UserDraft): DraftDiff {
  const scalars = (Object.keys(SCALAR_FIELDS) as ScalarKey[]).filter((k) => {
    const a = before[k];
    const b = after[k];
    // Level names match case-insensitively ("Senior" is the level "senior").
    if (k === 'level' && a !== null && b !== null) return a.toLowerCase() !== b.toLowerCase();
    return a !== b;
  });
  const ids = new Set([...Object.keys(before.custom), ...Object.keys(after.custom)]);
  return {
    scalars,
    active: before.active !== after.active,
    emails: !sameJson(before.emails, after.emails),
    phoneNumbers: !sameJson(before.phoneNumbers, after.phoneNumbers),
    manager: before.manager !== after.manager,
    custom: [...ids].filter((id) => !sameJson(before.custom[id], after.custom[id])),
  };
}

export function isEmptyDiff(d: DraftDiff): boolean {
  return d.scalars.length === 0 && !d.active && !d.emails && !d.phoneNumbers && !d.manager && d.custom.length === 0;
}
