import { constants, createHash, createHmac, randomUUID, sign, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientCertificateCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { startGraphEmulator, trustCertificateInProcess, type SeedApp } from '../../../src/emulator';
import { makeAppCertificate, type AppCertificate } from '../../support/app-certificates';
import { createHttp, type HttpResult } from './http';
import { emulatorTarget, testCertificate, FULL_APP_ID, TENANT_ID, type GraphTarget } from './target';

/**
 * Certificate credentials (`private_key_jwt`) at the emulator's token endpoint: the real ClientCertificateCredential
 * signs in, and hand-made assertions get Entra's AADSTS answer for each thing Entra checks.
 */

const CERT_APP_ID = '44444444-5555-4666-8777-888888888888';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let target: GraphTarget;
/** Registered on the app and valid. */
let good: AppCertificate;
/** Registered on the app, but its validity ended yesterday. */
let expired: AppCertificate;
/** Registered on the app, but valid only from tomorrow. */
let future: AppCertificate;
/** Not registered anywhere. */
let stranger: AppCertificate;

const der = (c: AppCertificate): Buffer => new X509Certificate(c.certPem).raw;
const x5tS256 = (c: AppCertificate): string => createHash('sha256').update(der(c)).digest('base64url');
const x5t = (c: AppCertificate): string => createHash('sha1').update(der(c)).digest('base64url');
const sha256Hex = (c: AppCertificate): string => createHash('sha256').update(der(c)).digest('hex').toUpperCase();
const b64json = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = (): number => Math.floor(Date.now() / 1000);
const tokenEndpoint = (tenant = TENANT_ID): string => `${target.graphUrl}/${tenant}/oauth2/v2.0/token`;

interface AssertionOptions {
  /** The key that signs (default: good's). */
  keyPem?: string;
  alg?: string;
  /** Replaces the default header (alg PS256 + good's x5t#S256) entirely. */
  header?: Record<string, unknown>;
  /** Merged over the default claims; `undefined` values remove a claim. */
  claims?: Record<string, unknown>;
}

/** A client assertion as MSAL makes one (PS256, x5t#S256, iss = sub = client id, aud = token endpoint, 10 min). */
function assertion(opts: AssertionOptions = {}): string {
  const alg = opts.alg ?? 'PS256';
  const header = opts.header ?? { alg, typ: 'JWT', 'x5t#S256': x5tS256(good) };
  const claims: Record<string, unknown> = {
    aud: tokenEndpoint(),
    iss: CERT_APP_ID,
    sub: CERT_APP_ID,
    jti: randomUUID(),
    nbf: nowS(),
    exp: nowS() + 600,
    ...opts.claims,
  };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  const input = `${b64json(header)}.${b64json(claims)}`;
  const key = opts.keyPem ?? good.keyPem;
  const data = Buffer.from(input);
  let sig: Buffer;
  if (alg === 'RS256') sig = sign('sha256', data, key);
  else if (alg === 'PS256')
    sig = sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  else if (alg === 'HS256') sig = createHmac('sha256', 'shared-secret').update(input).digest();
  else sig = Buffer.alloc(0);
  return `${input}.${sig.toString('base64url')}`;
}

function requestToken(
  clientAssertion: string,
  extra: Record<string, string> = {},
  tenant = TENANT_ID,
  clientId = CERT_APP_ID,
): Promise<HttpResult> {
  return target.http('POST', `/${tenant}/oauth2/v2.0/token`, {
    form: {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_assertion_type: JWT_BEARER,
      client_assertion: clientAssertion,
      scope: GRAPH_SCOPE,
      ...extra,
    },
  });
}

function expectRefusal(res: HttpResult, status: number, error: string, aadsts: number, text?: RegExp): void {
  expect({ status: res.status, error: res.json?.error, codes: res.json?.error_codes }).toEqual({
    status,
    error,
    codes: [aadsts],
  });
  expect(res.json.error_description).toMatch(new RegExp(`^AADSTS${aadsts}: `));
  if (text) expect(res.json.error_description).toMatch(text);
}

const certApp = (certificates: string[]): SeedApp => ({
  appId: CERT_APP_ID,
  displayName: 'entra-sync (certificate)',
  certificates,
  permissions: ['User.ReadWrite.All', 'Domain.Read.All'],
});

beforeAll(async () => {
  // Generated once per file: a few hundred milliseconds each.
  [good, expired, stranger, future] = await Promise.all([
    makeAppCertificate({ commonName: 'entra-sync good' }),
    makeAppCertificate({
      commonName: 'entra-sync expired',
      notBefore: new Date(Date.now() - 30 * 24 * 3600_000),
      notAfter: new Date(Date.now() - 24 * 3600_000),
    }),
    makeAppCertificate({ commonName: 'entra-sync stranger' }),
    makeAppCertificate({
      commonName: 'entra-sync future',
      notBefore: new Date(Date.now() + 24 * 3600_000),
      notAfter: new Date(Date.now() + 30 * 24 * 3600_000),
    }),
  ]);
  target = await emulatorTarget();
  target.emulator!.seed({
    tenants: [{ id: TENANT_ID, apps: [certApp([good.certPem, expired.certPem, future.certPem])] }],
  });
});
afterAll(() => target.stop());

describe('ClientCertificateCredential', () => {
  it('signs in with the registered certificate, and Graph accepts the token', async () => {
    const credential = new ClientCertificateCredential(
      TENANT_ID,
      CERT_APP_ID,
      { certificate: good.pem },
      { authorityHost: target.graphUrl, disableInstanceDiscovery: true, tlsOptions: { ca: target.ca } },
    );
    const untrust = trustCertificateInProcess(target.ca!);
    try {
      const client = Client.initWithMiddleware({
        authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] }),
        baseUrl: target.graphUrl,
        customHosts: new Set(['127.0.0.1', 'localhost']),
      });
      const domains = await client.api('/domains').get();
      expect(domains.value.map((d: { id: string }) => d.id)).toContain('contoso.com');
    } finally {
      untrust();
    }
    const token = await credential.getToken(GRAPH_SCOPE);
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({
      appid: CERT_APP_ID,
      tid: TENANT_ID,
      roles: ['User.ReadWrite.All', 'Domain.Read.All'],
    });
  });

  it('signs in with sendCertificateChain (x5c in the header)', async () => {
    const credential = new ClientCertificateCredential(
      TENANT_ID,
      CERT_APP_ID,
      { certificate: good.pem },
      {
        authorityHost: target.graphUrl,
        disableInstanceDiscovery: true,
        tlsOptions: { ca: target.ca },
        sendCertificateChain: true,
      },
    );
    const token = await credential.getToken(GRAPH_SCOPE);
    const res = await target.http('GET', '/v1.0/domains', { headers: { Authorization: `Bearer ${token.token}` } });
    expect(res.status).toBe(200);
  });

  it('keeps the assertion out of the request log', async () => {
    await target.http('DELETE', '/_emulator/requests');
    const credential = new ClientCertificateCredential(
      TENANT_ID,
      CERT_APP_ID,
      { certificate: good.pem },
      { authorityHost: target.graphUrl, disableInstanceDiscovery: true, tlsOptions: { ca: target.ca } },
    );
    await credential.getToken(GRAPH_SCOPE);
    const log = (await target.http('GET', '/_emulator/requests')).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const tokenCall = log.find((e) => /\/oauth2\/v2\.0\/token(\?|$)/.test(e.url));
    expect(tokenCall.body).toMatchObject({ client_assertion: '[REDACTED]', client_assertion_type: JWT_BEARER });
  });

  it("surfaces Entra's AADSTS700027 for a certificate the app does not have", async () => {
    const credential = new ClientCertificateCredential(
      TENANT_ID,
      CERT_APP_ID,
      { certificate: stranger.pem },
      { authorityHost: target.graphUrl, disableInstanceDiscovery: true, tlsOptions: { ca: target.ca } },
    );
    await expect(credential.getToken(GRAPH_SCOPE)).rejects.toThrow(
      /AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application/,
    );
  });
});

