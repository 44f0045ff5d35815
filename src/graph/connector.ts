import { SecretDecryptionError } from '../crypto/secrets';
import type { Db } from '../db/knex';
import {
  getGraphConnection,
  getOutboundSettings,
  type GraphConnection,
  type OutboundSettings,
} from '../db/outbound-settings';
import { ErrorTypes } from '../workflows/messages';
import { createGraphClient, graphOrigin } from './client';
import { endpointRefusals } from './endpoints';
import { GraphDirectory, type EntraDirectory, type ExtensionDefinition } from './directory';
import { ProvisioningError } from './errors';
import { WriteBudgets } from './write-budget';

/**
 * Per-tenant Graph access for the worker: settings from PostgreSQL, one client per tenant (the credential caches
 * its token), one write budget per (Entra tenant, app), and short caches of verified domains and extension
 * definitions, which every sync checks but which rarely change.
 */
export interface TenantGraph {
  settings: OutboundSettings;
  directory: EntraDirectory;
}

export interface GraphConnector {
  /**
   * Throws `NotConfigured` when outbound provisioning is off or its connection is incomplete. `settings`, when
   * given, are the tenant's settings just read with other data (null: the tenant has none); otherwise they are read.
   */
  forTenant(tenantId: string, settings?: OutboundSettings | null, opts?: ForTenantOptions): Promise<TenantGraph>;
}

export interface ForTenantOptions {
  /**
   * Epoch ms: a client made at or before this is replaced (and signs in afresh). A token carries the app's
   * permissions as they were when it was issued, so after an admin grants a missing permission only a new token has
   * it: the retry of a PermissionDenied block passes the time of the block (SyncRequest.signInAfter).
   */
  signInAfter?: number;
}

export interface GraphConnectorOptions {
  db: Db;
  secretsKey: Buffer | undefined;
  /** Keys of before a SECRETS_KEY rotation that still decrypt stored credentials (SECRETS_KEY_PREVIOUS). */
  previousSecretsKeys?: readonly Buffer[];
  budgets?: WriteBudgets;
  /** How long verified domains and extension definitions are reused; a miss always re-reads. Default 30 s. */
  cacheTtlMs?: number;
  /** Extra trusted CA certificate (PEM) for Graph and the identity platform, e.g. the emulator's. */
  extraCaPem?: string;
  /** Origins besides Microsoft's clouds that settings may point at (GRAPH_ALLOWED_ORIGINS; src/graph/endpoints.ts). */
  allowedOrigins?: readonly string[];
  /** For tests: build the directory differently (e.g. an in-memory fake). */
  directoryFactory?: (conn: GraphConnection, budgets: WriteBudgets) => EntraDirectory;
}

export function notConfigured(detail: string): ProvisioningError {
  return new ProvisioningError(
    ErrorTypes.NotConfigured,
    `Outbound provisioning to Entra ID is not set up for this tenant: ${detail}. Fix: complete and enable the outbound settings, then retry.`,
  );
}

