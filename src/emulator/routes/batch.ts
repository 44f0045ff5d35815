import { GraphError, errorBody, odataBadRequest } from '../errors';
import { parseQuery } from '../odata';
import { runGraphRequest, toErrorResponse, type PipelineDeps } from '../pipeline';
import type { GraphRequest, GraphResponse } from '../types';

/**
 * `POST /v1.0/$batch` (graph.md §12): at most 20 items with unique (case-insensitive) ids; each item goes through
 * the same pipeline as a direct request (faults, throttling, validation), so each is throttled individually; a
 * failed `dependsOn` dependency gives 424. The envelope is 200 even when items fail (the form SDKs and Dev Proxy
 * expect; Microsoft's throttling page mentions a 424 for the batch itself).
 */

export const BATCH_LIMIT = 20;
const JSON_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dependsOn: string[];
}

const invalidBatch = (message: string): GraphError => odataBadRequest(message);

function parseItems(body: unknown): BatchItem[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalidBatch('Invalid batch payload format.');
  const requests = (body as Record<string, unknown>).requests;
  if (!Array.isArray(requests) || requests.length === 0) throw invalidBatch('Invalid batch payload format.');
  if (requests.length > BATCH_LIMIT)
    throw invalidBatch(`The number of requests in the batch exceeds the limit of ${BATCH_LIMIT}.`);
  const seen = new Set<string>();
  const items: BatchItem[] = [];
  for (const raw of requests) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw invalidBatch('Invalid batch payload format.');
    const r = raw as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id === '')
      throw invalidBatch("The 'id' property is required for every request in the batch.");
    if (seen.has(r.id.toLowerCase()))
      throw invalidBatch(`Request with id '${r.id}' is duplicated in the batch. Ids must be unique.`);
    if (typeof r.method !== 'string' || typeof r.url !== 'string')
      throw invalidBatch(`Request '${r.id}' must have a 'method' and a 'url'.`);
    const headers: Record<string, string> = {};
    if (r.headers !== undefined) {
      if (r.headers === null || typeof r.headers !== 'object' || Array.isArray(r.headers))
        throw invalidBatch('Invalid batch payload format.');
      for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) {
        // Header values are strings; an object or array (`{"toString": 1}` makes String() throw) is a bad payload.
        if (v !== null && typeof v === 'object') throw invalidBatch('Invalid batch payload format.');
        headers[k.toLowerCase()] = String(v);
      }
    }
    if (r.body !== undefined && !headers['content-type']) {
      throw invalidBatch(`Content-Type header must be specified for request '${r.id}' because it has a body.`);
    }
    const dependsOn: string[] = [];
    if (r.dependsOn !== undefined) {
      if (!Array.isArray(r.dependsOn)) throw invalidBatch('Invalid batch payload format.');
      for (const d of r.dependsOn) {
        if (typeof d !== 'string' || !seen.has(d.toLowerCase())) {
          throw invalidBatch(
            `Request '${r.id}' depends on '${typeof d === 'string' ? d : JSON.stringify(d)}', which is not an earlier request of the batch.`,
          );
        }
        dependsOn.push(d.toLowerCase());
      }
    }
    seen.add(r.id.toLowerCase());
    items.push({ id: r.id, method: r.method.toUpperCase(), url: r.url, headers, body: r.body, dependsOn });
  }
  return items;
}

/**
 * One item of the envelope. A JSON body is embedded as is; a plain-text one (`/users/$count`) is base64-encoded, as
 * JSON batching does for bodies that are not JSON (json-batching docs; stated there for binary content [medium]).
 */
function batchResponseItem(id: string, res: GraphResponse): Record<string, unknown> {
  const headers: Record<string, string> = { ...(res.headers ?? {}) };
  const out: Record<string, unknown> = { id, status: res.status, headers };
  if (res.text !== undefined) {
    headers['Content-Type'] = 'text/plain';
    out.body = Buffer.from(res.text, 'utf8').toString('base64');
  } else if (res.body !== undefined) {
    headers['Content-Type'] = res.status >= 400 ? 'application/json' : JSON_CONTENT_TYPE;
    out.body = res.body;
  }
  return out;
}

export function runBatch(
  deps: PipelineDeps,
  outer: GraphRequest,
  requestId: string,
  clientRequestId: string,
): GraphResponse {
  if (outer.method !== 'POST') {
    throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
  }
  const items = parseItems(outer.body);
  const failed = new Set<string>();
  const responses: Record<string, unknown>[] = [];
  for (const item of items) {
    let res: GraphResponse;
    if (item.dependsOn.some((d) => failed.has(d))) {
      const e = new GraphError(424, 'FailedDependency', 'The request failed because a request it depends on failed.');
      res = { status: 424, body: errorBody(e, requestId, clientRequestId) };
    } else if (/^(https?:|\/?v1\.0\/|\/?beta\/)/i.test(item.url) || /^\/?\$batch/i.test(item.url)) {
      const e = odataBadRequest(
        `Invalid request URL '${item.url}': batch items take a URL relative to the version, e.g. '/users/{id}'.`,
      );
      res = { status: 400, body: errorBody(e, requestId, clientRequestId) };
    } else {
      const rel = item.url.startsWith('/') ? item.url : `/${item.url}`;
      const q = rel.indexOf('?');
      const search = q < 0 ? '' : rel.slice(q + 1);
      try {
        // Inside the try: an item's malformed query (`?%zz=1`, `$top` twice) is that item's 400. Thrown out of the
        // loop it made the whole batch a 400 after earlier items had already written.
        const sub: GraphRequest = {
          method: item.method,
          path: q < 0 ? rel : rel.slice(0, q),
          search,
          query: parseQuery(search),
          headers: item.headers,
          body: item.body,
          baseUrl: outer.baseUrl,
          caller: outer.caller,
        };
        res = runGraphRequest(deps, sub, requestId, clientRequestId);
      } catch (err) {
        // A GraphError keeps its status (the query's 400); anything else is the emulator's 500.
        res = toErrorResponse(err, requestId, clientRequestId);
      }
    }
    if (res.status >= 400) failed.add(item.id.toLowerCase());
    responses.push(batchResponseItem(item.id, res));
  }
  return { status: 200, body: { responses } };
}
