import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openIdConfiguration, oauthError, type TokenService } from './auth';
import { GraphError, invalidJson, odataBadRequest } from './errors';
import { parseQuery } from './odata';
import { handleOperator, type OperatorDeps } from './operator';
import { runGraphRequest, toErrorResponse, type PipelineDeps } from './pipeline';
import { redactBody, redactForm, redactHeaders, type RequestLog } from './request-log';
import { runBatch } from './routes/batch';
import type { GraphRequest, GraphResponse } from './types';

/**
 * The HTTP layer: parses requests, routes `/v1.0` (Graph), `/{tenant}/…` (identity platform) and `/_emulator`
 * (operator), adds Graph's response headers, applies latency faults, and records the request log. Plain `node:https`
 * rather than Express: full control over headers, and the GET/PATCH path stays cheap (≥5,000 req/s target).
 */

export interface ServerDeps extends PipelineDeps {
  tokens: TokenService;
  log: RequestLog;
  operator: OperatorDeps;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Graph's 4 MB request limit. The code and text are the emulator's own; Graph's are not documented. */
const bodyTooLarge = (): GraphError => new GraphError(413, 'RequestEntityTooLarge', 'The request body is too large.');
const unexpectedError = (): GraphError => new GraphError(500, 'generalException', 'An unspecified error has occurred.');
const SUCCESS_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const DIAGNOSTIC = JSON.stringify({
  ServerInfo: {
    DataCenter: 'Local',
    Slice: 'E',
    Ring: '0',
    ScaleUnit: '000',
    RoleInstance: 'entra-sync-graph-emulator',
  },
});
const IDENTITY_PATH =
  /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|oauth2\/token|discovery\/v2\.0\/keys)$/;
const TOKEN_ENDPOINTS = new Set(['oauth2/v2.0/token', 'oauth2/token']);

