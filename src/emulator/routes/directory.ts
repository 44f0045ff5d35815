import { GraphError, badRequest, notFound, odataBadRequest } from '../errors';
import { checkFilter, evaluateFilter, parseFilter, parseSelect, unknownSelect, type FilterSchema } from '../odata';
import { APPLICATION_READ, APPLICATION_WRITE, DIRECTORY_READ, DOMAIN_READ, ORGANIZATION_READ } from '../permissions';
import {
  extensionName,
  newId,
  type AppRecord,
  type DomainRecord,
  type ExtensionPropertyRecord,
  type JsonObject,
  type TenantState,
} from '../state/store';
import type { EmulatorContext, GraphRequest, GraphResponse } from '../types';
import { requirePermission } from './users';

/** Domains, organization (verifiedDomains), applications and their directory extension definitions. */

function select(req: GraphRequest, known: readonly string[], type: string): string[] | undefined {
  const lower = new Map(known.map((k) => [k.toLowerCase(), k]));
  return parseSelect(req.query.get('$select'), (name) => {
    const c = lower.get(name.toLowerCase());
    if (!c) throw unknownSelect(name, type);
    return c;
  });
}

function project(obj: JsonObject, names: readonly string[] | undefined): JsonObject {
  if (!names) return obj;
  const out: JsonObject = {};
  for (const n of names) out[n] = obj[n] ?? null;
  return out;
}

function domainJson(d: DomainRecord): JsonObject {
  return {
    authenticationType: d.authenticationType,
    availabilityStatus: null,
    id: d.id,
    isAdminManaged: true,
    isDefault: d.isDefault,
    isInitial: d.isInitial,
    isRoot: true,
    isVerified: d.isVerified,
    supportedServices: d.isVerified ? ['Email', 'OfficeCommunicationsOnline'] : [],
    passwordValidityPeriodInDays: null,
    passwordNotificationWindowInDays: null,
    state: null,
  };
}
const DOMAIN_PROPS = Object.keys(
  domainJson({ id: 'x', isVerified: true, authenticationType: 'Managed', isDefault: false, isInitial: false }),
);

export function listDomains(_ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  requirePermission(req, DOMAIN_READ);
  const sel = select(req, DOMAIN_PROPS, 'microsoft.graph.domain');
  const ctxSel = sel ? `(${sel.join(',')})` : '';
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#domains${ctxSel}`,
      value: req.caller.tenant.domains.map((d) => project(domainJson(d), sel)),
    },
  };
}

export function getDomain(_ctx: EmulatorContext, req: GraphRequest, name: string): GraphResponse {
  requirePermission(req, DOMAIN_READ);
  const sel = select(req, DOMAIN_PROPS, 'microsoft.graph.domain');
  const d = req.caller.tenant.domains.find((x) => x.id.toLowerCase() === name.toLowerCase());
  if (!d) throw notFound(name);
  return {
    status: 200,
    body: { '@odata.context': `${req.baseUrl}/v1.0/$metadata#domains/$entity`, ...project(domainJson(d), sel) },
  };
}

function organizationJson(t: TenantState): JsonObject {
  return {
    id: t.id,
    displayName: t.displayName,
    tenantType: 'AAD',
    countryLetterCode: 'US',
    preferredLanguage: 'en',
    createdDateTime: '2020-01-01T00:00:00Z',
    businessPhones: [],
    city: null,
    country: null,
    postalCode: null,
    state: null,
    street: null,
    technicalNotificationMails: [],
    onPremisesSyncEnabled: null,
    onPremisesLastSyncDateTime: null,
    assignedPlans: [],
    provisionedPlans: [],
    privacyProfile: null,
    securityComplianceNotificationMails: [],
    securityComplianceNotificationPhones: [],
    marketingNotificationEmails: [],
    verifiedDomains: t.domains
      .filter((d) => d.isVerified)
      .map((d) => ({
        capabilities: 'Email, OfficeCommunicationsOnline',
        isDefault: d.isDefault,
        isInitial: d.isInitial,
        name: d.id,
        type: d.authenticationType,
      })),
  };
}
const ORG_PROPS = Object.keys(
  organizationJson({ id: '', displayName: '', domains: [], apps: [], users: new Map(), upnIndex: new Map() }),
);

export function listOrganization(_ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  requirePermission(req, ORGANIZATION_READ);
  const sel = select(req, ORG_PROPS, 'microsoft.graph.organization');
  const ctxSel = sel ? `(${sel.join(',')})` : '';
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#organization${ctxSel}`,
      value: [project(organizationJson(req.caller.tenant), sel)],
    },
  };
}

