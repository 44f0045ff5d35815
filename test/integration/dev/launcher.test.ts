import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../../../src/config';
import { ensureDefaultTenant } from '../../../src/dev/default-tenant';
import { startTemporalDevServer, type TemporalDevServer } from '../../../src/dev/temporal-dev-server';
import { findActiveToken, revokeToken } from '../../../src/db/tokens';
import { createTestDb, type TestDb } from '../../support/db';
import { freePort } from '../../support/ports';

describe('make start pieces', () => {
  describe('default tenant', () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await createTestDb();
    });
    afterAll(() => t.drop());

    it('creates a tenant with working SCIM and platform admin tokens on first start', async () => {
      const creds = await ensureDefaultTenant(t.db, undefined);
      expect((await findActiveToken(t.db, 'scim', creds.scimToken))?.tenantId).toBe(creds.tenantId);
      expect((await findActiveToken(t.db, 'admin', creds.adminToken))?.tenantId).toBeNull();
    });

    it('keeps tenant and tokens on a second start, and replaces a token revoked in between', async () => {
      const first = await ensureDefaultTenant(t.db, undefined);
      const second = await ensureDefaultTenant(t.db, first);
      expect(second).toEqual(first);
      const scim = await findActiveToken(t.db, 'scim', first.scimToken);
      await revokeToken(t.db, first.tenantId, scim!.id);
      const third = await ensureDefaultTenant(t.db, first);
      expect(third.tenantId).toBe(first.tenantId);
      expect(third.scimToken).not.toBe(first.scimToken);
      expect(third.adminToken).toBe(first.adminToken);
    });
  });

  describe('Temporal dev server', () => {
    it('serves the frontend and the Web UI, registers the search attributes, and keeps state in its folder', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-temporal-'));
      // Probed ports can be taken by a parallel test file before the server binds them: try fresh ones.
      const start = async (attempt: number): Promise<TemporalDevServer> => {
        try {
          return await startTemporalDevServer({
            cliPath: loadConfig().TEMPORAL_CLI_PATH,
            dataDir,
            host: '127.0.0.1',
            port: await freePort(),
            uiPort: await freePort(),
            namespace: 'default',
          });
        } catch (err) {
          if (attempt >= 3) throw err;
          return start(attempt + 1);
        }
      };
      const server = await start(1);
      try {
        const connection = await Connection.connect({ address: server.address });
        const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        expect(Object.keys(attrs.customAttributes ?? {})).toEqual(
          expect.arrayContaining(['ProvisioningState', 'TenantId']),
        );
        await connection.close();
        const ui = await fetch(server.uiUrl);
        expect(ui.status).toBe(200);
        expect(fs.existsSync(path.join(dataDir, 'temporal.sqlite'))).toBe(true);
      } finally {
        await server.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
