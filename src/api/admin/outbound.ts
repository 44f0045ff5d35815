import {
  isGrpcCancelledError,
  isGrpcDeadlineError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { disableWhileBlocked, planSync, describePlan, type SyncPlan } from '../../activities/sync-plan';
import { recordAuditEvent } from '../../db/audit';
import { CUSTOM_ATTRIBUTE_ID, undefinedCustomSources } from '../../db/custom-attributes';
import type { Db } from '../../db/knex';
import {
  getGraphConnection,
  getOutboundSettings,
  upsertOutboundSettings,
  type OutboundSettings,
} from '../../db/outbound-settings';
import {
  enrolEmployees,
  getProvisioning,
  listProvisioning,
  loadHrEmployee,
  loadSyncInputs,
  notEnrolled,
  retryBlockedEmployees,
  summarizeProvisioning,
} from '../../db/provisioning';
import { AppCertificateError, parseAppCertificate } from '../../graph/app-certificate';
import { createGraphConnector, type GraphConnector } from '../../graph/connector';
import { endpointRefusals } from '../../graph/endpoints';
import { ProvisioningError } from '../../graph/errors';
import { DEFAULT_MAPPING, DEFAULT_WATCHED_ATTRIBUTES, HR_FIELDS, MappingSchema } from '../../graph/mapping';
import { testGraphConnection } from '../../graph/test-connection';
import {
  employeeSyncWorkflowId,
  ErrorTypes,
  NON_RETRYABLE_ERROR_TYPES,
  PROVISIONING_STATES,
  retryUpdate,
  statusQuery,
  type ErrorType,
} from '../../workflows/messages';
import type { ApiDeps } from '../deps';
import { tenantIdOf, UUID, uuidParam } from './auth';
import { notFound, ProblemError } from './problem';
import { parseBody } from './request-body';
import { FORBIDDEN_ATTRIBUTE_IDS, Uuid } from './schemas';

/**
 * Outbound provisioning to Entra ID, per tenant: settings (the client secret or certificate is write-only), test connection,
 * enrolment (the initial push), provisioning status, retry of a blocked employee, and a preview of the next sync.
 */
/** Longer than any real Graph or sign-in URL; a bound keeps a hostile value from costing the api time and storage. */
const MAX_URL_LENGTH = 2048;

/** `path` without its trailing slashes (a loop: the regex /\/+$/ takes quadratic time on a long run of slashes). */
function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

/**
 * An https URL without user info, query or fragment, stored as parsed: the string kept (and handed to the identity
 * library) is the one whose origin was checked against the allowed origins. An authority is its origin only.
 */
const httpsUrl = (kind: 'authority' | 'graph') =>
  z
    .string()
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .transform((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value.trim());
      } catch {
        url = new URL('invalid:');
      }
      const problem =
        url.protocol !== 'https:'
          ? 'must be an https URL'
          : url.username || url.password || url.search || url.hash
            ? 'must not carry user info, a query or a fragment'
            : kind === 'authority' && url.pathname !== '/'
              ? 'must be the sign-in host only, e.g. https://login.microsoftonline.us'
              : undefined;
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      return kind === 'authority' ? url.origin : `${url.origin}${withoutTrailingSlashes(url.pathname)}`;
    });

/** A tenant's domain name, e.g. contoso.onmicrosoft.com: what the identity platform accepts besides the GUID. */
const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * Settings that decide where the stored credential is used and for which app: changing one needs the credential
 * (client secret or certificate) again.
 */
const CREDENTIAL_BOUND_FIELDS = ['graphTenantId', 'clientId', 'authorityHost', 'graphBaseUrl'] as const;

/** Settings whose case means nothing: GUIDs and domain names. `A52B…` sent for a stored `a52b…` is no change. */
const CASE_INSENSITIVE_FIELDS: ReadonlySet<string> = new Set(['graphTenantId', 'clientId']);

/** Whether a credential-bound setting keeps its value (URLs are compared exactly: their paths have case). */
function sameSetting(field: (typeof CREDENTIAL_BOUND_FIELDS)[number], sent: string | null, stored: string | null) {
  const fold = (v: string | null) => (v !== null && CASE_INSENSITIVE_FIELDS.has(field) ? v.toLowerCase() : v);
  return fold(sent) === fold(stored);
}

