import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config';
import { invitationAddress } from '../../../src/db/invitations';
import { composeInvitation } from '../../../src/invitations/email';
import { describeSmtpUrl, fileSender } from '../../../src/invitations/transport';

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
  it('needs INVITE_FROM and INVITE_SIGN_IN_URL with SMTP_URL, and never repeats the URL in its error', () => {
    let message = '';
    try {
      loadConfig({ SMTP_URL: 'smtps://mailer:hunter2@smtp.example.test:465' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/INVITE_FROM/);
    expect(message).toMatch(/INVITE_SIGN_IN_URL/);
    expect(message).not.toContain('hunter2');
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