export function createGraphConnector(opts: GraphConnectorOptions): GraphConnector {
  const budgets = opts.budgets ?? new WriteBudgets();
  const ttl = opts.cacheTtlMs ?? 30_000;
  /** Per tenant: the client being made or made, by settings stamp, with the time it was made. */
  const cache = new Map<string, { stamp: string; madeAt: number; directory: Promise<EntraDirectory> }>();
  const factory =
    opts.directoryFactory ??
    ((conn: GraphConnection, b: WriteBudgets) =>
      new GraphDirectory(
        createGraphClient(conn, { budget: b.for(conn.graphTenantId, conn.clientId), extraCaPem: opts.extraCaPem }),
        graphOrigin(conn.graphBaseUrl),
      ));

  return {
    async forTenant(tenantId, known, forOpts = {}) {
      const settings = known === undefined ? await getOutboundSettings(opts.db, tenantId) : known;
      if (!settings?.enabled) throw notConfigured('it is switched off');
      if (!opts.secretsKey) {
        throw notConfigured('the worker has no SECRETS_KEY to decrypt the client secret or certificate');
      }
      const secretsKey = opts.secretsKey;
      // Settings changes (new credential, other tenant) take effect at once: the cache key includes updatedAt.
      const stamp = settings.updatedAt.toISOString();
      let entry = cache.get(tenantId);
      const stale = entry && forOpts.signInAfter !== undefined && entry.madeAt <= forOpts.signInAfter;
      if (!entry || entry.stamp !== stamp || stale) {
        // Concurrent syncs of the tenant share one client being made (and so one sign-in).
        const made = { stamp, madeAt: Date.now(), directory: makeDirectory(tenantId, secretsKey, settings) };
        cache.set(tenantId, made);
        made.directory.catch(() => {
          if (cache.get(tenantId) === made) cache.delete(tenantId);
        });
        entry = made;
      }
      return { settings, directory: await entry.directory };
    },
  };

  async function makeDirectory(
    tenantId: string,
    secretsKey: Buffer,
    settings: OutboundSettings,
  ): Promise<EntraDirectory> {
    const conn = await getGraphConnection(opts.db, tenantId, secretsKey, opts.previousSecretsKeys).catch(
      (err: unknown) => {
        if (!(err instanceof SecretDecryptionError)) throw err;
        throw notConfigured(
          "the stored client secret or certificate cannot be decrypted with this worker's SECRETS_KEY (it differs from the api's, or was changed since it was stored); give the worker the api's SECRETS_KEY, or enter the credential again",
        );
      },
    );
    if (!conn) throw notConfigured('the Entra tenant id, client id, or the client secret or certificate is missing');
    const certificate = settings.clientCertificate;
    if (conn.clientCertificate && certificate && certificate.notAfter.getTime() <= Date.now()) {
      // Entra ID would refuse it too; saying so here names the certificate and its date.
      throw new ProvisioningError(
        ErrorTypes.InvalidCredentials,
        `The app's certificate (thumbprint ${certificate.thumbprint}) expired on ${certificate.notAfter.toISOString()}. Fix: make a new certificate, upload it to the app registration, give it in the outbound settings, then retry.`,
      );
    }
    // Settings stored before the server's allowed origins changed: never send the secret there.
    const refused = endpointRefusals(conn, opts.allowedOrigins ?? []);
    if (refused.length > 0) {
      throw new ProvisioningError(
        ErrorTypes.NotConfigured,
        `The outbound settings point where this server does not use the app's credential: ${refused.map((r) => r.message).join('; ')}. Fix: change the setting (with the client secret or certificate), or have the operator add the origin to GRAPH_ALLOWED_ORIGINS of the api and worker, then retry.`,
      );
    }
    return new CachingDirectory(factory(conn, budgets), ttl);
  }
}

/**
 * Reuses verified domains and extension definitions for `ttlMs`. Callers that find a domain or definition missing
 * call `fresh*` before failing, so a domain verified a moment ago is seen on the admin's retry.
 */
export class CachingDirectory implements EntraDirectory {
  private domains?: { at: number; value: Promise<string[]> };
  /** Per app id: extension definitions are read per app registration. */
  private readonly extensions = new Map<string, { at: number; value: Promise<ExtensionDefinition[]> }>();
  constructor(
    private readonly inner: EntraDirectory,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  getUser = (id: string, select: readonly string[]) => this.inner.getUser(id, select);
  findUserByUpn = (upn: string, select: readonly string[]) => this.inner.findUserByUpn(upn, select);
  createUser = (body: Record<string, unknown>) => this.inner.createUser(body);
  updateUser = (id: string, patch: Record<string, unknown>) => this.inner.updateUser(id, patch);
  getManagerId = (id: string) => this.inner.getManagerId(id);
  setManager = (id: string, managerObjectId: string) => this.inner.setManager(id, managerObjectId);
  removeManager = (id: string) => this.inner.removeManager(id);
  domainAuthentication = (domain: string) => this.inner.domainAuthentication(domain);

  verifiedDomains(): Promise<string[]> {
    if (!this.domains || this.now() - this.domains.at > this.ttlMs)
      this.domains = this.load(() => this.inner.verifiedDomains());
    return this.domains.value;
  }
  freshVerifiedDomains(): Promise<string[]> {
    this.domains = this.load(() => this.inner.verifiedDomains());
    return this.domains.value;
  }
  async extensionDefinitions(appIds: readonly string[], fresh = false): Promise<ExtensionDefinition[]> {
    const perApp = [...new Set(appIds)].map((appId) => {
      let entry = this.extensions.get(appId);
      if (fresh || !entry || this.now() - entry.at > this.ttlMs) {
        entry = this.load(() => this.inner.extensionDefinitions([appId]));
        this.extensions.set(appId, entry);
      }
      return entry.value;
    });
    return (await Promise.all(perApp)).flat();
  }
  freshExtensionDefinitions(appIds: readonly string[]): Promise<ExtensionDefinition[]> {
    return this.extensionDefinitions(appIds, true);
  }

  private load<T>(fn: () => Promise<T>): { at: number; value: Promise<T> } {
    const value = fn();
    const entry = { at: this.now(), value };
    // A failed read must not be cached.
    value.catch(() => {
      if (this.domains === (entry as unknown)) this.domains = undefined;
      for (const [appId, e] of this.extensions) if (e === (entry as unknown)) this.extensions.delete(appId);
    });
    return entry;
  }
}
