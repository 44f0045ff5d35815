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
    resend: (id: string) =>
      request(app)
        .post(`/admin/v1/tenants/${tenant.tenantId}/employees/${id}/invitation/resend`)
        .set('Authorization', `Bearer ${tenant.adminToken}`),
    /** The invitation events of the employee's audit trail, oldest first. */
    invitationEvents: async (id: string) => {
      const res = await request(app)
        .get(`/admin/v1/tenants/${tenant.tenantId}/employees/${id}/audit`)
        .set('Authorization', `Bearer ${tenant.adminToken}`);
      expect(res.status).toBe(200);
      return (res.body.items as Array<{ action: string; actor: string; requestId: string | null; changes: object }>)
        .filter((e) => e.action.startsWith('invitation.'))
        .reverse();
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

  it("takes tenants in turns: one tenant's load of new hires does not hold up another tenant's", async () => {
    const big = await tenantWithInvites('Massive Dynamic');
    const small = await tenantWithInvites('Small Wonder');
    // The big tenant's initial load is queued first; the small tenant's two new hires come after it.
    const load = ['load1', 'load2', 'load3', 'load4', 'load5', 'load6'];
    for (const local of load) await scim(big).create(person(local));
    for (const local of ['few1', 'few2']) await scim(small).create(person(local));

    await newMailer({ concurrency: 1 }).runOnce();
    const order = sink.received
      .flatMap((m) => m.to)
      .filter((to) => /^(load|few)\d@mail\.acme\.test$/.test(to))
      .map((to) => to.split('@')[0]);
    expect(order).toHaveLength(8);
    // Turn by turn, so the small tenant's two are among the first four sent, not the last two.
    expect(order.slice(0, 4).filter((x) => x!.startsWith('few'))).toHaveLength(2);
    // Within a tenant, oldest first.
    expect(order.filter((x) => x!.startsWith('load'))).toEqual(load);
    expect(order.filter((x) => x!.startsWith('few'))).toEqual(['few1', 'few2']);
  });

  it('cancels an invitation that waited over a week instead of sending it late; sent again, it gets a new week', async () => {
    const acme = await tenantWithInvites('Stark Industries');
    const id = await scim(acme).create(person('tony'));
    // The mail server was down for eight days.
    await t
      .db('invitations')
      .where({ tenant_id: acme.tenantId, employee_id: id })
      .update({ created_at: t.db.raw(`now() - interval '8 days'`) });
    await newMailer().runOnce();
    expect(mailTo('tony@mail.acme.test')).toHaveLength(0);
    const stale = (await admin(acme).employee(id)).invitation!;
    expect(stale).toMatchObject({ status: 'cancelled' });
    expect(stale.lastError).toMatch(/waiting 8 days, longer than INVITE_MAX_AGE_DAYS \(7\)/);

    // The admin decides it is still wanted: sent at once.
    expect((await admin(acme).resend(id)).status).toBe(202);
    await newMailer().runOnce();
    expect(mailTo('tony@mail.acme.test')).toHaveLength(1);
    // A limit of 0 days means none.
    const patient = await scim(acme).create(person('pepper'));
    await t
      .db('invitations')
      .where({ tenant_id: acme.tenantId, employee_id: patient })
      .update({ created_at: t.db.raw(`now() - interval '400 days'`) });
    await newMailer({ maxAgeMs: 0 }).runOnce();
    expect(mailTo('pepper@mail.acme.test')).toHaveLength(1);
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
    // The server's outage is not the invitation's: the attempt is given back.
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0, sentAt: null });
    expect(waiting.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
    expect(Date.parse(waiting.nextAttemptAt as string)).toBeGreaterThan(Date.now() - 1000);
    // Not due yet, and the mailer itself is paused: the backoff holds it.
    expect(await mailer.runOnce()).toMatchObject({ sent: 0, retrying: 0 });

    await down.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await mailer.runOnce()).toMatchObject({ sent: 1 });
      expect(down.received.filter((m) => m.to.includes('gina@mail.acme.test'))).toHaveLength(1);
      expect((await admin(acme).employee(id)).invitation).toMatchObject({
        status: 'sent',
        attempts: 1,
        lastError: null,
        nextAttemptAt: null,
      });
    } finally {
      // Closes the pooled SMTP connection first: the server's close waits for open connections.
      await mailer.stop();
      await down.stop();
    }
  });

  it('never fails an invitation for a refusal of the sender or the message: it waits, uses no attempt, and pauses the mailer', async () => {
    const acme = await tenantWithInvites('Oscorp');
    const quinn = await scim(acme).create(person('quinn'));
    const rita = await scim(acme).create(person('rita'));
    const mailer = newMailer({ concurrency: 1 });
    try {
      // A server-wide problem at MAIL FROM (nodemailer: EENVELOPE, 5xx): every tenant's invitations would get it.
      sink.refuseSender = { responseCode: 550, message: '5.4.5 Daily sending quota exceeded' };
      expect(await mailer.runOnce()).toMatchObject({ sent: 0, failed: 0, retrying: 1 });
      const first = (await admin(acme).employee(quinn)).invitation!;
      expect(first).toMatchObject({ status: 'pending', attempts: 0 });
      expect(first.lastError).toMatch(/550 5\.4\.5 Daily sending quota exceeded/);
      // Paused: Rita, due now, is not even tried until the backoff is over.
      expect(await mailer.runOnce()).toMatchObject({ sent: 0, failed: 0, retrying: 0 });
      expect((await admin(acme).employee(rita)).invitation).toMatchObject({ status: 'pending', lastError: null });

      // The message refused at the end of DATA (nodemailer: EMESSAGE, 5xx), for a policy reason: the same.
      sink.refuseSender = undefined;
      sink.refuseData = { responseCode: 550, message: '5.7.1 Message rejected by policy' };
      await new Promise((r) => setTimeout(r, 250));
      expect(await mailer.runOnce()).toMatchObject({ sent: 0, failed: 0, retrying: 1 });
      const second = (await admin(acme).employee(rita)).invitation!;
      expect(second).toMatchObject({ status: 'pending', attempts: 0 });
      expect(second.lastError).toMatch(/EMESSAGE.*550 5\.7\.1/);

      sink.refuseData = undefined;
      await waitFor(async () => {
        await mailer.runOnce();
        return mailTo('quinn@mail.acme.test').length + mailTo('rita@mail.acme.test').length === 2;
      });
      for (const id of [quinn, rita]) {
        expect((await admin(acme).employee(id)).invitation).toMatchObject({
          status: 'sent',
          attempts: 1,
          lastError: null,
        });
      }
    } finally {
      sink.refuseSender = undefined;
      sink.refuseData = undefined;
    }
  });

  it('insists on STARTTLS before logging in over smtp://, and keeps the invitation for later when the server lacks it', async () => {
    const acme = await tenantWithInvites('Massive Dynamic');
    const id = await scim(acme).create(person('sam'));
    // The sink offers no STARTTLS, as a server behind an attacker who strips the offer would not.
    const strict = newMailer({}, sink.urlRequiringTls);
    expect(await strict.runOnce()).toMatchObject({ sent: 0, failed: 0, retrying: 1 });
    await strict.stop();
    expect(mailTo('sam@mail.acme.test')).toHaveLength(0);
    const waiting = (await admin(acme).employee(id)).invitation!;
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
    expect(waiting.lastError).toMatch(/ETLS|STARTTLS/);

    // Opted out explicitly (?requireTLS=false, a relay on localhost): it goes.
    await new Promise((r) => setTimeout(r, 250));
    expect(await newMailer().runOnce()).toMatchObject({ sent: 1 });
    expect(mailTo('sam@mail.acme.test')).toHaveLength(1);
  });

  it('reads an address the same way when recording the invitation and when sending it (ASCII whitespace only)', async () => {
    const acme = await tenantWithInvites('Prestige');
    // PostgreSQL's btrim stripped only spaces, JavaScript's trim every whitespace: this one was never invited.
    const fred = await scim(acme).create(
      person('fred', { emails: [{ value: '\tfred@mail.acme.test\r\n', type: 'work' }] }),
    );
    expect((await admin(acme).employee(fred)).invitation).toMatchObject({ status: 'pending' });
    await newMailer().runOnce();
    expect((await admin(acme).employee(fred)).invitation).toMatchObject({
      status: 'sent',
      sentTo: 'fred@mail.acme.test',
    });
  });

  it('greets by the first name that is not blank: an empty given name falls back to the display name', async () => {
    const acme = await tenantWithInvites('Vandelay');
    const tess = await scim(acme).create(person('tess', { displayName: 'Tess T' }));
    // SCIM never stores "", but the column can hold it: it must not stop the fallback.
    await t.db('employees').where({ tenant_id: acme.tenantId, id: tess }).update({ given_name: ' ' });
    await newMailer().runOnce();
    expect(decodeQuotedPrintable(mailTo('tess@mail.acme.test')[0]!.raw)).toContain('Hello Tess T,');
  });

  it('lets an admin send a failed invitation again, and refuses one that is sent, waiting or still rightly cancelled', async () => {
    const acme = await tenantWithInvites('Pied Piper');
    sink.refuse.add('uma@mail.acme.test');
    const uma = await scim(acme).create(person('uma'));
    const vic = await scim(acme).create(person('vic'));
    const { emails: _none, ...noEmail } = person('walt');
    const walt = await scim(acme).create(noEmail);
    const xena = await scim(acme).create(person('xena'));
    await scim(acme).setActive(xena, false);
    await newMailer().runOnce();
    expect((await admin(acme).employee(uma)).invitation).toMatchObject({ status: 'failed' });
    expect((await admin(acme).employee(vic)).invitation).toMatchObject({ status: 'sent' });
    expect((await admin(acme).employee(xena)).invitation).toMatchObject({ status: 'cancelled' });

    // The mailbox exists now: the admin sends it again.
    sink.refuse.delete('uma@mail.acme.test');
    const resent = await admin(acme).resend(uma);
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({ status: 'pending', attempts: 0, lastError: null, sentAt: null });
    expect(await newMailer().runOnce()).toMatchObject({ sent: 1 });
    expect(mailTo('uma@mail.acme.test')).toHaveLength(1);
    expect((await admin(acme).employee(uma)).invitation).toMatchObject({ status: 'sent', attempts: 1 });

    const sent = await admin(acme).resend(vic);
    expect(sent.status).toBe(409);
    expect(sent.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(sent.body).toMatchObject({ status: 409, invitationStatus: 'sent' });
    // Cancelled because Xena left, and she still has: refused; back at work: sent again.
    expect((await admin(acme).resend(xena)).status).toBe(409);
    await scim(acme).setActive(xena, true);
    expect((await admin(acme).resend(xena)).status).toBe(202);
    expect((await admin(acme).resend(xena)).status).toBe(409);
    await newMailer().runOnce();
    expect(mailTo('xena@mail.acme.test')).toHaveLength(1);

    // Each employee's audit trail tells what became of their invitation, and who asked for it again.
    expect(await admin(acme).invitationEvents(uma)).toEqual([
      expect.objectContaining({
        action: 'invitation.failed',
        actor: 'system',
        changes: { reason: expect.stringMatching(/550 5\.1\.1 mailbox unavailable/) },
      }),
      expect.objectContaining({ action: 'invitation.resent', actor: 'admin', requestId: expect.any(String) }),
      expect.objectContaining({
        action: 'invitation.sent',
        actor: 'system',
        changes: { sentTo: 'uma@mail.acme.test' },
      }),
    ]);
    expect(await admin(acme).invitationEvents(vic)).toEqual([
      expect.objectContaining({ action: 'invitation.sent', changes: { sentTo: 'vic@mail.acme.test' } }),
    ]);
    expect((await admin(acme).invitationEvents(xena)).map((e) => e.action)).toEqual([
      'invitation.cancelled',
      'invitation.resent',
      'invitation.sent',
    ]);
    expect((await admin(acme).invitationEvents(xena))[0]!.changes).toEqual({ reason: expect.any(String) });

    expect((await admin(acme).resend(walt)).status).toBe(404);
    expect((await admin(acme).resend('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const other = await seedTenant(t.db, 'Not Pied Piper');
    const foreign = await request(app)
      .post(`/admin/v1/tenants/${other.tenantId}/employees/${uma}/invitation/resend`)
      .set('Authorization', `Bearer ${other.adminToken}`);
    expect(foreign.status).toBe(404);
  });

  it('keeps trying a status update while the database refuses it: the invitation ends sent or pending, never failed', async () => {
    const acme = await tenantWithInvites('Bluth');
    // A database that refuses the mailer's updates of this tenant's claims a few times (a sequence is not rolled back
    // with the failing statement, so it counts the failures).
    await t.db.raw(`CREATE SEQUENCE invitation_update_failures`);
    await t.db.raw(`
      CREATE FUNCTION fail_invitation_updates() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.tenant_id = '${acme.tenantId}' AND OLD.status = 'sending' AND NEW.status <> 'sending'
           AND nextval('invitation_update_failures') <= 5 THEN
          RAISE EXCEPTION 'simulated outage of the database';
        END IF;
        RETURN NEW;
      END $$`);
    await t.db.raw(`CREATE TRIGGER fail_invitation_updates BEFORE UPDATE ON invitations
                      FOR EACH ROW EXECUTE FUNCTION fail_invitation_updates()`);
    try {
      const yves = await scim(acme).create(person('yves'));
      const mailer = newMailer({ statusRetryDelayMs: 50 });
      expect(await mailer.runOnce()).toMatchObject({ sent: 1 });
      expect(mailTo('yves@mail.acme.test')).toHaveLength(1);
      expect((await admin(acme).employee(yves)).invitation).toMatchObject({ status: 'sent', attempts: 1 });

      // Recording a retry (the mail server is down) is kept up the same way.
      await t.db.raw(`ALTER SEQUENCE invitation_update_failures RESTART`);
      const zoe = await scim(acme).create(person('zoe'));
      const down = newMailer({ statusRetryDelayMs: 50 }, `smtp://127.0.0.1:${await freePort()}`);
      expect(await down.runOnce()).toMatchObject({ retrying: 1 });
      expect((await admin(acme).employee(zoe)).invitation).toMatchObject({ status: 'pending', attempts: 0 });
      // Out of the way of the next tests' mailers.
      await t.db('invitations').where({ tenant_id: acme.tenantId }).update({ status: 'cancelled' });
    } finally {
      await t.db.raw(`DROP TRIGGER fail_invitation_updates ON invitations`);
      await t.db.raw(`DROP FUNCTION fail_invitation_updates()`);
      await t.db.raw(`DROP SEQUENCE invitation_update_failures`);
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
    expect(await admin(acme).invitationEvents(second)).toEqual([
      expect.objectContaining({ action: 'invitation.failed', actor: 'system', changes: { reason: INTERRUPTED_SEND } }),
    ]);
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

  it('finishes a send in flight before stop() resolves: a graceful stop leaves nothing half-sent', async () => {
    const acme = await tenantWithInvites('Stop Midway');
    sink.dataDelayMs = 1_500;
    try {
      const id = await scim(acme).create(person('nadia'));
      const mailer = newMailer();
      mailer.start();
      // Claimed and handed to the mail server, which takes its time to answer.
      await waitFor(async () => (await t.db('invitations').where({ employee_id: id }).first())?.status === 'sending');
      await mailer.stop();
      expect(await t.db('invitations').where({ employee_id: id }).first()).toMatchObject({
        status: 'sent',
        attempts: 1,
      });
      expect(mailTo('nadia@mail.acme.test')).toHaveLength(1);
    } finally {
      sink.dataDelayMs = 0;
    }
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
