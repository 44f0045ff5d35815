import type { CustomAttributeDefinition } from '../../db/custom-attributes';

/** Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3.1). */
export const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  /** Our own extension for HR attributes that have no standard SCIM home (level, location, dates, gender). */
  product: 'urn:ietf:params:scim:schemas:extension:entra-sync:2.0:User',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

/** RFC 7643 §7 attribute characteristics, as /Schemas publishes them. */
export interface AttributeDefinition {
  name: string;
  type: 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: AttributeDefinition[];
  referenceTypes?: string[];
  canonicalValues?: string[];
}

type AttrOpts = Partial<Omit<AttributeDefinition, 'name' | 'description'>>;

function attr(name: string, description: string, opts: AttrOpts = {}): AttributeDefinition {
  const def: AttributeDefinition = {
    name,
    type: opts.type ?? 'string',
    multiValued: opts.multiValued ?? false,
    description,
    required: opts.required ?? false,
    caseExact: opts.caseExact ?? false,
    mutability: opts.mutability ?? 'readWrite',
    returned: opts.returned ?? 'default',
    uniqueness: opts.uniqueness ?? 'none',
  };
  if (opts.subAttributes) def.subAttributes = opts.subAttributes;
  if (opts.referenceTypes) def.referenceTypes = opts.referenceTypes;
  if (opts.canonicalValues) def.canonicalValues = opts.canonicalValues;
  return def;
}

/**
 * An attribute the server accepts on write and then discards: RFC 7643 §7 calls that `writeOnly` ("may be updated at
 * any time; values shall not be returned") with `returned: never`. Publishing RFC 7643's readWrite/default instead
 * would promise a round trip the server does not make, and Microsoft's SCIM validator tests what /Schemas promises.
 */
function acceptedNotKept(def: AttributeDefinition): AttributeDefinition {
  const out: AttributeDefinition = { ...def, mutability: 'writeOnly', returned: 'never' };
  if (def.subAttributes) out.subAttributes = def.subAttributes.map(acceptedNotKept);
  return out;
}

const NOT_KEPT = 'Accepted and not stored (never returned).';

/**
 * RFC 7643 §2.3.5 `dateTime` always carries a time of day, and date attributes refuse one (normalize.ts coerceDate),
 * so they are published as strings whose description states the one format they take.
 */
const DATE_FORMAT = 'a calendar date as YYYY-MM-DD (RFC 3339 full-date, e.g. 2024-03-01); a time of day is refused';

function dateAttr(name: string, what: string): AttributeDefinition {
  return attr(name, `${what}: ${DATE_FORMAT}.`);
}

/** value/display/type/primary of a multi-valued attribute (RFC 7643 §2.4), each kept and returned as sent. */
const multiValueSubs = (what: string, types: string[]): AttributeDefinition[] => [
  attr('value', `The ${what}, stored as sent.`),
  attr('display', 'A human-readable name.'),
  attr('type', `A label for the ${what}; at most one element per type (case-insensitively).`, {
    canonicalValues: types,
  }),
  attr('primary', `Whether this is the primary ${what}; at most one element is primary.`, { type: 'boolean' }),
];

/** An RFC 7643 §4.1.2 multi-valued attribute this server accepts and discards, with its RFC sub-attributes. */
function ignoredMultiValue(
  name: string,
  what: string,
  opts: { valueType?: 'binary'; types?: string[] } = {},
): AttributeDefinition {
  return acceptedNotKept(
    attr(name, `${what}. ${NOT_KEPT}`, {
      type: 'complex',
      multiValued: true,
      subAttributes: [
        attr('value', NOT_KEPT, { type: opts.valueType ?? 'string' }),
        attr('display', NOT_KEPT),
        attr('type', NOT_KEPT, opts.types ? { canonicalValues: opts.types } : {}),
        attr('primary', NOT_KEPT, { type: 'boolean' }),
      ],
    }),
  );
}

/**
 * Core User attributes of RFC 7643 §4.1 that this server does not store. Entra's default mapping for a custom app
 * sends some of them (preferredLanguage, locale, …); they are accepted and ignored rather than failing the whole
 * user, and /Schemas says so. Types, sub-attributes and canonical values are those of RFC 7643 §8.7.1.
 */
