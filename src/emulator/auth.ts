import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { JWT_BEARER_ASSERTION_TYPE, verifyClientAssertion } from './client-assertion';
import { unauthenticated } from './errors';
import { appById, type AppRecord, type EmulatorStore } from './state/store';
import type { Caller } from './types';

/**
 * The identity platform's part: OIDC metadata and the client-credentials token endpoint, as `@azure/identity`
 * (MSAL node) calls them with `authorityHost` pointing here and `disableInstanceDiscovery: true` (graph.md §13).
 * The v1 endpoint (`resource=` instead of `scope=`) answers too, as Entra still does for older clients.
 * Apps authenticate with a client secret or a certificate-signed client assertion (client-assertion.ts).
 * Access tokens are JWT-shaped and HMAC-signed, carrying `tid`, `appid`/`azp`, `roles`, `exp` like real v1 Graph
 * tokens, so Graph routes recover tenant, app and granted permissions from the token alone.
 */

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const TOKEN_LIFETIME_S = 3599;

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  appid: string;
  azp: string;
  oid: string;
  sub: string;
  roles: string[];
  app_displayname: string;
  idtyp: 'app';
  ver: '1.0';
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

export class TokenService {
  /** Tokens already verified → claims; verification is on every Graph request, so cache it. */
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    private readonly store: EmulatorStore,
    public signingKey: Buffer = randomBytes(32),
    private readonly now: () => number = Date.now,
  ) {}

  sign(claims: TokenClaims): string {
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid: 'graph-emulator' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.signingKey).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  private decode(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = createHmac('sha256', this.signingKey).update(`${parts[0]}.${parts[1]}`).digest();
    const actual = Buffer.from(parts[2]!, 'base64url');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
  }

  /** Checks `Authorization: Bearer …` and returns the caller, or throws Graph's 401. */
  authenticate(header: string | undefined): Caller {
    if (!header) throw unauthenticated('Access token is empty.');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthenticated('Access token is empty.');
    const token = m[1]!;
    let claims = this.verified.get(token);
    if (!claims) {
      claims = this.decode(token);
      if (!claims) throw unauthenticated('Access token validation failure.');
      if (claims.aud !== GRAPH_RESOURCE && claims.aud !== GRAPH_APP_ID)
        throw unauthenticated('Access token validation failure. Invalid audience.');
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(token, claims);
    }
    const nowS = this.now() / 1000;
    if (claims.exp <= nowS) throw unauthenticated('Lifetime validation failed, the token is expired.');
    if (claims.nbf > nowS + 300) throw unauthenticated('Access token has expired or is not yet valid.');
    // The tenant and app must still exist (an operator reset removes them, as deleting an app would).
    const tenant = this.store.tenant(claims.tid);
    if (!tenant || !appById(tenant, claims.appid)) throw unauthenticated('Access token validation failure.');
    return { tenant, appId: claims.appid, permissions: claims.roles };
  }

  clearCache(): void {
    this.verified.clear();
  }

  /** The app's credential: a client secret or a certificate-signed client assertion, never both. */
  private authenticateClient(
    app: AppRecord,
    clientId: string,
    form: URLSearchParams,
    audiences: readonly string[],
  ): OAuthResult | undefined {
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null && assertion !== null) {
      // Our choice of code and text: Entra's answer to both credentials in one request is not documented.
      return oauthError(
        400,
        'invalid_request',
        9002313,
        "Invalid request. Request is malformed or invalid. Send either 'client_secret' or 'client_assertion', not both.",
      );
    }
    if (assertion !== null) {
      const type = form.get('client_assertion_type');
      if (type === null) {
        return oauthError(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'client_assertion_type'.",
        );
      }
      // Entra's text for another assertion type, as an ADAL client once got it (ADAL Ruby #53).
      if (type !== JWT_BEARER_ASSERTION_TYPE) {
        return oauthError(400, 'invalid_request', 90011, 'Unexpected client assertion type.');
      }
      const r = verifyClientAssertion(assertion, { app, clientId, audiences, nowMs: this.now() });
      return r && oauthError(r.status, r.error, r.aadsts, r.description);
    }
    if (secret === null) {
      return oauthError(
        401,
        'invalid_client',
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
      );
    }
    // An app with certificates only has no secret that could match.
    if (app.secret === undefined || !safeEqual(secret, app.secret)) {
      return oauthError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`,
      );
    }
    return undefined;
  }

  /**
   * Client-credentials grant at `{baseUrl}/{tenantKey}/oauth2/v2.0/token` (tenantKey as the path named it: id or
   * domain). Returns the OAuth JSON body and status (errors in AAD's format).
   */
  issue(tenantKey: string, body: URLSearchParams, baseUrl: string, authorization?: string): OAuthResult {
    return this.grant(V2_ENDPOINT, tenantKey, body, baseUrl, authorization);
  }

  /** The same grant at the v1 endpoint `{baseUrl}/{tenantKey}/oauth2/token`, which names `resource`, not `scope`. */
  issueV1(tenantKey: string, body: URLSearchParams, baseUrl: string, authorization?: string): OAuthResult {
    return this.grant(V1_ENDPOINT, tenantKey, body, baseUrl, authorization);
  }

  private grant(
    endpoint: TokenEndpointRules,
    tenantKey: string,
    body: URLSearchParams,
    baseUrl: string,
    authorization: string | undefined,
  ): OAuthResult {
    const form = withBasicClientCredentials(body, authorization);
    const tenant = this.store.tenantByIdOrDomain(tenantKey);
    if (!tenant) {
      return oauthError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenantKey}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      );
    }
    const grantType = form.get('grant_type');
    if (grantType === null) return missingParameter('grant_type');
    if (grantType !== 'client_credentials') {
      return oauthError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType ?? ''}'.`,
      );
    }
    const clientId = form.get('client_id') ?? '';
    if (!clientId) return missingParameter('client_id');
    // Entra checks the request's required parameters before it authenticates the client [I].
    const requested = form.get(endpoint.parameter);
    if (!requested) return missingParameter(endpoint.parameter);
    const app = appById(tenant, clientId);
    if (!app) {
      return oauthError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const refusal = this.authenticateClient(
      app,
      clientId,
      form,
      audiencesFor(baseUrl, [tenant.id, ...tenant.domains.map((d) => d.id)]),
    );
    if (refusal) return refusal;
    const audience = endpoint.audience(requested, tenant.displayName);
    if (typeof audience !== 'string') return audience;
    const iat = Math.floor(this.now() / 1000);
    const claims: TokenClaims = {
      aud: audience,
      iss: `https://sts.windows.net/${tenant.id}/`,
      iat,
      nbf: iat,
      exp: iat + TOKEN_LIFETIME_S + 1,
      tid: tenant.id,
      appid: app.appId,
      azp: app.appId,
      oid: app.servicePrincipalId,
      sub: app.servicePrincipalId,
      roles: [...app.permissions],
      app_displayname: app.displayName,
      idtyp: 'app',
      ver: '1.0',
    };
    return { status: 200, body: endpoint.response(this.sign(claims), claims, requested) };
  }
}

