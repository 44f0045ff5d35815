import { countGraphRequests, createGraphClient, graphOrigin } from '../../../src/graph/client';
import { GraphDirectory } from '../../../src/graph/directory';
import { classifyGraphError } from '../../../src/graph/errors';
import { testGraphConnection } from '../../../src/graph/test-connection';
import { WriteBudget, type WriteKind } from '../../../src/graph/write-budget';
import { ProvisioningError } from '../../../src/graph/errors';
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

  it('takes a write-budget token for each write, of the kind of its scope, and counts requests per scope', async () => {
    const taken: WriteKind[] = [];
    const budget = { take: async (kind: WriteKind) => (taken.push(kind), 0) } as unknown as WriteBudget;
    const dir = new GraphDirectory(
      createGraphClient(conn(), { budget, extraCaPem: em.ca }),
      graphOrigin(conn().graphBaseUrl),
    );
    let created: string | undefined;
    const { tally } = await countGraphRequests(async () => {
      await dir.verifiedDomains();
      await dir.extensionDefinitions([APP_ID]); // a read: no write budget
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
      created = u.id;
    });
    expect(tally).toEqual({ requests: 4, writes: 2, writeKind: 'change' });
    expect(taken).toEqual(['change', 'change']);
    const bulk = await countGraphRequests(() => dir.updateUser(created!, { jobTitle: 'Bulk' }), 'bulk');
    expect(bulk.tally).toEqual({ requests: 1, writes: 1, writeKind: 'bulk' });
    expect(taken).toEqual(['change', 'change', 'bulk']);
  });

  it("gives up a write's wait for the budget at the scope's deadline, retryably, without sending the write", async () => {
    const budget = new WriteBudget({ capacity: 1, windowMs: 60_000 });
    const dir = new GraphDirectory(
      createGraphClient(conn(), { budget, extraCaPem: em.ca }),
      graphOrigin(conn().graphBaseUrl),
    );
    const created = await dir.createUser({
      accountEnabled: false,
      displayName: 'Deadline Test',
      givenName: 'Deadline',
      surname: 'Test',
      mailNickname: 'deadline.test',
      userPrincipalName: `deadline.test@${VERIFIED}`,
      passwordProfile: { forceChangePasswordNextSignIn: true, password: 'kT9#mQ2vLp!x' },
    }); // the window's only write
    const started = Date.now();
    const waited = countGraphRequests(
      () => dir.updateUser(created.id, { jobTitle: 'Too late' }),
      'change',
      undefined,
      Date.now() + 300,
    );
    await expect(waited).rejects.toBeInstanceOf(ProvisioningError);
    await expect(waited).rejects.toMatchObject({
      type: 'GraphThrottled',
      info: { retryable: true, retryAfterMs: 1000 },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await em.users()).find((u) => u.id === created.id)?.jobTitle ?? null).toBeNull();
  });

  it('tells a tenant id the identity platform does not know (a typo to fix) from an unreachable authority (an outage)', async () => {
    const failure = async (c: ReturnType<typeof conn>) =>
      new GraphDirectory(createGraphClient(c, { extraCaPem: em.ca }), graphOrigin(c.graphBaseUrl))
        .verifiedDomains()
        .then(
          () => undefined,
          (e: unknown) => classifyGraphError(e, 'domains'),
        );
    const unknownTenant = { ...conn(), graphTenantId: '11111111-2222-4333-8444-555555555555' };
    expect(await failure(unknownTenant)).toMatchObject({
      type: 'InvalidCredentials',
      retryable: false,
      message: expect.stringMatching(/does not know the Entra tenant.*Fix: set graphTenantId/),
    });
    const tested = await testGraphConnection(unknownTenant, { extraCaPem: em.ca });
    expect(tested.checks).toEqual([
      { name: 'token', ok: false, detail: expect.stringMatching(/does not know the Entra tenant/) },
    ]);

    const closedPort = { ...conn(), authorityHost: 'https://127.0.0.1:1' };
    expect(await failure(closedPort)).toMatchObject({ type: 'GraphUnavailable', retryable: true });
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
