import { z } from 'zod';
import { appCertificateRecord, CertificateInputError } from './client-assertion';
import { GraphError } from './errors';
import { addExtensionProperty } from './routes/directory';
import { applyUserChanges, insertUser } from './routes/users';
import { newId, type AppRecord, type EmulatorStore, type JsonObject, type TenantState } from './state/store';
import type { EmulatorContext } from './types';
import { validateUserWrite } from './validation';

/**
 * Seeding: tenants, domains, app registrations (client id, secret and/or certificates, granted permissions),
 * extension definitions and users. Used by tests directly and by the operator API (`POST /_emulator/seed`, same
 * JSON). Seeding merges: an existing tenant/app/user (same id or UPN) is updated, so seeding twice is harmless.
 */

const guid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID');

const SeedDomainZ = z.object({
  id: z.string().min(3),
  isVerified: z.boolean().default(true),
  authenticationType: z.enum(['Managed', 'Federated']).default('Managed'),
  isDefault: z.boolean().optional(),
});

const SeedExtensionZ = z.object({
  name: z.string(),
  dataType: z.enum(['Binary', 'Boolean', 'DateTime', 'Integer', 'LargeInteger', 'String']).default('String'),
  isMultiValued: z.boolean().default(false),
  targetObjects: z.array(z.string()).default(['User']),
});

/** A certificate's public part, PEM, as uploaded under "Certificates & secrets"; parsed once, here. */
const SeedCertificateZ = z.string().transform((pem, c) => {
  try {
    return appCertificateRecord(pem);
  } catch (e) {
    if (!(e instanceof CertificateInputError)) throw e;
    c.addIssue({ code: 'custom', message: e.message });
    return z.NEVER;
  }
});

const SeedAppZ = z
  .object({
    appId: guid,
    objectId: guid.optional(),
    displayName: z.string().default('entra-sync'),
    /** The client secret; `null` removes it on re-seeding (an app may sign in with certificates only). */
    secret: z.string().min(1).nullable().optional(),
    /** Replaces the app's certificates when given; re-seeding without it keeps them. */
    certificates: z.array(SeedCertificateZ).optional(),
    permissions: z.array(z.string()).default([]),
    extensionProperties: z.array(SeedExtensionZ).default([]),
    /** A multi-tenant app registered in another tenant (consented here): not under `/applications` here. */
    registeredElsewhere: z.boolean().optional(),
  })
  // Every seeded app carries a credential, so an app always has at least one after merging too.
  .refine((a) => typeof a.secret === 'string' || (a.certificates?.length ?? 0) > 0, {
    message: 'an app needs a secret or at least one certificate',
    path: ['secret'],
  });

const SeedUserZ = z
  .object({
    id: guid.optional(),
    userPrincipalName: z.string(),
    displayName: z.string(),
    /** Object id or UPN of the manager (seeded earlier or in the same call). */
    manager: z.string().optional(),
  })
  .catchall(z.unknown());

const SeedTenantZ = z.object({
  id: guid,
  displayName: z.string().optional(),
  /** The tenant's `*.onmicrosoft.com` domain; derived from the id when omitted. Always verified, as in Entra. */
  initialDomain: z.string().optional(),
  domains: z.array(SeedDomainZ).default([]),
  apps: z.array(SeedAppZ).default([]),
  users: z.array(SeedUserZ).default([]),
});

export const SeedInputZ = z.object({ tenants: z.array(SeedTenantZ).min(1) });

export type SeedInput = z.input<typeof SeedInputZ>;
export type SeedDomain = z.input<typeof SeedDomainZ>;
export type SeedApp = z.input<typeof SeedAppZ>;
export type SeedUser = z.input<typeof SeedUserZ>;
export type SeedExtensionProperty = z.input<typeof SeedExtensionZ>;

export interface SeedResult {
  tenants: {
    id: string;
    domains: string[];
    apps: { appId: string; objectId: string; extensionProperties: { id: string; name: string }[] }[];
    users: { id: string; userPrincipalName: string }[];
  }[];
}

export class SeedError extends Error {
  override name = 'SeedError';
}

function addApp(tenant: TenantState, input: z.output<typeof SeedAppZ>): AppRecord {
  const appId = input.appId.toLowerCase();
  let app = tenant.apps.find((a) => a.appId === appId);
  if (!app) {
    app = {
      appId,
      objectId: (input.objectId ?? newId()).toLowerCase(),
      servicePrincipalId: newId(),
      displayName: input.displayName,
      ...(typeof input.secret === 'string' ? { secret: input.secret } : {}),
      certificates: input.certificates ?? [],
      permissions: [...input.permissions],
      extensionProperties: [],
      ...(input.registeredElsewhere ? { registeredElsewhere: true } : {}),
    };
    tenant.apps.push(app);
  } else {
    app.displayName = input.displayName;
    // Credentials merge like the rest: a given secret or certificate list replaces, an omitted one stays.
    if (typeof input.secret === 'string') app.secret = input.secret;
    else if (input.secret === null) delete app.secret;
    if (input.certificates) app.certificates = input.certificates;
    app.permissions = [...input.permissions];
    // Re-seeding (e.g. to grant consent) keeps where the app is registered unless it is given.
    if (input.registeredElsewhere === true) app.registeredElsewhere = true;
    else if (input.registeredElsewhere === false) delete app.registeredElsewhere;
  }
  for (const ext of input.extensionProperties) {
    const exists = app.extensionProperties.some((e) => e.name.toLowerCase().endsWith(`_${ext.name.toLowerCase()}`));
    if (!exists) addExtensionProperty(tenant, app, ext);
  }
  tenant.extIndex = undefined;
  return app;
}

