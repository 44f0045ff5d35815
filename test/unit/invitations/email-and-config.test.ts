import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config';
import { invitationAddress } from '../../../src/db/invitations';
import { composeInvitation } from '../../../src/invitations/email';
import { classifySendError, dbErrorSummary } from '../../../src/invitations/mailer';
import {
  describeSmtpUrl,
  fileSender,
  invitationDeliveryFromConfig,
  requiresStartTls,
} from '../../../src/invitations/transport';

describe('the invitation email', () => {
  it('escapes names and the link in the HTML part, and keeps the subject on one line', () => {
    const mail = composeInvitation({
      tenantName: 'Tom & Jerry <Inc>\r\nBcc: x@evil.test',
      employeeName: '<script>alert(1)</script>',
      signInUrl: 'https://hr.example.test/sign-in?a=1&b="2"',
    });
    expect(mail.subject).toBe("You're invited to Tom & Jerry <Inc> Bcc: x@evil.test");
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('Hello &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(mail.html).toContain('<strong>Tom &amp; Jerry &lt;Inc&gt; Bcc: x@evil.test</strong>');
    expect(mail.html).toContain('href="https://hr.example.test/sign-in?a=1&amp;b=&quot;2&quot;"');
    expect(mail.text).toContain('Hello <script>alert(1)</script>,');
    expect(mail.text).toContain('https://hr.example.test/sign-in?a=1&b="2"');
  });

  it('greets without a name when the employee has none', () => {
    const mail = composeInvitation({ tenantName: 'Acme', employeeName: null, signInUrl: 'https://hr.test/' });
    expect(mail.text.startsWith('Hello,\n')).toBe(true);
    expect(mail.subject).toBe("You're invited to Acme");
  });

  it('goes to the primary email, else the work email, else the first usable one', () => {
    expect(
      invitationAddress([
        { value: 'home@x.test', type: 'home' },
        { value: 'work@x.test', type: 'work' },
        { value: 'main@x.test', type: 'other', primary: true },
      ]),
    ).toBe('main@x.test');
    expect(
      invitationAddress([
        { value: 'home@x.test', type: 'home' },
        { value: 'work@x.test', type: 'work' },
      ]),
    ).toBe('work@x.test');
    expect(invitationAddress([{ value: 'not an address', primary: true }, { value: ' a@b.test ' }])).toBe('a@b.test');
    expect(invitationAddress([])).toBeUndefined();
  });
});

describe('invitation configuration', () => {
  it('needs INVITE_FROM and INVITE_SIGN_IN_URL with SMTP_URL', () => {
    expect(() => loadConfig({ SMTP_URL: 'smtps://mailer:hunter2@smtp.example.test:465' })).toThrow(
      /INVITE_FROM.*INVITE_SIGN_IN_URL/,
    );
  });

  it.each([
    ['#', 'smtp://mailer:hun#ter2@smtp.example.test:587'],
    ['# after a numeric password part', 'smtp://mailer:12#hunter2@smtp.example.test:587'],
    ['/', 'smtp://mailer:12/hunter2@smtp.example.test:587'],
    ['?', 'smtps://mailer:12?hunter2@smtp.example.test:465'],
  ])('refuses an SMTP_URL with an unencoded %s in the password, and never repeats the URL in its error', (_c, url) => {
    let message = '';
    try {
      loadConfig({ SMTP_URL: url, INVITE_FROM: 'hr@acme.test', INVITE_SIGN_IN_URL: 'https://hr.acme.test/' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/SMTP_URL is not a valid URL; percent-encode special characters/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('smtp.example.test');
  });

  it('gives the mailer INVITE_MAX_AGE_DAYS (7 unless set) and refuses a negative one', () => {
    const base = {
      INVITE_MAIL_DIR: '/tmp/mail',
      INVITE_FROM: 'hr@acme.test',
      INVITE_SIGN_IN_URL: 'https://hr.acme.test/',
    };
    expect(invitationDeliveryFromConfig(loadConfig(base))?.maxAgeMs).toBe(7 * 86_400_000);
    expect(invitationDeliveryFromConfig(loadConfig({ ...base, INVITE_MAX_AGE_DAYS: '0' }))?.maxAgeMs).toBe(0);
    expect(() => loadConfig({ ...base, INVITE_MAX_AGE_DAYS: '-1' })).toThrow(/INVITE_MAX_AGE_DAYS/);
  });

  it('reads INVITE_SWITCH_BY (tenant unless set) and refuses anything but tenant or platform', () => {
    expect(loadConfig({}).INVITE_SWITCH_BY).toBe('tenant');
    expect(loadConfig({ INVITE_SWITCH_BY: 'platform' }).INVITE_SWITCH_BY).toBe('platform');
    expect(() => loadConfig({ INVITE_SWITCH_BY: 'nobody' })).toThrow(/INVITE_SWITCH_BY/);
  });

  it('accepts the same password percent-encoded', () => {
    const config = loadConfig({
      SMTP_URL: `smtp://mailer:${encodeURIComponent('hun#ter/2?')}@smtp.example.test:587`,
      INVITE_FROM: 'hr@acme.test',
      INVITE_SIGN_IN_URL: 'https://hr.acme.test/',
    });
    expect(describeSmtpUrl(config.SMTP_URL!)).toBe('smtp://smtp.example.test:587');
  });

  it('describes even a URL it cannot parse without throwing or repeating it', () => {
    expect(describeSmtpUrl('smtp://mailer:hun#ter2@smtp.example.test:587')).not.toMatch(/hun|ter2|mailer/);
  });

  it('requires STARTTLS for smtp:// with credentials, unless the URL opts out', () => {
    expect(requiresStartTls('smtp://mailer:pw@smtp.example.test:587')).toBe(true);
    expect(requiresStartTls('smtp://smtp.example.test:25')).toBe(false);
    expect(requiresStartTls('smtps://mailer:pw@smtp.example.test:465')).toBe(false);
    // nodemailer's own URL option overrides the one passed in code (its parseConnectionUrl is applied last).
    expect(requiresStartTls('smtp://mailer:pw@127.0.0.1:25?requireTLS=false')).toBe(true);
  });

  it('refuses an SMTP_URL that is not smtp:// or smtps://', () => {
    expect(() =>
      loadConfig({ SMTP_URL: 'http://smtp.test', INVITE_FROM: 'a@b.test', INVITE_SIGN_IN_URL: 'https://hr.test/' }),
    ).toThrow(/SMTP_URL/);
  });

  it('reads empty variables (docker compose passes unset ones as empty) as unset', () => {
    const config = loadConfig({ SMTP_URL: '', INVITE_FROM: '', INVITE_SIGN_IN_URL: '', INVITE_MAIL_DIR: '' });
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.INVITE_FROM).toBeUndefined();
  });

  it('accepts a complete configuration and describes the server without credentials', () => {
    const config = loadConfig({
      SMTP_URL: 'smtp://mailer:hunter2@smtp.example.test:587',
      INVITE_FROM: '"Acme HR" <hr@acme.test>',
      INVITE_SIGN_IN_URL: 'https://hr.acme.test/sign-in',
    });
    expect(config.INVITE_FROM).toBe('"Acme HR" <hr@acme.test>');
    expect(describeSmtpUrl(config.SMTP_URL!)).toBe('smtp://smtp.example.test:587');
  });
});

describe('the make start mail folder', () => {
  it('writes each invitation as an .eml file a mail client can open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-mail-'));
    try {
      const sender = fileSender(path.join(dir, 'mail'));
      const mail = composeInvitation({ tenantName: 'Acme', employeeName: 'Ada', signInUrl: 'https://hr.test/' });
      await sender.send({ from: 'hr@acme.test', to: 'ada@acme.test', ...mail });
      sender.close();
      const files = fs.readdirSync(path.join(dir, 'mail'));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/\.eml$/);
      const eml = fs.readFileSync(path.join(dir, 'mail', files[0]!), 'utf8');
      expect(eml).toMatch(/^To: ada@acme\.test$/m);
      expect(eml).toMatch(/^Subject: You're invited to Acme$/m);
      expect(eml).toContain('text/html');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('whom a failed send concerns', () => {
  const smtpError = (code: string, command: string, response?: string) =>
    Object.assign(new Error('x'), {
      code,
      command,
      ...(response ? { response, responseCode: Number(response.slice(0, 3)) } : {}),
    });

  it.each([
    [
      'a refused recipient',
      smtpError('EENVELOPE', 'RCPT TO', '550 5.1.1 <a@b.test>: mailbox unavailable'),
      'recipient-refused',
    ],
    [
      'a refused recipient without enhanced status',
      smtpError('EENVELOPE', 'RCPT TO', '553 no such user'),
      'recipient-refused',
    ],
    ['a greylisted recipient', smtpError('EENVELOPE', 'RCPT TO', '450 4.2.0 try again later'), 'recipient-deferred'],
    [
      'an unknown recipient reported at DATA (LMTP)',
      smtpError('EMESSAGE', 'DATA', '550 5.1.1 no such user'),
      'recipient-refused',
    ],
    ['relaying denied at RCPT TO', smtpError('EENVELOPE', 'RCPT TO', '554 5.7.1 Relay access denied'), 'server'],
    ['a quota at RCPT TO', smtpError('EENVELOPE', 'RCPT TO', '550 5.4.5 Daily sending quota exceeded'), 'server'],
    [
      'authentication required at MAIL FROM',
      smtpError('EENVELOPE', 'MAIL FROM', '530 5.7.0 Authentication required'),
      'server',
    ],
    ['a bad sender at MAIL FROM', smtpError('EENVELOPE', 'MAIL FROM', '553 5.1.8 bad sender domain'), 'server'],
    ['a quota at DATA', smtpError('EMESSAGE', 'DATA', '550 5.4.5 Daily sending quota exceeded'), 'server'],
    ['DATA refused', smtpError('EENVELOPE', 'DATA', '554 transaction failed'), 'server'],
    ['a 421 at RCPT TO', smtpError('EENVELOPE', 'RCPT TO', '421 4.7.0 closing connection'), 'server'],
    ['a failed login', smtpError('EAUTH', 'AUTH PLAIN', '535 5.7.8 bad credentials'), 'server'],
    ['no STARTTLS', smtpError('ETLS', 'STARTTLS', '502 5.5.2 command not recognized'), 'server'],
    ['a refused connection', smtpError('ESOCKET', 'CONN'), 'server'],
    ['a timeout', smtpError('ETIMEDOUT', 'CONN'), 'server'],
    ['not an SMTP error at all', new Error('boom'), 'server'],
  ])('%s', (_case, err, kind) => {
    expect(classifySendError(err)).toBe(kind);
  });
});

describe("database errors in the mailer's logs", () => {
  it("keep the code and PostgreSQL's message, not the statement with its bound addresses", () => {
    const err = Object.assign(
      new Error(
        `update "invitations" set "status" = 'sent', "sent_to" = 'ada@mail.acme.test' where "tenant_id" = '1' - terminating connection due to administrator command\nmore`,
      ),
      { code: '57P01' },
    );
    expect(dbErrorSummary(err)).toEqual({
      code: '57P01',
      message: 'terminating connection due to administrator command',
    });
    expect(dbErrorSummary(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toEqual({
      message: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
  });
});

describe('the address rule', () => {
  it('ignores ASCII whitespace around the address and nothing else, as the SQL does', () => {
    expect(invitationAddress([{ value: '\t a@b.test \r\n' }])).toBe('a@b.test');
    expect(invitationAddress([{ value: 'a b@c.test' }])).toBeUndefined();
    // Not ASCII whitespace: part of the value (the mail server judges it), as PostgreSQL reads it.
    expect(invitationAddress([{ value: '\u00a0a@b.test' }])).toBe('\u00a0a@b.test');
  });
});
