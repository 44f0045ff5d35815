import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/knex';
import { UUID } from '../api/admin/auth';
import { reencryptSecrets } from '../db/outbound-settings';
import { createTenant, listTenants } from '../db/tenants';
import { issueToken, listPlatformTokens, revokePlatformToken } from '../db/tokens';

const USAGE = `usage: node dist/src/bin/admin.js <command>
  bootstrap                  issue a platform admin token (shown once)
  create-tenant <name>       create a tenant with a SCIM token and a tenant admin token (shown once)
  list-tenants               list tenants
  list-platform-tokens       list platform admin tokens (id, name, prefix, created, last used, revoked)
  revoke-platform-token <id> revoke a platform admin token at once
  rotate-secrets             encrypt every stored Graph credential again under SECRETS_KEY, reading it with
                             SECRETS_KEY or SECRETS_KEY_PREVIOUS (then SECRETS_KEY_PREVIOUS can go)`;

/**
 * Operator CLI for a self-hosted install: the first admin token has to come from somewhere that is not the admin
 * API itself. Talks to DATABASE_URL directly.
 */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  if (!config.DATABASE_URL) {
    console.error('DATABASE_URL is not set');
    return 2;
  }
  const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
  try {
    await migrateLatest(db);
    switch (command) {
      case 'bootstrap': {
        const { token } = await issueToken(db, { tenantId: null, kind: 'admin', name: 'bootstrap (CLI)' });
        console.log(JSON.stringify({ platformAdminToken: token }, null, 2));
        return 0;
      }
      case 'create-tenant': {
        const name = args.join(' ').trim();
        if (!name) {
          console.error('create-tenant needs a name');
          return 2;
        }
        const tenant = await createTenant(db, { name });
        const scim = await issueToken(db, { tenantId: tenant.id, kind: 'scim', name: 'created by CLI' });
        const admin = await issueToken(db, { tenantId: tenant.id, kind: 'admin', name: 'created by CLI' });
        console.log(JSON.stringify({ tenantId: tenant.id, scimToken: scim.token, adminToken: admin.token }, null, 2));
        return 0;
      }
      case 'list-tenants': {
        for (const t of await listTenants(db)) console.log(`${t.id}  ${t.name}`);
        return 0;
      }
      case 'list-platform-tokens': {
        for (const t of await listPlatformTokens(db)) console.log(JSON.stringify(t));
        return 0;
      }
      case 'revoke-platform-token': {
        const id = args[0] ?? '';
        if (!UUID.test(id)) {
          console.error('revoke-platform-token needs the token id (a UUID, from list-platform-tokens)');
          return 2;
        }
        if (!(await revokePlatformToken(db, id.toLowerCase()))) {
          console.error(`no platform admin token ${id}`);
          return 1;
        }
        console.log(`revoked ${id}`);
        return 0;
      }
      case 'rotate-secrets': {
        if (!config.SECRETS_KEY) {
          console.error('SECRETS_KEY is not set');
          return 2;
        }
        const count = await reencryptSecrets(
          db,
          Buffer.from(config.SECRETS_KEY, 'base64'),
          config.SECRETS_KEY_PREVIOUS,
        );
        console.log(`encrypted ${count} stored credential(s) under SECRETS_KEY`);
        return 0;
      }
      default:
        console.error(`unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
