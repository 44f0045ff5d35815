import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { sendProblem } from './admin/problem';
import { createAdminRouter } from './admin/router';
import type { ApiDeps } from './deps';
import { installObservability } from './observability';
import { sendScimError } from './scim/errors';
import { createScimRouter } from './scim/router';

/**
 * The HTTP api: SCIM 2.0 at /scim/v2, the admin REST API at /admin/v1, health and readiness probes, /metrics.
 * No module-level state: tests build as many apps as they like.
 */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Express 5 routes are case-insensitive by default; Microsoft's own samples call /users and /groups.
  app.set('case sensitive routing', false);
  app.set('query parser', 'extended');

  app.use((req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    next();
  });
  installObservability(app, deps);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.db.raw('select 1');
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'unavailable', reason: 'database unreachable' });
    }
  });

  app.use('/scim/v2', createScimRouter(deps));
  app.use('/admin/v1', createAdminRouter(deps));

  // A SCIM client or admin pointed at the wrong base URL (Entra's Tenant URL set to …/scim instead of …/scim/v2)
  // gets a 404 in its API's own error shape that names the right base, not a bare JSON body.
  const publicBase = deps.publicBaseUrl.replace(/\/+$/, '');
  app.use((req, res) => {
    if (/^\/scim(\/|$)/i.test(req.path)) {
      return sendScimError(res, 404, undefined, `no such SCIM endpoint: the SCIM base URL is ${publicBase}/scim/v2`);
    }
    if (/^\/admin(\/|$)/i.test(req.path)) {
      return sendProblem(res, 404, 'Not Found', `no such admin endpoint: the admin API is at ${publicBase}/admin/v1`);
    }
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
