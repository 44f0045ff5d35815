import type { GraphError } from './errors';
import { throttledError } from './faults';

/**
 * Identity and access service limits (graph.md §10, Microsoft's throttling-limits page): a resource-unit budget
 * per app+tenant per 10 s sized by tenant (S <50 users, M 50–500, L >500), a write budget per app+tenant per
 * 150 s, a tenant-wide write budget, and app-wide budgets across tenants. Fixed windows: cheap, and close enough
 * to Graph's behaviour that a client which honours Retry-After passes against both.
 */
export interface ThrottleLimits {
  resourceUnitsSmall: number;
  resourceUnitsMedium: number;
  resourceUnitsLarge: number;
  resourceUnitWindowMs: number;
  appTenantWrites: number;
  appTenantWriteWindowMs: number;
  tenantWrites: number;
  tenantWriteWindowMs: number;
  appResourceUnits: number;
  appResourceUnitWindowMs: number;
  appWrites: number;
  appWriteWindowMs: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  resourceUnitsSmall: 3500,
  resourceUnitsMedium: 5000,
  resourceUnitsLarge: 8000,
  resourceUnitWindowMs: 10_000,
  appTenantWrites: 3000,
  appTenantWriteWindowMs: 150_000,
  tenantWrites: 18_000,
  tenantWriteWindowMs: 300_000,
  appResourceUnits: 150_000,
  appResourceUnitWindowMs: 20_000,
  appWrites: 70_000,
  appWriteWindowMs: 300_000,
};

/** What a request costs (graph.md §10 "Request costs"). */
export interface RequestCost {
  resourceUnits: number;
  write: boolean;
}

/**
 * GET /users costs 2, GET /applications/{id}/extensionProperties 2, other GETs 1; writes 1 RU + 1 write;
 * `$select` −1, `$expand` +1, `$top` below 20 −1; never below 1.
 */
export function requestCost(
  method: string,
  kind: 'users-list' | 'extension-properties' | 'other',
  query: Map<string, string>,
): RequestCost {
  if (method !== 'GET') return { resourceUnits: 1, write: true };
  let ru = kind === 'other' ? 1 : 2;
  if (query.has('$select')) ru -= 1;
  if (query.has('$expand')) ru += 1;
  const top = query.get('$top');
  if (top !== undefined && Number(top) < 20) ru -= 1;
  return { resourceUnits: Math.max(1, ru), write: false };
}

interface Window {
  start: number;
  used: number;
}

export type ThrottleOutcome = { ok: true; headers: Record<string, string> } | { ok: false; error: GraphError };

export class Throttle {
  private readonly windows = new Map<string, Window>();

  constructor(
    public enabled: boolean,
    public limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS,
  ) {}

  reset(): void {
    this.windows.clear();
  }

  private window(key: string, windowMs: number, now: number): Window {
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, used: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  /** Charges a request or refuses it with Graph's 429; a refused request consumes nothing. */
  charge(tenantId: string, appId: string, tenantUserCount: number, cost: RequestCost, now: number): ThrottleOutcome {
    const headers: Record<string, string> = { 'x-ms-resource-unit': String(cost.resourceUnits) };
    if (!this.enabled) return { ok: true, headers };
    const l = this.limits;
    const ruLimit =
      tenantUserCount < 50
        ? l.resourceUnitsSmall
        : tenantUserCount <= 500
          ? l.resourceUnitsMedium
          : l.resourceUnitsLarge;
    const checks: { key: string; windowMs: number; limit: number; amount: number; scope: string; info: string }[] = [
      {
        key: `ru|${tenantId}|${appId}`,
        windowMs: l.resourceUnitWindowMs,
        limit: ruLimit,
        amount: cost.resourceUnits,
        scope: `Tenant_Application/ReadWrite/${appId}/${tenantId}`,
        info: 'ResourceUnitLimitExceeded',
      },
      {
        key: `aru|${appId}`,
        windowMs: l.appResourceUnitWindowMs,
        limit: l.appResourceUnits,
        amount: cost.resourceUnits,
        scope: `Application/ReadWrite/${appId}`,
        info: 'ResourceUnitLimitExceeded',
      },
    ];
    if (cost.write) {
      checks.push(
        {
          key: `w|${tenantId}|${appId}`,
          windowMs: l.appTenantWriteWindowMs,
          limit: l.appTenantWrites,
          amount: 1,
          scope: `Tenant_Application/ReadWrite/${appId}/${tenantId}`,
          info: 'WriteLimitExceeded',
        },
        {
          key: `tw|${tenantId}`,
          windowMs: l.tenantWriteWindowMs,
          limit: l.tenantWrites,
          amount: 1,
          scope: `Tenant/ReadWrite/${tenantId}`,
          info: 'WriteLimitExceeded',
        },
        {
          key: `aw|${appId}`,
          windowMs: l.appWriteWindowMs,
          limit: l.appWrites,
          amount: 1,
          scope: `Application/ReadWrite/${appId}`,
          info: 'WriteLimitExceeded',
        },
      );
    }
    const windows = checks.map((c) => this.window(c.key, c.windowMs, now));
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      const w = windows[i]!;
      if (w.used + c.amount > c.limit) {
        const retryAfter = Math.max(1, Math.ceil((w.start + c.windowMs - now) / 1000));
        return {
          ok: false,
          error: throttledError(retryAfter, { 'x-ms-throttle-scope': c.scope, 'x-ms-throttle-information': c.info }),
        };
      }
    }
    let highest = 0;
    for (let i = 0; i < checks.length; i++) {
      const w = windows[i]!;
      w.used += checks[i]!.amount;
      highest = Math.max(highest, w.used / checks[i]!.limit);
    }
    if (highest > 0.8) headers['x-ms-throttle-limit-percentage'] = highest.toFixed(2);
    return { ok: true, headers };
  }
}
