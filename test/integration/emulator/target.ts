import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  ensureEmulatorCertificate,
  startGraphEmulator,
  type RunningGraphEmulator,
  type SeedInput,
} from '../../../src/emulator';
import { createHttp, type HttpOptions, type HttpResult } from './http';

/**
 * Where the behavioural suite sends its requests: a fresh in-process emulator (default), or a real tenant when
 * GRAPH_TEST_BASE_URL and friends are set (docs/graph-emulator.md, "Checking the emulator against real Graph").
 */
export interface GraphTarget {
  kind: 'emulator' | 'real';
  /** https://host (no /v1.0) */
  graphUrl: string;
  authorityHost: string;
  tenantId: string;
  /** Client with User.ReadWrite.All, Domain.Read.All, Application.Read.All. */
  full: { clientId: string; secret: string; applicationObjectId: string };
  /** Client with only User.Read.All (optional on real Graph). */
  readOnly?: { clientId: string; secret: string };
  /** Client with no Graph permission at all (optional on real Graph). */
  none?: { clientId: string; secret: string };
  verifiedDomain: string;
  /** A domain added to the tenant but not verified (optional on real Graph). */
  unverifiedDomain?: string;
  /** Full name of a single-valued String extension registered for User. */
  singleExtension: string;
  /** Full name of a multi-valued String extension (optional on real Graph). */
  multiExtension?: string;
  ca?: string;
  emulator?: RunningGraphEmulator;
  http: (method: string, path: string, opts?: HttpOptions) => Promise<HttpResult>;
  stop(): Promise<void>;
}

export const FULL_APP_ID = '11111111-2222-4333-8444-555555555555';
export const READ_APP_ID = '22222222-3333-4444-8555-666666666666';
export const NONE_APP_ID = '33333333-4444-4555-8666-777777777777';
export const TENANT_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
export const OTHER_TENANT_ID = 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff';
export const APP_OBJECT_ID = 'cccccccc-dddd-4eee-8fff-000000000000';
export const EXT_PREFIX = `extension_${FULL_APP_ID.replace(/-/g, '')}`;

/** The properties Graph returns for a user without `$select` (graph.md), stated here independently of the emulator. */
export const DEFAULT_SET = [
  'businessPhones',
  'displayName',
  'givenName',
  'id',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
];

export function standardSeed(): SeedInput {
  return {
    tenants: [
      {
        id: TENANT_ID,
        displayName: 'Contoso',
        domains: [
          { id: 'contoso.com', isVerified: true, isDefault: true },
          { id: 'fabrikam.com', isVerified: false },
          { id: 'fed.contoso.com', isVerified: true, authenticationType: 'Federated' },
        ],
        apps: [
          {
            appId: FULL_APP_ID,
            objectId: APP_OBJECT_ID,
            displayName: 'entra-sync test',
            secret: 'full-secret',
            permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
            extensionProperties: [
              { name: 'hrId', dataType: 'String', isMultiValued: false, targetObjects: ['User'] },
              { name: 'skills', dataType: 'String', isMultiValued: true, targetObjects: ['User'] },
              { name: 'level', dataType: 'Integer', isMultiValued: false, targetObjects: ['User'] },
              { name: 'groupOnly', dataType: 'String', isMultiValued: false, targetObjects: ['Group'] },
            ],
          },
          { appId: READ_APP_ID, displayName: 'reader', secret: 'read-secret', permissions: ['User.Read.All'] },
          { appId: NONE_APP_ID, displayName: 'nothing', secret: 'none-secret', permissions: [] },
        ],
      },
      {
        id: OTHER_TENANT_ID,
        displayName: 'Other',
        domains: [{ id: 'other.example', isVerified: true }],
        apps: [
          {
            appId: FULL_APP_ID,
            displayName: 'entra-sync test',
            secret: 'other-secret',
            permissions: ['User.ReadWrite.All'],
          },
        ],
      },
    ],
  };
}

let certDir: string | undefined;
/** One certificate per test file (generation takes a moment). */
export function testCertificate(): { cert: string; key: string; certPath: string } {
  certDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-cert-'));
  return ensureEmulatorCertificate(certDir);
}

