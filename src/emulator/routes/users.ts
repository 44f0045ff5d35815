import { DEFAULT_USER_PROPERTIES, edmTypeName, userContract } from '../contract';
import {
  COUNT_NOT_SUPPORTED_MESSAGE,
  badRequest,
  insufficientPrivileges,
  notEmulated,
  notFound,
  odataBadRequest,
} from '../errors';
import {
  checkFilter,
  equalityOn,
  evaluateFilter,
  parseFilter,
  parseSelect,
  parseTop,
  unknownSelect,
  type FilterOperator,
  type FilterSchema,
} from '../odata';
import { USER_READ, USER_UPDATE, USER_WRITE, hasAnyPermission } from '../permissions';
import {
  extensionRegistry,
  newId,
  userByIdOrUpn,
  type ExtensionPropertyRecord,
  type JsonObject,
  type JsonValue,
  type TenantState,
  type UserRecord,
} from '../state/store';
import type { EmulatorContext, GraphRequest, GraphResponse } from '../types';
import { validateUserWrite } from '../validation';

/** `/users` collection, `/users/{id | upn}`, and the manager relationship. */

const EXTENSION_NAME = /^extension_[0-9a-f]{32}_[A-Za-z0-9_]+$/i;
const DEFAULT_PAGE_SIZE = 100;
const ALLOWED_QUERY = new Set(['$select', '$filter', '$top', '$count', '$skiptoken']);
const NOT_EMULATED_QUERY = new Set(['$orderby', '$search', '$expand', '$skip', '$format', '$apply']);

/** Graph default for non-nullable or collection properties that were never set. */
function unsetValue(name: string): JsonValue {
  const schema = userContract().properties.get(name);
  if (schema?.type === 'array') return [];
  if (name === 'birthday' || name === 'hireDate') return '0001-01-01T00:00:00Z';
  return null;
}

export function requirePermission(req: GraphRequest, accepted: readonly string[]): void {
  if (!hasAnyPermission(req.caller.permissions, accepted)) throw insufficientPrivileges();
}

function checkQueryOptions(req: GraphRequest): void {
  for (const key of req.query.keys()) {
    if (!key.startsWith('$') || ALLOWED_QUERY.has(key)) continue;
    if (NOT_EMULATED_QUERY.has(key)) throw notEmulated(`the query option '${key}' on users`);
    throw odataBadRequest(
      `Query option '${key}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.`,
    );
  }
}

/** Resolves `$select` names case-insensitively; extension_* names are allowed (user is an open type). */
function resolveSelect(req: GraphRequest): string[] | undefined {
  const contract = userContract();
  return parseSelect(req.query.get('$select'), (name) => {
    const canonical = contract.canonicalNames.get(name.toLowerCase());
    if (canonical) return canonical;
    if (EXTENSION_NAME.test(name)) {
      return extensionRegistry(req.caller.tenant).get(name.toLowerCase())?.name ?? name;
    }
    throw unknownSelect(name, 'microsoft.graph.user');
  });
}

export function projectUser(user: UserRecord, select: readonly string[] | undefined): JsonObject {
  const out: JsonObject = {};
  for (const name of select ?? DEFAULT_USER_PROPERTIES) {
    if (name === 'id') {
      out.id = user.id;
    } else if (name === 'passwordProfile') {
      out.passwordProfile = null;
    } else if (name.startsWith('extension_')) {
      const v = user.props[name];
      if (v !== undefined && v !== null) out[name] = v;
    } else {
      const v = user.props[name];
      out[name] = v === undefined ? unsetValue(name) : v;
    }
  }
  return out;
}

function contextUrl(req: GraphRequest, select: readonly string[] | undefined, entity: boolean): string {
  const sel = select ? `(${select.join(',')})` : '';
  return `${req.baseUrl}/v1.0/$metadata#users${sel}${entity ? '/$entity' : ''}`;
}

