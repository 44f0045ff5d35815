import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ClientSecretCredential } from '@azure/identity';
import { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import {
  defaultDevSeed,
  startGraphEmulator,
  trustCertificateInProcess,
  DEV_APP_ID,
  DEV_CLIENT_SECRET,
  DEV_TENANT_ID,
} from '../../../src/emulator';
import { createHttp } from './http';
import { emulatorTarget, testCertificate, EXT_PREFIX, type GraphTarget } from './target';

/**
 * The real @azure/identity ClientSecretCredential and Graph JS client, unchanged, against the emulator: once in a
 * child process trusting the certificate through NODE_EXTRA_CA_CERTS (as the worker runs), once in the jest
 * process itself (tlsOptions.ca for the credential, trustCertificateInProcess for the Graph client's fetch).
 */

const REPO = path.join(__dirname, '../../..');
let target: GraphTarget;
beforeAll(async () => {
  target = await emulatorTarget();
});
afterAll(() => target.stop());

it('works with ClientSecretCredential + Graph client in a child process started with NODE_EXTRA_CA_CERTS', async () => {
  const cfg = {
    url: target.graphUrl,
    tenantId: target.tenantId,
    clientId: target.full.clientId,
    secret: target.full.secret,
    upn: "ann.o'neil@contoso.com",
    extension: `${EXT_PREFIX}_hrId`,
  };
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(__dirname, 'fixtures/sdk-client.js'), JSON.stringify(cfg)],
    {
      cwd: REPO,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: testCertificate().certPath },
      encoding: 'utf8',
    },
  );
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  expect(out.found).toEqual([{ id: out.createdId, accountEnabled: false, [`${EXT_PREFIX}_hrId`]: 'HR-1' }]);
  expect(out.patch).toBeUndefined();
  expect(out.notFound).toEqual({
    statusCode: 404,
    code: 'Request_ResourceNotFound',
    requestId: expect.any(String),
    hasDate: true,
  });
  expect(out.badDomain).toMatchObject({
    statusCode: 400,
    code: 'Request_BadRequest',
    message: expect.stringMatching(/^The domain portion/),
  });
  expect(out.domains).toContainEqual({ id: 'contoso.com', isVerified: true });
  // What the SDK really sent: discovery, token, then Graph with a bearer token (cut in the log).
  const log = (await target.http('GET', '/_emulator/requests')).text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(log[0].url).toBe(`/${target.tenantId}/v2.0/.well-known/openid-configuration`);
  expect(log[1].url).toMatch(new RegExp(`^/${target.tenantId}/oauth2/v2.0/token`));
  expect(log[2]).toMatchObject({
    method: 'POST',
    url: '/v1.0/users',
    status: 201,
    headers: { authorization: 'Bearer …' },
  });
});

it('works in-process: tlsOptions.ca for the credential, trustCertificateInProcess for the Graph client', async () => {
  const untrust = trustCertificateInProcess(target.ca!);
  try {
    const credential = new ClientSecretCredential(target.tenantId, target.full.clientId, target.full.secret, {
      authorityHost: target.graphUrl,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: target.ca },
    });
    const client = Client.initWithMiddleware({
      authProvider: new TokenCredentialAuthenticationProvider(credential, {
        scopes: ['https://graph.microsoft.com/.default'],
      }),
      baseUrl: target.graphUrl,
      customHosts: new Set(['127.0.0.1', 'localhost']),
    });
    const domains = await client.api('/domains').get();
    expect(domains.value.map((d: { id: string }) => d.id)).toContain('contoso.com');
    const err = await client
      .api('/users/nobody@contoso.com')
      .get()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    expect(err).toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
  } finally {
    untrust();
  }
});

it("rejects a wrong client secret with the identity platform's error, surfaced by ClientSecretCredential", async () => {
  const credential = new ClientSecretCredential(target.tenantId, target.full.clientId, 'wrong', {
    authorityHost: target.graphUrl,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: target.ca },
  });
  await expect(credential.getToken('https://graph.microsoft.com/.default')).rejects.toThrow(/AADSTS7000215/);
});

describe('defaultDevSeed and snapshots', () => {
  it('seeds one tenant whose app gets a token with the permissions the worker needs and an hrId extension', async () => {
    const tls = testCertificate();
    const emu = await startGraphEmulator({ port: 0, tls });
    try {
      const result = emu.seed(defaultDevSeed({ domain: 'hr.example' }));
      expect(result.tenants[0]!.id).toBe(DEV_TENANT_ID);
      expect(result.tenants[0]!.domains).toContain('hr.example');
      expect(result.tenants[0]!.apps[0]!.extensionProperties.map((e) => e.name)).toEqual([
        `extension_${DEV_APP_ID.replace(/-/g, '')}_hrId`,
      ]);
      const http = createHttp(emu.url, tls.cert);
      const tok = await http('POST', `/${DEV_TENANT_ID}/oauth2/v2.0/token`, {
        form: {
          grant_type: 'client_credentials',
          client_id: DEV_APP_ID,
          client_secret: DEV_CLIENT_SECRET,
          scope: 'https://graph.microsoft.com/.default',
        },
      });
      const claims = JSON.parse(
        Buffer.from((tok.json.access_token as string).split('.')[1]!, 'base64url').toString('utf8'),
      );
      expect(claims).toMatchObject({
        tid: DEV_TENANT_ID,
        appid: DEV_APP_ID,
        azp: DEV_APP_ID,
        aud: 'https://graph.microsoft.com',
      });
      expect(claims.roles).toEqual(
        expect.arrayContaining(['User.ReadWrite.All', 'Domain.Read.All', 'Application.Read.All']),
      );
      const domains = await http('GET', '/v1.0/domains', {
        headers: { Authorization: `Bearer ${tok.json.access_token}` },
      });
      expect(domains.json.value.find((d: { id: string }) => d.id === 'hr.example')).toMatchObject({
        isVerified: true,
        isDefault: true,
      });
    } finally {
      await emu.stop();
    }
  });

  it('persists users and the token key in the snapshot file across a restart', async () => {
    const tls = testCertificate();
    const snapshotPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-snap-')), 'state.json');
    const first = await startGraphEmulator({ port: 0, tls, snapshotPath });
    first.seed(defaultDevSeed({ domain: 'hr.example' }));
    let http = createHttp(first.url, tls.cert);
    const tok = (
      await http('POST', `/${DEV_TENANT_ID}/oauth2/v2.0/token`, {
        form: {
          grant_type: 'client_credentials',
          client_id: DEV_APP_ID,
          client_secret: DEV_CLIENT_SECRET,
          scope: 'https://graph.microsoft.com/.default',
        },
      })
    ).json.access_token as string;
    const auth = { Authorization: `Bearer ${tok}` };
    const created = await http('POST', '/v1.0/users', {
      headers: auth,
      body: {
        accountEnabled: true,
        displayName: 'Kept',
        mailNickname: 'kept',
        userPrincipalName: 'kept@hr.example',
        passwordProfile: { password: 'kT9#mQ2vLp!x' },
      },
    });
    expect(created.status).toBe(201);
    await first.stop();
    expect(fs.readFileSync(snapshotPath, 'utf8')).not.toContain('kT9#mQ2vLp!x');
    const second = await startGraphEmulator({ port: 0, tls, snapshotPath });
    try {
      http = createHttp(second.url, tls.cert);
      const res = await http('GET', '/v1.0/users/kept@hr.example?$select=id', { headers: auth });
      expect(res.status).toBe(200);
      expect(res.json.id).toBe(created.json.id);
    } finally {
      await second.stop();
    }
  });
});