export async function emulatorTarget(opts: { throttling?: boolean; logRequests?: boolean } = {}): Promise<GraphTarget> {
  const tls = testCertificate();
  const emulator = await startGraphEmulator({
    port: 0,
    tls,
    throttling: opts.throttling ?? false,
    logRequests: opts.logRequests ?? true,
  });
  emulator.seed(standardSeed());
  return {
    kind: 'emulator',
    graphUrl: emulator.url,
    authorityHost: emulator.url,
    tenantId: TENANT_ID,
    full: { clientId: FULL_APP_ID, secret: 'full-secret', applicationObjectId: APP_OBJECT_ID },
    readOnly: { clientId: READ_APP_ID, secret: 'read-secret' },
    none: { clientId: NONE_APP_ID, secret: 'none-secret' },
    verifiedDomain: 'contoso.com',
    unverifiedDomain: 'fabrikam.com',
    singleExtension: `${EXT_PREFIX}_hrId`,
    multiExtension: `${EXT_PREFIX}_skills`,
    ca: tls.cert,
    emulator,
    http: createHttp(emulator.url, tls.cert),
    stop: () => emulator.stop(),
  };
}

function realTarget(env: NodeJS.ProcessEnv): GraphTarget {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${name} must be set when GRAPH_TEST_BASE_URL is set`);
    return v;
  };
  const graphUrl = need('GRAPH_TEST_BASE_URL')
    .replace(/\/+$/, '')
    .replace(/\/v1\.0$/, '');
  const pair = (prefix: string): { clientId: string; secret: string } | undefined =>
    env[`${prefix}_CLIENT_ID`] && env[`${prefix}_CLIENT_SECRET`]
      ? { clientId: env[`${prefix}_CLIENT_ID`]!, secret: env[`${prefix}_CLIENT_SECRET`]! }
      : undefined;
  return {
    kind: 'real',
    graphUrl,
    authorityHost: (env.GRAPH_TEST_AUTHORITY_HOST ?? 'https://login.microsoftonline.com').replace(/\/+$/, ''),
    tenantId: need('GRAPH_TEST_TENANT_ID'),
    full: {
      clientId: need('GRAPH_TEST_CLIENT_ID'),
      secret: need('GRAPH_TEST_CLIENT_SECRET'),
      applicationObjectId: need('GRAPH_TEST_APPLICATION_OBJECT_ID'),
    },
    readOnly: pair('GRAPH_TEST_READONLY'),
    none: pair('GRAPH_TEST_NOPERM'),
    verifiedDomain: need('GRAPH_TEST_VERIFIED_DOMAIN'),
    unverifiedDomain: env.GRAPH_TEST_UNVERIFIED_DOMAIN,
    singleExtension: need('GRAPH_TEST_SINGLE_EXTENSION'),
    multiExtension: env.GRAPH_TEST_MULTI_EXTENSION,
    http: createHttp(graphUrl, undefined),
    stop: async () => undefined,
  };
}

/** The behavioural suite's target: real Graph when configured, else an emulator. */
export function behaviouralTarget(): Promise<GraphTarget> {
  return process.env.GRAPH_TEST_BASE_URL ? Promise.resolve(realTarget(process.env)) : emulatorTarget();
}

const tokenCache = new Map<string, string>();
/** Client-credentials token from the target's token endpoint. */
export async function tokenFor(
  target: GraphTarget,
  client: { clientId: string; secret: string },
  tenantId = target.tenantId,
): Promise<string> {
  const key = `${target.graphUrl}|${tenantId}|${client.clientId}|${client.secret}`;
  const cached = tokenCache.get(key);
  if (cached) return cached;
  const http = target.kind === 'emulator' ? target.http : createHttp(target.authorityHost, undefined);
  const res = await http('POST', `${target.kind === 'emulator' ? '' : ''}/${tenantId}/oauth2/v2.0/token`, {
    form: {
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.secret,
      scope: 'https://graph.microsoft.com/.default',
    },
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  tokenCache.set(key, res.json.access_token as string);
  return res.json.access_token as string;
}

/** A UPN local part nobody else uses. */
export const uniqueLocal = (prefix = 'es'): string => `${prefix}.${randomUUID().slice(0, 8)}`;