export function applySeed(ctx: EmulatorContext, raw: unknown): SeedResult {
  const parsed = SeedInputZ.safeParse(raw);
  if (!parsed.success) {
    throw new SeedError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const store: EmulatorStore = ctx.store;
  const result: SeedResult = { tenants: [] };
  for (const t of parsed.data.tenants) {
    const tenant = store.ensureTenant(t.id, t.displayName);
    const initial = (t.initialDomain ?? `t${tenant.id.replace(/-/g, '').slice(0, 12)}.onmicrosoft.com`).toLowerCase();
    if (!tenant.domains.some((d) => d.isInitial)) {
      tenant.domains.push({
        id: initial,
        isVerified: true,
        authenticationType: 'Managed',
        isDefault: false,
        isInitial: true,
      });
    }
    for (const d of t.domains) {
      const id = d.id.toLowerCase();
      const existing = tenant.domains.find((x) => x.id === id);
      if (existing) {
        existing.isVerified = d.isVerified;
        existing.authenticationType = d.authenticationType;
      } else {
        tenant.domains.push({
          id,
          isVerified: d.isVerified,
          authenticationType: d.authenticationType,
          isDefault: false,
          isInitial: false,
        });
      }
      if (d.isDefault) for (const x of tenant.domains) x.isDefault = x.id === id;
    }
    if (!tenant.domains.some((d) => d.isDefault)) {
      const preferred =
        tenant.domains.find((d) => d.isVerified && !d.isInitial) ?? tenant.domains.find((d) => d.isInitial);
      if (preferred) preferred.isDefault = true;
    }
    const apps = t.apps.map((a) => addApp(tenant, a));
    const users: SeedResult['tenants'][number]['users'] = [];
    try {
      for (const u of t.users) {
        const { id, manager, ...props } = u;
        const existing =
          (id && tenant.users.get(id.toLowerCase())) ||
          tenant.users.get(tenant.upnIndex.get(u.userPrincipalName.toLowerCase()) ?? '');
        const { changes } = validateUserWrite(props, {
          mode: 'seed',
          tenant,
          permissions: [],
          existing: existing || undefined,
        });
        const user = existing
          ? (applyUserChanges(tenant, existing, changes), existing)
          : insertUser(ctx, tenant, changes as JsonObject, id);
        // Seeded users are "old": replication delay applies only to users created through Graph.
        user.createdAtMs = 0;
        if (manager) {
          const m =
            tenant.users.get(manager.toLowerCase()) ??
            tenant.users.get(tenant.upnIndex.get(manager.toLowerCase()) ?? '');
          if (!m) throw new SeedError(`manager '${manager}' of '${u.userPrincipalName}' is not seeded`);
          user.managerId = m.id;
        }
        users.push({ id: user.id, userPrincipalName: user.props.userPrincipalName as string });
      }
    } catch (e) {
      if (e instanceof GraphError) throw new SeedError(`user rejected: ${e.code}: ${e.message}`);
      throw e;
    }
    result.tenants.push({
      id: tenant.id,
      domains: tenant.domains.map((d) => d.id),
      apps: apps.map((a) => ({
        appId: a.appId,
        objectId: a.objectId,
        extensionProperties: a.extensionProperties.map((e) => ({ id: e.id, name: e.name })),
      })),
      users,
    });
  }
  store.onChange();
  return result;
}

/** Fixed ids for development, so `.data/dev.json` stays stable across restarts. */
export const DEV_TENANT_ID = '8d7a0e6e-3c1b-4f2a-9b5e-2f6c1a4d0e01';
export const DEV_APP_ID = '5bfc8fda-cfc9-43a9-a6de-214ea9d15fdb';
export const DEV_APP_OBJECT_ID = 'c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b';
export const DEV_CLIENT_SECRET = 'emulator-dev-secret~not-for-production';
export const DEV_PERMISSIONS = ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All', 'Directory.Read.All'];

/**
 * One tenant with `domain` verified and one app holding the permissions the worker needs, plus a single-valued
 * String extension `hrId` (Graph name `extension_5bfc8fdacfc943a9a6de214ea9d15fdb_hrId`).
 */
export function defaultDevSeed(opts: { domain: string }): SeedInput {
  return {
    tenants: [
      {
        id: DEV_TENANT_ID,
        displayName: 'Emulated Contoso',
        domains: [{ id: opts.domain, isVerified: true, authenticationType: 'Managed', isDefault: true }],
        apps: [
          {
            appId: DEV_APP_ID,
            objectId: DEV_APP_OBJECT_ID,
            displayName: 'entra-sync (dev)',
            secret: DEV_CLIENT_SECRET,
            permissions: [...DEV_PERMISSIONS],
            extensionProperties: [{ name: 'hrId', dataType: 'String', isMultiValued: false, targetObjects: ['User'] }],
          },
        ],
        users: [],
      },
    ],
  };
}
