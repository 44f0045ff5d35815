import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ErrorTypes, type ErrorType } from '../workflows/messages';

/**
 * Error classification, done once at the Graph boundary. Every failure of a sync becomes a `ProvisioningError`
 * with a stable `type` (src/workflows/messages.ts), a reason naming the cause and the fix, and whether Temporal
 * should retry it. The activity turns it into an `ApplicationFailure`; the workflow, PostgreSQL and the admin
 * API only ever see the type and the reason.
 */
export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly info: {
      retryable?: boolean;
      retryAfterMs?: number;
      graphCode?: string | null;
      requestId?: string | null;
      status?: number;
      cause?: unknown;
      /** For PermissionDenied: the permission to grant, when it is not the operation's usual one. */
      missingPermission?: string;
    } = {},
  ) {
    super(message, { cause: info.cause });
  }
  get retryable(): boolean {
    return this.info.retryable ?? false;
  }
}

/** What the worker was doing when Graph failed; decides which permission a 403 names. */
export type GraphOperation = 'token' | 'lookup' | 'create' | 'update' | 'manager' | 'domains' | 'extensions';

/**
 * Graph's extra permission for writing `employeeLeaveDateTime` (graph.md §user properties): with only
 * User.ReadWrite.All, a create or update carrying it is refused with 403.
 */
export const LEAVE_DATE_PERMISSION = 'User-LifeCycleInfo.ReadWrite.All';

/** Least-privileged application permission per operation (graph.md §1). */
export const REQUIRED_PERMISSION: Record<GraphOperation, string> = {
  token: '-',
  lookup: 'User.Read.All',
  create: 'User.ReadWrite.All',
  update: 'User.ReadWrite.All',
  manager: 'User.ReadWrite.All',
  domains: 'Domain.Read.All',
  extensions: 'Application.Read.All',
};

/** The shape of the SDK's GraphError that we rely on (statusCode, code, requestId, body, headers). */
interface GraphErrorLike {
  statusCode: number;
  code: string | null;
  requestId: string | null;
  message: string;
  body?: unknown;
  headers?: { get(name: string): string | null };
}

function isGraphErrorLike(err: unknown): err is GraphErrorLike {
  return typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number';
}

/** `Retry-After` as seconds (integer or fractional, graph.md §10) or as an HTTP date; undefined if absent. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface ErrorDetail {
  code?: string;
  target?: string;
  message?: string;
}

function detailsOf(err: GraphErrorLike): ErrorDetail[] {
  if (typeof err.body !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(err.body);
    const details = (parsed as { details?: unknown }).details;
    return Array.isArray(details) ? (details as ErrorDetail[]) : [];
  } catch {
    return [];
  }
}

const NETWORK_CODES =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|UND_ERR|fetch failed|socket hang up/i;

/** Classifies any error from a Graph call (SDK GraphError, @azure/identity error, network error). */
/**
 * `alsoNeeds`: a permission the request needs besides the operation's own (e.g. LEAVE_DATE_PERMISSION for a write
 * carrying employeeLeaveDateTime), named too when Graph answers 403.
 */
/**
 * The name of the error a write's wait for the budget ends with at its scope's deadline (src/graph/client.ts). The
 * Graph SDK re-wraps errors thrown in its middleware, keeping only their message and, as `code`, their name.
 */
export const BUDGET_DEADLINE = 'WriteBudgetDeadline';

export function classifyGraphError(err: unknown, op: GraphOperation, alsoNeeds?: string): ProvisioningError {
  if (err instanceof ProvisioningError) return err;
  const named = err as { name?: unknown; code?: unknown } | null;
  if (named?.name === BUDGET_DEADLINE || named?.code === BUDGET_DEADLINE) {
    // Not Graph's 429: our own budget kept the write back. The attempt ends itself and the next starts shortly.
    return new ProvisioningError(ErrorTypes.GraphThrottled, (err as Error).message, {
      retryable: true,
      retryAfterMs: 1_000,
      cause: err,
    });
  }
  if (isGraphErrorLike(err) && err.statusCode > 0) return classifyHttp(err, op, alsoNeeds);
  return classifyNonHttp(err, op);
}

