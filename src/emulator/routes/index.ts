import { GraphError, odataBadRequest } from '../errors';
import type { EmulatorContext, GraphRequest, GraphResponse } from '../types';
import {
  availableExtensionProperties,
  createExtensionProperty,
  getApplication,
  getDomain,
  getServicePrincipalByAppId,
  listApplications,
  listDomains,
  listExtensionProperties,
  listOrganization,
} from './directory';
import {
  countUsers,
  createUser,
  deleteUser,
  getManager,
  getManagerRef,
  getUser,
  listUsers,
  removeManager,
  setManager,
  updateUser,
} from './users';

/**
 * Maps `/v1.0/...` paths to handlers. Resolution is separate from execution so throttling can price a request
 * (its resource units depend on the route) and refuse it before it runs, as Graph does.
 */

export type CostKind = 'users-list' | 'extension-properties' | 'other';
type Handler = (ctx: EmulatorContext, req: GraphRequest) => GraphResponse;
export interface ResolvedRoute {
  kind: CostKind;
  run: Handler;
}

const methodNotAllowed = (): GraphError =>
  new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
const noSegment = (seg: string): GraphError => odataBadRequest(`Resource not found for the segment '${seg}'.`);

function byMethod(req: GraphRequest, table: Partial<Record<string, Handler>>, kind: CostKind = 'other'): ResolvedRoute {
  const run = table[req.method];
  if (!run) throw methodNotAllowed();
  return { kind, run };
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw odataBadRequest(`Bad Request - Invalid URL: the segment '${seg}' is not correctly percent-encoded.`);
  }
}

/** `users('…')` key form, needed for UPNs starting with `$` (user-get docs). */
const PAREN_KEY = /^([A-Za-z]+)\('((?:[^']|'')*)'\)$/;

export function resolveRoute(req: GraphRequest): ResolvedRoute {
  const raw = req.path.replace(/^\/+/, '').replace(/\/+$/, '');
  const segs = raw === '' ? [] : raw.split('/').map(decodeSegment);
  if (segs.length === 0) throw noSegment('v1.0');
  let [head, key] = [segs[0]!, segs[1]];
  let rest = segs.slice(2);
  const paren = PAREN_KEY.exec(head);
  const appAlt = /^applications(\(appId='(?:[^']|'')*'\))$/i.exec(head);
  const spAlt = /^servicePrincipals\(appId='((?:[^']|'')*)'\)$/i.exec(head);
  if (paren && paren[1] === 'users') {
    head = 'users';
    rest = segs.slice(1);
    key = paren[2]!.replace(/''/g, "'");
  } else if (appAlt) {
    head = 'applications';
    rest = segs.slice(1);
    key = appAlt[1]!;
  } else if (spAlt) {
    head = 'servicePrincipals';
    rest = segs.slice(1);
    key = spAlt[1]!.replace(/''/g, "'");
  }
  switch (head) {
    case 'users': {
      if (key === undefined)
        return byMethod(req, { GET: listUsers, POST: createUser }, req.method === 'GET' ? 'users-list' : 'other');
      const k = key;
      // `$count` is a segment here, not a user key; priced like the list it counts.
      if (k === '$count' && rest.length === 0) return byMethod(req, { GET: countUsers }, 'users-list');
      // Only OData's own segments start with `$`, so `/users/$x@y.com` is refused with 400 before any lookup;
      // a UPN starting with `$` must be addressed as `/users('$x@y.com')` (user-get docs).
      if (!paren && k.startsWith('$')) throw noSegment(k);
      if (rest.length === 0) {
        return byMethod(req, {
          GET: (c, r) => getUser(c, r, k),
          PATCH: (c, r) => updateUser(c, r, k),
          DELETE: (c, r) => deleteUser(c, r, k),
        });
      }
      if (rest[0] === 'manager' && rest.length === 1) return byMethod(req, { GET: (c, r) => getManager(c, r, k) });
      if (rest[0] === 'manager' && rest[1] === '$ref' && rest.length === 2) {
        return byMethod(req, {
          GET: (c, r) => getManagerRef(c, r, k),
          PUT: (c, r) => setManager(c, r, k),
          DELETE: (c, r) => removeManager(c, r, k),
        });
      }
      throw noSegment(rest[0]!);
    }
    case 'domains':
      if (key === undefined) return byMethod(req, { GET: listDomains });
      if (rest.length === 0) return byMethod(req, { GET: (c, r) => getDomain(c, r, key) });
      throw noSegment(rest[0]!);
    case 'organization':
      if (key === undefined) return byMethod(req, { GET: listOrganization });
      throw noSegment(key);
    case 'applications': {
      if (key === undefined) return byMethod(req, { GET: listApplications });
      const k = key;
      if (rest.length === 0) return byMethod(req, { GET: (c, r) => getApplication(c, r, k) });
      if (rest[0] === 'extensionProperties' && rest.length === 1) {
        return byMethod(
          req,
          { GET: (c, r) => listExtensionProperties(c, r, k), POST: (c, r) => createExtensionProperty(c, r, k) },
          req.method === 'GET' ? 'extension-properties' : 'other',
        );
      }
      throw noSegment(rest[0]!);
    }
    case 'servicePrincipals': {
      // Only the appId alternate key: what a sync asks to tell an app of another tenant from a wrong app id.
      const k = key;
      if (spAlt && k !== undefined && rest.length === 0)
        return byMethod(req, { GET: (c, r) => getServicePrincipalByAppId(c, r, k) });
      throw noSegment(key ?? head);
    }
    case 'directoryObjects':
      if (key === 'getAvailableExtensionProperties' && rest.length === 0)
        return byMethod(req, { POST: availableExtensionProperties });
      throw noSegment(key ?? head);
    default:
      throw noSegment(head);
  }
}
