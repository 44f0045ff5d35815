import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { recordEmployeeChange } from '../../../src/db/changes';
import type { Db } from '../../../src/db/knex';
import { upsertOutboundSettings, type OutboundSettingsPatch } from '../../../src/db/outbound-settings';
import {
  ensureEmulatorCertificate,
  startGraphEmulator,
  type RunningGraphEmulator,
  type ThrottleLimits,
} from '../../../src/emulator';
import { DEFAULT_MAPPING } from '../../../src/graph/mapping';

/** Shared by the outbound integration and e2e tests: an emulator seeded with one Entra tenant, and HR helpers. */
export const ENTRA_TENANT = '0e5a1c2b-3d4e-4f50-8a6b-7c8d9e0f1a2b';
export const APP_ID = '5bfc8fda-cfc9-43a9-a6de-214ea9d15fdb';
export const APP_SECRET = 'app-secret-for-tests';
export const NOPERM_APP_ID = '6c0d9e8f-1a2b-4c3d-8e4f-5a6b7c8d9e0f';
/** Also granted User-LifeCycleInfo.ReadWrite.All, which writing employeeLeaveDateTime needs. */
export const LIFECYCLE_APP_ID = '7d1e0f9a-2b3c-4d5e-9f6a-6b7c8d9e0f1a';
/** A multi-tenant app registered in another tenant and consented here, with an extension property `costCenter`. */
export const ISV_APP_ID = '9f3a2b1c-4d5e-4f6a-9b7c-8d9e0f1a2b3c';
export const EXT = `extension_${APP_ID.replace(/-/g, '')}`;
export const VERIFIED = 'contoso.test';
export const UNVERIFIED = 'fabrikam.test';

export interface TestEmulator {
  emulator: RunningGraphEmulator;
  url: string;
  ca: string;
  operator(method: string, p: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }>;
  /** The emulator's users of our tenant. */
  users(): Promise<Array<Record<string, unknown>>>;
  /** Graph requests answered, without the identity endpoints. */
  requests(): Promise<
    Array<{ method: string; url: string; headers: Record<string, string>; body: unknown; status: number }>
  >;
  stop(): Promise<void>;
}

let certDir: string | undefined;
export function emulatorCertificate() {
  certDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'outbound-emulator-cert-'));
  return ensureEmulatorCertificate(certDir);
}

/** `throttling`: off by default; `true` for Graph's limits, or some limits scaled down for a test. */
export async function startTestEmulator(
  opts: { throttling?: boolean | Partial<ThrottleLimits> } = {},
): Promise<TestEmulator> {
  const tls = emulatorCertificate();
  const emulator = await startGraphEmulator({ port: 0, tls, throttling: opts.throttling ?? false });
  emulator.seed({
    tenants: [
      {
        id: ENTRA_TENANT,
        displayName: 'Contoso (test)',
        domains: [
          { id: VERIFIED, isVerified: true, isDefault: true },
          { id: UNVERIFIED, isVerified: false },
        ],
        apps: [
          {
            appId: APP_ID,
            secret: APP_SECRET,
            permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
            extensionProperties: [
              { name: 'hrId', dataType: 'String', isMultiValued: false },
              { name: 'hrManagerId', dataType: 'String', isMultiValued: false },
              { name: 'skills', dataType: 'String', isMultiValued: true },
              // Registered for groups only: users cannot hold it.
              { name: 'teamCode', dataType: 'String', isMultiValued: false, targetObjects: ['Group'] },
            ],
          },
          { appId: NOPERM_APP_ID, secret: APP_SECRET, permissions: [] },
          {
            appId: ISV_APP_ID,
            secret: APP_SECRET,
            permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
            registeredElsewhere: true,
            extensionProperties: [{ name: 'costCenter', dataType: 'String', isMultiValued: false }],
          },
          {
            appId: LIFECYCLE_APP_ID,
            secret: APP_SECRET,
            permissions: [
              'User.ReadWrite.All',
              'Domain.Read.All',
              'Application.Read.All',
              'User-LifeCycleInfo.ReadWrite.All',
            ],
          },
        ],
      },
    ],
  });
  const agent = new https.Agent({ keepAlive: true, ca: tls.cert });
  const operator = (method: string, p: string, body?: unknown) =>
    new Promise<{ status: number; body: unknown; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        `${emulator.url}${p}`,
        { method, agent, headers: payload ? { 'content-type': 'application/json' } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return {
    emulator,
    url: emulator.url,
    ca: tls.cert,
    operator,
    async users() {
      const r = await operator('GET', `/_emulator/users?tenantId=${ENTRA_TENANT}`);
      return (r.body as { value: Array<Record<string, unknown>> }).value;
    },
    async requests() {
      const r = await operator('GET', '/_emulator/requests');
      return r.text
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              method: string;
              url: string;
              headers: Record<string, string>;
              body: unknown;
              status: number;
            },
        )
        .filter((e) => e.url.includes('/v1.0/'));
    },
    async stop() {
      agent.destroy();
      await emulator.stop();
    },
  };
}

