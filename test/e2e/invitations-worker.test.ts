import type { ChildProcess } from 'node:child_process';
import request from 'supertest';
import { buildTestApp, seedTenant } from '../support/app';
import { createTestDb, type TestDb } from '../support/db';
import { freePort } from '../support/ports';
import { SmtpSink } from '../integration/invitations/smtp-sink';
import { spawnWorkerProcess } from './support/worker-process';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

/**
 * The worker process (src/bin/worker.ts) as an operator runs it: configured by env, it sends invitations through the
 * SMTP server, logs neither the mail server's password nor the messages, and says at start when it cannot send.
 */
describe('invitation mailer in the worker process', () => {
  let t: TestDb;
  let sink: SmtpSink;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    sink = new SmtpSink(await freePort(), 'worker-mailer', 'pw-never-in-logs');
    await sink.start();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sink.stop();
    await t?.drop();
  });

  /** Spawns the worker as an operator runs it; `stdout()`/`stderr()` so far, `exited` resolves with its exit code. */
  function spawnWorker(env: Record<string, string>) {
    const proc = spawnWorkerProcess(t.url, {
      TEMPORAL_TASK_QUEUE: `e2e-invites-${Date.now()}`,
      SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
      SMTP_URL: '',
      INVITE_FROM: '',
      INVITE_SIGN_IN_URL: '',
      INVITE_MAIL_DIR: '',
      ...env,
    });
    children.push(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    return { proc, stdout: () => stdout, stderr: () => stderr, exited };
  }

  /** Starts the worker; `lines()` is its stdout so far, `stopped` resolves with its exit code after SIGTERM. */
  async function startWorker(env: Record<string, string>) {
    const worker = spawnWorker(env);
    await until(
      () => worker.stdout().includes('"msg":"worker started"'),
      90_000,
      () => `worker did not start:\n${worker.stderr()}`,
    );
    return {
      lines: () => worker.stdout().split('\n').filter(Boolean),
      stdout: worker.stdout,
      stop: async () => {
        worker.proc.kill('SIGTERM');
        return worker.exited;
      },
    };
  }

  it('sends the invitations through SMTP_URL, logs neither the password nor the message, and stops cleanly', async () => {
    const tenant = await seedTenant(t.db, 'Acme Worker');
    await t.db('tenants').where({ id: tenant.tenantId }).update({ invite_new_employees: true });
    const res = await request(buildTestApp(t.db))
      .post('/scim/v2/Users')
      .set('Authorization', `Bearer ${tenant.scimToken}`)
      .set('Content-Type', 'application/scim+json')
      .send({
        schemas: [CORE],
        userName: 'olga@acme.test',
        active: true,
        name: { givenName: 'Olga' },
        emails: [{ value: 'olga@mail.acme.test', type: 'work' }],
      });
    expect(res.status).toBe(201);

    const worker = await startWorker({
      SMTP_URL: sink.url,
      INVITE_FROM: 'hr@acme.test',
      INVITE_SIGN_IN_URL: 'https://hr.acme.test/sign-in',
      LOG_LEVEL: 'debug',
    });
    await until(
      () => sink.received.some((m) => m.to.includes('olga@mail.acme.test')),
      30_000,
      () => 'no mail',
    );
    await until(
      () => worker.stdout().includes('"msg":"invitation sent"'),
      10_000,
      () => 'not logged',
    );
    expect(await worker.stop()).toBe(0);

    const out = worker.stdout();
    expect(out).not.toContain('pw-never-in-logs');
    expect(out).not.toContain('Hello Olga');
    expect(out).not.toContain('hr.acme.test/sign-in');
    // The recipient appears at debug only.
    const withRecipient = worker.lines().filter((l) => l.includes('olga@mail.acme.test'));
    expect(withRecipient.map((l) => (JSON.parse(l) as { level: number }).level)).toEqual([20]);
    expect(sink.received.filter((m) => m.to.includes('olga@mail.acme.test'))).toHaveLength(1);
    const row = await t.db('invitations').where({ tenant_id: tenant.tenantId }).first();
    expect(row).toMatchObject({ status: 'sent', attempts: 1 });
  }, 150_000);

  it('refuses an SMTP_URL with an unencoded # in the password without printing the password anywhere', async () => {
    const worker = spawnWorker({
      SMTP_URL: `smtp://worker-mailer:pw#never-in-logs@127.0.0.1:${sink.port}`,
      INVITE_FROM: 'hr@acme.test',
      INVITE_SIGN_IN_URL: 'https://hr.acme.test/sign-in',
      LOG_LEVEL: 'debug',
    });
    expect(await worker.exited).toBe(1);
    const output = worker.stdout() + worker.stderr();
    expect(output).not.toContain('never-in-logs');
    expect(output).not.toContain('worker-mailer');
    expect(worker.stderr()).toContain(
      'SMTP_URL is not a valid URL; percent-encode special characters in the user name and password',
    );
  }, 150_000);

  it('warns once at start when a tenant has invitations on but no mail server is configured', async () => {
    const worker = await startWorker({ LOG_LEVEL: 'info' });
    const warnings = worker.lines().filter((l) => l.includes('inviteNewEmployees on, but SMTP_URL is not set'));
    expect(await worker.stop()).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, tenants: 1 });
  }, 150_000);
});

async function until(check: () => boolean, timeoutMs: number, explain: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(explain());
    await new Promise((r) => setTimeout(r, 100));
  }
}
