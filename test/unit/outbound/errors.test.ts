import { GraphError } from '@microsoft/microsoft-graph-client';
import { ApplicationFailureCategory } from '@temporalio/common';
import {
  classifyGraphError,
  ProvisioningError,
  parseRetryAfter,
  toApplicationFailure,
} from '../../../src/graph/errors';
import { NON_RETRYABLE_ERROR_TYPES } from '../../../src/workflows/messages';

/** A GraphError as the SDK builds it from a Graph error response (graph.md §4). */
function graphError(
  status: number,
  code: string,
  message: string,
  opts: { details?: unknown[]; headers?: Record<string, string> } = {},
) {
  const e = new GraphError(status, message);
  e.code = code;
  e.requestId = 'req-123';
  e.body = JSON.stringify({ code, message, ...(opts.details ? { details: opts.details } : {}) });
  e.headers = new Headers(opts.headers ?? {});
  return e;
}

describe('classification of Graph failures (once, at the boundary)', () => {
  it('429 is retryable GraphThrottled and carries Retry-After as the next retry delay', () => {
    const c = classifyGraphError(
      graphError(429, 'TooManyRequests', 'Please retry again later.', { headers: { 'Retry-After': '2.128' } }),
      'update',
    );
    expect(c).toMatchObject({ type: 'GraphThrottled', retryable: true });
    expect(c.info.retryAfterMs).toBe(2128);
    const f = toApplicationFailure(c, 7);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(2128);
    expect(f.details).toEqual([{ version: 7, graphCode: 'TooManyRequests', requestId: 'req-123' }]);
  });

  it.each([503, 504])('%i is retryable GraphThrottled', (status) => {
    expect(classifyGraphError(graphError(status, 'ServiceUnavailable', 'x'), 'create')).toMatchObject({
      type: 'GraphThrottled',
      retryable: true,
    });
  });

  it('other 5xx and network failures are retryable GraphUnavailable', () => {
    expect(classifyGraphError(graphError(500, 'InternalServerError', 'boom'), 'create')).toMatchObject({
      type: 'GraphUnavailable',
      retryable: true,
    });
    const net = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8443'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyGraphError(net, 'lookup')).toMatchObject({ type: 'GraphUnavailable', retryable: true });
  });

  it('an unverified UPN domain is DomainNotVerified, not retryable', () => {
    const c = classifyGraphError(
      graphError(
        400,
        'Request_BadRequest',
        'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
      ),
      'create',
    );
    expect(c).toMatchObject({ type: 'DomainNotVerified', retryable: false });
    expect(c.message).toMatch(/Fix:/);
  });

  it('ObjectConflict on userPrincipalName is UpnConflict', () => {
    const msg = 'Another object with the same value for property userPrincipalName already exists.';
    const c = classifyGraphError(
      graphError(400, 'Request_BadRequest', msg, {
        details: [{ code: 'ObjectConflict', message: msg, target: 'userPrincipalName' }],
      }),
      'create',
    );
    expect(c).toMatchObject({ type: 'UpnConflict', retryable: false });
  });

  it('an invalid property value is InvalidProperty naming the property', () => {
    const msg = "Invalid value specified for property 'mailNickname' of resource 'User'.";
    const c = classifyGraphError(
      graphError(400, 'Request_BadRequest', msg, {
        details: [{ code: 'InvalidValue', message: msg, target: 'mailNickname' }],
      }),
      'create',
    );
    expect(c).toMatchObject({ type: 'InvalidProperty', retryable: false });
    expect(c.message).toMatch(/mailNickname/);
  });

  it('a value of the wrong type (OData "Cannot convert the literal") is InvalidProperty, not an unknown error', () => {
    const msg = "Cannot convert the literal 'soon' to the expected type 'Edm.DateTimeOffset'.";
    const c = classifyGraphError(graphError(400, 'BadRequest', msg), 'update');
    expect(c).toMatchObject({ type: 'InvalidProperty', retryable: false });
    expect(c.message).toMatch(/Edm\.DateTimeOffset.*Fix: correct the HR value or the attribute mapping/);
  });

  it('403 is PermissionDenied naming the permission the operation needs', () => {
    const c = classifyGraphError(
      graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      'create',
    );
    expect(c).toMatchObject({ type: 'PermissionDenied', retryable: false });
    expect(c.message).toMatch(/User\.ReadWrite\.All/);
    expect(classifyGraphError(graphError(403, 'Authorization_RequestDenied', 'x'), 'domains').message).toMatch(
      /Domain\.Read\.All/,
    );
  });

  it("anything else is UnknownGraphError keeping Graph's code and request id", () => {
    const c = classifyGraphError(graphError(409, 'Request_Weird', 'Something odd.'), 'update');
    expect(c).toMatchObject({ type: 'UnknownGraphError', retryable: false });
    expect(c.message).toMatch(/Unknown error.*Request_Weird.*req-123/);
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(c.type);
  });

  it('wrong client credentials are InvalidCredentials', () => {
    const e = Object.assign(new Error('AADSTS7000215: Invalid client secret provided.'), {
      name: 'AuthenticationError',
    });
    expect(classifyGraphError(e, 'token')).toMatchObject({ type: 'InvalidCredentials', retryable: false });
  });

  /**
   * A sign-in refusal as it reaches the classifier in a sync: the Graph SDK wraps the credential's error in a
   * GraphError(-1) named Error, with MSAL's text and, for a certificate, the worker's thumbprint mark.
   */
  const wrappedSignIn = (error: string, code: number, description: string) => {
    const e = new GraphError(
      -1,
      `${error}: Error(s): ${code} - Timestamp: 2026-12-03 10:00:00Z - Description: AADSTS${code}: ${description}\r\nTrace ID: 0f8e\r\nCorrelation ID: 1a2b [entra-sync certificate thumbprint: 96A04280BFFD1FF9443B25F67FD02B2924EFD0A5]`,
    );
    e.code = 'AuthenticationRequiredError';
    return e;
  };

  it.each([
    [
      'invalid_client',
      700027,
      'The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]',
      /does not know the certificate \(thumbprint 96A04280BFFD1FF9443B25F67FD02B2924EFD0A5\)/,
    ],
    [
      'invalid_scope',
      1002012,
      'The provided value for scope https://graph.microsoft.us/.default is not valid.',
      /refused the app's sign-in \(AADSTS1002012: The provided value for scope .* is not valid\.\)/,
    ],
    [
      'access_denied',
      53003,
      'Access has been blocked by Conditional Access policies.',
      /AADSTS53003: Access has been blocked by Conditional Access policies\..*Conditional Access for workload identities/,
    ],
  ])(
    'a sync whose sign-in is refused (%s) blocks with the reason instead of retrying as an outage',
    (error, code, description, reason) => {
      const c = classifyGraphError(wrappedSignIn(error, code, description), 'lookup');
      expect(c).toMatchObject({ type: 'InvalidCredentials', retryable: false });
      expect(c.message).toMatch(reason);
      expect(c.message).not.toMatch(/could not be reached/);
    },
  );

  it('a transient answer of the identity platform, or a TLS failure, is retried', () => {
    expect(
      classifyGraphError(wrappedSignIn('temporarily_unavailable', 90033, 'A transient error has occurred.'), 'token'),
    ).toMatchObject({ type: 'GraphUnavailable', retryable: true });
    const tls = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(classifyGraphError(tls, 'token')).toMatchObject({ type: 'GraphUnavailable', retryable: true });
  });

  /** A sign-in refusal as @azure/identity reports it: the identity platform's description in the message. */
  const signInError = (description: string) =>
    Object.assign(new Error(`ClientCertificateCredential authentication failed: ${description}`), {
      name: 'AuthenticationError',
    });

  it.each([
    [
      "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '3705a3a73dedab44ac718a6af8ed716a028582ad', Please visit the Azure Portal]",
      /does not know the certificate \(thumbprint 3705A3A73DEDAB44AC718A6AF8ED716A028582AD\).*upload the certificate's public part/,
    ],
    [
      "AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: 'AB12']",
      /certificate \(thumbprint AB12\) has expired on the app registration.*make a new certificate/,
    ],
    [
      // The identity platform quotes the SHA-256 thumbprint the assertion carried; the worker's mark names the SHA-1.
      `AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${'C'.repeat(64)}'] [entra-sync certificate thumbprint: 96A04280BFFD1FF9443B25F67FD02B2924EFD0A5]`,
      /does not know the certificate \(thumbprint 96A04280BFFD1FF9443B25F67FD02B2924EFD0A5\)/,
    ],
    ['AADSTS700027: Client assertion failed signature validation.', /private key that belongs to the certificate/],
    [
      'AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-12-03T10:00:00Z',
      /worker's clock is wrong.*NTP/,
    ],
    ['AADSTS7000215: Invalid client secret provided.', /secret's value \(not its id\)/],
  ])('a refused credential says what to fix: %s', (description, reason) => {
    const c = classifyGraphError(signInError(description), 'token');
    expect(c).toMatchObject({ type: 'InvalidCredentials', retryable: false });
    expect(c.message).toMatch(reason);
  });
});

describe('Retry-After parsing', () => {
  it('reads seconds, fractional seconds and HTTP dates', () => {
    expect(parseRetryAfter('10')).toBe(10_000);
    expect(parseRetryAfter('2.128')).toBe(2128);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(30_000);
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('marks classified failures benign (expected: the SDK logs them at debug), an unknown Graph error not', () => {
    const blocked = toApplicationFailure(new ProvisioningError('DomainNotVerified', 'not verified'), 3);
    const throttled = toApplicationFailure(new ProvisioningError('GraphThrottled', 'slow down', { retryable: true }));
    const unknown = toApplicationFailure(new ProvisioningError('UnknownGraphError', 'odd'));
    expect(blocked.category).toBe(ApplicationFailureCategory.BENIGN);
    expect(throttled.category).toBe(ApplicationFailureCategory.BENIGN);
    expect(unknown.category).toBeUndefined();
  });
});