export const testSecretsKey = (): Buffer => randomBytes(32);

/** Outbound settings' connection to the emulator's Entra tenant and app, switched on. */
export function emulatorConnection(em: Pick<TestEmulator, 'url'>) {
  return {
    enabled: true,
    graphTenantId: ENTRA_TENANT,
    clientId: APP_ID,
    clientSecret: APP_SECRET,
    authorityHost: em.url,
    graphBaseUrl: em.url,
  };
}

/** A tenant with outbound settings pointing at the emulator (on, default mapping plus the HR id extension). */
export async function createOutboundTenant(
  db: Db,
  em: Pick<TestEmulator, 'url'>,
  secretsKey: Buffer,
  patch: OutboundSettingsPatch = {},
): Promise<string> {
  const [tenant] = await db('tenants')
    .insert({ name: `Acme ${randomBytes(3).toString('hex')}` })
    .returning('id');
  await upsertOutboundSettings(
    db,
    tenant.id,
    {
      ...emulatorConnection(em),
      mapping: [
        ...DEFAULT_MAPPING,
        { source: 'id', target: `${EXT}_hrId` },
        { source: 'managerId', target: `${EXT}_hrManagerId` },
      ],
      setManager: true,
      ...patch,
    },
    secretsKey,
  );
  return tenant.id as string;
}

export interface EmployeeFields {
  user_name: string;
  given_name?: string | null;
  family_name?: string | null;
  job_title?: string | null;
  department?: string | null;
  location?: string | null;
  employee_number?: string | null;
  lifecycle_status?: string;
  start_date?: string | null;
  end_date?: string | null;
  manager_id?: string | null;
  custom_attributes?: Record<string, unknown>;
}

/** Inserts an employee the way every HR writer does: row + version + audit + outbox in one transaction. */
export async function createEmployee(
  db: Db,
  tenantId: string,
  fields: EmployeeFields,
): Promise<{ id: string; version: number }> {
  return db.transaction(async (trx) => {
    const [row] = await trx('employees')
      .insert({
        tenant_id: tenantId,
        given_name: 'Jane',
        family_name: 'Doe',
        lifecycle_status: 'active',
        ...fields,
        custom_attributes: JSON.stringify(fields.custom_attributes ?? {}),
        version: 0,
      })
      .returning('id');
    const version = await recordEmployeeChange(trx, {
      tenantId,
      employeeId: row.id,
      changedAttributes: Object.keys(fields).map(camel),
      changes: {},
      action: 'created',
      source: 'scim',
    });
    return { id: row.id as string, version };
  });
}

export async function updateEmployee(
  db: Db,
  tenantId: string,
  id: string,
  fields: Partial<EmployeeFields>,
): Promise<number> {
  return db.transaction(async (trx) => {
    await trx('employees')
      .where({ tenant_id: tenantId, id })
      .update({
        ...fields,
        ...(fields.custom_attributes ? { custom_attributes: JSON.stringify(fields.custom_attributes) } : {}),
      });
    return recordEmployeeChange(trx, {
      tenantId,
      employeeId: id,
      changedAttributes: Object.keys(fields).map(camel),
      changes: {},
      action: 'updated',
      source: 'scim',
    });
  });
}

/** Column → HR attribute name as outbox rows carry it. */
function camel(column: string): string {
  if (column === 'family_name') return 'familyName';
  if (column === 'custom_attributes') return 'customAttributes';
  return column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}
