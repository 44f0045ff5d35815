import { VERIFIED } from '../integration/outbound/support';
import { outboundStack } from './support/outbound-stack';
import { scimRequest, until } from './support/http';

/**
 * The lanes of syncs at Graph's write limit, scaled down to a budget of 10 writes per 10 minutes. A flood of new hires
 * must not hold up a change to an account already in Entra: new accounts run in the bulk lane, which leaves a reserve
 * (3) to changes; a change runs in the change lane, on its own task queue with its own slots. And a mass update of
 * accounts must not hold up a leaver, not even one whose own update is waiting: a lifecycle change runs in the
 * lifecycle lane, with a reserve (2) that both other lanes leave free, and calls off the employee's waiting sync.
 */
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** SCIM in, emulator out, with a worker process whose write budget is 10 writes per 10 minutes. */
function laneStack(name: string) {
  const stack = outboundStack(name, {
    enrolmentsInFlight: 3,
    writeBudget: { capacity: 10, windowMs: 10 * 60_000, reservedForChanges: 3, reservedForLifecycle: 2 },
  });

  const scim = (method: 'post' | 'patch', path: string, body: unknown) =>
    scimRequest(stack.app, stack.tenant.scimToken, method, path, body);

  return {
    stack,
    async hire(userName: string): Promise<string> {
      const res = await scim('post', '/Users', {
        schemas: [CORE],
        userName,
        active: true,
        name: { givenName: 'Grace', familyName: 'Hopper' },
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    },
    async replace(id: string, path: string, value: unknown): Promise<void> {
      const res = await scim('patch', `/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path, value }],
      });
      expect(res.status).toBe(200);
    },
    entraUsers: () => stack.em.users(),
    entraUser: async (upn: string) => (await stack.em.users()).find((u) => u.userPrincipalName === upn),
  };
}

describe('outbound lanes: HR changes pass a flood of new hires waiting for the write budget', () => {
  const { stack, hire, replace, entraUsers, entraUser } = laneStack('lanes');
  const NEW_HIRES = 10;

  it("changes an account in Entra at once while new hires wait for Graph's write budget", async () => {
    const before = (await entraUsers()).length;
    const movedId = await hire(`moved@${VERIFIED}`);
    await until('the account', () => entraUser(`moved@${VERIFIED}`));

    for (let i = 0; i < NEW_HIRES; i++) await hire(`hire${i}@${VERIFIED}`);
    // Bulk writes may use 5 of the 10 (3 are the changes', 2 the lifecycle lane's): the first create and 4 new hires;
    // the other 6 wait for the window.
    await until('the new hires the budget lets through', async () => (await entraUsers()).length === before + 5);

    const started = Date.now();
    await replace(movedId, 'title', 'Moved to Research');
    await until('the new title', async () => (await entraUser(`moved@${VERIFIED}`))?.jobTitle === 'Moved to Research');
    expect(Date.now() - started).toBeLessThan(3_000);
    // The flood is still waiting: the change did not get through by the budget running free.
    expect(await entraUsers()).toHaveLength(before + 5);
  });

  it('stops promptly while syncs wait for the write budget, leaving them to Temporal to run again', async () => {
    const started = Date.now();
    await stack.workers[0]!.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('outbound lanes: leavers pass a mass update waiting for the write budget', () => {
  const { hire, replace, entraUsers, entraUser } = laneStack('lifecycle');
  const STAFF = 4;
  const retitled = async () => (await entraUsers()).filter((u) => u.jobTitle === 'Reorganised');

  it("disables leavers' accounts at once while a mass update waits, even a leaver whose own update waits", async () => {
    const leaverId = await hire(`leaver@${VERIFIED}`);
    const staff: string[] = [];
    for (let i = 0; i < STAFF; i++) staff.push(await hire(`staff${i}@${VERIFIED}`));
    // Five creates: all that bulk writes may use of the 10.
    await until('the accounts', async () => (await entraUsers()).length === STAFF + 1);

    // A reorganisation: everyone's title changes. Changes may use 8 of the 10 (two are the lifecycle lane's): three go
    // out, one waits for the window.
    for (const id of staff) await replace(id, 'title', 'Reorganised');
    await until('the titles the budget lets through', async () => (await retitled()).length === 3);

    let started = Date.now();
    await replace(leaverId, 'active', false);
    await until('the disabled account', async () => (await entraUser(`leaver@${VERIFIED}`))?.accountEnabled === false);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The mass update is still waiting: the leaver did not get through by the budget running free.
    expect(await retitled()).toHaveLength(3);

    // The one whose new title waits leaves too: the waiting sync is called off (it hears so through its heartbeat)
    // and one in the lifecycle lane disables the account, new title included.
    const done = new Set((await retitled()).map((u) => u.userPrincipalName));
    const waiting = staff.findIndex((_, i) => !done.has(`staff${i}@${VERIFIED}`));
    // Past its first heartbeat (sent at once, a second into the wait), the sync hears of the call-off only with a
    // later one: the worker sends one every 2 s at most (SYNC_HEARTBEAT_THROTTLE), not every 0.8 × heartbeat timeout.
    await new Promise((r) => setTimeout(r, 3_000));
    started = Date.now();
    await replace(staff[waiting]!, 'active', false);
    const account = await until('the second disabled account', async () => {
      const u = await entraUser(`staff${waiting}@${VERIFIED}`);
      return u?.accountEnabled === false && u;
    });
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(account.jobTitle).toBe('Reorganised');
  });
});