const IGNORED_USER_ATTRIBUTES: AttributeDefinition[] = [
  acceptedNotKept(attr('nickName', `Casual name. ${NOT_KEPT}`)),
  acceptedNotKept(
    attr('profileUrl', `URL of the user's online profile. ${NOT_KEPT}`, {
      type: 'reference',
      referenceTypes: ['external'],
    }),
  ),
  acceptedNotKept(attr('userType', `Relationship to the organization (e.g. "Employee"). ${NOT_KEPT}`)),
  acceptedNotKept(attr('preferredLanguage', `Preferred language, as in Accept-Language (e.g. "en-US"). ${NOT_KEPT}`)),
  acceptedNotKept(attr('locale', `Default location for localization, as a language tag (e.g. "en-US"). ${NOT_KEPT}`)),
  acceptedNotKept(attr('timezone', `Time zone in IANA "Olson" format (e.g. "Europe/Berlin"). ${NOT_KEPT}`)),
  acceptedNotKept(attr('password', `Cleartext password. ${NOT_KEPT} This server keeps no passwords.`)),
  ignoredMultiValue('ims', 'Instant messaging addresses', {
    types: ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'],
  }),
  ignoredMultiValue('roles', 'Roles'),
  ignoredMultiValue('entitlements', 'Entitlements'),
  ignoredMultiValue('x509Certificates', 'X.509 certificates', { valueType: 'binary' }),
];

