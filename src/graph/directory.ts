import type { Client } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';
import { ErrorTypes } from '../workflows/messages';
import { currentTally } from './client';
import {
  classifyGraphError,
  LEAVE_DATE_PERMISSION,
  ProvisioningError,
  unexpectedAnswer,
  type GraphOperation,
} from './errors';

/**
 * The handful of Graph calls provisioning needs, each validated at the edge and failing only with classified
 * `ProvisioningError`s. An interface, so the sync logic can be unit-tested with an in-memory directory.
 */
export interface EntraUser {
  id: string;
  [property: string]: unknown;
}

export interface ExtensionDefinition {
  name: string;
  dataType: string;
  isMultiValued: boolean;
  /** The object types the property is registered for (`User`, `Group`, …); absent when Graph did not say. */
  targetObjects?: string[];
}

export interface EntraDirectory {
  getUser(id: string, select: readonly string[]): Promise<EntraUser | null>;
  findUserByUpn(upn: string, select: readonly string[]): Promise<EntraUser | null>;
  /** POST /users; the body carries the one-time password, so it must never be logged. */
  createUser(body: Record<string, unknown>): Promise<EntraUser>;
  updateUser(id: string, patch: Record<string, unknown>): Promise<void>;
  getManagerId(id: string): Promise<string | null>;
  setManager(id: string, managerObjectId: string): Promise<void>;
  /** DELETE the manager reference; an account that has no manager counts as done. */
  removeManager(id: string): Promise<void>;
  verifiedDomains(): Promise<string[]>;
  /** How the domain's users sign in: `Managed` (cloud password) or `Federated`; null for a domain Entra lacks. */
  domainAuthentication(domain: string): Promise<string | null>;
  /**
   * The directory extension properties registered on these app registrations (app ids), one read per app. An app
   * registered in another tenant (multi-tenant) is looked up in the tenant-wide list, which needs Directory.Read.All;
   * without it that fails as PermissionDenied with `info.missingPermission` (see `isRegisteredElsewhereDenial`).
   */
  extensionDefinitions(appIds: readonly string[]): Promise<ExtensionDefinition[]>;
}

const UserZ = z.looseObject({ id: z.string() });
const UsersZ = z.object({ value: z.array(UserZ) });
const DomainZ = z.looseObject({ id: z.string(), authenticationType: z.string().optional() });
const DomainsZ = z.object({ value: z.array(z.looseObject({ id: z.string(), isVerified: z.boolean().optional() })) });
const ExtensionsZ = z.object({
  value: z.array(
    z.looseObject({
      name: z.string(),
      dataType: z.string(),
      isMultiValued: z.boolean().default(false),
      targetObjects: z.array(z.string()).optional(),
    }),
  ),
});

/**
 * The answer `raw` of a Graph call as `schema` describes it; an answer of another shape fails as a classified unknown
 * Graph error (never a bare parse error, which Temporal would retry without end), naming what did not match.
 */
function parseAnswer<S extends z.ZodType>(schema: S, raw: unknown, op: GraphOperation): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const mismatch = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
  throw unexpectedAnswer(op, mismatch, currentTally()?.lastAnswer ?? {}, parsed.error);
}

const toDefinition = (e: z.infer<typeof ExtensionsZ>['value'][number]): ExtensionDefinition => ({
  name: e.name,
  dataType: e.dataType,
  isMultiValued: e.isMultiValued,
  ...(e.targetObjects ? { targetObjects: e.targetObjects } : {}),
});

/** Whether users can hold the extension property (its targetObjects name User, or Graph did not say). */
export const registeredForUsers = (def: ExtensionDefinition): boolean =>
  def.targetObjects === undefined || def.targetObjects.some((t) => t.toLowerCase() === 'user');

/** What reading the extension properties of an app registered in another tenant needs. */
const REGISTERED_ELSEWHERE_PERMISSION = 'Directory.Read.All';

/** The denial of `extensionDefinitions` for an app registered in another tenant (without Directory.Read.All). */
export const isRegisteredElsewhereDenial = (err: unknown): boolean =>
  err instanceof ProvisioningError &&
  err.type === ErrorTypes.PermissionDenied &&
  err.info.missingPermission === REGISTERED_ELSEWHERE_PERMISSION;

const isNotFound = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 404;

/** An OData string literal for `$filter`: quotes doubled, then percent-encoded so `#` cannot cut the URL. */
export function odataString(value: string): string {
  return `'${encodeURIComponent(value.replace(/'/g, "''"))}'`;
}

/** The permission a user write needs besides User.ReadWrite.All, if any. */
const extraWritePermission = (body: Record<string, unknown>): string | undefined =>
  Object.hasOwn(body, 'employeeLeaveDateTime') ? LEAVE_DATE_PERMISSION : undefined;

export class GraphDirectory implements EntraDirectory {
  constructor(
    private readonly client: Client,
    /** `https://host[:port]`, for the `@odata.id` of manager references. */
    private readonly origin: string,
  ) {}

