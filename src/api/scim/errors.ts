import type { ErrorRequestHandler, Response } from 'express';
import { DuplicateTeamNameError } from '../../db/teams';
import type { Logger } from '../../logger';
import { RequestBodyError } from '../json-body';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json';

/** RFC 7644 §3.12 scimType keywords we use. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/**
 * A SCIM error response. Throw it from any SCIM handler; `scimErrorHandler` renders it. `detail` ends up in Entra's
 * provisioning log, so it names the attribute and says what is wrong.
 */
export class ScimError extends Error {
  override name = 'ScimError';
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const badRequest = (scimType: ScimType, detail: string) => new ScimError(400, scimType, detail);
export const notFound = (detail = 'resource not found') => new ScimError(404, undefined, detail);
export const uniqueness = (detail: string) => new ScimError(409, 'uniqueness', detail);

export function sendScimJson(res: Response, status: number, body: unknown): void {
  res.status(status).type(SCIM_CONTENT_TYPE).json(body);
}

export function sendScimError(res: Response, status: number, scimType: ScimType | undefined, detail: string): void {
  sendScimJson(res, status, {
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
  });
}

interface PgError {
  code?: string;
  constraint?: string;
}

/**
 * The one place that maps errors on /scim/v2 to SCIM error bodies. Client mistakes that slip past validation and
 * surface as PostgreSQL errors (unique index, bad date, bad uuid) still become 4xx, never 500.
 */
export function scimErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ScimError) return sendScimError(res, err.status, err.scimType, err.detail);
    if (err instanceof RequestBodyError) {
      const scimType =
        err.status !== 400
          ? undefined
          : err.reason === 'nul_character' || err.reason === 'lone_surrogate'
            ? 'invalidValue'
            : 'invalidSyntax';
      return sendScimError(res, err.status, scimType, err.message);
    }
    if (err instanceof DuplicateTeamNameError) return sendScimError(res, 409, 'uniqueness', err.message);
    const pg = err as PgError;
    if (pg.code === '23505') {
      const what = /user_name/.test(pg.constraint ?? '')
        ? 'userName'
        : /external_id/.test(pg.constraint ?? '')
          ? 'externalId'
          : /display_name/.test(pg.constraint ?? '')
            ? 'displayName'
            : 'a unique attribute';
      return sendScimError(res, 409, 'uniqueness', `${what} is already in use`);
    }
    if (
      pg.code === '22007' ||
      pg.code === '22008' ||
      pg.code === '22P02' ||
      pg.code === '22001' ||
      pg.code === '23514' ||
      // U+0000 or a character the database encoding cannot hold (bodies are checked when parsed; this is the net)
      pg.code === '22021' ||
      pg.code === '22P05' ||
      // a value too long for its index (e.g. a userName of thousands of multi-byte characters)
      pg.code === '54000'
    ) {
      return sendScimError(res, 400, 'invalidValue', 'a value has the wrong format');
    }
    if (pg.code === '40P01' || pg.code === '40001') {
      return sendScimError(res, 503, undefined, 'concurrent update conflict, retry');
    }
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return sendScimError(res, 400, 'invalidSyntax', 'request too deeply nested');
    }
    // Client errors raised by Express itself (http-errors convention), e.g. a malformed %-escape in the URL.
    const status =
      (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendScimError(res, status, undefined, 'the request could not be understood');
    }
    logger.error(
      { err, requestId: res.locals.requestId, tenantId: res.locals.tenantId, path: req.path },
      'scim request failed',
    );
    sendScimError(res, 500, undefined, 'an unexpected error occurred; see the server log');
  };
}
