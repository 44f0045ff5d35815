import request from 'supertest';
import type { Express } from 'express';
import { claimDueInvitation, INTERRUPTED_SEND } from '../../../src/db/invitations';
import { InvitationMailer, type InvitationMailerOptions } from '../../../src/invitations/mailer';
import { smtpSender } from '../../../src/invitations/transport';
import { silentLogger } from '../../../src/logger';
import { buildTestApp, seedTenant, type SeededTenant } from '../../support/app';
import { createTestDb, type TestDb } from '../../support/db';
import { freePort } from '../../support/ports';
import { decodeQuotedPrintable, SmtpSink, type ReceivedMail } from './smtp-sink';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SIGN_IN = 'https://hr.acme.test/sign-in?from=invite&x=1';

/**
 * Invitation emails end to end: SCIM creates the employee (and, in the same transaction, the invitation), the worker's
 * mailer sends it to a real SMTP server, the admin API shows its state. Real PostgreSQL, real SMTP.
 */
describe('invitation emails to newly provisioned employees', () => {
  let t: TestDb;
  let app: Express;
  let sink: SmtpSink;
  const mailers: InvitationMailer[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    app = buildTestApp(t.db);
    sink = new SmtpSink(await freePort());
    await sink.start();
  });
  afterAll(async () => {
    await Promise.all(mailers.map((m) => m.stop()));
    await sink.stop();
    await t.drop();
  });

  const newMailer = (overrides: Partial<InvitationMailerOptions> = {}, url = sink.url) => {
    const mailer = new InvitationMailer({
      db: t.db,
      logger: silentLogger(),
      sender: smtpSender(url),
      from: '"Acme HR" <hr@acme.test>',
      signInUrl: SIGN_IN,
      listen: false,
      retry: { initialDelayMs: 200, maxDelayMs: 1000, maxAttempts: 5 },
      ...overrides,
    });
    mailers.push(mailer);
    return mailer;
  };

  const admin = (tenant: SeededTenant) => ({
    setInvites: async (on: boolean) => {
      const res = await request(app)
        .patch(`/admin/v1/tenants/${tenant.tenantId}`)
        .set('Authorization', `Bearer ${tenant.adminToken}`)
        .send({ inviteNewEmployees: on });
      expect(res.status).toBe(200);
    },
    employee: async (id: string) => {
      const res = await request(app)
        .get(`/admin/v1/tenants/${tenant.tenantId}/employees/${id}`)
        .set('Authorization', `Bearer ${tenant.adminToken}`);
      expect(res.status).toBe(200);
      return res.body as { invitation: null | Record<string, unknown> };
    },
  });

  const scim = (tenant: SeededTenant) => {
    const send = (method: 'post' | 'put' | 'patch', path: string, body: unknown) =>
      request(app)
        [method](`/scim/v2${path}`)
        .set('Authorization', `Bearer ${tenant.scimToken}`)
        .set('Content-Type', 'application/scim+json')
        .send(JSON.stringify(body));
    return {
      send,
      create: async (user: Record<string, unknown>) => {
        const res = await send('post', '/Users', { schemas: [CORE], active: true, ...user });
        expect(res.status).toBe(201);
        return res.body.id as string;
      },
      setActive: async (id: string, active: boolean) => {
        const res = await send('patch', `/Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Replace', path: 'active', value: active ? 'True' : 'False' }],
        });
        expect(res.status).toBe(200);
      },
    };
  };

  const person = (local: string, extra: Record<string, unknown> = {}) => ({
    userName: `${local}@acme.test`,
    externalId: `ext-${local}`,
    name: { givenName: local[0]!.toUpperCase() + local.slice(1), familyName: 'Tester' },
    emails: [{ value: `${local}@mail.acme.test`, type: 'work', primary: true }],
    ...extra,
  });

  const mailTo = (address: string): ReceivedMail[] => sink.received.filter((m) => m.to.includes(address));

  async function tenantWithInvites(name: string, on = true): Promise<SeededTenant> {
    const tenant = await seedTenant(t.db, name);
    if (on) await admin(tenant).setInvites(true);
    return tenant;
  }

  it('sends exactly one invitation, to the work email, with the tenant name, a greeting and the sign-in link', async () => {
    const acme = await tenantWithInvites('Acme');
    const id = await scim(acme).create(person('ada'));

    // Written with the employee, in the same transaction: visible before any mailer ran.
    expect((await admin(acme).employee(id)).invitation).toMatchObject({ status: 'pending', attempts: 0 });

    const mailer = newMailer();
    expect(await mailer.runOnce()).toMatchObject({ sent: 1, retrying: 0, failed: 0 });
    const [mail, ...more] = mailTo('ada@mail.acme.test');
    expect(more).toHaveLength(0);
    expect(mail!.to).toEqual(['ada@mail.acme.test']);
    expect(mail!.from).toBe('hr@acme.test');
    const body = decodeQuotedPrintable(mail!.raw);
    expect(body).toMatch(/^Subject: You're invited to Acme\r?$/m);
    expect(body).toContain('Hello Ada,');
    expect(body).toContain(SIGN_IN);
    // The HTML part carries the link with its & escaped.
    expect(body).toContain('href="https://hr.acme.test/sign-in?from=invite&amp;x=1"');

    const shown = (await admin(acme).employee(id)).invitation!;
    expect(shown).toMatchObject({ status: 'sent', attempts: 1, lastError: null, sentTo: 'ada@mail.acme.test' });
    expect(Date.parse(shown.sentAt as string)).not.toBeNaN();

    expect(await mailer.runOnce()).toMatchObject({ sent: 0 });
    expect(mailTo('ada@mail.acme.test')).toHaveLength(1);
  });

  it("sends nothing for a tenant with invitations off and leaves other tenants' employees alone", async () => {
    const off = await tenantWithInvites('Initech', false);
    const on = await tenantWithInvites('Globex');
    const quiet = await scim(off).create(person('bob'));
    const invited = await scim(on).create(person('carol'));

    await newMailer().runOnce();
    expect(mailTo('bob@mail.acme.test')).toHaveLength(0);
    expect(mailTo('carol@mail.acme.test')).toHaveLength(1);
    expect(decodeQuotedPrintable(mailTo('carol@mail.acme.test')[0]!.raw)).toMatch(
      /^Subject: You're invited to Globex\r?$/m,
    );
    expect((await admin(off).employee(quiet)).invitation).toBeNull();
    expect((await admin(on).employee(invited)).invitation).toMatchObject({ status: 'sent' });
    expect(await t.db('invitations').where({ tenant_id: off.tenantId }).count('* as n')).toEqual([{ n: 0 }]);
  });

  it('never invites again when the employee is re-created, replaced, deactivated or reactivated', async () => {
    const acme = await tenantWithInvites('Hooli');
    const client = scim(acme);
    const user = person('dave');
    const id = await client.create(user);
    const mailer = newMailer();
    await mailer.runOnce();
    expect(mailTo('dave@mail.acme.test')).toHaveLength(1);

    await client.setActive(id, false);
    await client.setActive(id, true);
    const put = await client.send('put', `/Users/${id}`, {
      schemas: [CORE],
      ...user,
      active: true,
      emails: [{ value: 'dave.new@mail.acme.test', type: 'work', primary: true }],
    });
    expect(put.status).toBe(200);
    // Entra sending the same person again: a conflict, not a new employee.
    expect((await client.send('post', '/Users', { schemas: [CORE], active: true, ...user })).status).toBe(409);

    expect(await mailer.runOnce()).toMatchObject({ sent: 0 });
    expect(mailTo('dave@mail.acme.test')).toHaveLength(1);
    expect(mailTo('dave.new@mail.acme.test')).toHaveLength(0);
    expect(await t.db('invitations').where({ tenant_id: acme.tenantId }).count('* as n')).toEqual([{ n: 1 }]);
  });

  it('does not invite an employee created inactive or without an email address', async () => {
    const acme = await tenantWithInvites('Umbrella');
    const inactive = await scim(acme).create(person('erin', { active: false }));
    const { emails: _none, ...noEmail } = person('frank');
    const withoutEmail = await scim(acme).create(noEmail);

    await newMailer().runOnce();
    expect(mailTo('erin@mail.acme.test')).toHaveLength(0);
    expect(sink.received.filter((m) => m.to.includes('frank@acme.test'))).toHaveLength(0);
    expect((await admin(acme).employee(inactive)).invitation).toBeNull();
    expect((await admin(acme).employee(withoutEmail)).invitation).toBeNull();

    // Reactivating the one created inactive does not invite them either: only a creation does.
    await scim(acme).setActive(inactive, true);
    await newMailer().runOnce();
    expect(mailTo('erin@mail.acme.test')).toHaveLength(0);
  });

  it('retries with backoff while the mail server is down, sends once it is back, and shows the attempts', async () => {
    const acme = await tenantWithInvites('Stark');
    const down = new SmtpSink(await freePort());
    const id = await scim(acme).create(person('gina'));
    const mailer = newMailer({}, down.url);

    expect(await mailer.runOnce()).toMatchObject({ sent: 0, retrying: 1 });
    const waiting = (await admin(acme).employee(id)).invitation!;
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1, sentAt: null });
    expect(waiting.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
    expect(Date.parse(waiting.nextAttemptAt as string)).toBeGreaterThan(Date.now() - 1000);
    // Not due yet: the backoff holds it.
    expect(await mailer.runOnce()).toMatchObject({ sent: 0, retrying: 0 });

    await down.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await mailer.runOnce()).toMatchObject({ sent: 1 });
      expect(down.received.filter((m) => m.to.includes('gina@mail.acme.test'))).toHaveLength(1);
      expect((await admin(acme).employee(id)).invitation).toMatchObject({
        status: 'sent',
        attempts: 2,
        lastError: null,
        nextAttemptAt: null,
      });
    } finally {
      // Closes the pooled SMTP connection first: the server's close waits for open connections.
      await mailer.stop();
      await down.stop();
    }
  });

  it("records a recipient the mail server refuses as failed with the server's reason, without retrying", async () => {
    const acme = await tenantWithInvites('Wayne');
    sink.refuse.add('hank@mail.acme.test');
    const id = await scim(acme).create(person('hank'));
    const mailer = newMailer();
    expect(await mailer.runOnce()).toMatchObject({ failed: 1 });
    const shown = (await admin(acme).employee(id)).invitation!;
    expect(shown).toMatchObject({ status: 'failed', attempts: 1 });
    expect(shown.lastError).toMatch(/550/);
    expect(await mailer.runOnce()).toMatchObject({ failed: 0, sent: 0, retrying: 0 });
  });

  it('survives a restart without sending a sent invitation again, and never resends one interrupted mid-send', async () => {
    const acme = await tenantWithInvites('Cyberdyne');
    const first = await scim(acme).create(person('ivy'));
    const before = newMailer();
    expect(await before.runOnce()).toMatchObject({ sent: 1 });
    await before.stop();

    // A mailer that claimed an invitation and died before marking it: the mail may have gone out.
    const second = await scim(acme).create(person('jack'));
    expect(await claimDueInvitation(t.db, 50)).toMatchObject({ employeeId: second });
    await new Promise((r) => setTimeout(r, 100));

    const after = newMailer();
    after.start();
    await waitFor(async () => (await admin(acme).employee(second)).invitation?.status === 'failed');
    await after.stop();
    expect(mailTo('ivy@mail.acme.test')).toHaveLength(1);
    expect(mailTo('jack@mail.acme.test')).toHaveLength(0);
    expect((await admin(acme).employee(first)).invitation).toMatchObject({ status: 'sent', attempts: 1 });
    expect((await admin(acme).employee(second)).invitation).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: INTERRUPTED_SEND,
    });
  });

  it('cancels a waiting invitation when the employee leaves or the tenant switches invitations off first', async () => {
    const acme = await tenantWithInvites('Tyrell');
    const leaver = await scim(acme).create(person('kim'));
    await scim(acme).setActive(leaver, false);
    const other = await tenantWithInvites('Soylent');
    const waiting = await scim(other).create(person('lee'));
    await admin(other).setInvites(false);

    await newMailer().runOnce();
    expect(mailTo('kim@mail.acme.test')).toHaveLength(0);
    expect(mailTo('lee@mail.acme.test')).toHaveLength(0);
    expect((await admin(acme).employee(leaver)).invitation).toMatchObject({
      status: 'cancelled',
      lastError: expect.stringMatching(/deactivated/),
    });
    expect((await admin(other).employee(waiting)).invitation).toMatchObject({
      status: 'cancelled',
      lastError: expect.stringMatching(/switched off/),
    });
  });

  it("refuses an invitation row naming another tenant's employee, and a second one for the same employee", async () => {
    const a = await seedTenant(t.db, 'Tenant A');
    const b = await seedTenant(t.db, 'Tenant B');
    const ofB = await scim(b).create(person('nora'));
    await expect(t.db('invitations').insert({ tenant_id: a.tenantId, employee_id: ofB })).rejects.toMatchObject({
      code: '23503',
    });
    await t.db('invitations').insert({ tenant_id: b.tenantId, employee_id: ofB, status: 'cancelled' });
    await expect(t.db('invitations').insert({ tenant_id: b.tenantId, employee_id: ofB })).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('wakes at once for a new employee while running (LISTEN), and stops gracefully', async () => {
    const acme = await tenantWithInvites('Initrode');
    // Only a notification can wake it within the test: the safety-net poll is a minute.
    const mailer = newMailer({ listen: true, idlePollIntervalMs: 60_000 });
    mailer.start();
    await new Promise((r) => setTimeout(r, 300));
    await scim(acme).create(person('mona'));
    await waitFor(async () => mailTo('mona@mail.acme.test').length > 0);
    await mailer.stop();
    expect(mailTo('mona@mail.acme.test')).toHaveLength(1);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