  private async call<T>(op: GraphOperation, fn: () => Promise<T>, alsoNeeds?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyGraphError(err, op, alsoNeeds);
    }
  }

  async getUser(id: string, select: readonly string[]): Promise<EntraUser | null> {
    try {
      const raw: unknown = await this.client
        .api(`/users/${encodeURIComponent(id)}`)
        .select([...select])
        .get();
      return parseAnswer(UserZ, raw, 'lookup');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw classifyGraphError(err, 'lookup');
    }
  }

  async findUserByUpn(upn: string, select: readonly string[]): Promise<EntraUser | null> {
    const raw: unknown = await this.call('lookup', () =>
      this.client
        .api('/users')
        .filter(`userPrincipalName eq ${odataString(upn)}`)
        .select([...select])
        .get(),
    );
    return parseAnswer(UsersZ, raw, 'lookup').value[0] ?? null;
  }

  async createUser(body: Record<string, unknown>): Promise<EntraUser> {
    const raw: unknown = await this.call(
      'create',
      () => this.client.api('/users').post(body),
      extraWritePermission(body),
    );
    return parseAnswer(UserZ, raw, 'create');
  }

  async updateUser(id: string, patch: Record<string, unknown>): Promise<void> {
    await this.call(
      'update',
      () => this.client.api(`/users/${encodeURIComponent(id)}`).patch(patch),
      extraWritePermission(patch),
    );
  }

  async getManagerId(id: string): Promise<string | null> {
    try {
      const raw: unknown = await this.client
        .api(`/users/${encodeURIComponent(id)}/manager`)
        .select(['id'])
        .get();
      return parseAnswer(UserZ, raw, 'lookup').id;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw classifyGraphError(err, 'lookup');
    }
  }

  async setManager(id: string, managerObjectId: string): Promise<void> {
    await this.call('manager', () =>
      this.client
        .api(`/users/${encodeURIComponent(id)}/manager/$ref`)
        .put({ '@odata.id': `${this.origin}/v1.0/users/${managerObjectId}` }),
    );
  }

  async removeManager(id: string): Promise<void> {
    try {
      await this.client.api(`/users/${encodeURIComponent(id)}/manager/$ref`).delete();
    } catch (err) {
      // Graph answers 404 when there is no manager to remove. (A missing account also answers 404; the caller
      // has just written to it or will find out on its next write.)
      if (isNotFound(err)) return;
      throw classifyGraphError(err, 'manager');
    }
  }

  async verifiedDomains(): Promise<string[]> {
    const raw: unknown = await this.call('domains', () =>
      this.client.api('/domains').select(['id', 'isVerified']).get(),
    );
    return parseAnswer(DomainsZ, raw, 'domains')
      .value.filter((d) => d.isVerified)
      .map((d) => d.id.toLowerCase());
  }

  async domainAuthentication(domain: string): Promise<string | null> {
    try {
      const raw: unknown = await this.client
        .api(`/domains/${encodeURIComponent(domain)}`)
        .select(['id', 'authenticationType'])
        .get();
      return parseAnswer(DomainZ, raw, 'domains').authenticationType ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw classifyGraphError(err, 'domains');
    }
  }

  async extensionDefinitions(appIds: readonly string[]): Promise<ExtensionDefinition[]> {
    const perApp = await Promise.all([...new Set(appIds)].map((appId) => this.appExtensionDefinitions(appId)));
    return perApp.flat();
  }

  /**
   * `GET /applications(appId='…')/extensionProperties`: needs only Application.Read.All, where listing every
   * definition in the tenant (`directoryObjects/getAvailableExtensionProperties`) needs Directory.Read.All. An app
   * registered in another tenant has no application object here (404), only the tenant-wide list shows its
   * definitions.
   */
  private async appExtensionDefinitions(appId: string): Promise<ExtensionDefinition[]> {
    try {
      const raw: unknown = await this.client
        .api(`/applications(appId=${odataString(appId)})/extensionProperties`)
        .select(['name', 'dataType', 'isMultiValued', 'targetObjects'])
        .get();
      return parseAnswer(ExtensionsZ, raw, 'extensions').value.map(toDefinition);
    } catch (err) {
      if (!isNotFound(err)) throw classifyGraphError(err, 'extensions');
    }
    // No application object here. With a service principal it is an app registered in another tenant; without one
    // no such app signs in to this tenant (a wrong app id in the mapping): no definitions.
    try {
      await this.client
        .api(`/servicePrincipals(appId=${odataString(appId)})`)
        .select(['id'])
        .get();
    } catch (err) {
      if (isNotFound(err)) return [];
      throw classifyGraphError(err, 'extensions');
    }
    return this.availableExtensionDefinitions(appId);
  }

  /** The definitions of `appId` in the tenant-wide list (extension names embed the app id without dashes). */
  private async availableExtensionDefinitions(appId: string): Promise<ExtensionDefinition[]> {
    const prefix = `extension_${appId.replace(/-/g, '').toLowerCase()}_`;
    let raw: unknown;
    try {
      raw = await this.client
        .api('/directoryObjects/getAvailableExtensionProperties')
        .post({ isSyncedFromOnPremises: false });
    } catch (err) {
      const classified = classifyGraphError(err, 'extensions');
      if (classified.type !== ErrorTypes.PermissionDenied) throw classified;
      throw new ProvisioningError(
        ErrorTypes.PermissionDenied,
        `The app ${appId}, whose directory extension properties the mapping writes, is registered in another Entra tenant (a multi-tenant app consented here), so its extension properties can only be read from the tenant-wide list, which needs ${REGISTERED_ELSEWHERE_PERMISSION}. Fix: grant the application permission ${REGISTERED_ELSEWHERE_PERMISSION} with admin consent, or map extension properties registered on an app of this tenant, then retry.`,
        { ...classified.info, missingPermission: REGISTERED_ELSEWHERE_PERMISSION },
      );
    }
    return parseAnswer(ExtensionsZ, raw, 'extensions')
      .value.filter((e) => e.name.toLowerCase().startsWith(prefix))
      .map(toDefinition);
  }
}
