import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Encryption of stored Graph client secrets with AES-256-GCM under SECRETS_KEY. Layout: 12-byte IV, 16-byte auth
 * tag, ciphertext. The tenant id is bound as additional data, so a ciphertext copied to another tenant's row does
 * not decrypt. Rotation: new secrets are encrypted under SECRETS_KEY; stored ones also decrypt under the keys in
 * SECRETS_KEY_PREVIOUS until the operator CLI's `rotate-secrets` has encrypted them again (GCM's tag tells the
 * right key from a wrong one).
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretDecryptionError extends Error {
  override name = 'SecretDecryptionError';
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new Error('the secrets key must be 32 bytes');
}

export function encryptSecret(plain: string, key: Buffer, context: string): Buffer {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Decrypts with the first of `keys` that opens `sealed` (the current key first, then previous ones). */
export function decryptSecret(sealed: Buffer, keys: Buffer | readonly Buffer[], context: string): string {
  const candidates = Buffer.isBuffer(keys) ? [keys] : keys;
  let failure: unknown = new SecretDecryptionError('no SECRETS_KEY to decrypt with');
  for (const key of candidates) {
    try {
      return decryptWith(sealed, key, context);
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}

function decryptWith(sealed: Buffer, key: Buffer, context: string): string {
  checkKey(key);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptionError('stored secret is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SecretDecryptionError('stored secret cannot be decrypted with this SECRETS_KEY', { cause: err });
  }
}
