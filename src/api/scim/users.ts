import { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { getEmployeeView, lockEmployee, selectEmployeeViews, type EmployeeView } from '../../db/employees';
import { recordEmployeeChange } from '../../db/changes';
import type { ApiDeps } from '../deps';
import { requestIdOf, tenantOf } from './auth';
import type { CustomAttributeCache, CustomAttributeSet } from './custom-attribute-cache';
import { badRequest, notFound, ScimError, sendScimJson, uniqueness } from './errors';
import { filterToSql, resolveFilterColumn } from './filter-sql';
import { listResponse, parseListParams, searchRequestAsQuery } from './list';
import { isPlainObject, parsePatchRequest, withoutOwnIdRestated } from './normalize';
import { applyUserOperations, applyUserResource } from './patch';
import {
  project,
  projectionIncludes,
  projectionOf,
  renderUser,
  type Projection,
  type RenderContext,
} from './resources';
import { cloneDraft, draftFromRow, emptyDraft, type UserDraft } from './user-draft';
import { writeUser } from './user-writes';

export interface ScimContext {
  deps: ApiDeps;
  customAttributes: CustomAttributeCache;
  baseUrl: string;
}

/**
 * Runs `fn` with the tenant's (cached) custom attribute definitions. If it fails with a 400 that could come from an
 * id the cache does not know yet, the definitions are reloaded and `fn` runs once more — writes roll back on throw,
 * so a retry is safe.
 */
export async function withDefinitions<T>(
  sc: ScimContext,
  tenantId: string,
  fn: (defs: CustomAttributeSet) => Promise<T>,
): Promise<T> {
  const defs = await sc.customAttributes.get(tenantId);
  try {
    return await fn(defs);
  } catch (err) {
    const maybeStale = err instanceof ScimError && err.status === 400 && /unknown (custom )?attribute/.test(err.detail);
    if (!maybeStale) throw err;
    const fresh = await sc.customAttributes.get(tenantId, { fresh: true });
    if (!fresh.differsFrom(defs)) throw err;
    return fn(fresh);
  }
}

export function renderContext(sc: ScimContext, defs: CustomAttributeSet): RenderContext {
  return { baseUrl: sc.baseUrl, showsCustomAttribute: defs.fits };
}

/** Team membership costs a subquery; skip it when the projection leaves `groups` out. */
const wantsGroups = (p: Projection): boolean => projectionIncludes(p, 'groups');

function sendUser(res: Response, status: number, row: EmployeeView, ctx: RenderContext, p: Projection): void {
  const body = project(renderUser(row, ctx), p.attributes, p.excluded);
  if (status === 201) res.location(String((body.meta as { location: string }).location));
  sendScimJson(res, status, body);
}

function requireObjectBody(req: Request): Record<string, unknown> {
  if (!isPlainObject(req.body)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  return req.body;
}

/** ORDER BY for `sortBy` (allow-listed through the filter column map), always ending in (created_at, id) for stability. */
function applySort(
  q: Knex.QueryBuilder,
  sortBy: string | undefined,
  descending: boolean,
  defs: CustomAttributeSet,
): void {
  const dir = descending ? 'DESC' : 'ASC';
  if (sortBy !== undefined) {
    let col;
    try {
      col = resolveFilterColumn(sortBy, 'User', defs.lookup);
    } catch {
      throw badRequest('invalidValue', `cannot sort by "${sortBy.slice(0, 80)}"`);
    }
    switch (col.kind) {
      case 'text':
        q.orderByRaw(
          `${col.caseExact ? col.expr : `lower(${col.expr})`} ${dir} NULLS LAST`,
          (col.bindings ?? []) as Knex.RawBinding[],
        );
        break;
      case 'number':
        q.orderByRaw(`${col.expr} ${dir} NULLS LAST`, col.bindings as Knex.RawBinding[]);
        break;
      case 'uuid':
      case 'bool':
      case 'date':
      case 'timestamp':
        q.orderByRaw(`${col.expr} ${dir} NULLS LAST`);
        break;
      case 'multi':
        // RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary (else first) value.
        q.orderByRaw(
          `(SELECT el->>'value' FROM jsonb_array_elements(${col.column}) AS el ORDER BY (el->>'primary') = 'true' DESC NULLS LAST LIMIT 1) ${dir} NULLS LAST`,
        );
        break;
      default:
        throw badRequest('invalidValue', `cannot sort by "${sortBy.slice(0, 80)}"`);
    }
  }
  q.orderBy([
    { column: 'employees.created_at', order: descending && sortBy === undefined ? 'desc' : 'asc' },
    { column: 'employees.id', order: descending && sortBy === undefined ? 'desc' : 'asc' },
  ]);
}

/** Fields PUT resets before applying the body: everything writable except the identity anchor and `active`. */
function resetForPut(d: UserDraft): UserDraft {
  const fresh = emptyDraft();
  fresh.externalId = d.externalId;
  fresh.active = d.active;
  return fresh;
}

export function createUserRoutes(sc: ScimContext): Router {
  const { db } = sc.deps;
  const router = Router();

  /** GET /Users and POST /Users/.search: one query, `query` in the GET form. */
  const listUsers = async (res: Response, query: unknown) => {
    const tenantId = tenantOf(res);
    const params = parseListParams(query);
    const p = projectionOf(query);
    const page = await withDefinitions(sc, tenantId, async (defs) => {
      const where = params.filter !== undefined ? filterToSql(params.filter, 'User', defs.lookup) : undefined;
      const scoped = (q: Knex.QueryBuilder) =>
        where ? q.whereRaw(`(${where.sql})`, where.bindings as Knex.RawBinding[]) : q;
      if (params.count === 0) {
        const [{ count }] = await scoped(db('employees').where('employees.tenant_id', tenantId)).count<
          Array<{ count: string }>
        >('* as count');
        return { rows: [] as Array<EmployeeView & { total_count?: string }>, total: Number(count), defs };
      }
      // The total rides along as a window count: one round trip for the usual single-result Entra query.
      const q = scoped(selectEmployeeViews(db, tenantId, { withTeams: wantsGroups(p) }))
        .select(db.raw('count(*) OVER () AS total_count'))
        .limit(params.count)
        .offset(params.startIndex - 1);
      applySort(q, params.sortBy, params.descending, defs);
      const rows = (await q) as Array<EmployeeView & { total_count?: string }>;
      let total = rows.length > 0 ? Number(rows[0].total_count) : 0;
      if (rows.length === 0 && params.startIndex > 1) {
        const [{ count }] = await scoped(db('employees').where('employees.tenant_id', tenantId)).count<
          Array<{ count: string }>
        >('* as count');
        total = Number(count);
      }
      return { rows, total, defs };
    });
    const ctx = renderContext(sc, page.defs);
    const resources = page.rows.map((r) => {
      delete r.total_count;
      return project(renderUser(r, ctx), p.attributes, p.excluded);
    });
    sendScimJson(res, 200, listResponse(resources, page.total, params.startIndex));
  };
  router.get('/Users', (req, res) => listUsers(res, req.query));
  router.post('/Users/.search', (req, res) => listUsers(res, searchRequestAsQuery(req.body)));

  router.get('/Users/:id', async (req, res) => {
    const tenantId = tenantOf(res);
    const p = projectionOf(req.query);
    const defs = await sc.customAttributes.get(tenantId);
    const row = await getEmployeeView(db, tenantId, String(req.params.id), { withTeams: wantsGroups(p) });
    if (!row) throw notFound(`User ${String(req.params.id).slice(0, 64)} not found`);
    sendUser(res, 200, row, renderContext(sc, defs), p);
  });

  router.post('/Users', async (req, res) => {
    const tenantId = tenantOf(res);
    const body = requireObjectBody(req);
    const p = projectionOf(req.query);
    const ctx = { tenantId, requestId: requestIdOf(res) };
    const { result, defs } = await withDefinitions(sc, tenantId, async (defs) => {
      const draft = emptyDraft();
      applyUserResource(draft, body, defs.lookup);
      if (draft.userName === null || draft.userName.trim() === '')
        throw badRequest('invalidValue', 'userName is required');
      const result = await db.transaction(async (trx) => {
        // Happy path: the INSERT itself enforces both identities (unique indexes) — no lookup round trip first.
        const created = await writeUser(trx, ctx, undefined, draft);
        if (!created.conflict) return created;
        const clashes = (await trx('employees')
          .where({ tenant_id: tenantId })
          .where((w) => {
            w.whereRaw('lower(user_name) = lower(?)', [draft.userName!]);
            if (draft.externalId !== null) w.orWhere('external_id', draft.externalId);
          })
          .select('id', 'external_id', 'user_name')) as Array<{
          id: string;
          external_id: string | null;
          user_name: string;
        }>;
        if (draft.externalId !== null && clashes.some((c) => c.external_id === draft.externalId)) {
          throw uniqueness(`a user with externalId "${draft.externalId.slice(0, 100)}" already exists`);
        }
        // Any clash left is on userName (an externalId clash has thrown above).
        const sameName = clashes[0];
        // Brownfield HR data: an employee created before Entra knew it has no externalId yet. Entra's first POST for
        // that person links (adopts) the record instead of failing with 409 forever.
        if (!sameName || sameName.external_id !== null || draft.externalId === null) {
          throw uniqueness(`a user with userName "${draft.userName!.slice(0, 200)}" already exists`);
        }
        const current = await lockEmployee(trx, tenantId, sameName.id, { withTeams: true });
        if (!current) throw uniqueness('userName already exists');
        const next = draftFromRow(current);
        applyUserResource(next, body, defs.lookup);
        sc.deps.logger.info(
          { tenantId, employeeId: current.id, requestId: ctx.requestId },
          'scim POST adopted an existing employee by userName',
        );
        return writeUser(trx, { ...ctx, auditNote: { adoptedByUserName: true } }, current, next);
      });
      return { result, defs };
    });
    const row = result.view ?? (await getEmployeeView(db, tenantId, result.id, { withTeams: wantsGroups(p) }));
    sendUser(res, 201, row!, renderContext(sc, defs), p);
  });

  const modify = (kind: 'patch' | 'put') => async (req: Request, res: Response) => {
    const tenantId = tenantOf(res);
    const id = String(req.params.id);
    const p = projectionOf(req.query);
    const ctx = { tenantId, requestId: requestIdOf(res) };
    const body = requireObjectBody(req);
    const ops = kind === 'patch' ? withoutOwnIdRestated(parsePatchRequest(body), id) : undefined;
    const { result, defs } = await withDefinitions(sc, tenantId, async (defs) => {
      const result = await db.transaction(async (trx) => {
        // Row lock: two PATCHes of one user queue here, so neither loses the other's change.
        const current = await lockEmployee(trx, tenantId, id, { withTeams: wantsGroups(p) });
        if (!current) throw notFound(`User ${id.slice(0, 64)} not found`);
        const before = draftFromRow(current);
        let next: UserDraft;
        if (ops) {
          next = cloneDraft(before);
          applyUserOperations(next, ops, defs.lookup);
        } else {
          next = resetForPut(before);
          applyUserResource(next, body, defs.lookup);
        }
        return writeUser(trx, ctx, current, next);
      });
      return { result, defs };
    });
    const row = result.view ?? (await getEmployeeView(db, tenantId, id, { withTeams: wantsGroups(p) }));
    if (!row) throw notFound();
    sendUser(res, 200, row, renderContext(sc, defs), p);
  };
  router.patch('/Users/:id', modify('patch'));
  router.put('/Users/:id', modify('put'));

  /** Users are never deleted (product rule): DELETE deactivates, and the user stays readable and filterable. */
  router.delete('/Users/:id', async (req, res) => {
    const tenantId = tenantOf(res);
    await db.transaction(async (trx) => {
      const current = await lockEmployee(trx, tenantId, String(req.params.id));
      if (!current) throw notFound(`User ${String(req.params.id).slice(0, 64)} not found`);
      // The id as stored (lower case), not as the path spelled it: the audit trail is keyed by it as text, and
      // `/Users/A52B…` names the same user as `/Users/a52b…`.
      const id = current.id;
      // Already inactive (deactivated, or terminated by HR): nothing to do, and HR's status is kept.
      if (current.active) {
        await trx('employees')
          .where({ tenant_id: tenantId, id })
          .update({ active: false, lifecycle_status: 'deactivated', deactivated_at: trx.fn.now() });
        await recordEmployeeChange(trx, {
          tenantId,
          employeeId: id,
          changedAttributes: ['active', 'lifecycleStatus'],
          changes: { active: false, lifecycleStatus: 'deactivated', via: 'DELETE' },
          action: 'deactivated',
          source: 'scim',
          requestId: requestIdOf(res),
        });
      }
    });
    res.status(204).end();
  });

  return router;
}