/**
 * Refuses a change of the sign-in authority, Graph URL, tenant or app that would reuse the stored credential.
 * Otherwise anyone holding an admin token could point the authority at their own server, press "test connection",
 * and receive the secret they were never shown — or point the Graph URL there and receive a Graph token for the real
 * tenant, which a certificate credential would hand over as readily as a secret.
 */
function requireCredentialForNewEndpoint(
  current: OutboundSettings | undefined,
  input: z.infer<typeof OutboundSettingsPatch>,
) {
  const stored = current?.hasClientSecret || current?.clientCertificate;
  if (!stored || input.clientSecret !== undefined || input.clientCertificate !== undefined) return;
  const changed = CREDENTIAL_BOUND_FIELDS.filter(
    (f) => input[f] !== undefined && !sameSetting(f, input[f] ?? null, current![f]),
  );
  if (changed.length === 0) return;
  const field = current!.clientCertificate ? 'clientCertificate' : 'clientSecret';
  throw new ProblemError(
    400,
    'Bad Request',
    `Changing ${changed.join(', ')} needs the app's credential again: send ${field} in the same request. The stored credential is only ever used with the authority, Graph and app it was entered for.`,
    { errors: changed.map((f) => ({ path: f, message: `requires ${field} in the same request` })) },
  );
}

/**
 * Refuses an authority or Graph URL outside Microsoft's clouds and the server's GRAPH_ALLOWED_ORIGINS: 400 for a
 * request that sets one, 409 for one stored before its origin left the list.
 */
function requireAllowedEndpoints(
  conn: { authorityHost?: string | null; graphBaseUrl?: string | null },
  allowedOrigins: readonly string[],
  refusal: { status: 400; title: 'Bad Request' } | { status: 409; title: 'Conflict'; fix: string },
) {
  const refused = endpointRefusals(conn, allowedOrigins);
  if (refused.length === 0) return;
  const detail = refused.map((r) => r.message).join('; ');
  throw new ProblemError(refusal.status, refusal.title, 'fix' in refusal ? `${detail}: ${refusal.fix}` : detail, {
    errors: refused.map((r) => ({ path: r.field, message: r.message })),
  });
}

const CUSTOM_ATTRIBUTES_PREFIX = 'customAttributes.';

/**
 * Why `customAttributes.<id>` names an attribute no definition can have (ids as POST …/custom-attributes takes
 * them), or undefined. Without it a mapping source or watched attribute took any string, `__proto__` or 100,000
 * characters long, that never matches an employee's attribute.
 */
function customAttributeNameProblem(name: string): string | undefined {
  if (!name.startsWith(CUSTOM_ATTRIBUTES_PREFIX)) return undefined;
  const id = name.slice(CUSTOM_ATTRIBUTES_PREFIX.length);
  if (!CUSTOM_ATTRIBUTE_ID.test(id))
    return 'customAttributes.<id>: ids have letters, digits, "-" and "_" only, at most 64';
  if (FORBIDDEN_ATTRIBUTE_IDS.includes(id)) return `customAttributes.${id}: "${id}" cannot be a custom attribute id`;
  return undefined;
}

const WatchedAttribute = z
  .string()
  .refine(
    (a) =>
      (HR_FIELDS as readonly string[]).includes(a) ||
      ['active', 'teams', 'customAttributes'].includes(a) ||
      (a.startsWith(CUSTOM_ATTRIBUTES_PREFIX) && customAttributeNameProblem(a) === undefined),
    {
      message:
        'must be an HR attribute name as in employee changes (e.g. department, customAttributes.<id> with a valid id)',
    },
  );

/** The mapping as src/graph/mapping.ts checks it, with custom attribute sources held to the id rules too. */
const Mapping = MappingSchema.superRefine((entries, ctx) => {
  entries.forEach((entry, i) => {
    const problem = customAttributeNameProblem(entry.source);
    if (problem) ctx.addIssue({ code: 'custom', path: [i, 'source'], message: problem });
  });
});

