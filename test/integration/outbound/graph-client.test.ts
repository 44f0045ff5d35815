import { countGraphRequests, createGraphClient, graphOrigin } from '../../../src/graph/client';
import { GraphDirectory } from '../../../src/graph/directory';
import { classifyGraphError } from '../../../src/graph/errors';
import type { WriteBudget } from '../../../src/graph/write-budget';
import { APP_ID, APP_SECRET, ENTRA_TENANT, startTestEmulator, VERIFIED, type TestEmulator } from './support';

/** The production Graph client (ClientSecretCredential + Graph SDK + our middleware) against the emulator. */
describe('Graph client', () => {
  let em: TestEmulator;
  beforeAll(async () => {
    em = await startTestEmulator();
  });
  afterAll(() => em?.stop());

  const conn = () => ({
    graphTenantId: ENTRA_TENANT,
    clientId: APP_ID,
    clientSecret: APP_SECRET,
    authorityHost: em.url,
    graphBaseUrl: `${em.url}/v1.0`,
  });

  it('takes a write-budget token for each write and counts requests per scope', async () => {
    let taken = 0;
    const budget = { take: async () => (taken++, 0) } as unknown as WriteBudget;
    const dir = new GraphDirectory(
      createGraphClient(conn(), { budget, extraCaPem: em.ca }),
      graphOrigin(conn().graphBaseUrl),
    );
    const { tally } = await countGraphRequests(async () => {
      await dir.verifiedDomains();
      await dir.extensionDefinitions(); // a POST, but a read: no write budget
      const u = await dir.createUser({
        accountEnabled: false,
        displayName: 'Budget Test',
        givenName: 'Budget',
        surname: 'Test',
        mailNickname: 'budget.test',
        userPrincipalName: `budget.test@${VERIFIED}`,
        passwordProfile: { forceChangePasswordNextSignIn: true, password: 'kT9#mQ2vLp!x' },
      });
      await dir.updateUser(u.id, { jobTitle: 'Tester' });
    });
    expect(tally).toEqual({ requests: 4, writes: 2 });
    expect(taken).toBe(2);
  });

  it('trusts the emulator only through the configured CA (no process-wide trust is assumed)', async () => {
    const dir = new GraphDirectory(createGraphClient(conn()), graphOrigin(conn().graphBaseUrl));
    const err = await dir.verifiedDomains().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyGraphError(err, 'domains')).toMatchObject({ type: 'GraphUnavailable', retryable: true });
  });
});