describe('client assertions that succeed', () => {
  it('accepts RS256 with a SHA-1 x5t', async () => {
    const res = await requestToken(assertion({ alg: 'RS256', header: { alg: 'RS256', typ: 'JWT', x5t: x5t(good) } }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ token_type: 'Bearer', expires_in: 3599, access_token: expect.any(String) });
  });

  it('accepts the same assertion (same jti) twice, as MSAL reuses one for ten minutes', async () => {
    const a = assertion();
    expect((await requestToken(a)).status).toBe(200);
    expect((await requestToken(a)).status).toBe(200);
  });

  it('accepts the v1 token endpoint as audience, and an assertion without nbf', async () => {
    const v1 = await requestToken(assertion({ claims: { aud: `${target.graphUrl}/${TENANT_ID}/oauth2/token` } }));
    expect(v1.status).toBe(200);
    const noNbf = await requestToken(assertion({ claims: { nbf: undefined } }));
    expect(noNbf.status).toBe(200);
  });

  it('accepts an assertion up to five minutes past exp (clock skew)', async () => {
    const res = await requestToken(assertion({ claims: { nbf: nowS() - 900, exp: nowS() - 240 } }));
    expect(res.status).toBe(200);
  });

  it('takes aud naming the tenant by its id or a domain, however the request path names it', async () => {
    const byDomain = await requestToken(
      assertion({ claims: { aud: tokenEndpoint('contoso.com') } }),
      {},
      'contoso.com',
    );
    expect(byDomain.status).toBe(200);
    const mixed = await requestToken(assertion(), {}, 'contoso.com');
    expect(mixed.status).toBe(200);
    const otherTenant = await requestToken(assertion({ claims: { aud: tokenEndpoint('fabrikam.example') } }));
    expectRefusal(otherTenant, 401, 'invalid_client', 700023);
  });
});