let userFilterSchema: FilterSchema | undefined;
function filterSchema(tenant: TenantState): FilterSchema {
  if (!userFilterSchema) {
    const names = [
      'id',
      'userPrincipalName',
      'mail',
      'displayName',
      'givenName',
      'surname',
      'mailNickname',
      'employeeId',
      'accountEnabled',
      'jobTitle',
      'department',
      'companyName',
      'userType',
      'otherMails',
      'proxyAddresses',
      'employeeType',
      'officeLocation',
      'city',
      'country',
      'state',
      'onPremisesImmutableId',
      'createdDateTime',
      'creationType',
      'usageLocation',
      'preferredLanguage',
    ];
    userFilterSchema = {
      resource: 'User',
      filterable: new Map(names.map((n) => [n.toLowerCase(), n])),
      supports: userFilterSupports,
    };
  }
  return {
    ...userFilterSchema,
    dynamic: (name) =>
      EXTENSION_NAME.test(name) ? extensionRegistry(tenant).get(name.toLowerCase())?.name : undefined,
    edmType: (property) => userPropertyEdmType(tenant, property),
  };
}

/** Directory extension data types as Edm types (extensionProperty resource docs). */
const EXTENSION_EDM_TYPE: Record<ExtensionPropertyRecord['dataType'], string> = {
  Binary: 'Edm.Binary',
  Boolean: 'Edm.Boolean',
  DateTime: 'Edm.DateTimeOffset',
  Integer: 'Edm.Int32',
  LargeInteger: 'Edm.Int64',
  String: 'Edm.String',
};

/** The Edm type a `$filter` operand on this user property has (a collection's item type). */
function userPropertyEdmType(tenant: TenantState, property: string): string | undefined {
  const schema = userContract().properties.get(property);
  if (schema) return edmTypeName(schema.type === 'array' ? (schema.items ?? schema) : schema);
  const extension = extensionRegistry(tenant).get(property.toLowerCase());
  return extension ? EXTENSION_EDM_TYPE[extension.dataType] : undefined;
}

/**
 * "The endsWith operator is supported only with advanced query parameters by mail, otherMails, userPrincipalName,
 * and proxyAddresses properties" (aad-advanced-queries).
 */
const ENDS_WITH_PROPERTIES = new Set(['mail', 'otherMails', 'userPrincipalName', 'proxyAddresses']);

/**
 * Rows of Microsoft's user filter table (includes/filter-directory-objects.md) whose `ge` and `le` cells are both
 * blank: "the query is not valid for that property". userPrincipalName stays allowed: its row (no `ge`, default `le`)
 * disagrees with the OpenAPI description (graph.md §2: eq, ne, not, ge, le, in, startsWith, endsWith).
 */
const NO_RANGE_PROPERTIES = new Set(['displayName', 'id', 'userType', 'creationType']);

function userFilterSupports(property: string, operator: FilterOperator): boolean {
  if (operator === 'endsWith') return ENDS_WITH_PROPERTIES.has(property);
  if (operator === 'ge' || operator === 'le') return !NO_RANGE_PROPERTIES.has(property);
  return true;
}

/** `$count=true` with `ConsistencyLevel: eventual` makes it an advanced query (needed for ne/not/endsWith). */
function advancedQuery(req: GraphRequest): boolean {
  return eventualConsistency(req) && req.query.get('$count') === 'true';
}

/** The `$count` option as given: 'true', 'false' or absent; anything else is the OData library's 400. */
function countOption(req: GraphRequest): string | undefined {
  const count = req.query.get('$count');
  if (count !== undefined && count !== 'true' && count !== 'false') {
    throw odataBadRequest(`'${count}' is not a valid count option.`);
  }
  return count;
}

function eventualConsistency(req: GraphRequest): boolean {
  return req.headers.consistencylevel?.toLowerCase() === 'eventual';
}

