import { randomBytes } from 'node:crypto';
import { getGraphConnection, upsertOutboundSettings } from '../../../src/db/outbound-settings';
import { createTenant } from '../../../src/db/tenants';
import { SecretDecryptionError } from '../../../src/crypto/secrets';
import { createGraphConnector } from '../../../src/graph/connector';
import type { EntraDirectory } from '../../../src/graph/directory';
import { runAdminCli } from '../../support/admin-cli';
import { createTestDb, type TestDb } from '../../support/db';

/**
 * Rotating SECRETS_KEY as an operator would: the api and worker get the new key plus the old one as
 * SECRETS_KEY_PREVIOUS (stored credentials keep working), `admin.js rotate-secrets` encrypts them again, and then the
 * new key alone opens them.
 */
describe('SECRETS_KEY rotation', () => {
  let t: TestDb;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const b64 = (k: Buffer) => k.toString('base64');

  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  /** A tenant with a client secret stored under oldKey; `id` fixes the order rotate-secrets meets it in. */
  async function tenantWithSecret(name: string, secret: string, id?: string): Promise<string> {
    const tenant = id
      ? { id: (await t.db('tenants').insert({ id, name }).returning('id'))[0].id as string }
      : await createTenant(t.db, { name });
    await upsertOutboundSettings(
      t.db,
      tenant.id,
      {
        enabled: true,
        graphTenantId: '8d7a0e6e-3c1b-4f2a-9b5e-2f6c1a4d0e01',
        clientId: 'c0ffee00-0000-4000-8000-000000000001',
        clientSecret: secret,
      },
      oldKey,
    );
    return tenant.id;
  }

  it('keeps stored credentials usable with the old key as previous, and rotate-secrets moves them to the new key', async () => {
    const tenantId = await tenantWithSecret('Rotating', 'the-client-secret');
    await expect(getGraphConnection(t.db, tenantId, newKey)).rejects.toBeInstanceOf(SecretDecryptionError);
    expect(await getGraphConnection(t.db, tenantId, newKey, [oldKey])).toMatchObject({
      clientSecret: 'the-client-secret',
    });

    // The worker's connector signs in with the credential it decrypted through the previous key.
    const seen: string[] = [];
    const connector = createGraphConnector({
      db: t.db,
      secretsKey: newKey,
      previousSecretsKeys: [oldKey],
      directoryFactory: (conn) => {
        seen.push(String(conn.clientSecret));
        return {} as EntraDirectory;
      },
    });
    await connector.forTenant(tenantId, undefined);
    expect(seen).toEqual(['the-client-secret']);

    const { code, stdout } = await runAdminCli(t.url, ['rotate-secrets'], {
      SECRETS_KEY: b64(newKey),
      SECRETS_KEY_PREVIOUS: b64(oldKey),
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^encrypted \d+ stored credential\(s\) under SECRETS_KEY$/m);
    expect(await getGraphConnection(t.db, tenantId, newKey)).toMatchObject({ clientSecret: 'the-client-secret' });
    await expect(getGraphConnection(t.db, tenantId, oldKey)).rejects.toBeInstanceOf(SecretDecryptionError);
  }, 60_000);

  it('changes nothing when a stored credential opens with none of the keys (all or nothing)', async () => {
    // A credential the run re-encrypts first (under newKey, given as previous; the lower id), then one it cannot open.
    const rotatable = await tenantWithSecret('Rotatable', 'rotatable-secret', '00000000-0000-4000-8000-000000000001');
    await upsertOutboundSettings(t.db, rotatable, { clientSecret: 'rotatable-secret' }, newKey);
    const tenantId = await tenantWithSecret('Stranger', 'kept', 'ffffffff-ffff-4fff-8fff-ffffffffffff');
    const unrelated = randomBytes(32);
    const result = await runAdminCli(t.url, ['rotate-secrets'], {
      SECRETS_KEY: b64(unrelated),
      SECRETS_KEY_PREVIOUS: b64(newKey),
    });
    expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining(`tenant ${tenantId} opens with neither`) });
    expect(await getGraphConnection(t.db, tenantId, oldKey)).toMatchObject({ clientSecret: 'kept' });
    // The openable one was rolled back too: still under newKey, not under the unrelated key.
    expect(await getGraphConnection(t.db, rotatable, newKey)).toMatchObject({ clientSecret: 'rotatable-secret' });
    await expect(getGraphConnection(t.db, rotatable, unrelated)).rejects.toBeInstanceOf(SecretDecryptionError);
  }, 60_000);
});
