import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './knex';

export type TokenKind = 'scim' | 'admin';

export interface TokenRecord {
  id: string;
  tenantId: string | null;
  kind: TokenKind;
  name: string;
  tokenPrefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface IssuedToken {
  record: TokenRecord;
  /** The bearer token itself: returned once, never stored. */
  token: string;
}

interface TokenRow {
  id: string;
  tenant_id: string | null;
  kind: TokenKind;
  name: string;
  token_hash: Buffer;
  token_prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    name: row.name,
    tokenPrefix: row.token_prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Generates a token (256 random bits), stores only its hash, and returns it once. */
export async function issueToken(
  db: Db,
  input: { tenantId: string | null; kind: TokenKind; name: string },
): Promise<IssuedToken> {
  const token = `es_${input.kind}_${randomBytes(32).toString('base64url')}`;
  const [row] = await db<TokenRow>('api_tokens')
    .insert({
      tenant_id: input.tenantId,
      kind: input.kind,
      name: input.name,
      token_hash: hashToken(token),
      token_prefix: token.slice(0, input.kind.length + 8),
    })
    .returning('*');
  return { record: toRecord(row), token };
}

/**
 * Finds the live token of `kind` matching `presented`. The lookup is by SHA-256 digest; the digests are compared
 * again in constant time so no timing difference depends on how much of a guessed token was right.
 */
export async function findActiveToken(db: Db, kind: TokenKind, presented: string): Promise<TokenRecord | undefined> {
  const digest = hashToken(presented);
  const row = await db<TokenRow>('api_tokens').where({ token_hash: digest, kind }).whereNull('revoked_at').first();
  if (!row || !timingSafeEqual(row.token_hash, digest)) return undefined;
  return toRecord(row);
}

export async function listTokens(db: Db, tenantId: string, kind: TokenKind): Promise<TokenRecord[]> {
  const rows = await db<TokenRow>('api_tokens').where({ tenant_id: tenantId, kind }).orderBy('created_at', 'asc');
  return rows.map(toRecord);
}

/** Revokes a tenant's token; returns false when the tenant has no such token. Idempotent. */
export async function revokeToken(db: Db, tenantId: string, tokenId: string, kind?: TokenKind): Promise<boolean> {
  const row = await db<TokenRow>('api_tokens')
    .where({ tenant_id: tenantId, id: tokenId, ...(kind ? { kind } : {}) })
    .first();
  if (!row) return false;
  if (!row.revoked_at) {
    await db('api_tokens').where({ tenant_id: tenantId, id: tokenId }).update({ revoked_at: db.fn.now() });
  }
  return true;
}

/** Platform admin tokens (no tenant): only the operator CLI lists and revokes them, since they can reach every tenant. */
export async function listPlatformTokens(db: Db): Promise<TokenRecord[]> {
  const rows = await db<TokenRow>('api_tokens').whereNull('tenant_id').where({ kind: 'admin' }).orderBy('created_at');
  return rows.map(toRecord);
}

/** Revokes a platform admin token; false when there is no such token. Idempotent. */
export async function revokePlatformToken(db: Db, tokenId: string): Promise<boolean> {
  const found = db<TokenRow>('api_tokens').whereNull('tenant_id').where({ kind: 'admin', id: tokenId });
  const row = await found.clone().first();
  if (!row) return false;
  if (!row.revoked_at) await found.clone().update({ revoked_at: db.fn.now() });
  return true;
}

export async function touchToken(db: Db, tokenId: string): Promise<void> {
  await db('api_tokens').where({ id: tokenId }).update({ last_used_at: db.fn.now() });
}