function classifyHttp(err: GraphErrorLike, op: GraphOperation, alsoNeeds?: string): ProvisioningError {
  const status = err.statusCode;
  const code = err.code ?? null;
  const requestId = err.requestId ?? err.headers?.get('request-id') ?? null;
  const base = { graphCode: code, requestId, status, cause: err };
  const retryAfterMs = parseRetryAfter(err.headers?.get('Retry-After'));

  if (status === 429 || status === 503 || status === 504) {
    return new ProvisioningError(
      ErrorTypes.GraphThrottled,
      `Microsoft Graph asked us to slow down (HTTP ${status}${retryAfterMs !== undefined ? `, Retry-After ${retryAfterMs} ms` : ''}); retrying automatically.`,
      { ...base, retryable: true, retryAfterMs },
    );
  }
  if (status >= 500) {
    return new ProvisioningError(
      ErrorTypes.GraphUnavailable,
      `Microsoft Graph failed with HTTP ${status} (${code ?? 'no code'}); retrying automatically.`,
      { ...base, retryable: true, retryAfterMs },
    );
  }
  if (status === 401) {
    return new ProvisioningError(
      ErrorTypes.InvalidCredentials,
      'Microsoft Graph rejected the access token (HTTP 401). Fix: check the Entra tenant id, client id and client secret in the outbound settings, then retry.',
      base,
    );
  }
  if (status === 403) {
    const permission = alsoNeeds
      ? `${alsoNeeds} (needed besides ${REQUIRED_PERMISSION[op]} because the mapping writes employeeLeaveDateTime)`
      : REQUIRED_PERMISSION[op];
    return new ProvisioningError(
      ErrorTypes.PermissionDenied,
      `The app registration may not ${describeOp(op)} (403 ${code ?? 'Forbidden'}). Fix: grant the application permission ${permission} with admin consent` +
        (op === 'update'
          ? ' (a user holding a privileged admin role also needs the app to hold a higher admin role)'
          : '') +
        ', then retry.',
      base,
    );
  }
  const details = detailsOf(err);
  const message = err.message ?? '';
  if (details.some((d) => d.code === 'ObjectConflict') || /Another object with the same value/i.test(message)) {
    const target = details.find((d) => d.code === 'ObjectConflict')?.target ?? 'userPrincipalName';
    return new ProvisioningError(
      ErrorTypes.UpnConflict,
      `Another Entra object already uses this ${target}. Fix: change the employee's username (SCIM userName) in the HR system, or rename or delete the other object in Entra ID, then retry.`,
      base,
    );
  }
  if (/domain portion of the userPrincipalName/i.test(message)) {
    return new ProvisioningError(
      ErrorTypes.DomainNotVerified,
      "The domain of the username (the userPrincipalName) is not a verified domain of the Entra tenant. Fix: correct the employee's username in the HR system (SCIM userName), or add and verify the domain in Entra ID, then retry.",
      base,
    );
  }
  const invalidTarget =
    details.find((d) => d.code === 'InvalidValue')?.target ??
    /property '([^']+)'/i.exec(message)?.[1] ??
    /Property ([A-Za-z0-9_]+) is invalid/i.exec(message)?.[1];
  if (
    status === 400 &&
    (invalidTarget || /invalid values|read-only|Unsupported or invalid query|Cannot convert the literal/i.test(message))
  ) {
    return new ProvisioningError(
      ErrorTypes.InvalidProperty,
      `Microsoft Graph rejected ${invalidTarget ? `the value of ${invalidTarget}` : 'a property value'}: ${message} Fix: correct the HR value or the attribute mapping, then retry.`,
      base,
    );
  }
  return unknownGraphError(status, code, requestId, message, err);
}