/** The users `$filter` selects (all without one), as far as read replicas already see them. */
function matchingUsers(ctx: EmulatorContext, req: GraphRequest, advanced: boolean): UserRecord[] {
  const tenant = req.caller.tenant;
  const rawFilter = req.query.get('$filter');
  let matches: UserRecord[];
  if (rawFilter !== undefined) {
    const filter = checkFilter(parseFilter(rawFilter), filterSchema(tenant), advanced);
    const upn = equalityOn(filter, 'userPrincipalName');
    if (upn !== undefined) {
      const id = tenant.upnIndex.get(upn.toLowerCase());
      const user = id ? tenant.users.get(id) : undefined;
      matches = user ? [user] : [];
    } else {
      matches = [];
      for (const user of tenant.users.values()) {
        if (evaluateFilter(filter, (p) => (p === 'id' ? user.id : user.props[p]))) matches.push(user);
      }
    }
  } else {
    matches = [...tenant.users.values()];
  }
  return matches.filter((u) => readableYet(ctx, u));
}

export function listUsers(ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  requirePermission(req, USER_READ);
  checkQueryOptions(req);
  const select = resolveSelect(req);
  const top = parseTop(req.query.get('$top'));
  // Without ConsistencyLevel: eventual, Graph "silently ignores the $count query parameter" (aad-advanced-queries).
  const counted = countOption(req) === 'true' && eventualConsistency(req);
  const matches = matchingUsers(ctx, req, advancedQuery(req));
  const pageSize = top ?? DEFAULT_PAGE_SIZE;
  let offset = 0;
  const skiptoken = req.query.get('$skiptoken');
  if (skiptoken !== undefined) {
    const decoded = /^o([0-9]+)$/.exec(Buffer.from(skiptoken, 'base64url').toString('utf8'));
    if (!decoded) throw badRequest('Specified skip token is invalid.');
    offset = Number(decoded[1]);
  }
  const page = matches.slice(offset, offset + pageSize);
  const body: JsonObject = { '@odata.context': contextUrl(req, select, false) };
  if (counted) body['@odata.count'] = matches.length;
  if (offset + pageSize < matches.length) {
    const params = req.search.split('&').filter((p) => p && !/^(%24|\$)skiptoken=/i.test(p));
    params.push(`$skiptoken=${Buffer.from(`o${offset + pageSize}`).toString('base64url')}`);
    body['@odata.nextLink'] = `${req.baseUrl}/v1.0/users?${params.join('&')}`;
  }
  body.value = page.map((u) => projectUser(u, select));
  return { status: 200, body };
}

/**
 * `GET /users/$count`: the number of (filtered) users as a text/plain integer. The `$count` segment is an advanced
 * query, so it needs `ConsistencyLevel: eventual`, and with it `ne`/`not`/`endsWith` are allowed (aad-advanced-queries).
 */
export function countUsers(ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  requirePermission(req, USER_READ);
  checkQueryOptions(req);
  if (!eventualConsistency(req)) throw badRequest(COUNT_NOT_SUPPORTED_MESSAGE);
  return { status: 200, text: String(matchingUsers(ctx, req, true).length) };
}

/** Finds the user named by a path key (object id or UPN), or answers Graph's 404. */
export function findUser(tenant: TenantState, key: string): UserRecord {
  const user = userByIdOrUpn(tenant, key);
  if (!user) throw notFound(key);
  return user;
}

/** Read replication fault: a user created less than N ms ago is not yet found by reads and updates. */
function readableYet(ctx: EmulatorContext, user: UserRecord): boolean {
  const delay = ctx.faults.settings.readReplicationDelayMs;
  return delay <= 0 || ctx.now() - user.createdAtMs >= delay;
}

/** `findUser` as a read or an update sees it under the read replication fault. */
function findReadableUser(ctx: EmulatorContext, tenant: TenantState, key: string): UserRecord {
  const user = findUser(tenant, key);
  if (!readableYet(ctx, user)) throw notFound(key);
  return user;
}

export function getUser(ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, USER_READ);
  checkQueryOptions(req);
  if (req.query.has('$filter') || req.query.has('$top'))
    throw badRequest('Query option is not allowed on a single entity.');
  const select = resolveSelect(req);
  const user = findReadableUser(ctx, req.caller.tenant, key);
  return { status: 200, body: { '@odata.context': contextUrl(req, select, true), ...projectUser(user, select) } };
}

