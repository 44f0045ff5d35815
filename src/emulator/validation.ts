import { edmTypeName, userContract, type PropertySchema } from './contract';
import { canonicalDateTimeOffset } from './date-time';
import {
  GraphError,
  PASSWORD_COMPLEXITY_MESSAGE,
  UPN_DOMAIN_MESSAGE,
  badRequest,
  insufficientPrivileges,
  invalidUpn,
  invalidValue,
  objectConflict,
  odataBadRequest,
  readOnlyProperty,
} from './errors';
import { hasAnyPermission, mayUpdateUserProperty, USER_READ } from './permissions';
import {
  extensionRegistry,
  type DomainRecord,
  type ExtensionPropertyRecord,
  type JsonObject,
  type JsonValue,
  type TenantState,
  type UserRecord,
} from './state/store';

/**
 * Validates a user body the way Graph does, driven by the contract file: unknown and read-only properties, JSON
 * types, required create properties, UPN/mailNickname/password rules, verified domains, uniqueness, directory
 * extensions. Order matters only for which error wins when several apply; we check shape before semantics.
 */

export type WriteMode = 'create' | 'update' | 'seed';

export interface ValidatedUserWrite {
  /** Properties to store (null = clear). Never contains the password. */
  changes: JsonObject;
}

const EXTENSION_NAME = /^extension_[0-9a-f]{32}_[A-Za-z0-9_]+$/i;
const UPN_LOCAL = /^[A-Za-z0-9'._\-!#^~]+$/;
const DOMAIN_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const ATOM = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+";
const MAIL_NICKNAME = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`);
const PASSWORD_ALLOWED = /^[A-Za-z0-9@#$%^&*\-_!+=[\]{}|\\:',.?/`~"();<> ]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_EXTENSION_VALUES = 100;

function nodeKind(value: JsonValue): string {
  if (Array.isArray(value)) return 'StartArray';
  if (value !== null && typeof value === 'object') return 'StartObject';
  return 'PrimitiveValue';
}

function literal(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** OData reader type checks (code `BadRequest`, ODL's wording). */
function checkValue(schema: PropertySchema, value: JsonValue, name: string): void {
  if (value === null) {
    if (!schema.nullable) {
      const t =
        schema.type === 'array'
          ? `Collection(${schema.items ? edmTypeName(schema.items) : 'Edm.String'})`
          : (schema.$ref ?? edmTypeName(schema));
      throw odataBadRequest(
        `A null value was found for the property named '${name}', which has the expected type '${t}[Nullable=False]'. The expected type '${t}[Nullable=False]' does not allow null values.`,
      );
    }
    return;
  }
  if (schema.type === 'array') {
    if (!Array.isArray(value)) {
      throw odataBadRequest(
        `An unexpected '${nodeKind(value)}' node was found when reading from the JSON reader. A 'StartArray' node was expected.`,
      );
    }
    const items = schema.items ?? { type: 'string', nullable: true };
    for (const item of value) checkValue(items, item, name);
    return;
  }
  if (schema.$ref) {
    const contract = userContract();
    const enumValues = contract.enums.get(schema.$ref);
    if (enumValues) {
      if (typeof value !== 'string' || !enumValues.includes(value)) {
        throw odataBadRequest(`The string '${literal(value)}' is not a valid enumeration type constant.`);
      }
      return;
    }
    const complex = contract.complexTypes.get(schema.$ref);
    if (!complex) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw odataBadRequest(
        `An unexpected '${nodeKind(value)}' node was found when reading from the JSON reader. A 'StartObject' node was expected.`,
      );
    }
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('@odata.')) continue;
      const sub = complex.properties.get(k);
      if (!sub) {
        if (complex.open) continue;
        throw odataBadRequest(
          `The property '${k}' does not exist on type '${schema.$ref}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
        );
      }
      checkValue(sub, v, k);
    }
    return;
  }
  if (typeof value === 'object') {
    throw odataBadRequest(
      `An unexpected '${nodeKind(value)}' node was found when reading from the JSON reader. A 'PrimitiveValue' node was expected.`,
    );
  }
  const edm = edmTypeName(schema);
  const mismatch = (): GraphError =>
    odataBadRequest(`Cannot convert the literal '${literal(value)}' to the expected type '${edm}'.`);
  switch (edm) {
    case 'Edm.Boolean':
      if (typeof value !== 'boolean') throw mismatch();
      return;
    case 'Edm.Int32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -2147483648 || value > 2147483647)
        throw mismatch();
      return;
    case 'Edm.DateTimeOffset':
      if (typeof value !== 'string' || canonicalDateTimeOffset(value) === undefined) throw mismatch();
      return;
    case 'Edm.Guid':
      if (typeof value !== 'string' || !GUID.test(value)) throw mismatch();
      return;
    default:
      if (typeof value !== 'string') throw mismatch();
  }
}

function checkExtensionValue(def: ExtensionPropertyRecord, value: JsonValue): void {
  if (value === null) return;
  const bad = (): GraphError => invalidValue(def.name);
  const values = def.isMultiValued ? value : [value];
  if (!Array.isArray(values)) throw bad();
  if (!def.isMultiValued && Array.isArray(value)) throw bad();
  for (const v of values) {
    switch (def.dataType) {
      case 'String':
        if (typeof v !== 'string' || v.length > 256) throw bad();
        break;
      case 'Boolean':
        if (typeof v !== 'boolean') throw bad();
        break;
      case 'Integer':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw bad();
        break;
      case 'LargeInteger':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad();
        break;
      case 'DateTime':
        if (typeof v !== 'string' || canonicalDateTimeOffset(v) === undefined) throw bad();
        break;
      case 'Binary':
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || Buffer.from(v, 'base64').length > 256)
          throw bad();
        break;
    }
  }
}

/**
 * A checked value as Graph stores it: a DateTimeOffset as the same instant in UTC (date-time.ts), so that a read
 * answers `2024-03-01T08:00:00Z` for `2024-03-01T09:00:00+01:00`. Everything else is stored as sent.
 */
function storedValue(schema: PropertySchema, value: JsonValue): JsonValue {
  return typeof value === 'string' && edmTypeName(schema) === 'Edm.DateTimeOffset'
    ? canonicalDateTimeOffset(value)!
    : value;
}

/** `storedValue` for a directory extension: "DateTime - … Will be stored in UTC" (extensionProperty resource). */
function storedExtensionValue(def: ExtensionPropertyRecord, value: JsonValue): JsonValue {
  if (def.dataType !== 'DateTime' || value === null) return value;
  const utc = (v: JsonValue): JsonValue => (typeof v === 'string' ? canonicalDateTimeOffset(v)! : v);
  return Array.isArray(value) ? value.map(utc) : utc(value);
}

/** UPN policy (graph.md §5): characters, one `@`, no `.` before it, 64/48/113 lengths. */
export function isValidUpn(upn: string): boolean {
  const at = upn.indexOf('@');
  if (at <= 0 || at !== upn.lastIndexOf('@')) return false;
  const local = upn.slice(0, at);
  const domain = upn.slice(at + 1);
  if (local.length > 64 || domain.length > 48 || upn.length > 113) return false;
  if (local.endsWith('.')) return false;
  return UPN_LOCAL.test(local) && DOMAIN_NAME.test(domain);
}

export function isValidMailNickname(value: string): boolean {
  return value.length >= 1 && value.length <= 64 && MAIL_NICKNAME.test(value);
}

/** Entra password policy: 8–256 allowed characters, three of four classes (unless DisableStrongPassword). */
export function isCompliantPassword(password: string, strong: boolean): boolean {
  if (password.length < 8 || password.length > 256 || !PASSWORD_ALLOWED.test(password)) return false;
  if (!strong) return true;
  let classes = 0;
  if (/[a-z]/.test(password)) classes++;
  if (/[A-Z]/.test(password)) classes++;
  if (/[0-9]/.test(password)) classes++;
  if (/[^A-Za-z0-9]/.test(password)) classes++;
  return classes >= 3;
}

/** Graph's answer to a federated UPN without a usable onPremisesImmutableId (graph.md §4). */
const invalidValues = (): GraphError => badRequest('One or more properties contains invalid values.');

function isFederated(domain: DomainRecord | undefined): boolean {
  return domain?.authenticationType === 'Federated';
}

/** A federated user signs in through its on-premises identity, so Entra needs its anchor: no `$` or `_` (docs). */
function requireImmutableId(immutable: JsonValue | undefined): void {
  if (typeof immutable !== 'string' || immutable === '' || /[$_]/.test(immutable)) throw invalidValues();
}

/**
 * A UPN rename that moves the user between a managed and a federated domain changes how it signs in. Moving onto a
 * federated domain needs the immutable id (sent now or stored); moving off one needs a cloud password in the same
 * request. Set-MsolUserPrincipalName documents both (`-ImmutableId`, `-NewPassword`); the refusal's wording is ours.
 */
function checkDomainMove(
  tenant: TenantState,
  existing: UserRecord,
  target: DomainRecord,
  changes: JsonObject,
  password: string | undefined,
): void {
  const fromFederated = isFederated(upnDomain(tenant, existing.props.userPrincipalName));
  const toFederated = isFederated(target);
  if (toFederated && !fromFederated) {
    const immutable =
      'onPremisesImmutableId' in changes ? changes.onPremisesImmutableId : existing.props.onPremisesImmutableId;
    requireImmutableId(immutable);
  }
  if (fromFederated && !toFederated && password === undefined) throw invalidValues();
}

/** The tenant domain a UPN names, if any. */
function upnDomain(tenant: TenantState, upn: JsonValue | undefined): DomainRecord | undefined {
  if (typeof upn !== 'string') return undefined;
  const name = upn.slice(upn.indexOf('@') + 1).toLowerCase();
  return tenant.domains.find((d) => d.id.toLowerCase() === name);
}

function requiredMissing(property: string): GraphError {
  return badRequest(`A value is required for property '${property}' of resource 'User'.`);
}

/** `local@domain`: the dot-atom local part and a dotted DNS name, as for UPNs and mail nicknames. */
export function isEmailAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0) return false;
  return MAIL_NICKNAME.test(value.slice(0, at)) && DOMAIN_NAME.test(value.slice(at + 1));
}

/** user-update docs: `DisableStrongPassword`, `DisablePasswordExpiration`, or both separated by a comma. */
const PASSWORD_POLICIES = new Set(['DisableStrongPassword', 'DisablePasswordExpiration']);

export function isPasswordPolicyList(value: string): boolean {
  const names = value.split(',').map((name) => name.trim());
  return new Set(names).size === names.length && names.every((name) => PASSWORD_POLICIES.has(name));
}

/** One of `allowed`, ignoring case: the docs spell these values both `Adult` (user resource) and `adult` (update). */
const oneOfIgnoringCase =
  (allowed: readonly string[]) =>
  (value: string): boolean =>
    allowed.some((a) => a.toLowerCase() === value.toLowerCase());

/**
 * String properties whose values Graph checks beyond the JSON type. The contract file types them as plain strings
 * (its `enums` section has none of them), so the allowed values live here, from the user resource and user-update
 * docs. Graph's answer is 400 "Invalid value specified for property '…' of resource 'User'." — reported for
 * usageLocation [medium]; the same text for the others is our assumption.
 */
const STRING_VALUE_RULES: Readonly<Record<string, (value: string) => boolean>> = {
  // "A two-letter country code (ISO standard 3166)". Only the shape is checked: which codes Entra accepts is unknown.
  usageLocation: (value) => /^[A-Z]{2}$/.test(value),
  userType: (value) => value === 'Member' || value === 'Guest',
  ageGroup: oneOfIgnoringCase(['Minor', 'NotAdult', 'Adult']),
  consentProvidedForMinor: oneOfIgnoringCase(['Granted', 'Denied', 'NotRequired']),
  mail: isEmailAddress,
  otherMails: isEmailAddress,
  passwordPolicies: isPasswordPolicyList,
};

/** Applies `STRING_VALUE_RULES` to a value (each item of a collection); null clears and is always accepted. */
function checkStringValueRule(property: string, value: JsonValue): void {
  const rule = STRING_VALUE_RULES[property];
  if (!rule || value === null) return;
  const values = Array.isArray(value) ? value : [value];
  if (values.some((v) => typeof v === 'string' && !rule(v))) throw invalidValue(property);
}

/**
 * `memberMaxLength` of a complex property (onPremisesExtensionAttributes: 1,024 characters per extensionAttributeN).
 * Graph's error for it is not documented; naming the member is our assumption.
 */
function checkMemberLengths(schema: PropertySchema, value: JsonValue): void {
  if (schema.memberMaxLength === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
    return;
  for (const [member, v] of Object.entries(value)) {
    if (typeof v === 'string' && v.length > schema.memberMaxLength) throw invalidValue(member);
  }
}

/** Update permissions per property (permissions.ts); identities and friends go by the contract's writePermissions. */
function checkWritePermission(schema: PropertySchema | undefined, key: string, opts: ValidateOptions): void {
  if (schema?.writePermissions) {
    const ok = schema.writePermissions.every((p) =>
      p === 'User.Read.All' ? hasAnyPermission(opts.permissions, USER_READ) : opts.permissions.includes(p),
    );
    if (!ok) throw insufficientPrivileges();
    return;
  }
  if (opts.mode === 'update' && !mayUpdateUserProperty(key, opts.permissions)) throw insufficientPrivileges();
}

export interface ValidateOptions {
  mode: WriteMode;
  tenant: TenantState;
  /** App permissions of the caller (token roles); ignored for operator seeds. */
  permissions: readonly string[];
  existing?: UserRecord;
}

export function validateUserWrite(body: unknown, opts: ValidateOptions): ValidatedUserWrite {
  const { mode, tenant, existing } = opts;
  const contract = userContract();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw odataBadRequest(
      `An unexpected '${nodeKind(body as JsonValue)}' node was found when reading from the JSON reader. A 'StartObject' node was expected.`,
    );
  }
  const input = body as JsonObject;
  const changes: JsonObject = {};
  const registry = extensionRegistry(tenant);
  let password: string | undefined;

  for (const [key, value] of Object.entries(input)) {
    if (key.startsWith('@odata.')) {
      if (key === '@odata.type' && value !== '#microsoft.graph.user') {
        throw odataBadRequest(
          `A type named '${literal(value)}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`,
        );
      }
      continue;
    }
    if (EXTENSION_NAME.test(key)) {
      const def = registry.get(key.toLowerCase());
      if (!def || !def.targetObjects.includes('User')) {
        throw badRequest(`Property '${key}' does not exist as a declared property or extension property.`);
      }
      if (mode !== 'seed') checkWritePermission(undefined, key, opts);
      checkExtensionValue(def, value);
      changes[def.name] = storedExtensionValue(def, value);
      continue;
    }
    const schema = contract.properties.get(key);
    if (!schema) throw badRequest(`Invalid property '${key}'.`);
    if (mode !== 'seed') {
      const settable = mode === 'create' ? schema.create : schema.update;
      if (schema.readOnly || !settable) throw readOnlyProperty(key);
      // SharePoint-backed properties cannot be written with an application-only token (user-update docs).
      if (schema.appOnlyWritable === false) throw insufficientPrivileges();
      checkWritePermission(schema, key, opts);
    } else if (key === 'id') {
      continue;
    }
    checkValue(schema, value, key);
    if (typeof value === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength)
      throw invalidValue(key);
    checkMemberLengths(schema, value);
    if (mode !== 'seed') checkStringValueRule(key, value);
    if (Array.isArray(value)) {
      if (schema.maxItems !== undefined && value.length > schema.maxItems) throw invalidValue(key);
      if (
        schema.itemMaxLength !== undefined &&
        value.some((v) => typeof v === 'string' && v.length > schema.itemMaxLength!)
      ) {
        throw invalidValue(key);
      }
    }
    if (key === 'passwordProfile') {
      const profile = value as JsonObject | null;
      if (profile && typeof profile.password === 'string') password = profile.password;
      if (profile) {
        // Stored without the password: Graph never returns it and neither do we.
        const { password: _omit, ...rest } = profile;
        void _omit;
        changes[key] = rest;
      } else {
        changes[key] = null;
      }
      continue;
    }
    changes[key] = storedValue(schema, value);
  }

  // Required on create (and never clearable later).
  if (mode === 'create' || mode === 'seed') {
    const required = mode === 'create' ? contract.requiredOnCreate : ['displayName', 'userPrincipalName'];
    for (const name of required) {
      if (input[name] === undefined || input[name] === null) throw requiredMissing(name);
    }
    if (mode === 'create' && password === undefined) throw requiredMissing('passwordProfile.password');
  }
  if ('displayName' in changes) {
    const dn = changes.displayName;
    if (dn === null || (typeof dn === 'string' && dn.trim() === '')) throw invalidValue('displayName');
  }
  if (mode === 'update' && Object.keys(input).filter((k) => !k.startsWith('@odata.')).length === 0) {
    // Not documented by Graph; the emulator refuses a no-op write because it still costs a write against quota.
    throw badRequest('The request body of the PATCH request contains no properties to update.');
  }

  // userPrincipalName: format, verified domain, federated domain rule, uniqueness.
  if ('userPrincipalName' in changes) {
    const upn = changes.userPrincipalName;
    if (typeof upn !== 'string' || !isValidUpn(upn)) throw invalidUpn();
    const domain = upnDomain(tenant, upn);
    if (!domain || !domain.isVerified) throw badRequest(UPN_DOMAIN_MESSAGE);
    if (mode === 'create' && isFederated(domain)) requireImmutableId(changes.onPremisesImmutableId);
    if (mode === 'update' && existing) checkDomainMove(tenant, existing, domain, changes, password);
    const owner = tenant.upnIndex.get(upn.toLowerCase());
    if (owner !== undefined && owner !== existing?.id) throw objectConflict();
  }
  if ('mailNickname' in changes) {
    const nick = changes.mailNickname;
    if (mode !== 'seed' && (typeof nick !== 'string' || !isValidMailNickname(nick))) throw invalidValue('mailNickname');
  }
  if (password !== undefined && mode !== 'seed') {
    const policies = (changes.passwordPolicies ?? existing?.props.passwordPolicies ?? '') as string;
    const strong = !/DisableStrongPassword/i.test(policies);
    if (!isCompliantPassword(password, strong)) throw badRequest(PASSWORD_COMPLEXITY_MESSAGE);
    const upn = (changes.userPrincipalName ?? existing?.props.userPrincipalName) as string | undefined;
    const local = upn?.slice(0, upn.indexOf('@')).toLowerCase();
    if (local && local.length >= 3 && password.toLowerCase().includes(local))
      throw badRequest('Password cannot contain username.');
  }
  // At most 100 extension values per directory object, across all apps.
  const extCount = new Set<string>();
  for (const [k, v] of Object.entries(existing?.props ?? {}))
    if (k.startsWith('extension_') && v !== null) extCount.add(k);
  for (const [k, v] of Object.entries(changes)) {
    if (!k.startsWith('extension_')) continue;
    if (v === null) extCount.delete(k);
    else extCount.add(k);
  }
  if (extCount.size > MAX_EXTENSION_VALUES) {
    throw badRequest(`The number of directory extension values exceeds the limit of ${MAX_EXTENSION_VALUES}.`);
  }
  return { changes };
}
