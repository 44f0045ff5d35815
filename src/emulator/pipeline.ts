import { GraphError, errorBody, invalidJson } from './errors';
import { resolveRoute } from './routes/index';
import { requestCost, type Throttle } from './throttle';
import type { EmulatorContext, GraphRequest, GraphResponse } from './types';

/**
 * One Graph request from routing to response: injected faults, throttling (priced by route), then the handler.
 * Synchronous, so `$batch` runs its items through exactly the same path.
 */
export interface PipelineDeps {
  ctx: EmulatorContext;
  throttle: Throttle;
}

const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT']);

export function toErrorResponse(err: unknown, requestId: string, clientRequestId: string): GraphResponse {
  const e =
    err instanceof GraphError ? err : new GraphError(500, 'generalException', 'An unspecified error has occurred.');
  return { status: e.status, headers: e.headers, body: errorBody(e, requestId, clientRequestId) };
}

export function runGraphRequest(
  deps: PipelineDeps,
  req: GraphRequest,
  requestId: string,
  clientRequestId: string,
): GraphResponse {
  // Throttling headers describe the budget whatever the outcome, so failed requests carry them too.
  let throttleHeaders: Record<string, string> | undefined;
  try {
    const fault = deps.ctx.faults.any ? deps.ctx.faults.pick() : undefined;
    if (fault) throw fault;
    const route = resolveRoute(req);
    const tenant = req.caller.tenant;
    const outcome = deps.throttle.charge(
      tenant.id,
      req.caller.appId,
      tenant.users.size,
      requestCost(req.method, route.kind, req.query),
      deps.ctx.now(),
    );
    if (!outcome.ok) throw outcome.error;
    throttleHeaders = outcome.headers;
    if (BODY_METHODS.has(req.method) && req.body === undefined && req.method !== 'DELETE') throw invalidJson();
    const res = route.run(deps.ctx, req);
    res.headers = res.headers ? { ...outcome.headers, ...res.headers } : outcome.headers;
    return res;
  } catch (err) {
    if (!(err instanceof GraphError)) {
      // A bug in the emulator: surface it as Graph's 500 and keep serving.
      process.emitWarning(`graph emulator: unexpected error: ${(err as Error).stack ?? String(err)}`);
    }
    const res = toErrorResponse(err, requestId, clientRequestId);
    if (throttleHeaders) res.headers = { ...throttleHeaders, ...(res.headers ?? {}) };
    return res;
  }
}