function applicationJson(a: AppRecord): JsonObject {
  return {
    id: a.objectId,
    appId: a.appId,
    displayName: a.displayName,
    signInAudience: 'AzureADMyOrg',
    createdDateTime: '2020-01-01T00:00:00Z',
    deletedDateTime: null,
    description: null,
    identifierUris: [],
    tags: [],
    publisherDomain: null,
    requiredResourceAccess: [],
  };
}
const APP_PROPS = Object.keys(
  applicationJson({
    appId: '',
    objectId: '',
    servicePrincipalId: '',
    displayName: '',
    certificates: [],
    permissions: [],
    extensionProperties: [],
  }),
);

const APP_FILTER: FilterSchema = {
  resource: 'Application',
  filterable: new Map(['appId', 'id', 'displayName'].map((n) => [n.toLowerCase(), n])),
};

export function listApplications(_ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  requirePermission(req, APPLICATION_READ);
  const sel = select(req, APP_PROPS, 'microsoft.graph.application');
  let apps = req.caller.tenant.apps.filter((a) => !a.registeredElsewhere);
  const raw = req.query.get('$filter');
  if (raw !== undefined) {
    const filter = checkFilter(parseFilter(raw), APP_FILTER, false);
    apps = apps.filter((a) => evaluateFilter(filter, (p) => applicationJson(a)[p]));
  }
  const ctxSel = sel ? `(${sel.join(',')})` : '';
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#applications${ctxSel}`,
      value: apps.map((a) => project(applicationJson(a), sel)),
    },
  };
}

const SP_PROPS = ['id', 'appId', 'displayName', 'servicePrincipalType', 'accountEnabled'];

/**
 * `GET /servicePrincipals(appId='…')`: every app that may sign in to the tenant has one, also a multi-tenant app
 * registered elsewhere (whose application object is not here).
 */
export function getServicePrincipalByAppId(_ctx: EmulatorContext, req: GraphRequest, appId: string): GraphResponse {
  requirePermission(req, APPLICATION_READ);
  const sel = select(req, SP_PROPS, 'microsoft.graph.servicePrincipal');
  const tenant = req.caller.tenant;
  const app = tenant.apps.find((a) => a.appId === appId.toLowerCase());
  if (!app) throw notFound(appId);
  const json: JsonObject = {
    id: app.servicePrincipalId,
    appId: app.appId,
    displayName: app.displayName,
    servicePrincipalType: 'Application',
    accountEnabled: true,
  };
  return {
    status: 200,
    body: { '@odata.context': `${req.baseUrl}/v1.0/$metadata#servicePrincipals/$entity`, ...project(json, sel) },
  };
}

/** `{objectId}` or the alternate key form `(appId='{appId}')`. */
export function findApplication(tenant: TenantState, key: string): AppRecord {
  const alt = /^\(appId='(.*)'\)$/i.exec(key);
  const app = alt
    ? tenant.apps.find((a) => a.appId === alt[1]!.replace(/''/g, "'").toLowerCase())
    : tenant.apps.find((a) => a.objectId === key.toLowerCase());
  // A multi-tenant app registered elsewhere has no application object in this tenant.
  if (!app || app.registeredElsewhere) throw notFound(alt ? alt[1]! : key);
  return app;
}

export function getApplication(_ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, APPLICATION_READ);
  const sel = select(req, APP_PROPS, 'microsoft.graph.application');
  const app = findApplication(req.caller.tenant, key);
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#applications/$entity`,
      ...project(applicationJson(app), sel),
    },
  };
}

function extensionJson(app: AppRecord, e: ExtensionPropertyRecord): JsonObject {
  return {
    id: e.id,
    deletedDateTime: null,
    appDisplayName: app.displayName,
    dataType: e.dataType,
    isMultiValued: e.isMultiValued,
    isSyncedFromOnPremises: false,
    name: e.name,
    targetObjects: e.targetObjects,
  };
}
const EXT_PROPS = [
  'id',
  'deletedDateTime',
  'appDisplayName',
  'dataType',
  'isMultiValued',
  'isSyncedFromOnPremises',
  'name',
  'targetObjects',
];
const EXT_FILTER: FilterSchema = { resource: 'ExtensionProperty', filterable: new Map([['name', 'name']]) };

export function listExtensionProperties(_ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, APPLICATION_READ);
  const sel = select(req, EXT_PROPS, 'microsoft.graph.extensionProperty');
  const app = findApplication(req.caller.tenant, key);
  let exts = app.extensionProperties;
  const raw = req.query.get('$filter');
  if (raw !== undefined) {
    const filter = checkFilter(parseFilter(raw), EXT_FILTER, false);
    exts = exts.filter((e) => evaluateFilter(filter, (p) => extensionJson(app, e)[p]));
  }
  return {
    status: 200,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#applications('${app.objectId}')/extensionProperties`,
      value: exts.map((e) => project(extensionJson(app, e), sel)),
    },
  };
}