describe('client assertions that Entra refuses', () => {
  it('refuses a certificate not registered on the app (700027), naming the thumbprint as sent', async () => {
    const s256 = await requestToken(
      assertion({ keyPem: stranger.keyPem, header: { alg: 'PS256', 'x5t#S256': x5tS256(stranger) } }),
    );
    expectRefusal(
      s256,
      401,
      'invalid_client',
      700027,
      /^AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application\. \[Reason - The key was not found\., /,
    );
    expect(s256.json.error_description).toContain(`Thumbprint of key used by client: '${sha256Hex(stranger)}'`);
    expect(s256.json.error_description).toContain(`configured keys for app Id '${CERT_APP_ID}'`);
    const sha1 = await requestToken(
      assertion({ alg: 'RS256', keyPem: stranger.keyPem, header: { alg: 'RS256', x5t: x5t(stranger) } }),
    );
    expectRefusal(sha1, 401, 'invalid_client', 700027, /not registered on application/);
    expect(sha1.json.error_description).toContain(`Thumbprint of key used by client: '${stranger.thumbprint}'`);
  });

  it('refuses a registered certificate whose validity has ended (700027 expired)', async () => {
    const res = await requestToken(
      assertion({ keyPem: expired.keyPem, header: { alg: 'PS256', 'x5t#S256': x5tS256(expired) } }),
    );
    expectRefusal(
      res,
      401,
      'invalid_client',
      700027,
      /^AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application\./,
    );
    expect(res.json.error_description).toContain(`Thumbprint of key used by client: '${sha256Hex(expired)}'`);
  });

  it('refuses a registered certificate whose validity has not begun (700027 not yet valid)', async () => {
    const res = await requestToken(
      assertion({ keyPem: future.keyPem, header: { alg: 'PS256', 'x5t#S256': x5tS256(future) } }),
    );
    expectRefusal(res, 401, 'invalid_client', 700027, /is not yet valid on application\./);
  });

  it("refuses a signature by another key under the registered certificate's thumbprint (700027)", async () => {
    const res = await requestToken(assertion({ keyPem: stranger.keyPem }));
    expectRefusal(res, 401, 'invalid_client', 700027, /^AADSTS700027: Client assertion failed signature validation\./);
    // An RS256 signature under a PS256 header does not verify either.
    const padding = await requestToken(
      assertion({ alg: 'RS256', header: { alg: 'PS256', 'x5t#S256': x5tS256(good) } }),
    );
    expectRefusal(padding, 401, 'invalid_client', 700027, /failed signature validation/);
  });

  it('refuses iss or sub other than client_id (700021)', async () => {
    const iss = await requestToken(assertion({ claims: { iss: FULL_APP_ID } }));
    expectRefusal(
      iss,
      401,
      'invalid_client',
      700021,
      /^AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter\./,
    );
    const sub = await requestToken(assertion({ claims: { sub: 'someone-else' } }));
    expectRefusal(sub, 401, 'invalid_client', 700021);
  });

  it('refuses an audience other than this tenant’s token endpoint', async () => {
    const other = await requestToken(
      assertion({ claims: { aud: `https://login.microsoftonline.com/${TENANT_ID}/oauth2/v2.0/token` } }),
    );
    expectRefusal(other, 401, 'invalid_client', 700023, /audience claim does not match/);
    const list = await requestToken(assertion({ claims: { aud: [tokenEndpoint()] } }));
    expectRefusal(list, 401, 'invalid_client', 50027, /^AADSTS50027: JWT token is invalid or malformed\./);
  });

  it('refuses an assertion outside its valid time range (700024), with the times', async () => {
    const exp = nowS() - 600;
    const stale = await requestToken(assertion({ claims: { nbf: exp - 600, exp } }));
    expectRefusal(
      stale,
      401,
      'invalid_client',
      700024,
      /^AADSTS700024: Client assertion is not within its valid time range\. Current time: \d{4}-\d\d-\d\dT[\d:.]+Z, assertion valid from \d{4}-\d\d-\d\dT[\d:.]+Z, expiry time of assertion \d{4}-\d\d-\d\dT[\d:.]+Z\./,
    );
    expect(stale.json.error_description).toContain(
      `expiry time of assertion ${new Date(exp * 1000).toISOString().replace('.000Z', '.0000000Z')}`,
    );
    const early = await requestToken(assertion({ claims: { nbf: nowS() + 900, exp: nowS() + 1500 } }));
    expectRefusal(early, 401, 'invalid_client', 700024);
    const noExp = await requestToken(assertion({ claims: { exp: undefined } }));
    expectRefusal(noExp, 401, 'invalid_client', 50027, /'exp'/);
  });

  it('refuses an assertion without jti, or with an empty one, as malformed (50027)', async () => {
    expectRefusal(await requestToken(assertion({ claims: { jti: undefined } })), 401, 'invalid_client', 50027, /'jti'/);
    expectRefusal(await requestToken(assertion({ claims: { jti: '' } })), 401, 'invalid_client', 50027, /'jti'/);
  });

  it('refuses alg none and HS256 as malformed (50027)', async () => {
    for (const alg of ['none', 'HS256']) {
      const res = await requestToken(assertion({ alg, header: { alg, typ: 'JWT', 'x5t#S256': x5tS256(good) } }));
      expectRefusal(res, 401, 'invalid_client', 50027, new RegExp(`signing algorithm '${alg}' is not supported`));
    }
  });

  it('refuses a header without x5t#S256 or x5t (50027), and a token that is not a JWT', async () => {
    const noThumb = await requestToken(assertion({ header: { alg: 'PS256', typ: 'JWT' } }));
    expectRefusal(noThumb, 401, 'invalid_client', 50027, /neither an 'x5t#S256' \(SHA-256\) nor an 'x5t' \(SHA-1\)/);
    for (const junk of ['', 'abc', 'a.b', 'a.b.c.d', `${b64json({ alg: 'PS256' })}.bm90IGpzb24.sig`]) {
      const res = await requestToken(junk);
      expectRefusal(res, 401, 'invalid_client', 50027);
      expect(res.json.error_description).toMatch(/^AADSTS50027: JWT token is invalid or malformed\.\r\n/);
    }
  });

  it('refuses client_secret and client_assertion together (400 invalid_request)', async () => {
    const res = await requestToken(assertion(), { client_secret: 'anything' });
    expectRefusal(res, 400, 'invalid_request', 9002313, /not both/);
  });

  it('refuses another client_assertion_type, or none (400 invalid_request)', async () => {
    const other = await requestToken(assertion(), {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    });
    expectRefusal(other, 400, 'invalid_request', 90011, /Unexpected client assertion type/);
    const missing = await target.http('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
      form: {
        grant_type: 'client_credentials',
        client_id: CERT_APP_ID,
        client_assertion: assertion(),
        scope: GRAPH_SCOPE,
      },
    });
    expectRefusal(missing, 400, 'invalid_request', 900144, /'client_assertion_type'/);
  });

  it('refuses a client secret for an app that has certificates only (7000215)', async () => {
    const res = await target.http('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
      form: { grant_type: 'client_credentials', client_id: CERT_APP_ID, client_secret: 'guess', scope: GRAPH_SCOPE },
    });
    expectRefusal(res, 401, 'invalid_client', 7000215);
  });
});

