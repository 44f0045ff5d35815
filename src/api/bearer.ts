import type { Request } from 'express';
import type { Db } from '../db/knex';
import { findActiveToken, touchToken, type TokenKind, type TokenRecord } from '../db/tokens';

/** The token in `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

const TOUCH_INTERVAL_MS = 60_000;

/**
 * Resolves bearer tokens of one kind to their records. `last_used_at` is written at most once a minute per token
 * so that a provisioning burst does not turn every read into a write.
 */
export class TokenAuthenticator {
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly kind: TokenKind,
  ) {}

  async authenticate(req: Request): Promise<TokenRecord | undefined> {
    const token = bearerToken(req);
    if (!token || token.length > 512) return undefined;
    const record = await findActiveToken(this.db, this.kind, token);
    if (!record) return undefined;
    const now = Date.now();
    if (now - (this.lastTouched.get(record.id) ?? 0) > TOUCH_INTERVAL_MS) {
      this.lastTouched.set(record.id, now);
      void touchToken(this.db, record.id).catch(() => undefined);
    }
    return record;
  }
}
