import type { NextFunction, Request, Response } from 'express';
import { ProblemError } from './problem';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface PathMethods {
  pattern: RegExp;
  methods: string[];
}

/** `/tenants/{tenantId}/teams` → a pattern matching `/tenants/<one segment>/teams`, with Express's leniency. */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  // Express matches case-insensitively here (app setting) and ignores one trailing slash.
  return new RegExp(`^${source}/?$`, 'i');
}

/** The methods of each documented path, as Express's own OPTIONS answer lists them: a GET route also serves HEAD. */
function pathMethodsOf(paths: Record<string, Record<string, unknown>>): PathMethods[] {
  return Object.entries(paths).map(([template, item]) => {
    const methods = Object.keys(item).filter((k) => HTTP_METHODS.includes(k));
    if (methods.includes('get') && !methods.includes('head')) methods.push('head');
    return { pattern: templatePattern(template), methods: methods.map((m) => m.toUpperCase()).sort() };
  });
}

/**
 * Answers 405 with `Allow` (RFC 9110 §15.5.6) to a request that reached no route although its path is one of the
 * API's, with another method; other paths fall through to the 404. The OpenAPI document is the list of routes, so
 * what 405 says the path supports is what the document says (a test holds both to what the routes do).
 */
export function methodNotAllowed(paths: Record<string, Record<string, unknown>>) {
  const known = pathMethodsOf(paths);
  return (req: Request, res: Response, next: NextFunction) => {
    const allowed = [...new Set(known.filter((p) => p.pattern.test(req.path)).flatMap((p) => p.methods))].sort();
    if (allowed.length === 0 || allowed.includes(req.method)) return next();
    res.setHeader('Allow', allowed.join(', '));
    // OPTIONS that no route answered (Express answers it on the routers' own paths): the same Allow, as Express would.
    if (req.method === 'OPTIONS') return void res.status(200).send(allowed.join(','));
    next(new ProblemError(405, 'Method Not Allowed', `${req.method} is not supported here; use ${allowed.join(', ')}`));
  };
}
