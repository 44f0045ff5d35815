/**
 * Graph error bodies. Every failure inside the emulator is a `GraphError`; the HTTP layer turns it into Graph's
 * envelope `{"error":{"code","message","innerError":{"date","request-id","client-request-id"},"details"?}}`
 * (graph.md §4). The JS SDK reads exactly `error.code`, `error.message`, `innerError["request-id"]`, `innerError.date`.
 */

export interface GraphErrorDetail {
  code: string;
  message: string;
  target: string;
}

export class GraphError extends Error {
  override name = 'GraphError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: GraphErrorDetail[],
    /** Extra response headers (Retry-After, x-ms-throttle-*, WWW-Authenticate). */
    readonly headers?: Record<string, string>,
    /** Extra innerError members (the 429 body carries `code` and `status` there). */
    readonly innerExtra?: Record<string, string>,
  ) {
    super(message);
  }
}

/** `date` in innerError: UTC without fraction or zone, as Graph writes it ("2022-03-28T07:32:32"). */
export function graphErrorDate(now = new Date()): string {
  return now.toISOString().slice(0, 19);
}

export function errorBody(err: GraphError, requestId: string, clientRequestId: string): Record<string, unknown> {
  const innerError: Record<string, string> = {
    ...(err.innerExtra ?? {}),
    date: graphErrorDate(),
    'request-id': requestId,
    'client-request-id': clientRequestId,
  };
  const error: Record<string, unknown> = { code: err.code, message: err.message, innerError };
  if (err.details && err.details.length > 0) error.details = err.details;
  return { error };
}

// ---- The messages below are Graph's own wording (graph.md §4); tests pin them word for word. ----

export const badRequest = (message: string, details?: GraphErrorDetail[]): GraphError =>
  new GraphError(400, 'Request_BadRequest', message, details);

export const notFound = (resource: string): GraphError =>
  new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${resource}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const insufficientPrivileges = (): GraphError =>
  new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

export const invalidValue = (property: string): GraphError =>
  badRequest(`Invalid value specified for property '${property}' of resource 'User'.`, [
    {
      code: 'InvalidValue',
      message: `Invalid value specified for property '${property}' of resource 'User'.`,
      target: property,
    },
  ]);

export const invalidUpn = (): GraphError =>
  badRequest('Property userPrincipalName is invalid.', [
    { code: 'InvalidValue', message: 'Property userPrincipalName is invalid.', target: 'userPrincipalName' },
  ]);

export const UPN_DOMAIN_MESSAGE =
  'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.';

export const OBJECT_CONFLICT_MESSAGE =
  'Another object with the same value for property userPrincipalName already exists.';

export const PASSWORD_COMPLEXITY_MESSAGE =
  'The specified password does not comply with password complexity requirements. Please provide a different password.';

export const objectConflict = (): GraphError =>
  badRequest(OBJECT_CONFLICT_MESSAGE, [
    { code: 'ObjectConflict', message: OBJECT_CONFLICT_MESSAGE, target: 'userPrincipalName' },
  ]);

export const readOnlyProperty = (property: string): GraphError =>
  badRequest(`Property '${property}' is read-only and cannot be set.`);

export const unsupportedFilter = (property: string, resource = 'User'): GraphError =>
  new GraphError(
    400,
    'Request_UnsupportedQuery',
    `Unsupported or invalid query filter clause specified for property '${property}' of resource '${resource}'.`,
  );

/** OData reader errors (wrong JSON shape/type) come from the OData library, with code `BadRequest`. */
export const odataBadRequest = (message: string): GraphError => new GraphError(400, 'BadRequest', message);

export const invalidJson = (): GraphError =>
  odataBadRequest(
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
  );

export const unauthenticated = (message: string): GraphError =>
  new GraphError(401, 'InvalidAuthenticationToken', message, undefined, {
    'WWW-Authenticate':
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
  });

/** Emulator-only: a Graph feature this emulator does not implement. Loud on purpose, never silently ignored. */
export const notEmulated = (what: string): GraphError =>
  new GraphError(400, 'Request_UnsupportedQuery', `The Graph emulator does not support ${what}.`);

/** Graph's text when `/$count` is used without `ConsistencyLevel: eventual` (aad-advanced-queries error sample). */
export const COUNT_NOT_SUPPORTED_MESSAGE = '$count is not currently supported.';

/**
 * An operator that only advanced queries support, used without `ConsistencyLevel: eventual` and `$count=true`.
 * Word for word the aad-advanced-queries sample for `endsWith`; that `ne` and `not` name themselves the same way is
 * our reading of the template.
 */
export const advancedQueryRequired = (operator: string): GraphError =>
  new GraphError(
    400,
    'Request_UnsupportedQuery',
    `Operator '${operator}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information`,
  );

/** The OData library's answer to a query option given twice (`?$top=1&$top=2`). */
export const repeatedQueryOption = (name: string): GraphError =>
  odataBadRequest(`Query option '${name}' was specified more than once, but it must be specified at most once.`);

/** The OData library's answer to comparing, say, a string property with a number literal. */
export const incompatibleOperands = (left: string, right: string, operatorKind: string): GraphError =>
  odataBadRequest(
    `A binary operator with incompatible types was detected. Found operand types '${left}' and '${right}' for operator kind '${operatorKind}'.`,
  );
