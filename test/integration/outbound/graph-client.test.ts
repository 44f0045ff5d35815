import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { countGraphRequests, createGraphClient, graphOrigin } from '../../../src/graph/client';
import { ensureEmulatorCertificate } from '../../../src/emulator/certificate';
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
    // The last answer (the PATCH's 204) is kept with its request-id, to name an answer that is not understood.
    expect(tally).toEqual({
      requests: 4,
      writes: 2,
      writeKind: 'change',
      lastAnswer: { status: 204, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    expect(taken).toEqual(['change', 'change']);
    const bulk = await countGraphRequests(() => dir.updateUser(created!, { jobTitle: 'Bulk' }), 'bulk');
    expect(bulk.tally).toMatchObject({ requests: 1, writes: 1, writeKind: 'bulk' });
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

  it('blocks on an answer of another shape than Graph documents, naming the call, the mismatch and the request-id', async () => {
    // A stand-in that answers every call 200 with a body of the wrong shape (the emulator answers as Graph does).
    const { cert, key } = ensureEmulatorCertificate(path.join(os.tmpdir(), 'entra-sync-test-odd-graph'));
    const answers: Record<string, unknown> = {
      GET: { value: 'not a list' },
      POST: { displayName: 'no id here' },
    };
    const server = https.createServer({ cert, key }, (req, res) => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json', 'request-id': 'req-0dd' });
      res.end(JSON.stringify(answers[req.method ?? 'GET'] ?? {}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const credential = {
        getToken: async () => ({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
      };
      const client = createGraphClient(
        { ...conn(), authorityHost: base, graphBaseUrl: `${base}/v1.0` },
        { extraCaPem: cert, credential },
      );
      const dir = new GraphDirectory(client, base);
      const failureOf = (fn: () => Promise<unknown>) =>
        countGraphRequests(fn).then(
          () => undefined,
          (e: unknown) => e,
        );

      const lookup = await failureOf(() => dir.findUserByUpn(`odd@${VERIFIED}`, ['id']));
      expect(lookup).toBeInstanceOf(ProvisioningError);
      expect(lookup).toMatchObject({
        type: 'UnknownGraphError',
        retryable: false,
        info: { status: 200, requestId: 'req-0dd' },
        message: expect.stringMatching(/HTTP 200.*request-id req-0dd.*read users.*value: /),
      });
      const created = await failureOf(() => dir.createUser({ displayName: 'Odd' }));
      expect(created).toMatchObject({
        type: 'UnknownGraphError',
        retryable: false,
        message: expect.stringMatching(/HTTP 201.*request-id req-0dd.*create users.*id: /),
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
