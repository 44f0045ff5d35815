import type { Express, NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/knex';
import type { Logger } from '../logger';

/** The SCIM endpoints (lower case) that get an area of their own; any other path under /scim/v2 is `scim.other`. */
const SCIM_AREAS = new Set(['users', 'groups', 'serviceproviderconfig', 'resourcetypes', 'schemas', 'bulk', 'me']);

/**
 * Which part of the api a path belongs to; keeps metric label cardinality fixed (no ids, no client-chosen names in
 * labels: every request is counted, unauthenticated ones too, so a label taken from the path would let anyone add
 * series). Paths are matched case-insensitively, as Express routes them.
 */
function areaOf(path: string): string {
  const lower = path.toLowerCase();
  if (lower === '/scim/v2' || lower.startsWith('/scim/v2/')) {
    const resource = /^\/scim\/v2\/([a-z]+)/.exec(lower)?.[1];
    if (resource === undefined) return 'scim.root';
    return SCIM_AREAS.has(resource) ? `scim.${resource}` : 'scim.other';
  }
  if (lower.startsWith('/scim/')) return 'scim.other';
  if (lower === '/admin/v1' || lower.startsWith('/admin/')) return 'admin';
  return 'other';
}

/**
 * Prometheus metrics at /metrics (request counts and latency per area, the outbox backlog, outbound employees per
 * state and blocking error type, Node process metrics)
 * and one structured access log line per request with its request id and tenant id — never headers or bodies.
 */
export function installObservability(app: Express, deps: { db: Db; logger: Logger }): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'entra_sync_http_requests_total',
    help: 'HTTP requests by api area, method and status',
    labelNames: ['area', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'entra_sync_http_request_duration_seconds',
    help: 'HTTP request duration by api area',
    labelNames: ['area'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'entra_sync_outbox_undelivered',
    help: 'Outbox rows not yet signalled to Temporal (grows while Temporal or the worker is down)',
    registers: [registry],
    async collect() {
      const [row] = await deps.db('outbox').whereNull('delivered_at').count<Array<{ count: string }>>('* as count');
      this.set(Number(row?.count ?? 0));
    },
  });

  new Gauge({
    name: 'entra_sync_outbound_employees',
    help: 'Employees enrolled in outbound provisioning by state, and by error type when blocked (all tenants)',
    labelNames: ['state', 'error_type'] as const,
    registers: [registry],
    async collect() {
      const rows = await deps
        .db('employee_provisioning')
        .groupByRaw('1, 2')
        .select<Array<{ state: string; error_type: string | null; n: string }>>(
          'state',
          deps.db.raw(
            `case when state = 'BLOCKED' then coalesce(error_type, 'Unclassified') else '' end as error_type`,
          ),
          deps.db.raw('count(*) as n'),
        );
      // Series that emptied since the last scrape disappear instead of keeping their old value.
      this.reset();
      for (const r of rows) this.set({ state: r.state, error_type: r.error_type ?? '' }, Number(r.n));
    },
  });

  new Gauge({
    name: 'entra_sync_outbound_certificate_soonest_expiry_timestamp_seconds',
    help: 'When the first of the stored app certificates for Graph expires (Unix time; absent when none is stored); the admin API shows which tenant',
    // A label only so that "none stored" is no series at all: a gauge without labels reads 0 after a reset, which an
    // expiry alert would take for a certificate that expired in 1970.
    labelNames: ['credential'],
    registers: [registry],
    async collect() {
      const [row] = await deps
        .db('outbound_settings')
        .min<Array<{ soonest: Date | null }>>({ soonest: 'client_certificate_not_after' });
      this.reset();
      if (row?.soonest)
        this.set({ credential: 'client_certificate' }, Math.floor(new Date(row.soonest).getTime() / 1000));
    },
  });

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // req.path is relative to the router that handled it by now; originalUrl is what the client asked for.
      const path = req.originalUrl.split('?', 1)[0];
      const area = areaOf(path);
      requests.inc({ area, method: req.method, status: String(res.statusCode) });
      duration.observe({ area }, seconds);
      deps.logger.info(
        {
          requestId: res.locals.requestId,
          tenantId: res.locals.tenantId,
          method: req.method,
          path,
          status: res.statusCode,
          ms: Math.round(seconds * 10_000) / 10,
        },
        'request',
      );
    });
    next();
  });

  app.get('/metrics', async (_req, res) => {
    try {
      res.type(registry.contentType).send(await registry.metrics());
    } catch {
      res.status(503).type('text/plain').send('metrics unavailable\n');
    }
  });
}