function unknownGraphError(
  status: number | undefined,
  code: string | null,
  requestId: string | null,
  message: string,
  cause: unknown,
): ProvisioningError {
  return new ProvisioningError(
    ErrorTypes.UnknownGraphError,
    `Unknown error from Microsoft Graph (HTTP ${status ?? '?'}, code ${code ?? 'none'}, request-id ${requestId ?? 'none'}): ${message}`.trim() +
      ' Fix: check the Entra tenant, then retry; if it persists, report the code and request-id.',
    { graphCode: code, requestId, status, cause },
  );
}

/**
 * Graph answered a call successfully but with a body of another shape than the call documents (a field missing or of
 * another type). Retrying cannot help and the next sync would meet it again, so the employee blocks as an unknown
 * Graph error naming the call, what did not match (paths and expectations only, never the values) and the request-id
 * for Microsoft support.
 */
export function unexpectedAnswer(
  op: GraphOperation,
  mismatch: string,
  answer: { status?: number; requestId?: string },
  cause: unknown,
): ProvisioningError {
  return unknownGraphError(
    answer.status,
    null,
    answer.requestId ?? null,
    `the answer when trying to ${describeOp(op)} is not what Graph documents (${mismatch}).`,
    cause,
  );
}

function classifyNonHttp(err: unknown, op: GraphOperation): ProvisioningError {
  const e = err instanceof Error ? err : new Error(String(err));
  const text = `${e.name} ${e.message} ${String((e as { code?: unknown }).code ?? '')} ${String((e.cause as Error | undefined)?.message ?? '')}`;
  // A tenant id the identity platform does not know (TenantCheckingCredential tells it apart from an outage).
  if (/AADSTS90002|invalid_tenant/.test(text)) {
    return new ProvisioningError(
      ErrorTypes.InvalidCredentials,
      'The identity platform does not know the Entra tenant in the outbound settings (AADSTS90002). Fix: set graphTenantId to the tenant id (a GUID, shown in the Entra admin center under Overview) or one of its domain names, and for a national cloud its authorityHost, then retry.',
      { cause: e },
    );
  }
  // @azure/identity: AuthenticationError carries the identity platform's error (invalid_client, unauthorized_client…).
  if (
    e.name === 'AuthenticationError' ||
    /invalid_client|unauthorized_client|AADSTS7000215|AADSTS700016|AADSTS70002[147]/i.test(text)
  ) {
    if (NETWORK_CODES.test(text)) return transientNetwork(e);
    return new ProvisioningError(ErrorTypes.InvalidCredentials, signInFailure(text), { cause: e });
  }
  // Any other answer of the identity platform (an AADSTS code: a scope for another cloud, a Conditional Access
  // policy for workload identities…) is a setting or policy a person must change — unless it says it is transient.
  const refused = /AADSTS(\d+):?\s*([^\r\n]*?)(?:\s*Trace ID:|\r|\n|$)/.exec(text);
  if (refused && /temporarily_unavailable|server_error|AADSTS90033\b/i.test(text)) return transientNetwork(e);
  if (refused) {
    return new ProvisioningError(
      ErrorTypes.InvalidCredentials,
      `Entra ID refused the app's sign-in (AADSTS${refused[1]}: ${refused[2]!.slice(0, 300).trim()}). Fix: check the outbound settings (tenant, cloud, app) and the tenant's policies for this app (e.g. Conditional Access for workload identities), then retry.`,
      { cause: e },
    );
  }
  // The SDK wraps sign-in failures as GraphError(-1, code 'CredentialUnavailableError'); MSAL reports an
  // unreachable or untrusted (TLS) authority as endpoints_resolution_error; Node names TLS failures by code.
  if (
    NETWORK_CODES.test(text) ||
    e.name === 'AbortError' ||
    /CredentialUnavailableError|endpoints_resolution_error|CERT_|ERR_TLS_|SELF_SIGNED|UNABLE_TO_VERIFY|self[- ]signed certificate|unable to verify the first certificate/i.test(
      text,
    )
  ) {
    return transientNetwork(e);
  }
  return unknownGraphError(undefined, null, null, `${op}: ${e.message}`, e);
}

const CERTIFICATE_MARK = /\[entra-sync certificate thumbprint: ([0-9A-F]+)\]/;

