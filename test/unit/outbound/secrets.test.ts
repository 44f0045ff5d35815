import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, SecretDecryptionError } from '../../../src/crypto/secrets';

describe('stored Graph client secrets (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips and never stores the plain text', () => {
    const sealed = encryptSecret('s3cr3t-value', key, 'tenant-a');
    expect(sealed.toString('utf8')).not.toContain('s3cr3t-value');
    expect(decryptSecret(sealed, key, 'tenant-a')).toBe('s3cr3t-value');
  });

  it('does not decrypt with another key or for another tenant', () => {
    const sealed = encryptSecret('x', key, 'tenant-a');
    expect(() => decryptSecret(sealed, randomBytes(32), 'tenant-a')).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(sealed, key, 'tenant-b')).toThrow(SecretDecryptionError);
  });

  it('decrypts with a previous key during a rotation, the current key first', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = encryptSecret('before', oldKey, 'tenant-a');
    const sealedNew = encryptSecret('after', newKey, 'tenant-a');
    expect(decryptSecret(sealedOld, [newKey, oldKey], 'tenant-a')).toBe('before');
    expect(decryptSecret(sealedNew, [newKey, oldKey], 'tenant-a')).toBe('after');
    expect(() => decryptSecret(sealedOld, [newKey], 'tenant-a')).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(sealedOld, [], 'tenant-a')).toThrow(SecretDecryptionError);
  });
});