describe('seeding certificates', () => {
  it('lists thumbprints and validity in GET /_emulator/tenants, never a key', async () => {
    const res = await target.http('GET', '/_emulator/tenants');
    const app = res.json.value
      .find((t: { id: string }) => t.id === TENANT_ID)
      .apps.find((a: { appId: string }) => a.appId === CERT_APP_ID);
    expect(app).toMatchObject({ hasSecret: false });
    expect(app.certificates).toEqual([
      {
        thumbprint: good.thumbprint,
        thumbprintSha256: sha256Hex(good),
        validFrom: expect.any(String),
        validTo: good.notAfter.toISOString(),
      },
      expect.objectContaining({ thumbprint: expired.thumbprint }),
      expect.objectContaining({ thumbprint: future.thumbprint }),
    ]);
    expect(res.text).not.toContain('PRIVATE KEY');
  });

  it('refuses a private key, a non-certificate and an app without any credential', async () => {
    const seed = (app: SeedApp): Promise<HttpResult> =>
      target.http('POST', '/_emulator/seed', { body: { tenants: [{ id: TENANT_ID, apps: [app] }] } });
    const withKey = await seed(certApp([good.pem]));
    expect(withKey.status).toBe(400);
    expect(withKey.json.error.message).toMatch(/certificates\.0: contains a private key/);
    const junk = await seed(certApp(['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n']));
    expect(junk.json.error.message).toMatch(/certificates\.0: is not a PEM X\.509 certificate/);
    const bare = await seed({ appId: CERT_APP_ID, certificates: [] });
    expect(bare.json.error.message).toMatch(/a secret or at least one certificate/);
  });

  it('replaces certificates when re-seeded with them, keeps them otherwise, and keeps them in snapshots', async () => {
    const tls = testCertificate();
    const snapshotPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-certs-')), 'state.json');
    const first = await startGraphEmulator({ port: 0, tls, snapshotPath });
    first.seed({ tenants: [{ id: TENANT_ID, apps: [{ appId: CERT_APP_ID, certificates: [stranger.certPem] }] }] });
    // Re-seeding with a secret only (e.g. to grant consent) keeps the certificate.
    first.seed({
      tenants: [{ id: TENANT_ID, apps: [{ appId: CERT_APP_ID, secret: 's3cret', permissions: ['Domain.Read.All'] }] }],
    });
    await first.stop();
    const second = await startGraphEmulator({ port: 0, tls, snapshotPath });
    try {
      const http = createHttp(second.url, tls.cert);
      const signIn = (c: AppCertificate): Promise<HttpResult> => {
        const header = { alg: 'PS256', 'x5t#S256': x5tS256(c) };
        const claims = { aud: `${second.url}/${TENANT_ID}/oauth2/v2.0/token` };
        return http('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
          form: {
            grant_type: 'client_credentials',
            client_id: CERT_APP_ID,
            client_assertion_type: JWT_BEARER,
            client_assertion: assertion({ keyPem: c.keyPem, header, claims }),
            scope: GRAPH_SCOPE,
          },
        });
      };
      expect((await signIn(stranger)).status).toBe(200);
      // A given list replaces the registered certificates, as removing one in the portal does.
      second.seed({ tenants: [{ id: TENANT_ID, apps: [{ appId: CERT_APP_ID, certificates: [good.certPem] }] }] });
      expectRefusal(await signIn(stranger), 401, 'invalid_client', 700027, /not registered on application/);
      expect((await signIn(good)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
