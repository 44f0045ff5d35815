import { randomUUID } from 'node:crypto';

/**
 * In-memory state of every emulated Entra tenant. Plain data (no classes) so a snapshot is `JSON.stringify` away.
 * Lookups the hot path needs (user by id, by lower-cased UPN, app by client id) are Maps.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface DomainRecord {
  id: string;
  isVerified: boolean;
  authenticationType: 'Managed' | 'Federated';
  isDefault: boolean;
  isInitial: boolean;
}

export interface ExtensionPropertyRecord {
  id: string;
  /** Full Graph name: extension_<appIdWithoutHyphens>_<name>. */
  name: string;
  dataType: 'Binary' | 'Boolean' | 'DateTime' | 'Integer' | 'LargeInteger' | 'String';
  isMultiValued: boolean;
  targetObjects: string[];
}

/**
 * A certificate uploaded to the app ("Certificates & secrets"): its public part only. The thumbprints are of the DER
 * encoding, upper-case hex; a client assertion names its certificate by one of them (`x5t` / `x5t#S256`).
 */
export interface AppCertificateRecord {
  /** The certificate as PEM (public part only; the emulator never holds a private key). */
  pem: string;
  thumbprintSha1: string;
  thumbprintSha256: string;
  /** SubjectPublicKeyInfo as PEM: what the assertion's signature is verified with. */
  publicKeyPem: string;
  /** ISO timestamps of the certificate's notBefore / notAfter (Entra's key credential start and end). */
  validFrom: string;
  validTo: string;
}

export interface AppRecord {
  appId: string;
  objectId: string;
  /** Object id of the app's service principal in this tenant (the token's `oid`). */
  servicePrincipalId: string;
  displayName: string;
  /** The client secret, if the app has one; an app may sign in with certificates only. */
  secret?: string;
  certificates: AppCertificateRecord[];
  permissions: string[];
  extensionProperties: ExtensionPropertyRecord[];
  /**
   * A multi-tenant app whose application object lives in another tenant: here it has only its service principal,
   * so `/applications` does not show it, while its extension properties are available to users of this tenant.
   */
  registeredElsewhere?: boolean;
}

export interface UserRecord {
  id: string;
  /** Graph-visible properties (contract names and extension_* names); never contains a password. */
  props: JsonObject;
  managerId?: string;
  /** When the object was written (ms), for the replication-delay fault. */
  createdAtMs: number;
}

export interface TenantState {
  id: string;
  displayName: string;
  domains: DomainRecord[];
  apps: AppRecord[];
  users: Map<string, UserRecord>;
  /** lower-cased UPN → user id. Entra compares UPNs case-insensitively. */
  upnIndex: Map<string, string>;
  /** Cache of `extensionRegistry`; cleared whenever apps or extension definitions change. */
  extIndex?: Map<string, ExtensionPropertyRecord>;
}

export class EmulatorStore {
  readonly tenants = new Map<string, TenantState>();
  /** Called after every mutation (snapshot writer). */
  onChange: () => void = () => undefined;

  reset(): void {
    this.tenants.clear();
    this.onChange();
  }

  tenant(id: string): TenantState | undefined {
    return this.tenants.get(id.toLowerCase());
  }

  /** A tenant by id or by one of its domain names, as the identity platform accepts both in the authority path. */
  tenantByIdOrDomain(key: string): TenantState | undefined {
    const byId = this.tenant(key);
    if (byId) return byId;
    const lower = key.toLowerCase();
    for (const t of this.tenants.values()) if (t.domains.some((d) => d.id.toLowerCase() === lower)) return t;
    return undefined;
  }

  ensureTenant(id: string, displayName?: string): TenantState {
    const key = id.toLowerCase();
    let t = this.tenants.get(key);
    if (!t) {
      t = {
        id: key,
        displayName: displayName ?? 'Emulated tenant',
        domains: [],
        apps: [],
        users: new Map(),
        upnIndex: new Map(),
      };
      this.tenants.set(key, t);
    } else if (displayName) {
      t.displayName = displayName;
    }
    return t;
  }
}

export function appById(tenant: TenantState, appId: string): AppRecord | undefined {
  const lower = appId.toLowerCase();
  return tenant.apps.find((a) => a.appId === lower);
}

export function userByIdOrUpn(tenant: TenantState, key: string): UserRecord | undefined {
  const direct = tenant.users.get(key.toLowerCase());
  if (direct) return direct;
  const id = tenant.upnIndex.get(key.toLowerCase());
  return id ? tenant.users.get(id) : undefined;
}

/** All extension property definitions registered by any app of the tenant, by lower-cased full name. */
export function extensionRegistry(tenant: TenantState): Map<string, ExtensionPropertyRecord> {
  if (tenant.extIndex) return tenant.extIndex;
  const map = new Map<string, ExtensionPropertyRecord>();
  for (const app of tenant.apps) for (const ext of app.extensionProperties) map.set(ext.name.toLowerCase(), ext);
  tenant.extIndex = map;
  return map;
}

export function extensionName(appId: string, name: string): string {
  return `extension_${appId.replace(/-/g, '').toLowerCase()}_${name}`;
}

export const newId = (): string => randomUUID();
