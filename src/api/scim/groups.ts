import { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { recordAuditEvent } from '../../db/audit';
import { isUuid } from '../../db/employees';
import { removePendingMembers } from '../../db/pending-references';
import { deleteTeamAndRecord, type TeamRow } from '../../db/teams';
import { requestIdOf, tenantOf } from './auth';
import { badRequest, notFound, sendScimJson, uniqueness } from './errors';
import { filterToSql, resolveFilterColumn } from './filter-sql';
import { planGroupPatch, planGroupResource } from './group-patch';
import { executePlan, lockScimTeam } from './group-writes';
import { listResponse, parseListParams, queryParams, searchRequestAsQuery } from './list';
import { isPlainObject, parsePatchRequest, withoutOwnIdRestated } from './normalize';
import { project, projectionIncludes, projectionOf, renderGroup, type GroupMember, type Projection } from './resources';
import type { ScimContext } from './users';

type TeamView = TeamRow & { members?: GroupMember[] };

/** Entra asks for groups with `excludedAttributes=members`; then the member subquery is not run at all. */
const wantsMembers = (p: Projection): boolean => projectionIncludes(p, 'members');

/** Teams visible over SCIM: those a SCIM client created or adopted. Manual teams stay out of Entra's reach. */
function selectTeams(db: Knex | Knex.Transaction, tenantId: string, withMembers: boolean): Knex.QueryBuilder {
  const cols: Array<string | Knex.Raw> = ['teams.*'];
  if (withMembers) {
    cols.push(
      db.raw(`(SELECT coalesce(json_agg(json_build_object('id', e.id, 'display', coalesce(e.display_name, e.user_name))
                 ORDER BY tm.created_at, e.id), '[]'::json)
               FROM team_members tm JOIN employees e ON e.id = tm.employee_id
              WHERE tm.team_id = teams.id) AS members`),
    );
  }
  return db('teams').where({ 'teams.tenant_id': tenantId, 'teams.scim_managed': true }).select(cols);
}

async function getTeamView(
  db: Knex | Knex.Transaction,
  tenantId: string,
  id: string,
  withMembers: boolean,
): Promise<TeamView | undefined> {
  if (!isUuid(id)) return undefined;
  return (await selectTeams(db, tenantId, withMembers).where('teams.id', id).first()) as TeamView | undefined;
}

function sendGroup(res: Response, status: number, team: TeamView, sc: ScimContext, p: Projection): void {
  const body = project(renderGroup(team, team.members, { baseUrl: sc.baseUrl }), p.attributes, p.excluded);
  if (status === 201) res.location(`${sc.baseUrl}/Groups/${team.id}`);
  sendScimJson(res, status, body);
}

export function createGroupRoutes(sc: ScimContext): Router {
  const { db } = sc.deps;
  const router = Router();
  const noCustom = () => undefined;

  /** GET /Groups and POST /Groups/.search: one query, `query` in the GET form. */
  const listGroups = async (res: Response, query: unknown) => {
    const tenantId = tenantOf(res);
    const params = parseListParams(query);
    const p = projectionOf(query);
    const where = params.filter !== undefined ? filterToSql(params.filter, 'Group', noCustom) : undefined;
    const scoped = (q: Knex.QueryBuilder) =>
      where ? q.whereRaw(`(${where.sql})`, where.bindings as Knex.RawBinding[]) : q;
    let rows: Array<TeamView & { total_count?: string }> = [];
    let total: number;
    const countAll = async () => {
      const [{ count }] = await scoped(
        db('teams').where({ 'teams.tenant_id': tenantId, 'teams.scim_managed': true }),
      ).count<Array<{ count: string }>>('* as count');
      return Number(count);
    };
    if (params.count === 0) {
      total = await countAll();
    } else {
      const q = scoped(selectTeams(db, tenantId, wantsMembers(p)))
        .select(db.raw('count(*) OVER () AS total_count'))
        .limit(params.count)
        .offset(params.startIndex - 1);
      const dir = params.descending ? 'DESC' : 'ASC';
      if (params.sortBy !== undefined) {
        let col;
        try {
          col = resolveFilterColumn(params.sortBy, 'Group', noCustom);
        } catch {
          throw badRequest('invalidValue', `cannot sort by "${params.sortBy.slice(0, 80)}"`);
        }
        if (col.kind === 'text') q.orderByRaw(`${col.caseExact ? col.expr : `lower(${col.expr})`} ${dir} NULLS LAST`);
        else if (col.kind === 'uuid' || col.kind === 'timestamp') q.orderByRaw(`${col.expr} ${dir}`);
        else throw badRequest('invalidValue', `cannot sort by "${params.sortBy.slice(0, 80)}"`);
      }
      q.orderBy([{ column: 'teams.created_at' }, { column: 'teams.id' }]);
      rows = (await q) as typeof rows;
      total = rows.length > 0 ? Number(rows[0].total_count) : params.startIndex > 1 ? await countAll() : 0;
    }
    const ctx = { baseUrl: sc.baseUrl };
    const resources = rows.map((r) => project(renderGroup(r, r.members, ctx), p.attributes, p.excluded));
    sendScimJson(res, 200, listResponse(resources, total, params.startIndex));
  };
  router.get('/Groups', (req, res) => listGroups(res, req.query));
  router.post('/Groups/.search', (req, res) => listGroups(res, searchRequestAsQuery(req.body)));

  router.get('/Groups/:id', async (req, res) => {
    const p = projectionOf(req.query);
    const team = await getTeamView(db, tenantOf(res), String(req.params.id), wantsMembers(p));
    if (!team) throw notFound(`Group ${String(req.params.id).slice(0, 64)} not found`);
    sendGroup(res, 200, team, sc, p);
  });

  /**
   * A group whose name matches a manual team (case-insensitively) adopts it: the team becomes SCIM-managed and keeps
   * its origin, so DELETE later only unlinks it. Any other name match is a 409.
   */
  router.post('/Groups', async (req, res) => {
    const tenantId = tenantOf(res);
    if (!isPlainObject(req.body)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
    const plan = planGroupResource(req.body, { put: false });
    const ctx = { tenantId, requestId: requestIdOf(res) };
    const p = projectionOf(req.query);
    const id = await db.transaction(async (trx) => {
      if (plan.externalId) {
        const taken = await trx('teams').where({ tenant_id: tenantId, external_id: plan.externalId }).first('id');
        if (taken) throw uniqueness(`a group with externalId "${plan.externalId.slice(0, 100)}" already exists`);
      }
      const existing = (await trx('teams')
        .where({ tenant_id: tenantId })
        .whereRaw('lower(display_name) = lower(?)', [plan.displayName!])
        .forUpdate()
        .first()) as TeamRow | undefined;
      let team: TeamRow;
      let action: string;
      if (existing) {
        if (existing.scim_managed)
          throw uniqueness(`a group named "${plan.displayName!.slice(0, 200)}" already exists`);
        await trx('teams')
          .where({ tenant_id: tenantId, id: existing.id })
          .update({ scim_managed: true, external_id: plan.externalId ?? null });
        team = { ...existing, scim_managed: true, external_id: plan.externalId ?? null };
        action = 'adopted';
        sc.deps.logger.info(
          { tenantId, teamId: team.id, requestId: ctx.requestId },
          'scim POST /Groups adopted a manual team',
        );
        // The manual team keeps its own spelling; Entra's displayName filter matches case-insensitively anyway.
        delete plan.displayName;
      } else {
        [team] = (await trx('teams')
          .insert({
            tenant_id: tenantId,
            display_name: plan.displayName,
            external_id: plan.externalId ?? null,
            origin: 'scim',
            scim_managed: true,
          })
          .returning('*')) as TeamRow[];
        action = 'created';
        delete plan.displayName;
      }
      delete plan.externalId;
      plan.members = plan.members.map((m) => (m.op === 'replace' ? { op: 'add', refs: m.refs } : m));
      await executePlan(trx, team, plan, ctx, action);
      return team.id;
    });
    const team = await getTeamView(db, tenantId, id, wantsMembers(p));
    sendGroup(res, 201, team!, sc, p);
  });

  const modify = (kind: 'patch' | 'put') => async (req: Request, res: Response) => {
    const tenantId = tenantOf(res);
    const id = String(req.params.id);
    if (!isPlainObject(req.body)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
    const plan =
      kind === 'patch'
        ? planGroupPatch(withoutOwnIdRestated(parsePatchRequest(req.body), id))
        : planGroupResource(req.body, { put: true });
    const ctx = { tenantId, requestId: requestIdOf(res) };
    await db.transaction(async (trx) => {
      const team = await lockScimTeam(trx, tenantId, id);
      await executePlan(trx, team, plan, ctx, 'updated');
    });
    const q = queryParams(req.query);
    // Entra expects 204 for group PATCH ("returning a body with all members isn't advisable"); a client that asks for
    // attributes, or a PUT, gets the resource.
    if (kind === 'patch' && q.get('attributes') === undefined) {
      res.status(204).end();
      return;
    }
    const p = projectionOf(req.query);
    const team = await getTeamView(db, tenantId, id, wantsMembers(p));
    sendGroup(res, 200, team!, sc, p);
  };
  router.patch('/Groups/:id', modify('patch'));
  router.put('/Groups/:id', modify('put'));

  /** A team Entra created is deleted; an adopted manual team is only unlinked and keeps its members. */
  router.delete('/Groups/:id', async (req, res) => {
    const tenantId = tenantOf(res);
    const ctx = { source: 'scim' as const, requestId: requestIdOf(res) };
    await db.transaction(async (trx) => {
      const team = await lockScimTeam(trx, tenantId, String(req.params.id));
      if (team.origin === 'scim') {
        await deleteTeamAndRecord(trx, team, ctx);
        return;
      }
      await trx('teams')
        .where({ tenant_id: tenantId, id: team.id })
        .update({ scim_managed: false, external_id: null, version: trx.raw('version + 1'), updated_at: trx.fn.now() });
      await removePendingMembers(trx, tenantId, team.id, null);
      await recordAuditEvent(trx, {
        tenantId,
        resourceType: 'team',
        resourceId: team.id,
        action: 'unlinked',
        source: 'scim',
        requestId: ctx.requestId,
        changes: { scimManaged: false },
      });
    });
    res.status(204).end();
  });

  return router;
}
