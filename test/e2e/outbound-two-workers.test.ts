import { VERIFIED } from '../integration/outbound/support';
import { outboundStack } from './support/outbound-stack';
import { scimRequest, until } from './support/http';

/**
 * Two worker processes on one task queue (as an operator scales out for availability) against an Entra tenant whose
 * write quota is scaled down to 6 writes per 10 minutes. Graph counts the quota per app and tenant, not per worker: the
 * two together must send 6 creates, let the other new hires wait, and draw no 429.
 */
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const QUOTA = 6;
const WINDOW_MS = 10 * 60_000;

describe('outbound with two worker processes: one Graph write quota between them', () => {
  const stack = outboundStack('two-workers', {
    workers: 2,
    throttling: { appTenantWrites: QUOTA, appTenantWriteWindowMs: WINDOW_MS },
    // Each worker's own budget is the whole quota, as GRAPH_WRITES_PER_WINDOW is for every worker.
    writeBudget: { capacity: QUOTA, windowMs: WINDOW_MS, reservedForChanges: 0, reservedForLifecycle: 0 },
  });

  it('sends as many creates as the quota allows, whichever worker runs them, and no write draws a 429', async () => {
    const hires = 12;
    for (let i = 0; i < hires; i++) {
      const res = await scimRequest(stack.app, stack.tenant.scimToken, 'post', '/Users', {
        schemas: [CORE],
        userName: `hire${i}@${VERIFIED}`,
        active: true,
        name: { givenName: 'Ada', familyName: `Lovelace ${i}` },
      });
      expect(res.status).toBe(201);
    }
    await until('the creates the quota allows', async () => (await stack.em.users()).length === QUOTA);
    // Give the waiting syncs time to try: they wait for the window instead of writing.
    await new Promise((r) => setTimeout(r, 3_000));
    const writes = (await stack.em.requests()).filter((r) => r.method === 'POST' && r.url.endsWith('/users'));
    expect(writes.filter((r) => r.status === 429)).toEqual([]);
    expect(writes).toHaveLength(QUOTA);
    expect(await stack.em.users()).toHaveLength(QUOTA);
    // The writes were leased from the quota the workers share in PostgreSQL.
    const leased = await stack.t.db('graph_write_leases').sum('writes as n');
    expect(Number(leased[0].n)).toBe(QUOTA);
    // The others are PENDING, not BLOCKED: they go out when the window has room.
    const states = await stack.t
      .db('employee_provisioning')
      .where({ tenant_id: stack.tenant.tenantId })
      .select('state')
      .then((rows: Array<{ state: string }>) => rows.map((r) => r.state));
    expect(states.filter((s) => s === 'BLOCKED')).toEqual([]);
    expect(states.filter((s) => s === 'PENDING')).toHaveLength(hires - QUOTA);
  }, 60_000);
});
