import { z } from 'zod';
import type { TokenService } from './auth';
import { defaultFaults, type FaultSettings } from './faults';
import type { RequestLog } from './request-log';
import { SeedError, applySeed } from './seed';
import { DEFAULT_THROTTLE_LIMITS, type Throttle, type ThrottleLimits } from './throttle';
import type { EmulatorContext } from './types';

/**
 * Operator API under `/_emulator` (never under `/v1.0`, so the worker can't call it by mistake): reset, seed,
 * faults, throttling, the request log and a users list. Unauthenticated: the emulator is a local development tool.
 */

export interface OperatorDeps {
  ctx: EmulatorContext;
  throttle: Throttle;
  log: RequestLog;
  tokens: TokenService;
  reset: () => void;
}

export interface OperatorResponse {
  status: number;
  body?: unknown;
  contentType?: string;
}

const FaultsPatchZ = z
  .object({
    errorRates: z.record(z.string().regex(/^[1-5][0-9]{2}$/), z.number().min(0).max(1)).optional(),
    latencyMs: z.number().int().min(0).max(120_000).optional(),
    burst429: z
      .object({ count: z.number().int().min(0), retryAfterSeconds: z.number().int().min(0).max(3600).default(2) })
      .optional(),
    replicationDelayMs: z.number().int().min(0).max(600_000).optional(),
    readReplicationDelayMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();

const ThrottlingZ = z
  .object({
    enabled: z.boolean().optional(),
    limits: z
      .object(
        Object.fromEntries(Object.keys(DEFAULT_THROTTLE_LIMITS).map((k) => [k, z.number().int().min(1).optional()])),
      )
      .strict()
      .optional(),
    reset: z.boolean().optional(),
  })
  .strict();

const problem = (status: number, message: string): OperatorResponse => ({
  status,
  body: { error: { code: 'OperatorBadRequest', message } },
});

function faultsView(s: FaultSettings): Record<string, unknown> {
  return {
    errorRates: s.errorRates,
    latencyMs: s.latencyMs,
    burst429: { count: s.burst429.remaining, retryAfterSeconds: s.burst429.retryAfterSeconds },
    replicationDelayMs: s.replicationDelayMs,
    readReplicationDelayMs: s.readReplicationDelayMs,
  };
}

export function handleOperator(
  deps: OperatorDeps,
  method: string,
  path: string,
  search: string,
  body: unknown,
): OperatorResponse {
  const sub = path.replace(/^\/_emulator/, '').replace(/\/+$/, '') || '/';
  const { ctx } = deps;
  switch (`${method} ${sub}`) {
    case 'GET /':
    case 'GET /health':
      return { status: 200, body: { ok: true, tenants: ctx.store.tenants.size } };
    case 'POST /reset':
      deps.reset();
      return { status: 204 };
    case 'POST /seed':
      try {
        return { status: 200, body: applySeed(ctx, body) };
      } catch (e) {
        if (e instanceof SeedError) return problem(400, e.message);
        throw e;
      }
    case 'GET /faults':
      return { status: 200, body: faultsView(ctx.faults.settings) };
    case 'PUT /faults':
    case 'PATCH /faults': {
      const parsed = FaultsPatchZ.safeParse(body ?? {});
      if (!parsed.success)
        return problem(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const base = method === 'PUT' ? defaultFaults() : ctx.faults.settings;
      const p = parsed.data;
      ctx.faults.set({
        errorRates: p.errorRates ?? base.errorRates,
        latencyMs: p.latencyMs ?? base.latencyMs,
        burst429: p.burst429
          ? { remaining: p.burst429.count, retryAfterSeconds: p.burst429.retryAfterSeconds }
          : base.burst429,
        replicationDelayMs: p.replicationDelayMs ?? base.replicationDelayMs,
        readReplicationDelayMs: p.readReplicationDelayMs ?? base.readReplicationDelayMs,
      });
      return { status: 200, body: faultsView(ctx.faults.settings) };
    }
    case 'DELETE /faults':
      ctx.faults.reset();
      return { status: 204 };
    case 'GET /throttling':
      return { status: 200, body: { enabled: deps.throttle.enabled, limits: deps.throttle.limits } };
    case 'PUT /throttling': {
      const parsed = ThrottlingZ.safeParse(body ?? {});
      if (!parsed.success)
        return problem(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      if (parsed.data.enabled !== undefined) deps.throttle.enabled = parsed.data.enabled;
      if (parsed.data.limits)
        deps.throttle.limits = { ...deps.throttle.limits, ...(parsed.data.limits as Partial<ThrottleLimits>) };
      if (parsed.data.reset) deps.throttle.reset();
      return { status: 200, body: { enabled: deps.throttle.enabled, limits: deps.throttle.limits } };
    }
    case 'GET /requests':
      return { status: 200, body: deps.log.toJsonLines(), contentType: 'application/x-ndjson; charset=utf-8' };
    case 'DELETE /requests':
      deps.log.clear();
      return { status: 204 };
    case 'GET /users': {
      const tenantId = new URLSearchParams(search).get('tenantId')?.toLowerCase();
      const value: Record<string, unknown>[] = [];
      for (const t of ctx.store.tenants.values()) {
        if (tenantId && t.id !== tenantId) continue;
        for (const u of t.users.values())
          value.push({ tenantId: t.id, id: u.id, managerId: u.managerId ?? null, ...u.props });
      }
      return { status: 200, body: { value } };
    }
    case 'GET /tenants':
      return {
        status: 200,
        body: {
          value: [...ctx.store.tenants.values()].map((t) => ({
            id: t.id,
            displayName: t.displayName,
            domains: t.domains,
            apps: t.apps.map((a) => ({
              appId: a.appId,
              objectId: a.objectId,
              displayName: a.displayName,
              permissions: a.permissions,
              // Credentials by what identifies them, never their value: whether there is a secret, and each
              // certificate's thumbprints and validity (certificates are public, but their PEM is noise here).
              hasSecret: a.secret !== undefined,
              certificates: a.certificates.map((c) => ({
                thumbprint: c.thumbprintSha1,
                thumbprintSha256: c.thumbprintSha256,
                validFrom: c.validFrom,
                validTo: c.validTo,
              })),
              extensionProperties: a.extensionProperties,
            })),
            userCount: t.users.size,
          })),
        },
      };
    default:
      return problem(404, `no operator route ${method} /_emulator${sub === '/' ? '' : sub}`);
  }
}