/**
 * Adds the stored certificate's SHA-1 thumbprint — the one the Entra admin center lists — to a failed sign-in's
 * message (client.ts). The identity platform names the certificate by the thumbprint the assertion carried, which
 * for `@azure/identity` is the SHA-256 one the admin center does not show.
 */
export function markCertificate(err: Error, thumbprint: string): void {
  err.message = `${err.message} [entra-sync certificate thumbprint: ${thumbprint}]`;
}

/** Why the identity platform refused the app's credential, and what the admin does about it. */
function signInFailure(text: string): string {
  // Our own mark names the stored certificate by its SHA-1 thumbprint; else the one Entra quotes.
  const thumbprint =
    CERTIFICATE_MARK.exec(text)?.[1] ?? /Thumbprint of key used by client: '([0-9A-Fa-f]+)'/.exec(text)?.[1];
  const named = thumbprint ? ` (thumbprint ${thumbprint.toUpperCase()})` : '';
  if (/AADSTS700027/.test(text) && /not registered on application/i.test(text)) {
    return `Entra ID does not know the certificate${named} on the app registration (AADSTS700027). Fix: upload the certificate's public part under the app's "Certificates & secrets", or give entra-sync the certificate registered there, then retry.`;
  }
  if (/AADSTS700027/.test(text) && /expired on application/i.test(text)) {
    return `The certificate${named} has expired on the app registration (AADSTS700027). Fix: make a new certificate, upload it to the app and give it to entra-sync, then retry.`;
  }
  if (/AADSTS700027/.test(text)) {
    return "Entra ID could not verify the app's signed sign-in request with the registered certificate (AADSTS700027). Fix: give entra-sync the private key that belongs to the certificate registered on the app, then retry.";
  }
  if (/AADSTS700024/.test(text)) {
    return "Entra ID refused the app's sign-in request as outside its valid time (AADSTS700024): the worker's clock is wrong. Fix: synchronise the worker host's clock (NTP), then retry.";
  }
  if (/AADSTS7000215/.test(text)) {
    return "Entra ID refused the client secret (AADSTS7000215). Fix: enter the secret's value (not its id) in the outbound settings, or a new one if it expired, then retry.";
  }
  return 'Signing in to Entra ID with the app registration failed. Fix: check the Entra tenant id, client id and the client secret or certificate (it may have expired) in the outbound settings, then retry.';
}

function transientNetwork(e: Error): ProvisioningError {
  return new ProvisioningError(
    ErrorTypes.GraphUnavailable,
    `Microsoft Graph or the identity platform could not be reached (${e.message}); retrying automatically. If it persists, check the network, DNS and that the TLS certificate is trusted (GRAPH_EXTRA_CA_CERTS).`,
    { retryable: true, cause: e },
  );
}

function describeOp(op: GraphOperation): string {
  switch (op) {
    case 'lookup':
      return 'read users';
    case 'create':
      return 'create users';
    case 'update':
      return 'update users';
    case 'manager':
      return 'set managers';
    case 'domains':
      return 'read the verified domains';
    case 'extensions':
      return 'read directory extension properties';
    default:
      return 'sign in';
  }
}

/**
 * The one place a classified error becomes a Temporal failure. `version` (the employee row version the attempt
 * read) travels in the details so the workflow can tell whether a newer change might already be the fix.
 */
export function toApplicationFailure(err: ProvisioningError, version?: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: !err.retryable,
    // Classified failures are expected (a block a person fixes, throttling): the activity already logged each with
    // its employee, so the SDK's own "Activity failed" line with a stack goes to debug. Only a Graph failure nobody
    // classified stays a warning there too.
    category: err.type === ErrorTypes.UnknownGraphError ? undefined : ApplicationFailureCategory.BENIGN,
    nextRetryDelay: err.retryable && err.info.retryAfterMs !== undefined ? err.info.retryAfterMs : undefined,
    details: [
      { version: version ?? null, graphCode: err.info.graphCode ?? null, requestId: err.info.requestId ?? null },
    ],
  });
}