const DATA_TYPES = ['Binary', 'Boolean', 'DateTime', 'Integer', 'LargeInteger', 'String'] as const;
const TARGET_OBJECTS = ['User', 'Group', 'AdministrativeUnit', 'Application', 'Device', 'Organization'];

/** Registers a definition on an app; shared by the Graph route and operator seeding. */
export function addExtensionProperty(
  tenant: TenantState,
  app: AppRecord,
  input: { name: unknown; dataType: unknown; isMultiValued?: unknown; targetObjects: unknown },
): ExtensionPropertyRecord {
  const { name, dataType, isMultiValued, targetObjects } = input;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,119}$/.test(name)) {
    throw badRequest("Invalid value specified for property 'name' of resource 'ExtensionProperty'.");
  }
  if (typeof dataType !== 'string' || !(DATA_TYPES as readonly string[]).includes(dataType)) {
    throw badRequest("Invalid value specified for property 'dataType' of resource 'ExtensionProperty'.");
  }
  if (isMultiValued !== undefined && typeof isMultiValued !== 'boolean') {
    // JSON text, not String(): an object such as {"toString": 1} cannot be turned into a string and threw (a 500).
    throw odataBadRequest(
      `Cannot convert the literal '${typeof isMultiValued === 'string' ? isMultiValued : JSON.stringify(isMultiValued)}' to the expected type 'Edm.Boolean'.`,
    );
  }
  if (
    !Array.isArray(targetObjects) ||
    targetObjects.length === 0 ||
    !targetObjects.every((t) => typeof t === 'string' && TARGET_OBJECTS.includes(t))
  ) {
    throw badRequest("Invalid value specified for property 'targetObjects' of resource 'ExtensionProperty'.");
  }
  const full = extensionName(app.appId, name);
  if (app.extensionProperties.some((e) => e.name.toLowerCase() === full.toLowerCase())) {
    throw badRequest(`Another object with the same value for property name already exists.`, [
      {
        code: 'ObjectConflict',
        message: 'Another object with the same value for property name already exists.',
        target: 'name',
      },
    ]);
  }
  const record: ExtensionPropertyRecord = {
    id: newId(),
    name: full,
    dataType: dataType as ExtensionPropertyRecord['dataType'],
    isMultiValued: isMultiValued ?? false,
    targetObjects: targetObjects as string[],
  };
  app.extensionProperties.push(record);
  tenant.extIndex = undefined;
  return record;
}

export function createExtensionProperty(ctx: EmulatorContext, req: GraphRequest, key: string): GraphResponse {
  requirePermission(req, APPLICATION_WRITE);
  const tenant = req.caller.tenant;
  const app = findApplication(tenant, key);
  // OwnedBy only covers apps the caller owns; an app registration owns its own definitions here.
  if (
    !req.caller.permissions.some(
      (p) => p !== 'Application.ReadWrite.OwnedBy' && APPLICATION_WRITE.includes(p as never),
    ) &&
    app.appId !== req.caller.appId
  ) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw odataBadRequest(
      "An unexpected 'StartArray' node was found when reading from the JSON reader. A 'StartObject' node was expected.",
    );
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!['name', 'dataType', 'isMultiValued', 'targetObjects'].includes(k) && !k.startsWith('@odata.')) {
      throw badRequest(`Invalid property '${k}'.`);
    }
  }
  const record = addExtensionProperty(tenant, app, {
    name: b.name,
    dataType: b.dataType,
    isMultiValued: b.isMultiValued,
    targetObjects: b.targetObjects,
  });
  ctx.store.onChange();
  return {
    status: 201,
    body: {
      '@odata.context': `${req.baseUrl}/v1.0/$metadata#applications('${app.objectId}')/extensionProperties/$entity`,
      ...extensionJson(app, record),
    },
  };
}

/** `POST /directoryObjects/getAvailableExtensionProperties`: every definition registered in the tenant. */
export function availableExtensionProperties(_ctx: EmulatorContext, req: GraphRequest): GraphResponse {
  // Unlike an app's own list (Application.Read.All), listing every definition in the tenant needs Directory.Read.All.
  requirePermission(req, DIRECTORY_READ);
  const value: JsonObject[] = [];
  // Every definition here is cloud-made; asking for on-premises-synced ones returns none.
  const syncedOnly = (req.body as { isSyncedFromOnPremises?: unknown } | undefined)?.isSyncedFromOnPremises === true;
  if (!syncedOnly)
    for (const app of req.caller.tenant.apps)
      for (const e of app.extensionProperties)
        value.push({ '@odata.type': '#microsoft.graph.extensionProperty', ...extensionJson(app, e) });
  return {
    status: 200,
    body: { '@odata.context': `${req.baseUrl}/v1.0/$metadata#Collection(microsoft.graph.extensionProperty)`, value },
  };
}