/** What differs between the v2.0 and the v1 token endpoint for the client-credentials grant. */
interface TokenEndpointRules {
  /** The form parameter that names what the token is for. */
  parameter: 'scope' | 'resource';
  /** The token's `aud` for the requested value, or the endpoint's refusal. */
  audience(requested: string, tenantName: string): string | OAuthResult;
  response(accessToken: string, claims: TokenClaims, requested: string): Record<string, unknown>;
}

/** v2.0: `scope=https://graph.microsoft.com/.default` (or the app id form); integers in the response. */
const V2_ENDPOINT: TokenEndpointRules = {
  parameter: 'scope',
  audience(scope) {
    const scopes = scope.split(' ').filter(Boolean);
    if (
      scopes.length !== 1 ||
      !(scopes[0] === `${GRAPH_RESOURCE}/.default` || scopes[0] === `${GRAPH_APP_ID}/.default`)
    ) {
      return oauthError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    return GRAPH_RESOURCE;
  },
  response: (accessToken) => ({
    token_type: 'Bearer',
    expires_in: TOKEN_LIFETIME_S,
    ext_expires_in: TOKEN_LIFETIME_S,
    access_token: accessToken,
  }),
};

/** The names by which a v1 request may ask for Microsoft Graph: its App ID URI (with or without `/`) or its app id. */
const GRAPH_V1_RESOURCES = new Set([GRAPH_RESOURCE, `${GRAPH_RESOURCE}/`, GRAPH_APP_ID]);

/**
 * v1 (azuread-dev "Service to service calls using client credentials"): `resource` is the App ID URI, and the
 * response carries `expires_on`, `not_before` and `resource`, its numbers written as strings.
 */
const V1_ENDPOINT: TokenEndpointRules = {
  parameter: 'resource',
  audience(resource, tenantName) {
    if (!GRAPH_V1_RESOURCES.has(resource)) {
      // Entra's refusal of a resource with no service principal in the tenant, as widely reported.
      return oauthError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    return resource === GRAPH_APP_ID ? GRAPH_APP_ID : GRAPH_RESOURCE;
  },
  response: (accessToken, claims, resource) => ({
    token_type: 'Bearer',
    expires_in: String(TOKEN_LIFETIME_S),
    ext_expires_in: String(TOKEN_LIFETIME_S),
    expires_on: String(claims.exp),
    not_before: String(claims.nbf),
    resource,
    access_token: accessToken,
  }),
};

/**
 * The `aud` a client assertion may carry: this tenant's token endpoint as the request addressed it (same host, same
 * tenant segment: id or domain), in its v2.0 form (what MSAL takes from the OpenID metadata) or the v1 form.
 */
/**
 * The token endpoint URLs an assertion's `aud` may name: v2.0 and v1, with the tenant by its id or any of its domain
 * names — the same tenant however the request's path names it (our reading; Entra resolves both to the tenant).
 */
function audiencesFor(baseUrl: string, tenantNames: readonly string[]): string[] {
  return tenantNames.flatMap((t) => [`${baseUrl}/${t}/oauth2/v2.0/token`, `${baseUrl}/${t}/oauth2/token`]);
}

/**
 * AADSTS900144, the identity platform's answer to a missing form parameter ('grant_type' [high], 'scope' [medium],
 * v1 'resource' [reported for another grant]).
 */
function missingParameter(name: string): OAuthResult {
  return oauthError(
    400,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

/**
 * `client_secret_basic` (advertised in the OpenID metadata, RFC 6749 §2.3.1): `Authorization: Basic
 * base64(urlencode(client_id) ":" urlencode(client_secret))` works like posting both in the form. The header fills
 * only what the form lacks; how Entra treats a header and form values that disagree is not documented.
 */
function withBasicClientCredentials(form: URLSearchParams, authorization: string | undefined): URLSearchParams {
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return form;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return form;
  const merged = new URLSearchParams(form);
  if (!merged.has('client_id')) merged.set('client_id', formDecode(decoded.slice(0, colon)));
  if (!merged.has('client_secret')) merged.set('client_secret', formDecode(decoded.slice(colon + 1)));
  return merged;
}

/** application/x-www-form-urlencoded decoding of one Basic credential; a malformed escape is taken literally. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface OAuthResult {
  status: number;
  body: Record<string, unknown>;
}

/** AAD's OAuth error JSON: the AADSTS code leads the description, which ends with trace/correlation ids. */
export function oauthError(status: number, error: string, aadsts: number, description: string): OAuthResult {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    },
  };
}

/** `/{tenant}/v2.0/.well-known/openid-configuration`, addressed at this emulator. */
export function openIdConfiguration(baseUrl: string, tenantId: string): Record<string, unknown> {
  const t = `${baseUrl}/${tenantId}`;
  return {
    token_endpoint: `${t}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${t}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${t}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'ver', 'oid'],
    kerberos_endpoint: `${t}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}