function baseUrlOf(req: IncomingMessage): string {
  return `https://${req.headers.host ?? '127.0.0.1'}`;
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function createRequestHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { ctx, tokens, log } = deps;

  function finish(req: IncomingMessage, url: string, loggedBody: unknown, status: number): void {
    if (log.wanted)
      log.add({ method: req.method ?? 'GET', url, headers: redactHeaders(req.headers), body: loggedBody, status });
  }

  function sendGraph(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    loggedBody: unknown,
    r: GraphResponse,
    requestId: string,
    clientRequestId: string,
  ): void {
    const headers: Record<string, string> = {
      'request-id': requestId,
      'client-request-id': clientRequestId,
      'x-ms-ags-diagnostic': DIAGNOSTIC,
      'Strict-Transport-Security': 'max-age=31536000',
      'Cache-Control': 'no-cache',
      ...(r.headers ?? {}),
    };
    let payload: string | undefined;
    if (r.text !== undefined) {
      payload = r.text;
      headers['Content-Type'] = 'text/plain';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    } else if (r.body !== undefined && r.status !== 204) {
      payload = JSON.stringify(r.body);
      headers['Content-Type'] = r.status >= 400 ? 'application/json' : SUCCESS_CONTENT_TYPE;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
      if (r.status < 400) headers['OData-Version'] = '4.0';
    }
    const write = (): void => {
      res.writeHead(r.status, headers);
      res.end(payload);
      finish(req, url, loggedBody, r.status);
    };
    const latency = ctx.faults.settings.latencyMs;
    if (latency > 0) setTimeout(write, latency);
    else write();
  }

  function sendJson(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    loggedBody: unknown,
    status: number,
    body: unknown,
    requestId: string,
    extra: Record<string, string> = {},
  ): void {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    res.writeHead(status, {
      'x-ms-request-id': requestId,
      'Cache-Control': 'no-store, no-cache',
      ...(payload === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
      ...extra,
    });
    res.end(payload);
    finish(req, url, loggedBody, status);
  }

  function handleIdentity(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    tenantKey: string,
    endpoint: string,
    raw: Buffer,
    requestId: string,
  ): void {
    const baseUrl = baseUrlOf(req);
    if (TOKEN_ENDPOINTS.has(endpoint)) {
      if (req.method !== 'POST')
        return sendJson(
          req,
          res,
          url,
          null,
          405,
          oauthError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.').body,
          requestId,
        );
      const ct = headerString(req.headers['content-type']) ?? '';
      if (!ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        const e = oauthError(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'grant_type'.",
        );
        return sendJson(req, res, url, null, e.status, e.body, requestId);
      }
      const form = new URLSearchParams(raw.toString('utf8'));
      const authorization = headerString(req.headers.authorization);
      const out =
        endpoint === 'oauth2/token'
          ? tokens.issueV1(tenantKey, form, baseUrl, authorization)
          : tokens.issue(tenantKey, form, baseUrl, authorization);
      return sendJson(req, res, url, redactForm(form), out.status, out.body, requestId);
    }
    if (req.method !== 'GET')
      return sendJson(
        req,
        res,
        url,
        null,
        405,
        oauthError(405, 'invalid_request', 900561, 'The endpoint only accepts GET requests.').body,
        requestId,
      );
    const tenant = ctx.store.tenantByIdOrDomain(tenantKey);
    if (!tenant) {
      const e = oauthError(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${tenantKey}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
      return sendJson(req, res, url, null, e.status, e.body, requestId);
    }
    if (endpoint === 'discovery/v2.0/keys') return sendJson(req, res, url, null, 200, { keys: [] }, requestId);
    return sendJson(req, res, url, null, 200, openIdConfiguration(baseUrl, tenant.id), requestId);
  }

  function handleGraph(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    path: string,
    search: string,
    raw: Buffer,
  ): void {
    const requestId = randomUUID();
    const clientRequestId = headerString(req.headers['client-request-id']) ?? requestId;
    let loggedBody: unknown = null;
    if (raw.length > 0 && log.wanted) {
      try {
        loggedBody = redactBody(JSON.parse(raw.toString('utf8')));
      } catch {
        loggedBody = raw.toString('utf8').slice(0, 1000);
      }
    }
    let response: GraphResponse;
    try {
      // Graph authenticates before it reads the body.
      const caller = tokens.authenticate(headerString(req.headers.authorization));
      let body: unknown;
      if (raw.length > 0) {
        const ct = headerString(req.headers['content-type']) ?? '';
        if (!/^application\/json/i.test(ct)) throw invalidJson();
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw invalidJson();
        }
      }
      const greq: GraphRequest = {
        method: req.method ?? 'GET',
        path: path.slice('/v1.0'.length),
        search,
        query: parseQuery(search),
        headers: req.headers as Record<string, string | undefined>,
        body,
        baseUrl: baseUrlOf(req),
        caller,
      };
      if (/^\/(\$|%24)batch\/?$/i.test(greq.path)) {
        if (body === undefined) throw invalidJson();
        response = runBatch(deps, greq, requestId, clientRequestId);
      } else {
        response = runGraphRequest(deps, greq, requestId, clientRequestId);
      }
    } catch (err) {
      response = toErrorResponse(err, requestId, clientRequestId);
    }
    sendGraph(req, res, url, loggedBody, response, requestId, clientRequestId);
  }

  function route(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    if (path === '/v1.0' || path.startsWith('/v1.0/')) return handleGraph(req, res, url, path, search, raw);
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      let body: unknown;
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'OperatorBadRequest', message: 'body is not valid JSON' } }));
        return;
      }
      const out = handleOperator(deps.operator, req.method ?? 'GET', path, search, body);
      const payload =
        out.body === undefined ? undefined : typeof out.body === 'string' ? out.body : JSON.stringify(out.body);
      res.writeHead(
        out.status,
        payload === undefined ? {} : { 'Content-Type': out.contentType ?? 'application/json; charset=utf-8' },
      );
      res.end(payload);
      return;
    }
    const requestId = randomUUID();
    const identity = IDENTITY_PATH.exec(path);
    if (identity) return handleIdentity(req, res, url, decodeURIComponent(identity[1]!), identity[2]!, raw, requestId);
    // Anything else is what graph.microsoft.com says for an unknown version segment.
    const version = path.split('/')[1] ?? '';
    sendGraphError(
      req,
      res,
      url,
      version === ''
        ? odataBadRequest('Invalid request.')
        : new GraphError(400, 'BadRequest', `Invalid version: ${version}`),
    );
  }

  /**
   * A failure outside the Graph pipeline (body too large, an emulator bug) in the same envelope and with the same
   * headers as every other response, so clients and the SDK read its request-id and date as usual.
   */
  function sendGraphError(req: IncomingMessage, res: ServerResponse, url: string, err: GraphError): void {
    const requestId = randomUUID();
    const clientRequestId = headerString(req.headers['client-request-id']) ?? requestId;
    sendGraph(req, res, url, null, toErrorResponse(err, requestId, clientRequestId), requestId, clientRequestId);
  }

  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) return sendGraphError(req, res, req.url ?? '/', bodyTooLarge());
      try {
        route(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      } catch (err) {
        process.emitWarning(`graph emulator: unexpected error: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) sendGraphError(req, res, req.url ?? '/', unexpectedError());
      }
    });
  };
}
