import { z } from 'zod';
import { EnrolBody, OutboundSettingsPatch, PreviewQuery, ProvisioningListQuery, RetryBlockedBody } from './outbound';
import {
  AuditQuery,
  CustomAttributeCreate,
  EmployeeListQuery,
  EmployeePatch,
  TeamCreate,
  TenantCreate,
  TenantPatch,
  TokenCreate,
} from './schemas';

export type OpenApiPaths = Record<string, Record<string, unknown>>;

const schemaOf = (s: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'input' }) as Record<string, unknown>;
  return rest;
};

/** The query parameters of a zod query object, typed and bounded as the handler enforces them. */
function queryParameters(s: z.ZodObject) {
  const { properties = {}, required = [] } = schemaOf(s) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    schema,
  }));
}

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const shared = (name: string) => ({ $ref: `#/components/responses/${name}` });
const ok = (description: string) => ({ description, ...json({ type: 'object' }) });
const std = { '401': shared('Unauthorized'), '404': shared('NotFound') };
/** What any request with a body can get before a handler sees it, and a body that does not match the schema. */
const bodyErrors = {
  '400': shared('BadRequest'),
  '413': shared('PayloadTooLarge'),
  '415': shared('UnsupportedMediaType'),
};
/** A JSON object body, required: an empty body or `null` is a 400, never read as `{}`. */
const withBody = (name: string) => ({
  requestBody: { required: true, ...json({ $ref: `#/components/schemas/${name}` }) },
});
const outboundDisabled = problem('outbound provisioning is not enabled for this tenant');
const tenantParam = { name: 'tenantId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });

/**
 * The admin API's OpenAPI 3.1 document, served at /admin/v1/openapi.json. Request body schemas are generated from
 * the zod schemas the handlers validate with, so the document cannot drift from what is enforced.
 */
export function buildOpenApiDocument(): Record<string, unknown> {
  const t = (path: string) => `/tenants/{tenantId}${path}`;
  const paths: OpenApiPaths = {
    '/tenants': {
      get: { summary: 'List the tenants this token reaches', responses: { '200': ok('tenants'), ...std } },
      post: {
        summary: 'Create a tenant (platform token only)',
        ...withBody('TenantCreate'),
        responses: { '201': ok('the tenant'), ...bodyErrors, '403': problem('not the platform token'), ...std },
      },
    },
    [t('')]: {
      parameters: [tenantParam],
      get: { summary: 'Get a tenant', responses: { '200': ok('the tenant'), ...std } },
      patch: {
        summary: 'Update a tenant',
        ...withBody('TenantPatch'),
        responses: {
          '200': ok('the tenant'),
          ...bodyErrors,
          '403': problem('switching invitation emails on is for the platform token (INVITE_SWITCH_BY=platform)'),
          ...std,
        },
      },
    },
    [t('/scim-tokens')]: {
      parameters: [tenantParam],
      get: { summary: 'List SCIM tokens (never the token itself)', responses: { '200': ok('tokens'), ...std } },
      post: {
        summary: 'Create a SCIM bearer token; the response is the only time it is shown',
        ...withBody('TokenCreate'),
        responses: { '201': ok('the token, once'), ...bodyErrors, ...std },
      },
    },
    [t('/scim-tokens/{tokenId}')]: {
      parameters: [tenantParam, idParam('tokenId')],
      delete: {
        summary: 'Revoke a SCIM token (takes effect at once)',
        responses: { '204': { description: 'revoked' }, ...std },
      },
    },
    [t('/admin-tokens')]: {
      parameters: [tenantParam],
      get: { summary: "List the tenant's admin tokens", responses: { '200': ok('tokens'), ...std } },
      post: {
        summary: 'Create a tenant admin token, shown once',
        ...withBody('TokenCreate'),
        responses: { '201': ok('the token, once'), ...bodyErrors, ...std },
      },
    },
    [t('/admin-tokens/{tokenId}')]: {
      parameters: [tenantParam, idParam('tokenId')],
      delete: { summary: 'Revoke an admin token', responses: { '204': { description: 'revoked' }, ...std } },
    },
    [t('/custom-attributes')]: {
      parameters: [tenantParam],
      get: {
        summary: 'List custom attribute definitions with the SCIM path to map in Entra',
        responses: { '200': ok('definitions'), ...std },
      },
      post: {
        summary: 'Define a custom attribute',
        ...withBody('CustomAttributeCreate'),
        responses: {
          '201': ok('the definition'),
          ...bodyErrors,
          '400': problem('invalid body, or a reserved id (__proto__, constructor, prototype)'),
          '409': problem('id already used'),
          ...std,
        },
      },
    },
    [t('/custom-attributes/{id}')]: {
      parameters: [tenantParam, idParam('id')],
      delete: {
        summary: 'Delete a custom attribute definition',
        responses: { '204': { description: 'deleted' }, ...std },
      },
    },
    [t('/teams')]: {
      parameters: [tenantParam],
      get: { summary: 'List teams (manual and from SCIM groups)', responses: { '200': ok('teams'), ...std } },
      post: {
        summary: 'Create a manual team',
        ...withBody('TeamCreate'),
        responses: { '201': ok('the team'), ...bodyErrors, '409': problem('name already used'), ...std },
      },
    },
    [t('/teams/{teamId}')]: {
      parameters: [tenantParam, idParam('teamId')],
      get: { summary: 'Get a team', responses: { '200': ok('the team'), ...std } },
      delete: {
        summary: 'Delete a manual team (SCIM teams, and manual teams an Entra group adopted, belong to Entra)',
        responses: {
          '204': { description: 'deleted' },
          '409': problem('created by SCIM, or adopted by an Entra group of the same name'),
          ...std,
        },
      },
    },
    [t('/employees')]: {
      parameters: [tenantParam],
      get: {
        summary: 'List employees',
        parameters: queryParameters(EmployeeListQuery),
        responses: { '200': ok('a page of employees'), '400': shared('BadQuery'), ...std },
      },
    },
    [t('/employees/{employeeId}')]: {
      parameters: [tenantParam, idParam('employeeId')],
      get: { summary: 'Get an employee', responses: { '200': ok('the employee'), ...std } },
      patch: {
        summary: 'Update HR-native fields (lifecycle status)',
        ...withBody('EmployeePatch'),
        responses: { '200': ok('the employee'), ...bodyErrors, ...std },
      },
    },
    [t('/employees/{employeeId}/invitation/resend')]: {
      parameters: [tenantParam, idParam('employeeId')],
      post: {
        summary:
          "Send the employee's invitation email again: one that `failed`, or was `cancelled` for a reason that no longer holds. It becomes `pending`, due now, attempts and error cleared",
        responses: {
          '202': ok('the invitation, pending'),
          '409': problem('the invitation is pending, sending or sent, or the reason it was cancelled still holds'),
          ...std,
        },
      },
    },
    [t('/employees/{employeeId}/audit')]: {
      parameters: [tenantParam, idParam('employeeId')],
      get: {
        summary: "The employee's audit trail, newest first; `next` is the `before` of the next page (null at the end)",
        parameters: queryParameters(AuditQuery),
        responses: { '200': ok('audit events'), '400': shared('BadQuery'), ...std },
      },
    },
    [t('/outbound/settings')]: {
      parameters: [tenantParam],
      get: {
        summary:
          'Outbound settings (the client secret or certificate is never returned; a certificate by its thumbprint). A tenant that never stored any gets the defaults: `enabled: false`, no connection or credential, `updatedAt: null`',
        responses: { '200': ok('settings'), ...std },
      },
      patch: {
        summary: 'Update the Graph connection, mapping, watched attributes, manager switch, on/off',
        ...withBody('OutboundSettingsPatch'),
        responses: {
          '200': ok('settings'),
          ...bodyErrors,
          '400': problem(
            'invalid settings or certificate, or a new tenant, app, authority or Graph URL without the credential',
          ),
          '503': problem('SECRETS_KEY is not configured, so a credential cannot be stored'),
          ...std,
        },
      },
    },
    [t('/outbound/settings/test')]: {
      parameters: [tenantParam],
      post: {
        summary:
          'Test connection: token, verified domains and extension properties; names each missing permission and warns of a certificate near expiry',
        responses: {
          '200': ok('one result per check'),
          '409': problem(
            'not configured (tenant id, client id or credential missing), or a stored authority or Graph URL whose origin is no longer allowed',
          ),
          '503': problem('SECRETS_KEY is not configured'),
          ...std,
          '404': problem('no outbound settings were ever stored (or no such tenant)'),
        },
      },
    },
    [t('/outbound/enrol')]: {
      parameters: [tenantParam],
      post: {
        summary: 'Enrol all (`{"all": true}`) or listed (`{"employeeIds": [...]}`) employees: push them now',
        ...withBody('EnrolBody'),
        responses: {
          '202': ok('enrolled'),
          ...bodyErrors,
          '409': outboundDisabled,
          ...std,
          '404': problem('unknown employees (or no such tenant)'),
        },
      },
    },
    [t('/outbound/retry')]: {
      parameters: [tenantParam],
      post: {
        summary:
          'Retry every BLOCKED employee (`{}`), or those blocked with one `errorType`, after fixing a cause that blocked many',
        ...withBody('RetryBlockedBody'),
        responses: { '202': ok('retried: how many were queued'), ...bodyErrors, '409': outboundDisabled, ...std },
      },
    },
    [t('/outbound/summary')]: {
      parameters: [tenantParam],
      get: {
        summary: 'How many employees are in each provisioning state, and what blocks the blocked ones (by errorType)',
        responses: { '200': ok('{"states": {...}, "blockedBy": {...}}'), ...std },
      },
    },
    [t('/outbound/employees')]: {
      parameters: [tenantParam],
      get: {
        summary:
          'Provisioning status of employees, optionally by state and errorType; `next` is the `after` of the next page (null at the end)',
        parameters: queryParameters(ProvisioningListQuery),
        responses: { '200': ok('statuses'), '400': shared('BadQuery'), ...std },
      },
    },
    [t('/outbound/employees/{employeeId}')]: {
      parameters: [tenantParam, idParam('employeeId')],
      get: {
        summary: "One employee's provisioning status, with the reason when blocked",
        responses: { '200': ok('status'), ...std },
      },
    },
    [t('/outbound/employees/{employeeId}/retry')]: {
      parameters: [tenantParam, idParam('employeeId')],
      post: {
        summary: 'Retry a blocked employee; answers at once whether the retry was accepted',
        responses: {
          '202': ok('accepted'),
          '409': problem('not blocked'),
          '503': problem('no worker answered within 5 s'),
          ...std,
        },
      },
    },
    [t('/outbound/employees/{employeeId}/preview')]: {
      parameters: [tenantParam, idParam('employeeId')],
      get: {
        summary:
          'What the next sync would send to Graph, without writing. `reconcile=true`: plan like an enrol or retry, against the account read from Entra (default: like a change)',
        parameters: queryParameters(PreviewQuery),
        responses: { '200': ok('the plan'), '400': shared('BadQuery'), ...std },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'entra-sync admin API',
      version: '1',
      description:
        'Tenants, tokens, HR data and outbound provisioning. Errors are RFC 9457 problem+json. Bodies are JSON ' +
        'objects (application/json or application/*+json), plain or compressed with Content-Encoding gzip, deflate ' +
        'or br. A path of this document called with a method it does not list answers 405 with an Allow header ' +
        '(components.responses.MethodNotAllowed).',
    },
    servers: [{ url: '/admin/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        BadRequest: problem(
          'the body is not a JSON object (also when empty or null), not valid JSON, contains U+0000 or a forbidden key, or does not match the schema (`errors` names each field)',
        ),
        BadQuery: problem('a query parameter does not match its schema (`errors` names it)'),
        Unauthorized: problem('missing or invalid admin token'),
        NotFound: problem('no such resource (or another tenant)'),
        PayloadTooLarge: problem('the body is larger than the server takes (MAX_BODY_BYTES)'),
        UnsupportedMediaType: problem(
          'the body is not JSON (application/json or application/*+json), or its Content-Encoding is not gzip, deflate or br',
        ),
        MethodNotAllowed: {
          ...problem('the path exists, but not with this method; the Allow header lists those it has'),
          headers: { Allow: { schema: { type: 'string' }, description: 'e.g. GET, HEAD, PATCH' } },
        },
      },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
          },
          required: ['title', 'status'],
        },
        TenantCreate: schemaOf(TenantCreate),
        TenantPatch: schemaOf(TenantPatch),
        TokenCreate: schemaOf(TokenCreate),
        CustomAttributeCreate: schemaOf(CustomAttributeCreate),
        TeamCreate: schemaOf(TeamCreate),
        EmployeePatch: schemaOf(EmployeePatch),
        OutboundSettingsPatch: schemaOf(OutboundSettingsPatch),
        EnrolBody: schemaOf(EnrolBody),
        RetryBlockedBody: schemaOf(RetryBlockedBody),
      },
    },
  };
}