/** The core User attributes this server stores or accepts (RFC 7643 §4.1). */
export const USER_ATTRIBUTES: AttributeDefinition[] = [
  attr('userName', 'Unique identifier for the user, usually the UPN or work email; unique case-insensitively.', {
    required: true,
    uniqueness: 'server',
  }),
  attr('name', "The user's name.", {
    type: 'complex',
    subAttributes: [
      attr('formatted', 'The full name.'),
      attr('familyName', 'Last name.'),
      attr('givenName', 'First name.'),
      acceptedNotKept(attr('middleName', `Middle name. ${NOT_KEPT}`)),
      acceptedNotKept(attr('honorificPrefix', `Honorific prefix (e.g. "Dr."). ${NOT_KEPT}`)),
      acceptedNotKept(attr('honorificSuffix', `Honorific suffix (e.g. "III"). ${NOT_KEPT}`)),
    ],
  }),
  attr('displayName', 'Name displayed to end users.'),
  attr('title', 'Job title.'),
  attr('active', 'False deactivates the employee; users are never deleted.', { type: 'boolean' }),
  attr('emails', 'Email addresses, stored as sent.', {
    multiValued: true,
    type: 'complex',
    subAttributes: multiValueSubs('email address', ['work', 'home', 'other']),
  }),
  attr('phoneNumbers', 'Phone numbers, stored as sent.', {
    multiValued: true,
    type: 'complex',
    subAttributes: multiValueSubs('phone number', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  }),
  attr('photos', 'One photo, as an https URL; it is returned with type "photo" and as primary.', {
    multiValued: true,
    type: 'complex',
    subAttributes: [
      // RFC 7643 §4.1.2 / §8.7.1: a photo is the URL of a resource outside this server. Filters compare it exactly.
      attr('value', 'Absolute https:// URL of the photo.', {
        type: 'reference',
        referenceTypes: ['external'],
        caseExact: true,
      }),
      acceptedNotKept(attr('display', `A human-readable name. ${NOT_KEPT}`)),
      attr('type', 'The photo kept (type "photo", else the primary, else the first) is returned with type "photo".', {
        canonicalValues: ['photo'],
      }),
      attr('primary', 'The photo kept is always returned as primary.', { type: 'boolean' }),
    ],
  }),
  attr(
    'addresses',
    'Only the locality of one address is kept, as the work location, and returned as the work address.',
    {
      multiValued: true,
      type: 'complex',
      subAttributes: [
        acceptedNotKept(attr('formatted', `The full mailing address. ${NOT_KEPT}`)),
        acceptedNotKept(attr('streetAddress', `Street address. ${NOT_KEPT}`)),
        attr('locality', "City; the employee's work location (the entra-sync extension's location)."),
        acceptedNotKept(attr('region', `State or region. ${NOT_KEPT}`)),
        acceptedNotKept(attr('postalCode', `Postal code. ${NOT_KEPT}`)),
        acceptedNotKept(attr('country', `Country. ${NOT_KEPT}`)),
        attr('type', 'The address kept (type "work", else the primary, else the first) is returned with type "work".', {
          canonicalValues: ['work'],
        }),
        attr('primary', 'The address kept is always returned as primary.', { type: 'boolean' }),
      ],
    },
  ),
  attr('groups', 'Teams the user belongs to; change them through /Groups.', {
    multiValued: true,
    type: 'complex',
    mutability: 'readOnly',
    subAttributes: [
      attr('value', 'Team id.', { mutability: 'readOnly' }),
      attr('$ref', 'Team URI.', { type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly' }),
      attr('display', 'Team name.', { mutability: 'readOnly' }),
    ],
  }),
  ...IGNORED_USER_ATTRIBUTES,
];

export const ENTERPRISE_ATTRIBUTES: AttributeDefinition[] = [
  attr('employeeNumber', 'Employee number.'),
  attr('costCenter', 'Cost center.'),
  attr('organization', 'Organization.'),
  attr('division', 'Division.'),
  attr('department', 'Department.'),
  attr(
    'manager',
    "The user's manager. A user not provisioned yet is kept as a reference, linked and returned when it arrives.",
    {
      type: 'complex',
      subAttributes: [
        attr('value', 'Id (or externalId) of the manager; returned as the id.'),
        // Set by the server: a $ref or displayName a client sends is not read (only `value` is).
        attr('$ref', 'Manager URI.', { type: 'reference', referenceTypes: ['User'], mutability: 'readOnly' }),
        attr('displayName', 'Manager name.', { mutability: 'readOnly' }),
      ],
    },
  ),
];

export const PRODUCT_ATTRIBUTES: AttributeDefinition[] = [
  attr(
    'level',
    'Career level by name (at most 200 characters), matched case-insensitively, stored without surrounding spaces and returned as stored; unknown levels are created.',
  ),
  attr('location', 'Work location (the locality of the work address).'),
  attr('gender', 'Gender.'),
  dateAttr('startDate', 'Start date'),
  dateAttr('endDate', 'End date'),
  dateAttr('birthday', 'Birthday'),
];

export const GROUP_ATTRIBUTES: AttributeDefinition[] = [
  attr('displayName', 'Team name, stored trimmed; unique per tenant, case-insensitively.', {
    required: true,
    uniqueness: 'server',
  }),
  attr('members', 'Team members (users).', {
    multiValued: true,
    type: 'complex',
    subAttributes: [
      attr('value', 'Id (or externalId) of the user; returned as the id.', { mutability: 'immutable' }),
      // Set by the server: a $ref or type a client sends is not read (only `value` is).
      attr('$ref', 'User URI.', { type: 'reference', referenceTypes: ['User'], mutability: 'readOnly' }),
      attr('display', 'User name.', { mutability: 'readOnly' }),
      attr('type', 'Always "User".', { mutability: 'readOnly', canonicalValues: ['User'] }),
    ],
  }),
];

const COMMON_ATTRIBUTES: AttributeDefinition[] = [
  attr('id', 'Server-assigned identifier.', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  // Unique per tenant: a unique index refuses a second resource with the same externalId (409 uniqueness).
  attr('externalId', "The client's identifier (Entra's objectId or mailNickname); unique per tenant.", {
    caseExact: true,
    uniqueness: 'server',
  }),
];

/** How each custom attribute type is published: its SCIM type and what a value of it looks like (normalize.ts). */
const CUSTOM_TYPE: Record<CustomAttributeDefinition['type'], { type: AttributeDefinition['type']; format: string }> = {
  string: { type: 'string', format: 'a string' },
  number: { type: 'decimal', format: 'a number (a numeric string is accepted too)' },
  boolean: { type: 'boolean', format: 'true or false' },
  date: { type: 'string', format: DATE_FORMAT },
};

function customAttribute(d: CustomAttributeDefinition): AttributeDefinition {
  const { type, format } = CUSTOM_TYPE[d.type];
  return attr(d.id, `Custom attribute "${d.name}" (${d.type}): ${format}.`, { type });
}

/** The enterprise extension as this tenant sees it: standard attributes plus one per custom attribute definition. */
export function enterpriseAttributesFor(defs: readonly CustomAttributeDefinition[]): AttributeDefinition[] {
  return [...ENTERPRISE_ATTRIBUTES, ...defs.map(customAttribute)];
}

interface SchemaDocument {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDefinition[];
}

/** Every schema this server publishes at /Schemas for one tenant. */
export function schemaDocuments(defs: readonly CustomAttributeDefinition[]): SchemaDocument[] {
  return [
    {
      id: URN.user,
      name: 'User',
      description: 'User account (an employee)',
      attributes: [...COMMON_ATTRIBUTES, ...USER_ATTRIBUTES],
    },
    {
      id: URN.enterprise,
      name: 'EnterpriseUser',
      description: "Enterprise user, with this tenant's custom attributes",
      attributes: enterpriseAttributesFor(defs),
    },
    {
      id: URN.product,
      name: 'EntraSyncUser',
      description: 'HR attributes of entra-sync without a standard SCIM home',
      attributes: PRODUCT_ATTRIBUTES,
    },
    {
      id: URN.group,
      name: 'Group',
      description: 'Group (a team)',
      attributes: [...COMMON_ATTRIBUTES, ...GROUP_ATTRIBUTES],
    },
  ];
}

/**
 * Names (lower case) of the core User attributes that patch.ts accepts and ignores, taken from the list /Schemas
 * publishes so that the two cannot drift apart. Anything not in the schema at all is rejected.
 */
export const IGNORED_CORE_USER_ATTRIBUTES = new Set(IGNORED_USER_ATTRIBUTES.map((a) => a.name.toLowerCase()));

/** Path segments that could reach an object's prototype; never valid SCIM attribute names. */
export const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
