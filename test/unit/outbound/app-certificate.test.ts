import { createPrivateKey, X509Certificate } from 'node:crypto';
import { AppCertificateError, parseAppCertificate } from '../../../src/graph/app-certificate';
import { makeAppCertificate, type AppCertificate } from '../../support/app-certificates';

/** The certificate credential as an admin pastes it: checked at the edge, stored normalised. */
describe('app certificate credential', () => {
  let good: AppCertificate;
  let other: AppCertificate;
  beforeAll(async () => {
    [good, other] = await Promise.all([makeAppCertificate(), makeAppCertificate({ commonName: 'another app' })]);
  });

  const refusal = (pem: string, now?: Date) => {
    try {
      parseAppCertificate(pem, now);
    } catch (err) {
      expect(err).toBeInstanceOf(AppCertificateError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('accepts key and certificate in either order and names the certificate by its SHA-1 thumbprint', () => {
    for (const pem of [good.pem, `${good.certPem}\n${good.keyPem}`]) {
      const parsed = parseAppCertificate(pem);
      expect(parsed.thumbprint).toBe(good.thumbprint);
      expect(parsed.notAfter).toEqual(good.notAfter);
      expect(parsed.subject).toMatch(/entra-sync test app/);
    }
  });

  it('stores the key first and the certificate of that key next, because the sign-in library names the first one', () => {
    const parsed = parseAppCertificate(`${other.certPem}\n${good.certPem}\n${good.keyPem}`);
    const blocks = [...parsed.pem.matchAll(/-----BEGIN ([A-Z ]+)-----/g)].map((m) => m[1]);
    expect(blocks).toEqual(['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE']);
    expect(new X509Certificate(parsed.pem.slice(parsed.pem.indexOf('-----BEGIN CERTIFICATE')))).toMatchObject({
      fingerprint: expect.stringMatching(new RegExp(`^${good.thumbprint.replace(/(..)(?!$)/g, '$1:')}$`)),
    });
    expect(parsed.thumbprint).toBe(good.thumbprint);
  });

  it('accepts Windows line endings, surrounding text and an older PKCS#1 RSA key', () => {
    const crlf = `Bag Attributes\r\n${good.pem.replace(/\n/g, '\r\n')}\r\n\r\n`;
    expect(parseAppCertificate(crlf).thumbprint).toBe(good.thumbprint);
    const pkcs1 = createPrivateKey(good.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toMatch(/BEGIN RSA PRIVATE KEY/);
    expect(parseAppCertificate(`${pkcs1}\n${good.certPem}`).thumbprint).toBe(good.thumbprint);
  });

  it('of two certificates of one key (a renewal), takes the one valid now that lasts longest', async () => {
    const sameKey = (notBefore: Date, notAfter: Date) =>
      makeAppCertificate({ keyPem: good.keyPem, notBefore, notAfter });
    const day = 24 * 3600_000;
    const [expired, renewed, future] = await Promise.all([
      sameKey(new Date(Date.now() - 400 * day), new Date(Date.now() - day)),
      sameKey(new Date(Date.now() - day), new Date(Date.now() + 700 * day)),
      sameKey(new Date(Date.now() + 10 * day), new Date(Date.now() + 900 * day)),
    ]);
    const chosen = parseAppCertificate(`${good.keyPem}\n${expired.certPem}\n${future.certPem}\n${renewed.certPem}`);
    expect(chosen.thumbprint).toBe(renewed.thumbprint);
    expect(chosen.pem.indexOf(renewed.certPem.split('\n')[1]!)).toBeLessThan(
      chosen.pem.indexOf(expired.certPem.split('\n')[1]!),
    );
  });

  it('allows five minutes of clock difference for a certificate made a moment ago', () => {
    const notBefore = new Date(Date.now() - 24 * 3600_000); // good's start
    expect(parseAppCertificate(good.pem, new Date(notBefore.getTime() - 4 * 60_000)).thumbprint).toBe(good.thumbprint);
    expect(refusal(good.pem, new Date(notBefore.getTime() - 6 * 60_000))).toMatch(/is not valid before/);
  });

  it('refuses a certificate that does not belong to the key', () => {
    expect(refusal(`${good.keyPem}\n${other.certPem}`)).toMatch(/no certificate that belongs to the private key/);
  });

  it('refuses text without exactly one key and a certificate, or unreadable blocks', () => {
    expect(refusal(good.certPem)).toMatch(/private key .* and the certificate/);
    expect(refusal(good.keyPem)).toMatch(/private key .* and the certificate/);
    expect(refusal(`${good.pem}\n${other.keyPem}`)).toMatch(/private key .* and the certificate/);
    expect(refusal('not a certificate')).toMatch(/private key .* and the certificate/);
    expect(refusal(good.pem.replace(/(-----BEGIN PRIVATE KEY-----\n)..../, '$1AAAA'))).toMatch(
      /private key that cannot be read/,
    );
    expect(refusal('x'.repeat(40_000))).toMatch(/longer than/);
  });

  it('refuses a password-protected key and says how to export it without one', () => {
    const encrypted = createPrivateKey(good.keyPem)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    expect(refusal(`${encrypted}\n${good.certPem}`)).toMatch(/password-protected.*openssl pkey/);
    const legacy = createPrivateKey(good.keyPem)
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    expect(legacy).toMatch(/Proc-Type: 4,ENCRYPTED/);
    expect(refusal(`${legacy}\n${good.certPem}`)).toMatch(/password-protected/);
  });

  it('refuses keys Entra ID does not sign in with: EC, and RSA under 2,048 bits', async () => {
    const [ec, small] = await Promise.all([
      makeAppCertificate({ keyType: 'ec' }),
      makeAppCertificate({ keySize: 1024 }),
    ]);
    expect(refusal(ec.pem)).toMatch(/EC key: Entra ID signs in apps with RSA certificates only/);
    expect(refusal(small.pem)).toMatch(/1024-bit RSA key; at least 2048 bits/);
  });

  it('refuses a certificate outside its validity, naming the date', () => {
    const afterExpiry = new Date(good.notAfter.getTime() + 1000);
    expect(refusal(good.pem, afterExpiry)).toMatch(new RegExp(`expired on ${good.notAfter.toISOString()}`));
    expect(refusal(good.pem, new Date(Date.now() - 3 * 24 * 3600_000))).toMatch(/is not valid before/);
  });
});
