import { Router } from 'express';
import { listAuditEvents } from '../../db/audit';
import {
  createCustomAttributeDefinition,
  deleteCustomAttributeDefinition,
  isMappedOutbound,
  DuplicateCustomAttributeError,
  listCustomAttributeDefinitions,
  type CustomAttributeType,
} from '../../db/custom-attributes';
import { getEmployee, listEmployees, updateEmployeeHrFields } from '../../db/employees';
import { resendInvitation } from '../../db/invitations';
import { createManualTeam, deleteManualTeam, DuplicateTeamNameError, getTeam, listTeams } from '../../db/teams';
import type { ApiDeps } from '../deps';
import { tenantIdOf, uuidParam } from './auth';
import { notFound, ProblemError } from './problem';
import { parseBody } from './request-body';
import { AuditQuery, CustomAttributeCreate, EmployeeListQuery, EmployeePatch, TeamCreate } from './schemas';

/** One tenant's HR data: custom attribute definitions, manual teams, employees and their audit trail. */
export function createHrRoutes({ db }: ApiDeps): Router {
  const router = Router({ mergeParams: true });

  router.get('/custom-attributes', async (_req, res) => {
    const items = await listCustomAttributeDefinitions(db, tenantIdOf(res));
    res.json({ items: items.map((d) => ({ ...d, scimPath: scimPathOf(d.id) })) });
  });
  router.post('/custom-attributes', async (req, res) => {
    const input = parseBody(CustomAttributeCreate, req);
    try {
      const d = await createCustomAttributeDefinition(db, tenantIdOf(res), {
        ...input,
        type: input.type as CustomAttributeType,
      });
      res.status(201).json({ ...d, scimPath: scimPathOf(d.id) });
    } catch (err) {
      if (err instanceof DuplicateCustomAttributeError) throw new ProblemError(409, 'Conflict', err.message);
      throw err;
    }
  });
  router.delete('/custom-attributes/:id', async (req, res) => {
    const id = String(req.params.id);
    // Deleted while mapped, the attribute would read as null and the sync would clear the Entra property everywhere.
    if (await isMappedOutbound(db, tenantIdOf(res), id)) {
      throw new ProblemError(
        409,
        'Conflict',
        `the outbound mapping reads customAttributes.${id}; remove it from the mapping (PATCH /outbound/settings) first`,
      );
    }
    if (!(await deleteCustomAttributeDefinition(db, tenantIdOf(res), id))) {
      throw notFound('custom attribute');
    }
    res.status(204).end();
  });

  router.get('/teams', async (_req, res) => {
    res.json({ items: await listTeams(db, tenantIdOf(res)) });
  });
  router.get('/teams/:teamId', async (req, res) => {
    const teamId = uuidParam(req, 'teamId');
    const team = teamId && (await getTeam(db, tenantIdOf(res), teamId));
    if (!team) throw notFound('team');
    res.json(team);
  });
  router.post('/teams', async (req, res) => {
    const input = parseBody(TeamCreate, req);
    try {
      const team = await createManualTeam(db, tenantIdOf(res), input, {
        source: 'admin',
        requestId: res.locals.requestId,
      });
      res.status(201).json(team);
    } catch (err) {
      if (err instanceof DuplicateTeamNameError) throw new ProblemError(409, 'Conflict', err.message);
      throw err;
    }
  });
  router.delete('/teams/:teamId', async (req, res) => {
    const teamId = uuidParam(req, 'teamId');
    if (!teamId) throw notFound('team');
    const outcome = await deleteManualTeam(db, tenantIdOf(res), teamId, {
      source: 'admin',
      requestId: res.locals.requestId,
    });
    if (outcome === 'not_found') throw notFound('team');
    if (outcome === 'not_manual') {
      throw new ProblemError(
        409,
        'Conflict',
        'this team was created by SCIM provisioning; remove the group in Entra ID',
      );
    }
    if (outcome === 'adopted') {
      throw new ProblemError(
        409,
        'Conflict',
        'this manual team was adopted by an Entra ID group of the same name, which SCIM provisioning now manages; remove the group (or its assignment) in Entra ID first',
      );
    }
    res.status(204).end();
  });

  router.get('/employees', async (req, res) => {
    const q = EmployeeListQuery.parse(req.query);
    const page = await listEmployees(db, tenantIdOf(res), q);
    res.json({ items: page.items, total: page.total, limit: q.limit, offset: q.offset });
  });
  router.get('/employees/:employeeId', async (req, res) => {
    const employeeId = uuidParam(req, 'employeeId');
    const employee = employeeId && (await getEmployee(db, tenantIdOf(res), employeeId));
    if (!employee) throw notFound('employee');
    res.json(employee);
  });
  router.patch('/employees/:employeeId', async (req, res) => {
    const input = parseBody(EmployeePatch, req);
    const employeeId = uuidParam(req, 'employeeId');
    if (!employeeId) throw notFound('employee');
    const employee = await updateEmployeeHrFields(db, tenantIdOf(res), employeeId, input, {
      source: 'admin',
      requestId: res.locals.requestId,
    });
    if (!employee) throw notFound('employee');
    res.json(employee);
  });
  // Sends a failed invitation (or one cancelled for a reason that no longer holds) again: docs/invitations.md.
  router.post('/employees/:employeeId/invitation/resend', async (req, res) => {
    const employeeId = uuidParam(req, 'employeeId');
    const result = employeeId
      ? await resendInvitation(db, tenantIdOf(res), employeeId, res.locals.requestId as string | undefined)
      : { outcome: 'none' as const };
    if (result.outcome === 'none') throw notFound('invitation');
    if (result.outcome === 'refused') {
      throw new ProblemError(409, 'Conflict', `the invitation cannot be sent again: ${result.reason}`, {
        invitationStatus: result.status,
      });
    }
    res.status(202).json(result.invitation);
  });
  router.get('/employees/:employeeId/audit', async (req, res) => {
    const id = uuidParam(req, 'employeeId');
    const q = AuditQuery.parse(req.query);
    if (!id || !(await getEmployee(db, tenantIdOf(res), id))) throw notFound('employee');
    // One more than the page decides whether there is a next page: a full last page has none.
    const fetched = await listAuditEvents(db, tenantIdOf(res), { type: 'employee', id }, { ...q, limit: q.limit + 1 });
    const items = fetched.slice(0, q.limit);
    res.json({ items, next: fetched.length > q.limit ? items[items.length - 1]!.id : null });
  });
  return router;
}

/** The SCIM attribute path an admin maps in Entra for a custom attribute. */
export function scimPathOf(id: string): string {
  return `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:${id}`;
}
