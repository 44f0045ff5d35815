import { constants, createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import type { AppCertificateRecord, AppRecord } from './state/store';

/**
 * Certificate credentials (`private_key_jwt`): an app proves itself with a JWT it signed with the private key of a
 * certificate uploaded to its registration, sent as `client_assertion`. The checks and their order follow Microsoft's
 * "certificate credentials" page and the AADSTS errors real tenants answer with (graph.md §13); where Entra's exact
 * answer is unknown, the comment at the check says so.
 */

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Entra accepts assertions up to five minutes outside their nbf/exp window (clock skew). */
const CLOCK_SKEW_S = 300;
const CERT_DOCS =
  'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .';

/** Why an uploaded certificate was refused; the seed reports it against the certificate's path. */
export class CertificateInputError extends Error {
  override name = 'CertificateInputError';
}

/**
 * One uploaded certificate (PEM, public part only) as the token endpoint needs it. Refuses anything holding a
 * private key, so the emulator's state, snapshot and operator API never contain one.
 */
export function appCertificateRecord(pem: string): AppCertificateRecord {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new CertificateInputError('contains a private key: upload the public certificate only');
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (blocks !== 1) {
    throw new CertificateInputError(
      blocks === 0 ? 'is not a PEM X.509 certificate' : 'must hold exactly one certificate',
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new CertificateInputError('is not a PEM X.509 certificate');
  }
  return {
    pem: cert.toString(),
    thumbprintSha1: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(cert.raw).digest('hex').toUpperCase(),
    publicKeyPem: cert.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
  };
}

/** An assertion refused: status, OAuth `error`, AADSTS code and description, as `oauthError` takes them. */
export interface AssertionRefusal {
  status: number;
  error: string;
  aadsts: number;
  description: string;
}

export interface AssertionCheck {
  app: AppRecord;
  /** The `client_id` form parameter. */
  clientId: string;
  /** Token endpoint URLs the `aud` claim may name (this tenant's, as the request addressed it). */
  audiences: readonly string[];
  nowMs: number;
}

const refuse = (aadsts: number, description: string): AssertionRefusal => ({
  status: 401,
  error: 'invalid_client',
  aadsts,
  description,
});
const malformed = (reason?: string): AssertionRefusal =>
  refuse(50027, `JWT token is invalid or malformed.${reason ? ` [Reason - ${reason}]` : ''}`);

type JsonRecord = Record<string, unknown>;

function decodeJsonPart(part: string): JsonRecord | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** .NET's round-trip format, as AADSTS messages print times: 2024-10-02T22:05:03.6755165Z. */
function dotnetTime(ms: number): string {
  const d = new Date(ms);
  // A claim beyond the Date range (exp: 1e20) is still printed, not a crash.
  return Number.isNaN(d.getTime()) ? String(ms / 1000) : d.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** Entra's hint after every key error: where to see the app's configured keys. */
const keysHint = (appId: string): string =>
  `Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments#app-registration-and-token-service-root-endpoints to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${appId}'`;

const foundKey = (c: AppCertificateRecord): string =>
  `Found key 'Start=${dotnetTime(Date.parse(c.validFrom))}, End=${dotnetTime(Date.parse(c.validTo))}'`;

function signatureValid(
  alg: 'RS256' | 'PS256',
  signingInput: string,
  signature: Buffer,
  publicKeyPem: string,
): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    // Both algorithms are RSA; a certificate with another key type can never verify one.
    if (key.asymmetricKeyType !== 'rsa') return false;
    const data = Buffer.from(signingInput, 'ascii');
    return alg === 'RS256'
      ? verify('sha256', data, key, signature)
      : verify(
          'sha256',
          data,
          // RFC 7518 §3.5: PS256 is RSASSA-PSS with SHA-256, MGF1 with SHA-256, and a salt as long as the hash.
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          signature,
        );
  } catch {
    return false;
  }
}

/**
 * Verifies a `client_assertion` for `app`, as Entra does: JWT shape, algorithm, the certificate named by its
 * thumbprint, that certificate's validity, the signature, then `iss`/`sub`, `aud` and the time window. Returns the
 * refusal, or undefined when the assertion authenticates the app. `jti` is required (Entra lists it among the
 * assertion's required claims), but a reused one is fine: MSAL sends the same assertion for up to ten minutes.
 */
export function verifyClientAssertion(assertion: string, check: AssertionCheck): AssertionRefusal | undefined {
  const { app } = check;
  const parts = assertion.split('.');
  // The signature part may be empty here (alg "none"); the algorithm check below refuses that with its own reason.
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p)) || !parts[0] || !parts[1]) {
    return malformed();
  }
  const [headPart, bodyPart, sigPart] = parts as [string, string, string];
  const header = decodeJsonPart(headPart);
  const claims = decodeJsonPart(bodyPart);
  if (!header || !claims) return malformed();

  // Our choice of code and reason: Entra's answer to an unsupported `alg` is not documented; the page asks for PS256
  // (or RS256 with `x5t`), and a token that is not a signed RSA JWT is "invalid or malformed" to it.
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') {
    return malformed(
      `The client assertion's signing algorithm '${typeof alg === 'string' ? alg : String(alg)}' is not supported; sign it with PS256 or RS256.`,
    );
  }

  // `x5t#S256` (SHA-256, what MSAL sends today) wins over `x5t` (SHA-1) when both are present: our choice.
  const s256 = header['x5t#S256'];
  const s1 = header.x5t;
  let thumbprint: { kind: 'sha256' | 'sha1'; hex: string };
  if (typeof s256 === 'string' && s256) thumbprint = { kind: 'sha256', hex: hexOf(s256) };
  else if (typeof s1 === 'string' && s1) thumbprint = { kind: 'sha1', hex: hexOf(s1) };
  else {
    return malformed(
      "The client assertion's header names no certificate: it has neither an 'x5t#S256' (SHA-256) nor an 'x5t' (SHA-1) thumbprint.",
    );
  }

  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
    return malformed("The client assertion has no numeric 'exp' claim.");
  }
  // Our choice of code: Entra lists `jti` as required but does not document its answer when it is missing.
  if (typeof claims.jti !== 'string' || claims.jti === '') {
    return malformed("The client assertion has no 'jti' claim (a unique identifier, e.g. a GUID).");
  }
  // `nbf` is optional (Entra then reports the assertion as valid from 1970-01-01), but must be a number when sent.
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf))) {
    return malformed("The client assertion's 'nbf' claim is not a number.");
  }

  const cert = app.certificates.find((c) =>
    thumbprint.kind === 'sha256' ? c.thumbprintSha256 === thumbprint.hex : c.thumbprintSha1 === thumbprint.hex,
  );
  const client = `Thumbprint of key used by client: '${thumbprint.hex}'`;
  if (!cert) {
    return refuse(
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., ${client}, ${keysHint(app.appId)}]`,
    );
  }
  if (Date.parse(cert.validTo) <= check.nowMs) {
    return refuse(
      700027,
      `The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., ${client}, ${foundKey(cert)}, ${keysHint(app.appId)}]`,
    );
  }
  // Our choice: a key credential whose start lies ahead is unusable in Entra too, but its exact message is unknown;
  // this one keeps the 700027 shape of the expired case.
  if (Date.parse(cert.validFrom) > check.nowMs) {
    return refuse(
      700027,
      `The certificate with identifier used to sign the client assertion is not yet valid on application. [Reason - The key used is not yet valid., ${client}, ${foundKey(cert)}, ${keysHint(app.appId)}]`,
    );
  }
  if (!signatureValid(alg, `${headPart}.${bodyPart}`, Buffer.from(sigPart, 'base64url'), cert.publicKeyPem)) {
    return refuse(
      700027,
      `Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., ${client}, ${foundKey(cert)}, ${keysHint(app.appId)}]`,
    );
  }

  // App ids are GUIDs, compared case-insensitively as everywhere else in Entra.
  const clientId = check.clientId.toLowerCase();
  const isClient = (v: unknown): boolean => typeof v === 'string' && v.toLowerCase() === clientId;
  if (!isClient(claims.iss) || !isClient(claims.sub)) {
    return refuse(700021, `Client assertion application identifier doesn't match 'client_id' parameter. ${CERT_DOCS}`);
  }

  // An `aud` array is refused as malformed: Entra answered AADSTS50027 to one (panva/openid-client#348). A wrong
  // single audience gets AADSTS700023, as Entra answered in a cross-cloud case (MSAL.NET #2746).
  if (typeof claims.aud !== 'string') {
    return malformed("The client assertion's 'aud' claim must be a single string: the token endpoint URL.");
  }
  const aud = claims.aud.toLowerCase();
  if (!check.audiences.some((a) => a.toLowerCase() === aud)) {
    return refuse(700023, `Client assertion audience claim does not match Realm issuer. ${CERT_DOCS}`);
  }

  const nowS = check.nowMs / 1000;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : 0;
  if (nowS < nbf - CLOCK_SKEW_S || nowS > claims.exp + CLOCK_SKEW_S) {
    return refuse(
      700024,
      `Client assertion is not within its valid time range. Current time: ${dotnetTime(check.nowMs)}, assertion valid from ${dotnetTime(nbf * 1000)}, expiry time of assertion ${dotnetTime(claims.exp * 1000)}. ${CERT_DOCS}`,
    );
  }
  return undefined;
}

/** A JWT thumbprint header (base64url of the digest) as the upper-case hex Entra prints. */
function hexOf(b64url: string): string {
  return Buffer.from(b64url, 'base64url').toString('hex').toUpperCase();
}