/**
 * The URL Graph uses to name a directory object in `Location` headers and `@odata.id` values: the directory's own
 * `/v2/{tenantId}/directoryObjects/{id}/Microsoft.DirectoryServices.User` form, not a `/v1.0/users/{id}` read URL.
 */
function directoryObjectUrl(req: GraphRequest, tenant: TenantState, user: UserRecord): string {
  return `${req.baseUrl}/v2/${tenant.id}/directoryObjects/${user.id}/Microsoft.DirectoryServices.User`;
}

function initialDomain(tenant: TenantState): string {
  return tenant.domains.find((d) => d.isInitial)?.id ?? tenant.domains[0]?.id ?? 'emulator.onmicrosoft.com';
}

/** Stores a validated new user with the server-managed properties Graph fills in. */
export function insertUser(ctx: EmulatorContext, tenant: TenantState, changes: JsonObject, id = newId()): UserRecord {
  const props: JsonObject = {};
  for (const [k, v] of Object.entries(changes)) if (v !== null) props[k] = v;
  const upn = props.userPrincipalName as string;
  props.createdDateTime ??= new Date(ctx.now()).toISOString().slice(0, 19) + 'Z';
  props.userType ??= 'Member';
  props.creationType ??= null;
  props.identities ??= [{ signInType: 'userPrincipalName', issuer: initialDomain(tenant), issuerAssignedId: upn }];
  props.securityIdentifier ??= `S-1-12-1-${[0, 1, 2, 3].map(() => Math.floor(Math.random() * 4_000_000_000)).join('-')}`;
  const user: UserRecord = { id: id.toLowerCase(), props, createdAtMs: ctx.now() };
  tenant.users.set(user.id, user);
  tenant.upnIndex.set(upn.toLowerCase(), user.id);
  return user;
}

export function createUser(ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  requirePermission(req, USER_WRITE);
  const tenant = req.caller.tenant;
  const { changes } = validateUserWrite(req.body, { mode: 'create', tenant, permissions: req.caller.permissions });
  const user = insertUser(ctx, tenant, changes);
  ctx.store.onChange();
  return {
    status: 201,
    headers: { Location: directoryObjectUrl(req, tenant, user) },
    body: { '@odata.context': `${req.baseUrl}/v1.0/$metadata#users/$entity`, ...projectUser(user, undefined) },
  };
}

/**
 * Entra keeps the `userPrincipalName` sign-in identity equal to the UPN, so a rename moves it too (an identities
 * write in the same request wins, since it is applied as sent).
 */
function renameUpnIdentity(user: UserRecord, upn: string): void {
  const identities = user.props.identities;
  if (!Array.isArray(identities)) return;
  user.props.identities = identities.map((identity) =>
    isUpnIdentity(identity) ? { ...identity, issuerAssignedId: upn } : identity,
  );
}

function isUpnIdentity(identity: JsonValue): identity is JsonObject {
  return (
    identity !== null &&
    typeof identity === 'object' &&
    !Array.isArray(identity) &&
    identity.signInType === 'userPrincipalName'
  );
}

export function applyUserChanges(tenant: TenantState, user: UserRecord, changes: JsonObject): void {
  for (const [k, v] of Object.entries(changes)) {
    if (k === 'userPrincipalName' && typeof v === 'string') {
      const old = user.props.userPrincipalName;
      if (typeof old === 'string') tenant.upnIndex.delete(old.toLowerCase());
      tenant.upnIndex.set(v.toLowerCase(), user.id);
      if (!('identities' in changes)) renameUpnIdentity(user, v);
    }
    if (v === null) delete user.props[k];
    else user.props[k] = v;
  }
}

export function updateUser(ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  // Any update permission lets the request in; validation checks what each one may change (validation.ts).
  requirePermission(req, USER_UPDATE);
  const tenant = req.caller.tenant;
  const user = findReadableUser(ctx, tenant, key);
  const { changes } = validateUserWrite(req.body, {
    mode: 'update',
    tenant,
    permissions: req.caller.permissions,
    existing: user,
  });
  applyUserChanges(tenant, user, changes);
  ctx.store.onChange();
  return { status: 204 };
}