export const OutboundSettingsPatch = z
  .strictObject({
    enabled: z.boolean().optional(),
    graphTenantId: z
      .string()
      .trim()
      .refine(
        (v) => UUID.test(v) || DOMAIN_NAME.test(v),
        'must be the Entra tenant id (a GUID) or one of its domain names',
      )
      .transform((v) => (UUID.test(v) ? v.toLowerCase() : v))
      .nullable()
      .optional(),
    clientId: z
      .string()
      .regex(UUID, 'must be the app registration GUID')
      .transform((v) => v.toLowerCase())
      .nullable()
      .optional(),
    clientSecret: z.string().min(1).max(1000).optional(),
    clientCertificate: z
      .string()
      .transform((pem, ctx) => {
        try {
          return parseAppCertificate(pem);
        } catch (err) {
          if (!(err instanceof AppCertificateError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
          return z.NEVER;
        }
      })
      .optional(),
    authorityHost: httpsUrl('authority').nullable().optional(),
    graphBaseUrl: httpsUrl('graph').nullable().optional(),
    mapping: Mapping.optional(),
    // A name listed twice watches nothing more; stored once.
    watchedAttributes: z
      .array(WatchedAttribute)
      .max(200)
      .transform((names) => [...new Set(names)])
      .optional(),
    setManager: z.boolean().optional(),
  })
  .refine((p) => p.clientSecret === undefined || p.clientCertificate === undefined, {
    message: 'give either clientSecret or clientCertificate: the app signs in with one credential at a time',
    path: ['clientCertificate'],
  });

/**
 * A mapping source `customAttributes.<id>` must name a custom attribute the tenant defines (in its exact case): the
 * sync would read any other as null and clear the mapped Entra property on every account.
 */
async function requireDefinedCustomSources(
  db: Db,
  tenantId: string,
  mapping: ReadonlyArray<{ source: string }>,
): Promise<void> {
  const undefinedSources = await undefinedCustomSources(
    db,
    tenantId,
    mapping.map((m) => m.source),
  );
  if (undefinedSources.length === 0) return;
  const errors = undefinedSources.map(({ source, definedAs }) => ({
    path: `mapping.${mapping.findIndex((m) => m.source === source)}.source`,
    message: definedAs
      ? `${source} is not a defined custom attribute; did you mean customAttributes.${definedAs}?`
      : `${source} is not a defined custom attribute (define it under /custom-attributes first)`,
  }));
  throw new ProblemError(
    400,
    'Bad Request',
    'the mapping reads custom attributes the tenant does not define; the sync would clear those Entra properties',
    { errors },
  );
}

/** What an enrolment body may be; zod's own message for a union that matched no member is only "Invalid input". */
const ENROL_BODY_SHAPE = 'send either {"all": true} or {"employeeIds": [...]} with 1–1000 employee ids (UUIDs)';

export const EnrolBody = z.union(
  [z.strictObject({ all: z.literal(true) }), z.strictObject({ employeeIds: z.array(Uuid).min(1).max(1000) })],
  { error: ENROL_BODY_SHAPE },
);

/** `{}` retries every blocked employee; an absent body is refused (400) rather than read as `{}`. */
export const RetryBlockedBody = z.strictObject({
  errorType: z.enum(NON_RETRYABLE_ERROR_TYPES as [ErrorType, ...ErrorType[]]).optional(),
});

export const PreviewQuery = z.object({
  reconcile: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

/**
 * Every type a provisioning row can carry: BLOCKED ones, PENDING ones retrying a transient failure, and
 * `UnexpectedError`, which the sync activity records for a failure it does not classify (src/activities/index.ts).
 */
const STORED_ERROR_TYPES: [string, ...string[]] = ['UnexpectedError', ...Object.values(ErrorTypes)];

export const ProvisioningListQuery = z.object({
  state: z.enum(PROVISIONING_STATES).optional(),
  errorType: z.enum(STORED_ERROR_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: Uuid.optional(),
});

/** How long the retry endpoint waits for a worker to accept or reject the retry. */
const RETRY_ANSWER_DEADLINE_MS = 5000;

/**
 * The settings of a tenant that never stored any: what the first write starts from, switched off, without a
 * connection or credential. `updatedAt: null` says nothing was stored.
 */
function defaultSettingsJson() {
  return {
    enabled: false,
    graphTenantId: null,
    clientId: null,
    clientSecretSet: false,
    clientCertificate: null,
    authorityHost: null,
    graphBaseUrl: null,
    mapping: DEFAULT_MAPPING,
    watchedAttributes: DEFAULT_WATCHED_ATTRIBUTES,
    setManager: false,
    updatedAt: null,
  };
}

export function settingsJson(s: OutboundSettings) {
  return {
    enabled: s.enabled,
    graphTenantId: s.graphTenantId,
    clientId: s.clientId,
    // Write-only: the API says which credential is stored, never what it is (a certificate by its thumbprint).
    clientSecretSet: s.hasClientSecret,
    clientCertificate: s.clientCertificate,
    authorityHost: s.authorityHost,
    graphBaseUrl: s.graphBaseUrl,
    mapping: s.mapping,
    watchedAttributes: s.watchedAttributes,
    setManager: s.setManager,
    updatedAt: s.updatedAt,
  };
}

/**
 * The plan as the preview shows it. Every action carries `basis`, `entraObjectId` and `adopt`: a create is planned
 * after looking the username up in Entra (so against Entra, with no account to adopt), which describePlan leaves
 * unsaid.
 */
function previewOfPlan(plan: SyncPlan): Record<string, unknown> {
  const createShape = plan.action === 'create' ? { basis: 'entra', entraObjectId: null, adopt: false } : {};
  // `action` first, as in every other answer; describePlan's value wins (an update that writes nothing is "none").
  return { action: plan.action, ...createShape, ...describePlan(plan) };
}

function requireTemporal(temporal: Client | undefined): Client {
  if (!temporal) throw new ProblemError(503, 'Service Unavailable', 'Temporal is not configured for this api');
  return temporal;
}

/** Whether the Temporal frontend answers at all (within a second): tells a server that is down from a worker that is. */
async function temporalAnswers(temporal: Client): Promise<boolean> {
  try {
    await temporal.withDeadline(Date.now() + 1000, () => temporal.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}

async function requireEmployee(db: Db, tenantId: string, employeeId: string | undefined) {
  if (!employeeId) throw notFound('employee');
  const e = await loadHrEmployee(db, tenantId, employeeId);
  if (!e) throw notFound('employee');
  return e;
}

export function createOutboundRoutes(deps: ApiDeps): Router {
  const { db } = deps;
  const router = Router({ mergeParams: true });
  let connector: GraphConnector | undefined;
  const graph = (): GraphConnector =>
    (connector ??=
      deps.outboundGraph ??
      createGraphConnector({
        db,
        secretsKey: deps.secretsKey,
        previousSecretsKeys: deps.previousSecretsKeys,
        extraCaPem: deps.graphExtraCaPem,
        allowedOrigins: deps.graphAllowedOrigins,
      }));

  /** Enrolment and bulk retry queue work for the worker: only while outbound provisioning is on (409 otherwise). */
  async function requireOutboundEnabled(tenantId: string): Promise<void> {
    const settings = await getOutboundSettings(db, tenantId);
    if (!settings?.enabled)
      throw new ProblemError(409, 'Conflict', 'outbound provisioning is not enabled for this tenant');
  }

  /** The audit trail of an admin request that queued employees (enrolment, bulk retry). */
  function auditQueued(res: Response, action: 'enrolled' | 'retried', changes: Record<string, unknown>) {
    const tenantId = tenantIdOf(res);
    return recordAuditEvent(db, {
      tenantId,
      resourceType: 'outbound_settings',
      resourceId: tenantId,
      action,
      source: 'admin',
      requestId: res.locals.requestId as string | undefined,
      changes,
    });
  }

  router.get('/outbound/settings', async (_req, res) => {
    const s = await getOutboundSettings(db, tenantIdOf(res));
    res.json(s ? settingsJson(s) : defaultSettingsJson());
  });

  router.patch('/outbound/settings', async (req, res) => {
    const input = parseBody(OutboundSettingsPatch, req);
    const tenantId = tenantIdOf(res);
    if ((input.clientSecret !== undefined || input.clientCertificate !== undefined) && !deps.secretsKey) {
      throw new ProblemError(
        503,
        'Service Unavailable',
        'SECRETS_KEY is not configured, so a client secret or certificate cannot be stored',
      );
    }
    requireAllowedEndpoints(input, deps.graphAllowedOrigins ?? [], { status: 400, title: 'Bad Request' });
    if (input.mapping) await requireDefinedCustomSources(db, tenantId, input.mapping);
    requireCredentialForNewEndpoint(await getOutboundSettings(db, tenantId), input);
    const saved = await upsertOutboundSettings(db, tenantId, input, deps.secretsKey);
    const { clientSecret, clientCertificate, ...audited } = input;
    await recordAuditEvent(db, {
      tenantId,
      resourceType: 'outbound_settings',
      resourceId: tenantId,
      action: 'updated',
      source: 'admin',
      requestId: res.locals.requestId as string | undefined,
      changes: {
        ...audited,
        ...(clientSecret !== undefined ? { clientSecret: '[changed]' } : {}),
        ...(clientCertificate !== undefined
          ? { clientCertificate: { thumbprint: clientCertificate.thumbprint, notAfter: clientCertificate.notAfter } }
          : {}),
      },
    });
    res.json(settingsJson(saved));
  });

  router.post('/outbound/settings/test', async (_req, res) => {
    const tenantId = tenantIdOf(res);
    const settings = await getOutboundSettings(db, tenantId);
    if (!settings) throw notFound('outbound settings');
    if (!deps.secretsKey) throw new ProblemError(503, 'Service Unavailable', 'SECRETS_KEY is not configured');
    const conn = await getGraphConnection(db, tenantId, deps.secretsKey, deps.previousSecretsKeys);
    if (!conn)
      throw new ProblemError(
        409,
        'Conflict',
        'the Entra tenant id, client id and a client secret or certificate must be set first',
      );
    requireAllowedEndpoints(conn, deps.graphAllowedOrigins ?? [], {
      status: 409,
      title: 'Conflict',
      fix: 'change the setting (with the client secret or certificate) before testing',
    });
    res.json(await testGraphConnection(conn, { mapping: settings.mapping, extraCaPem: deps.graphExtraCaPem }));
  });

  /**
   * The initial push: enrol all (or the listed) employees. The request only records the intent, in one transaction:
   * an outbox row per employee (source `enrol`) and the PENDING state. The worker's relay delivers each as the
   * workflow's `enrol` signal, so ten thousand employees answer as fast as ten, and a crash loses none.
   */
  router.post('/outbound/enrol', async (req, res) => {
    const body = parseBody(EnrolBody, req);
    const tenantId = tenantIdOf(res);
    await requireOutboundEnabled(tenantId);
    if (!('all' in body)) {
      const found = await db('employees')
        .where({ tenant_id: tenantId })
        .whereIn('id', body.employeeIds)
        .select<Array<{ id: string }>>('id');
      const known = new Set(found.map((r) => r.id));
      const unknown = body.employeeIds.filter((id) => !known.has(id));
      if (unknown.length > 0)
        throw new ProblemError(404, 'Not Found', `unknown employees: ${unknown.slice(0, 10).join(', ')}`);
    }
    const enrolled = await enrolEmployees(db, tenantId, 'all' in body ? 'all' : body.employeeIds);
    await auditQueued(res, 'enrolled', { employees: enrolled });
    res.status(202).json({ enrolled });
  });

  /**
   * Retry every BLOCKED employee (or those blocked with one `errorType`) after fixing a cause that blocked many: a
   * permission, a secret, a domain. Queued like an enrolment, so it answers at once for any number.
   */
  router.post('/outbound/retry', async (req, res) => {
    const body = parseBody(RetryBlockedBody, req);
    const tenantId = tenantIdOf(res);
    await requireOutboundEnabled(tenantId);
    const retried = await retryBlockedEmployees(db, tenantId, body.errorType);
    await auditQueued(res, 'retried', { employees: retried, ...(body.errorType ? { errorType: body.errorType } : {}) });
    res.status(202).json({ retried });
  });

  /** Employees per state, and per error type among the blocked: what a dashboard or an alert polls. */
  router.get('/outbound/summary', async (_req, res) => {
    res.json(await summarizeProvisioning(db, tenantIdOf(res)));
  });

  router.get('/outbound/employees', async (req, res) => {
    const q = ProvisioningListQuery.parse(req.query);
    // One more than the page decides whether there is a next page: a full last page has none.
    const fetched = await listProvisioning(db, tenantIdOf(res), { ...q, limit: q.limit + 1 });
    const items = fetched.slice(0, q.limit);
    res.json({ items, next: fetched.length > q.limit ? items[items.length - 1]!.employeeId : null });
  });

  router.get('/outbound/employees/:employeeId', async (req, res) => {
    const tenantId = tenantIdOf(res);
    const employee = await requireEmployee(db, tenantId, uuidParam(req, 'employeeId'));
    const record = (await getProvisioning(db, tenantId, employee.id)) ?? notEnrolled(tenantId, employee.id);
    let workflow: unknown = null;
    if (deps.temporal) {
      // Live view from the workflow when a worker answers quickly; the table is the source otherwise.
      try {
        workflow = await deps.temporal.withDeadline(Date.now() + 2000, () =>
          deps.temporal!.workflow.getHandle(employeeSyncWorkflowId(tenantId, employee.id)).query(statusQuery),
        );
      } catch {
        workflow = null;
      }
    }
    res.json({ ...record, workflowId: employeeSyncWorkflowId(tenantId, employee.id), workflow });
  });

  /** Retry a BLOCKED employee: answers at once whether it was accepted (409 unless blocked). */
  router.post('/outbound/employees/:employeeId/retry', async (req, res) => {
    const tenantId = tenantIdOf(res);
    const employee = await requireEmployee(db, tenantId, uuidParam(req, 'employeeId'));
    const temporal = requireTemporal(deps.temporal);
    try {
      // The update waits for a worker to run the validator; without a deadline the request hangs while none polls.
      const result = await temporal.withDeadline(Date.now() + RETRY_ANSWER_DEADLINE_MS, () =>
        temporal.workflow
          .getHandle(employeeSyncWorkflowId(tenantId, employee.id))
          .executeUpdate(retryUpdate, { args: [{ requestedBy: 'admin-api' }] }),
      );
      res.status(202).json(result);
    } catch (err) {
      // The deadline surfaces as DEADLINE_EXCEEDED, or, depending on where the client's polling was, as CANCELLED.
      if (
        err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
        isGrpcDeadlineError(err) ||
        isGrpcCancelledError(err)
      ) {
        if (!(await temporalAnswers(temporal))) {
          throw new ProblemError(
            503,
            'Service Unavailable',
            `the Temporal server did not answer within ${RETRY_ANSWER_DEADLINE_MS / 1000} s, so the retry most likely did not reach the employee's workflow. Check that Temporal is running and reachable from the api (TEMPORAL_ADDRESS), then retry.`,
          );
        }
        throw new ProblemError(
          503,
          'Service Unavailable',
          `no worker answered the retry within ${RETRY_ANSWER_DEADLINE_MS / 1000} s (is the worker running?). The retry may still be applied when a worker picks it up; check the employee's status before retrying again.`,
        );
      }
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ProblemError(409, 'Conflict', `not retried: ${err.cause?.message ?? 'the employee is not blocked'}`);
      }
      if (err instanceof WorkflowNotFoundError) {
        throw new ProblemError(409, 'Conflict', 'not retried: the employee is not enrolled in outbound provisioning');
      }
      throw err;
    }
  });

  /** What the next sync would send to Graph, computed with reads only. */
  router.get('/outbound/employees/:employeeId/preview', async (req, res) => {
    const tenantId = tenantIdOf(res);
    const employeeId = uuidParam(req, 'employeeId');
    const inputs = employeeId ? await loadSyncInputs(db, tenantId, employeeId) : undefined;
    if (!inputs) throw notFound('employee');
    const { reconcile } = PreviewQuery.parse(req.query);
    const { employee } = inputs;
    // Blocked by a missing permission: plan with a token issued after the block, as the retry would.
    const record = await getProvisioning(db, tenantId, employee.id);
    const signInAfter =
      record?.state === 'BLOCKED' && record.errorType === 'PermissionDenied' && record.lastAttemptAt
        ? record.lastAttemptAt.getTime()
        : undefined;
    const snapshot = reconcile ? undefined : inputs.snapshot;
    /** Set once signed in: only then can a blocked sync still disable a leaver (as the sync activity does). */
    let signedIn = false;
    try {
      const { settings, directory } = await graph().forTenant(tenantId, inputs.settings ?? null, { signInAfter });
      signedIn = true;
      const plan = await planSync({
        directory,
        settings,
        employee,
        storedObjectId: inputs.entraObjectId,
        managerObjectId: settings.setManager && employee.managerId ? (inputs.manager?.entraObjectId ?? null) : null,
        // A sync for a change compares with what the last sync left (not reading the account); enrol and retry
        // compare with the account as it is in Entra.
        snapshot,
      });
      res.json({ employeeId: employee.id, version: employee.version, ...previewOfPlan(plan) });
    } catch (err) {
      if (!(err instanceof ProvisioningError)) throw err;
      // The preview of a sync that would fail is the failure itself, classified as the sync would, and the one write
      // a block still makes: a leaver's account is disabled.
      const disable =
        err.retryable || !signedIn
          ? null
          : disableWhileBlocked({ employee, storedObjectId: inputs.entraObjectId, snapshot });
      res.json({
        employeeId: employee.id,
        version: employee.version,
        action: 'blocked',
        errorType: err.type,
        reason: err.message,
        retryable: err.retryable,
        request: disable ? { method: 'PATCH', path: `/v1.0/users/${disable.objectId}`, body: disable.patch } : null,
      });
    }
  });

  return router;
}
