import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * The app registration's certificate credential, as an admin gives it: one PEM holding the private key (unencrypted
 * PKCS#8 or PKCS#1 RSA) and the certificate uploaded to the app under "Certificates & secrets", optionally followed
 * by its chain. Checked once at the edge so a sync never fails on something an admin could have been told at once:
 * the key must be RSA of at least 2,048 bits (what Entra ID accepts for client assertions), a certificate must belong
 * to it, and that certificate must be valid now.
 *
 * Stored normalised — the key, then the matching certificate, then the rest — because `@azure/identity` takes the
 * first certificate in the PEM as the one whose thumbprint names the key in the signed assertion.
 */
export interface AppCertificate {
  /** Key and certificates, normalised (secret: stored encrypted, never returned or logged). */
  pem: string;
  /** SHA-1 thumbprint of the certificate, upper-case hex: what the Entra admin center lists under the app. */
  thumbprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export class AppCertificateError extends Error {
  override name = 'AppCertificateError';
}

/** Largest PEM accepted: a 4,096-bit key with a chain of a few certificates fits many times over. */
export const MAX_CERTIFICATE_PEM_CHARS = 32_000;
const MIN_RSA_BITS = 2048;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function parseAppCertificate(text: string, now: Date = new Date()): AppCertificate {
  if (text.length > MAX_CERTIFICATE_PEM_CHARS) {
    throw new AppCertificateError(`is longer than ${MAX_CERTIFICATE_PEM_CHARS} characters`);
  }
  const blocks = [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: m[0] }));
  const keys = blocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
  const certPems = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem);
  if (keys.length !== 1 || certPems.length === 0) {
    throw new AppCertificateError(
      'must be one PEM text with the private key (-----BEGIN PRIVATE KEY-----) and the certificate (-----BEGIN CERTIFICATE-----) uploaded to the app registration',
    );
  }
  const key = privateKey(keys[0]!);
  const certs = certPems.map((pem) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new AppCertificateError('contains a certificate that cannot be read');
    }
  });
  // A renewal may reuse the key: of the certificates of this key, the one valid now that lasts longest.
  const ofKey = certs
    .filter((c) => c.checkPrivateKey(key))
    .sort(
      (a, b) => Number(validNow(b, now)) - Number(validNow(a, now)) || Date.parse(b.validTo) - Date.parse(a.validTo),
    );
  const leaf = ofKey[0];
  if (!leaf) {
    throw new AppCertificateError(
      'has no certificate that belongs to the private key: give the certificate made with this key',
    );
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) {
    throw new AppCertificateError(
      `expired on ${notAfter.toISOString()}: make a new certificate, upload it to the app registration and give it here`,
    );
  }
  if (!validNow(leaf, now)) throw new AppCertificateError(`is not valid before ${notBefore.toISOString()}`);
  const pem = [
    key.export({ type: 'pkcs8', format: 'pem' }).toString().trim(),
    leaf.toString().trim(),
    ...certs.filter((c) => c !== leaf).map((c) => c.toString().trim()),
  ].join('\n');
  return {
    pem: `${pem}\n`,
    thumbprint: thumbprintOf(leaf),
    subject: leaf.subject.replace(/\n/g, ', '),
    notBefore,
    notAfter,
  };
}

/**
 * Valid at `now`, allowing clocks five minutes apart (as Entra ID does for assertions): `openssl req -x509` starts a
 * certificate at the second it is made, and the api's clock may run a little behind the admin's.
 */
function validNow(cert: X509Certificate, now: Date): boolean {
  return Date.parse(cert.validFrom) - CLOCK_SKEW_MS <= now.getTime() && now.getTime() < Date.parse(cert.validTo);
}
const CLOCK_SKEW_MS = 5 * 60_000;

/** A certificate's SHA-1 thumbprint, upper-case hex: how the Entra admin center lists it. */
export function thumbprintOf(cert: X509Certificate): string {
  return createHash('sha1').update(cert.raw).digest('hex').toUpperCase();
}

/** The first certificate of a stored credential (key first, then the leaf): the one it signs in with. */
export function storedCertificate(pem: string): X509Certificate {
  return new X509Certificate(pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----')));
}

function privateKey(block: { label: string; pem: string }): KeyObject {
  // PKCS#8 with a password, or the older OpenSSL form (RSA PRIVATE KEY with Proc-Type: 4,ENCRYPTED).
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block.pem)) {
    throw new AppCertificateError(
      'has a password-protected private key: export it without a password (entra-sync stores it encrypted), e.g. openssl pkey -in key.pem -out plain-key.pem',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(block.pem);
  } catch {
    throw new AppCertificateError('has a private key that cannot be read');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AppCertificateError(
      `has a${key.asymmetricKeyType === 'ec' ? 'n EC' : ` ${key.asymmetricKeyType ?? 'non-RSA'}`} key: Entra ID signs in apps with RSA certificates only`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new AppCertificateError(`has a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits`);
  return key;
}
