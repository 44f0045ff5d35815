import { badRequest } from './errors';
import { isPlainObject } from './normalize';

/** RFC 7644 §3.4.2.4 pagination and §3.4.2.3 sorting parameters. */
export interface ListParams {
  startIndex: number;
  count: number;
  sortBy?: string;
  descending: boolean;
  filter?: string;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

/** Advertised as filter.maxResults; larger `count`s are cut to it. */
export const MAX_RESULTS = 200;
export const DEFAULT_COUNT = 100;

/** Query parameters by lower-cased name: clients differ in the case of `startIndex`, `excludedAttributes`. */
export function queryParams(query: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (query && typeof query === 'object') {
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) out.set(k.toLowerCase(), v);
  }
  return out;
}

function single(q: Map<string, unknown>, name: string): string | undefined {
  const v = q.get(name.toLowerCase());
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw badRequest(name === 'filter' ? 'invalidFilter' : 'invalidValue', `${name} must be given once, as a string`);
  return v;
}

function integer(q: Map<string, unknown>, name: string): number | undefined {
  const v = single(q, name);
  if (v === undefined || v.trim() === '') return undefined;
  if (!/^[-+]?\d{1,15}$/.test(v.trim())) throw badRequest('invalidValue', `${name} must be an integer`);
  return Number(v);
}

/** startIndex below 1 counts as 1 and a negative count as 0 (RFC 7644 §3.4.2.4); count is capped at MAX_RESULTS. */
export function parseListParams(query: unknown): ListParams {
  const q = queryParams(query);
  const startIndex = Math.max(1, integer(q, 'startIndex') ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, integer(q, 'count') ?? DEFAULT_COUNT));
  const sortOrder = single(q, 'sortOrder')?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw badRequest('invalidValue', 'sortOrder must be "ascending" or "descending"');
  }
  const params: ListParams = { startIndex, count, descending: sortOrder === 'descending' };
  const sortBy = single(q, 'sortBy');
  if (sortBy !== undefined && sortBy.trim() !== '') params.sortBy = sortBy.trim();
  const filter = single(q, 'filter');
  if (filter !== undefined) params.filter = filter;
  params.attributes = q.get('attributes');
  params.excludedAttributes = q.get('excludedattributes');
  return params;
}

export function listResponse(resources: unknown[], total: number, startIndex: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** Names (lower case) of the query parameters a search request body may carry; other members are ignored. */
const SEARCH_PARAMETERS = new Set([
  'filter',
  'startindex',
  'count',
  'attributes',
  'excludedattributes',
  'sortby',
  'sortorder',
]);
const ATTRIBUTE_LISTS = new Set(['attributes', 'excludedattributes']);

/**
 * RFC 7644 §3.4.3: the body of `POST …/.search` carries the parameters of a GET query, with attribute lists as
 * arrays of strings and startIndex/count as numbers. Turned into the GET query form, a search runs through exactly
 * the code of the GET and answers the same ListResponse.
 */
export function searchRequestAsQuery(body: unknown): Record<string, string> {
  if (!isPlainObject(body)) throw badRequest('invalidSyntax', 'the search request must be a JSON object');
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    const name = key.toLowerCase();
    if (!SEARCH_PARAMETERS.has(name) || value === null) continue;
    if (typeof value === 'string') query[name] = value;
    else if (typeof value === 'number' && Number.isInteger(value)) query[name] = String(value);
    else if (ATTRIBUTE_LISTS.has(name) && Array.isArray(value) && value.every((v) => typeof v === 'string'))
      query[name] = value.join(',');
    else throw badRequest(name === 'filter' ? 'invalidFilter' : 'invalidValue', `"${key}" has the wrong type`);
  }
  return query;
}
