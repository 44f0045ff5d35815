import { z } from 'zod';
import { OutboundSettingsPatch } from './outbound';
import { CustomAttributeCreate, EmployeePatch, TeamCreate, TenantCreate, TenantPatch, TokenCreate } from './schemas';
import { NON_RETRYABLE_ERROR_TYPES } from '../../workflows/messages';

type OpenApiPaths = Record<string, Record<string, unknown>>;

const schemaOf = (s: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'input' }) as Record<string, unknown>;
  return rest;
};

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const body = (name: string) => ({ required: true, ...json({ $ref: `#/components/schemas/${name}` }) });
const ok = (description: string) => ({ description, ...json({ type: 'object' }) });
const std = {
  '401': problem('missing or invalid admin token'),
  '404': problem('no such resource (or another tenant)'),
};
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
        requestBody: body('TenantCreate'),
        responses: {
          '201': ok('the tenant'),
          '400': problem('invalid body'),
          '403': problem('not the platform token'),
          ...std,
        },
      },
    },
    [t('')]: {
      parameters: [tenantParam],
      get: { summary: 'Get a tenant', responses: { '200': ok('the tenant'), ...std } },
      patch: {
        summary: 'Update a tenant',
        requestBody: body('TenantPatch'),
        responses: { '200': ok('the tenant'), ...std },
      },
    },
    [t('/scim-tokens')]: {
      parameters: [tenantParam],
      get: { summary: 'List SCIM tokens (never the token itself)', responses: { '200': ok('tokens'), ...std } },
      post: {
        summary: 'Create a SCIM bearer token; the response is the only time it is shown',
        requestBody: body('TokenCreate'),
        responses: { '201': ok('the token, once'), ...std },
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
        requestBody: body('TokenCreate'),
        responses: { '201': ok('the token, once'), ...std },
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
        requestBody: body('CustomAttributeCreate'),
        responses: { '201': ok('the definition'), '409': problem('id already used'), ...std },
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
        requestBody: body('TeamCreate'),
        responses: { '201': ok('the team'), '409': problem('name already used'), ...std },
      },
    },
    [t('/teams/{teamId}')]: {
      parameters: [tenantParam, idParam('teamId')],
      get: { summary: 'Get a team', responses: { '200': ok('the team'), ...std } },
      delete: {
        summary: 'Delete a manual team (SCIM teams belong to Entra)',
        responses: { '204': { description: 'deleted' }, '409': problem('created by SCIM'), ...std },
      },
    },
    [t('/employees')]: {
      parameters: [tenantParam],
      get: {
        summary: 'List employees',
        parameters: ['limit', 'offset', 'active', 'lifecycleStatus'].map((name) => ({
          name,
          in: 'query',
          schema: { type: 'string' },
        })),
        responses: { '200': ok('a page of employees'), ...std },
      },
    },
    [t('/employees/{employeeId}')]: {
      parameters: [tenantParam, idParam('employeeId')],
      get: { summary: 'Get an employee', responses: { '200': ok('the employee'), ...std } },
      patch: {
        summary: 'Update HR-native fields (lifecycle status)',
        requestBody: body('EmployeePatch'),
        responses: { '200': ok('the employee'), '400': problem('invalid body'), ...std },
      },
    },
    [t('/employees/{employeeId}/audit')]: {
      parameters: [tenantParam, idParam('employeeId')],
      get: { summary: "The employee's audit trail, newest first", responses: { '200': ok('audit events'), ...std } },
    },
    [t('/outbound/settings')]: {
      parameters: [tenantParam],
      get: {
        summary:
          'Outbound settings (the client secret or certificate is never returned; a certificate by its thumbprint)',
        responses: { '200': ok('settings'), ...std },
      },
      patch: {
        summary: 'Update the Graph connection, mapping, watched attributes, manager switch, on/off',
        requestBody: body('OutboundSettingsPatch'),
        responses: {
          '200': ok('settings'),
          '400': problem(
            'invalid settings or certificate, or a new tenant, app, authority or Graph URL without the credential',
          ),
          ...std,
        },
      },
    },
    [t('/outbound/settings/test')]: {
      parameters: [tenantParam],
      post: {
        summary:
          'Test connection: token, verified domains and extension properties; names each missing permission and warns of a certificate near expiry',
        responses: { '200': ok('one result per check'), ...std },
      },
    },
    [t('/outbound/enrol')]: {
      parameters: [tenantParam],
      post: {
        summary: 'Enrol all (`{"all": true}`) or listed (`{"employeeIds": [...]}`) employees: push them now',
        requestBody: {
          required: true,
          ...json({
            oneOf: [
              { type: 'object', properties: { all: { const: true } }, required: ['all'], additionalProperties: false },
              {
                type: 'object',
                properties: {
                  employeeIds: {
                    type: 'array',
                    items: { type: 'string', format: 'uuid' },
                    minItems: 1,
                    maxItems: 1000,
                  },
                },
                required: ['employeeIds'],
                additionalProperties: false,
              },
            ],
          }),
        },
        responses: { '202': ok('enrolled'), ...std },
      },
    },
    [t('/outbound/retry')]: {
      parameters: [tenantParam],
      post: {
        summary:
          'Retry every BLOCKED employee, or those blocked with one `errorType`, after fixing a cause that blocked many',
        requestBody: {
          required: false,
          ...json({
            type: 'object',
            properties: { errorType: { type: 'string', enum: [...NON_RETRYABLE_ERROR_TYPES] } },
            additionalProperties: false,
          }),
        },
        responses: { '202': ok('retried: how many were queued'), ...std },
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
        summary: 'Provisioning status of employees, optionally by state (PENDING, SYNCED, BLOCKED, NOT_ENROLLED)',
        parameters: ['state', 'errorType', 'limit', 'after'].map((name) => ({
          name,
          in: 'query',
          schema: { type: 'string' },
        })),
        responses: { '200': ok('statuses'), ...std },
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
      parameters: [
        tenantParam,
        idParam('employeeId'),
        {
          name: 'reconcile',
          in: 'query',
          required: false,
          description:
            'true: plan like an enrol or retry, against the account read from Entra (default: like a change)',
          schema: { type: 'string', enum: ['true', 'false'] },
        },
      ],
      get: {
        summary: 'What the next sync would send to Graph, without writing',
        responses: { '200': ok('the plan'), ...std },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'entra-sync admin API',
      version: '1',
      description: 'Tenants, tokens, HR data and outbound provisioning. Errors are RFC 9457 problem+json.',
    },
    servers: [{ url: '/admin/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
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
      },
    },
  };
}
