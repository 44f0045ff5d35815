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

const multiValueSubs = (what: string, types: string[]): AttributeDefinition[] => [
  attr('value', `The ${what}.`),
  attr('display', 'A human-readable name.'),
  attr('type', `A label for the ${what}; one element per type.`, { canonicalValues: types }),
  attr('primary', `Whether this is the primary ${what}.`, { type: 'boolean' }),
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
    subAttributes: multiValueSubs('phone number', ['work', 'mobile', 'fax', 'home', 'other']),
  }),
  attr('photos', 'Photo as an https URL (type "photo").', {
    multiValued: true,
    type: 'complex',
    subAttributes: multiValueSubs('photo URL', ['photo']),
  }),
  attr('addresses', 'Only the locality of the work address is kept (as the location).', {
    multiValued: true,
    type: 'complex',
    subAttributes: [attr('locality', 'City.'), attr('type', 'Address type.', { canonicalValues: ['work'] })],
  }),
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
];

export const ENTERPRISE_ATTRIBUTES: AttributeDefinition[] = [
  attr('employeeNumber', 'Employee number.'),
  attr('costCenter', 'Cost center.'),
  attr('organization', 'Organization.'),
  attr('division', 'Division.'),
  attr('department', 'Department.'),
  attr('manager', "The user's manager; a reference to a user not provisioned yet is kept and linked when it arrives.", {
    type: 'complex',
    subAttributes: [
      attr('value', 'Id (or externalId) of the manager.'),
      attr('$ref', 'Manager URI.', { type: 'reference', referenceTypes: ['User'], mutability: 'readOnly' }),
      attr('displayName', 'Manager name.', { mutability: 'readOnly' }),
    ],
  }),
];

export const PRODUCT_ATTRIBUTES: AttributeDefinition[] = [
  attr('level', 'Career level by name; unknown levels are created.'),
  attr('location', 'Work location.'),
  attr('gender', 'Gender.'),
  attr('startDate', 'Start date, YYYY-MM-DD.'),
  attr('endDate', 'End date, YYYY-MM-DD.'),
  attr('birthday', 'Birthday, YYYY-MM-DD.'),
];

export const GROUP_ATTRIBUTES: AttributeDefinition[] = [
  attr('displayName', 'Team name; unique per tenant, case-insensitively.', { required: true, uniqueness: 'server' }),
  attr('members', 'Team members (users).', {
    multiValued: true,
    type: 'complex',
    subAttributes: [
      attr('value', 'Id (or externalId) of the user.', { mutability: 'immutable' }),
      attr('$ref', 'User URI.', { type: 'reference', referenceTypes: ['User'], mutability: 'immutable' }),
      attr('display', 'User name.', { mutability: 'readOnly' }),
      attr('type', 'Always "User".', { mutability: 'immutable', canonicalValues: ['User'] }),
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
  attr('externalId', "The client's identifier (Entra's objectId or mailNickname).", { caseExact: true }),
];

const CUSTOM_TYPE: Record<CustomAttributeDefinition['type'], AttributeDefinition['type']> = {
  string: 'string',
  number: 'decimal',
  boolean: 'boolean',
  date: 'string',
};

/** The enterprise extension as this tenant sees it: standard attributes plus one per custom attribute definition. */
export function enterpriseAttributesFor(defs: readonly CustomAttributeDefinition[]): AttributeDefinition[] {
  return [
    ...ENTERPRISE_ATTRIBUTES,
    ...defs.map((d) =>
      attr(d.id, `Custom attribute "${d.name}" (${d.type}${d.type === 'date' ? ', YYYY-MM-DD' : ''}).`, {
        type: CUSTOM_TYPE[d.type],
      }),
    ),
  ];
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
 * Core User attributes from RFC 7643 §4.1 that this server does not store. Entra's default mapping for a custom app
 * sends some of them (preferredLanguage, address parts); they are accepted and ignored rather than failing the
 * whole user. Anything not in the schema at all is rejected.
 */
export const IGNORED_CORE_USER_ATTRIBUTES = new Set(
  [
    'nickName',
    'profileUrl',
    'userType',
    'preferredLanguage',
    'locale',
    'timezone',
    'password',
    'ims',
    'roles',
    'entitlements',
    'x509Certificates',
    'groups',
  ].map((s) => s.toLowerCase()),
);

/** Path segments that could reach an object's prototype; never valid SCIM attribute names. */
export const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
