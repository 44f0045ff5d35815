import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * Reuses one access token per scope set until shortly before it expires. `ClientSecretCredential` caches tokens
 * too, but every call still walks MSAL's authority resolution and cache lookup, which showed as a few percent of
 * the worker's CPU at one call per Graph request. Concurrent callers share one in-flight request; a failed
 * request is not remembered, so the next call asks again.
 */
export class CachedTokenCredential implements TokenCredential {
  private readonly entries = new Map<string, { token?: AccessToken; pending?: Promise<AccessToken> }>();

  constructor(
    private readonly inner: TokenCredential,
    /** Renew this long before expiry (default 5 minutes, as MSAL does). */
    private readonly refreshMarginMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    // Options such as claims or a tenant override ask for a different token: pass those through uncached.
    if (options?.claims || options?.tenantId) return this.inner.getToken(scopes, options) as Promise<AccessToken>;
    const key = [scopes].flat().join(' ');
    const entry = this.entries.get(key) ?? {};
    this.entries.set(key, entry);
    if (entry.token && this.now() < this.renewAt(entry.token)) return entry.token;
    entry.pending ??= this.fetch(scopes, options, entry);
    return entry.pending;
  }

  private renewAt(token: AccessToken): number {
    return Math.min(token.refreshAfterTimestamp ?? Infinity, token.expiresOnTimestamp - this.refreshMarginMs);
  }

  private async fetch(
    scopes: string | string[],
    options: GetTokenOptions | undefined,
    entry: { token?: AccessToken; pending?: Promise<AccessToken> },
  ): Promise<AccessToken> {
    try {
      const token = await this.inner.getToken(scopes, options);
      if (!token) throw new Error('the credential returned no access token');
      entry.token = token;
      return token;
    } finally {
      entry.pending = undefined;
    }
  }
}
