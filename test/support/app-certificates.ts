import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

/**
 * App registration certificates for tests: a self-signed X.509 certificate and its private key, as an admin makes
 * one with openssl for Entra's "Certificates & secrets" (docs/outbound.md). `pem` is what entra-sync stores (key and
 * certificate together); `certPem` is the public part uploaded to the app (and seeded into the Graph emulator).
 */
export interface AppCertificate {
  certPem: string;
  keyPem: string;
  /** Private key and certificate in one PEM, as the admin API takes it. */
  pem: string;
  /** SHA-1 thumbprint, upper-case hex, as the Entra admin center shows it. */
  thumbprint: string;
  notAfter: Date;
}

export async function makeAppCertificate(
  opts: {
    commonName?: string;
    notBefore?: Date;
    notAfter?: Date;
    keyType?: 'rsa' | 'ec';
    keySize?: number;
    /** Reuse this key (PEM), e.g. for a renewed certificate of the same key. */
    keyPem?: string;
  } = {},
): Promise<AppCertificate> {
  const notBeforeDate = opts.notBefore ?? new Date(Date.now() - 24 * 3600_000);
  const notAfterDate = opts.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: opts.commonName ?? 'entra-sync test app' }], {
    keyType: opts.keyType ?? 'rsa',
    keySize: opts.keySize ?? 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ...(opts.keyPem
      ? {
          keyPair: {
            privateKey: opts.keyPem,
            publicKey: createPublicKey(opts.keyPem).export({ type: 'spki', format: 'pem' }).toString(),
          },
        }
      : {}),
  });
  const cert = new X509Certificate(pems.cert);
  return {
    certPem: pems.cert,
    keyPem: pems.private,
    pem: `${pems.private.trim()}\n${pems.cert.trim()}\n`,
    thumbprint: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
    notAfter: new Date(cert.validTo),
  };
}