export function deleteUser(ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, USER_WRITE);
  const tenant = req.caller.tenant;
  const user = findUser(tenant, key);
  tenant.users.delete(user.id);
  const upn = user.props.userPrincipalName;
  if (typeof upn === 'string') tenant.upnIndex.delete(upn.toLowerCase());
  for (const other of tenant.users.values()) if (other.managerId === user.id) delete other.managerId;
  ctx.store.onChange();
  return { status: 204 };
}

// ---- manager ----

/** Replication delay fault: a user written less than N ms ago is not yet visible to reference writes. */
function visibleForReference(ctx: EmulatorContext, user: UserRecord): boolean {
  const delay = ctx.faults.settings.replicationDelayMs;
  return delay <= 0 || ctx.now() - user.createdAtMs >= delay;
}

const REF_TARGET = /\/(?:users|directoryObjects)\/([^/?#]+)\/?$/i;

export function setManager(ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, USER_WRITE);
  const tenant = req.caller.tenant;
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw odataBadRequest(
      "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.",
    );
  }
  const ref = (body as Record<string, unknown>)['@odata.id'];
  if (typeof ref !== 'string') {
    throw badRequest("Invalid request body: the '@odata.id' annotation is required for a reference.");
  }
  const m = REF_TARGET.exec(ref);
  if (!m) throw badRequest(`Invalid object identifier '${ref}'.`);
  const user = findUser(tenant, key);
  if (!visibleForReference(ctx, user)) throw notFound(key);
  let managerKey: string;
  try {
    managerKey = decodeURIComponent(m[1]!);
  } catch {
    // A malformed escape (`…/users/%zz`) names no object; refuse it like any other unusable identifier, not as a 500.
    throw badRequest(`Invalid object identifier '${ref}'.`);
  }
  const manager = userByIdOrUpn(tenant, managerKey);
  if (!manager || !visibleForReference(ctx, manager)) throw notFound(managerKey);
  if (manager.id === user.id) throw badRequest('One or more properties contains invalid values.');
  // Graph refuses a loop in the manager chain.
  for (let cur: UserRecord | undefined = manager; cur?.managerId; cur = tenant.users.get(cur.managerId)) {
    if (cur.managerId === user.id) throw badRequest('One or more properties contains invalid values.');
  }
  user.managerId = manager.id;
  ctx.store.onChange();
  return { status: 204 };
}

export function removeManager(ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, USER_WRITE);
  const user = findUser(req.caller.tenant, key);
  if (!user.managerId) throw notFound('manager');
  delete user.managerId;
  ctx.store.onChange();
  return { status: 204 };
}

/** The manager of the user named by `key`, or Graph's 404 for the user or for a user without a manager. */
function findManager(tenant: TenantState, key: string): UserRecord {
  const user = findUser(tenant, key);
  const manager = user.managerId ? tenant.users.get(user.managerId) : undefined;
  if (!manager) throw notFound('manager');
  return manager;
}

export function getManager(_ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, USER_READ);
  const select = resolveSelect(req);
  const manager = findManager(req.caller.tenant, key);
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#directoryObjects/$entity`,
      '@odata.type': '#microsoft.graph.user',
      ...projectUser(manager, select),
    },
  };
}

/**
 * `GET /users/{id}/manager/$ref`: the manager as a bare entity reference. Graph names it by its directory URL
 * (`directoryObjectUrl`) rather than by the `/v1.0/users/{id}` URL a `PUT …/$ref` sends; Microsoft's API guidelines
 * (graph/patterns/navigation-property.md) warn that the base URL of `$ref` results is not a Graph v1.0 URL.
 */
export function getManagerRef(_ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, USER_READ);
  const tenant = req.caller.tenant;
  const manager = findManager(tenant, key);
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#directoryObjects/$ref`,
      '@odata.id': directoryObjectUrl(req, tenant, manager),
    },
  };
}
