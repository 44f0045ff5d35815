import { recordEmployeeChange } from '../../src/db/changes';
import type { Db } from '../../src/db/knex';
import { DEFAULT_MAPPING } from '../../src/graph/mapping';

/** The Entra tenant and app the outbound benchmarks seed into the emulator. */
const BENCH_ENTRA_TENANT = '7a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const BENCH_APP_ID = '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const BENCH_APP_SECRET = 'bench-secret';

/** The emulator seed of that tenant: `domain` verified, the app with the permissions the worker needs. */
export function benchGraphTenant(domain: string) {
  return {
    id: BENCH_ENTRA_TENANT,
    domains: [{ id: domain, isVerified: true }],
    apps: [
      {
        appId: BENCH_APP_ID,
        secret: BENCH_APP_SECRET,
        permissions: ['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All'],
      },
    ],
  };
}

/**
 * Commits `count` employees `<prefix><i>@<domain>` the way the SCIM server does (row + audit + outbox in one
 * transaction), 8 writers at once; returns their ids.
 */
export async function createEmployees(
  db: Db,
  tenantId: string,
  domain: string,
  prefix: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < count; i = next++) {
        ids.push(
          await db.transaction(async (trx) => {
            const userName = `${prefix}${i}@${domain}`;
            const [row] = await trx('employees')
              .insert({ tenant_id: tenantId, user_name: userName, given_name: `Given${i}`, family_name: `Family${i}` })
              .returning('id');
            await recordEmployeeChange(trx, {
              tenantId,
              employeeId: row.id,
              changedAttributes: ['userName', 'givenName', 'familyName'],
              changes: {},
              action: 'created',
              source: 'scim',
            });
            return row.id as string;
          }),
        );
      }
    }),
  );
  return ids;
}

/**
 * HR changes `ids` the way the SCIM server commits a change (row + audit + outbox in one transaction), one commit per
 * employee, 8 writers at once: the HR attributes `changed` get the column values `columns`.
 */
export async function changeEmployees(
  db: Db,
  tenantId: string,
  ids: string[],
  changed: string[],
  columns: Record<string, unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < ids.length; i = next++) {
        await db.transaction((trx) =>
          recordEmployeeChange(
            trx,
            {
              tenantId,
              employeeId: ids[i]!,
              changedAttributes: changed,
              changes: {},
              action: 'updated',
              source: 'scim',
            },
            columns,
          ),
        );
      }
    }),
  );
}

/** Outbound settings of the bench's HR tenant: the bench app at the emulator, the default mapping, switched off. */
export function benchOutboundSettings(emulatorUrl: string) {
  return {
    enabled: false,
    graphTenantId: BENCH_ENTRA_TENANT,
    clientId: BENCH_APP_ID,
    clientSecret: BENCH_APP_SECRET,
    authorityHost: emulatorUrl,
    graphBaseUrl: emulatorUrl,
    mapping: DEFAULT_MAPPING,
  };
}
