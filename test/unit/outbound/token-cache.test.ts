import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { CachedTokenCredential } from '../../../src/graph/token-cache';

describe('Graph access token cache', () => {
  const HOUR = 3_600_000;
  let t: number;
  const now = () => t;

  /** A credential that hands out numbered tokens valid for an hour, or fails while `failing` is set. */
  function countingCredential() {
    const c = {
      calls: 0,
      failing: false,
      async getToken(_scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
        c.calls++;
        await new Promise((r) => setImmediate(r));
        if (c.failing) throw new Error('AADSTS7000215: Invalid client secret provided.');
        return { token: `token-${c.calls}`, expiresOnTimestamp: t + HOUR };
      },
    } satisfies TokenCredential & Record<string, unknown>;
    return c;
  }

  beforeEach(() => {
    t = 1_000_000;
  });

  it('asks the identity platform once for many requests, including concurrent ones', async () => {
    const inner = countingCredential();
    const cache = new CachedTokenCredential(inner, 5 * 60_000, now);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => cache.getToken(['scope/.default'])));
    tokens.push(await cache.getToken(['scope/.default']));
    expect(inner.calls).toBe(1);
    expect(new Set(tokens.map((x) => x.token))).toEqual(new Set(['token-1']));
  });

  it('renews five minutes before expiry', async () => {
    const inner = countingCredential();
    const cache = new CachedTokenCredential(inner, 5 * 60_000, now);
    await cache.getToken('scope/.default');
    t += HOUR - 5 * 60_000 - 1;
    expect((await cache.getToken('scope/.default')).token).toBe('token-1');
    t += 1;
    expect((await cache.getToken('scope/.default')).token).toBe('token-2');
  });

  it('does not remember a failure: the next call asks again', async () => {
    const inner = countingCredential();
    const cache = new CachedTokenCredential(inner, 5 * 60_000, now);
    inner.failing = true;
    await expect(cache.getToken('scope/.default')).rejects.toThrow(/Invalid client secret/);
    inner.failing = false;
    expect((await cache.getToken('scope/.default')).token).toBe('token-2');
  });

  it('keeps scopes apart and passes claims challenges through uncached', async () => {
    const inner = countingCredential();
    const cache = new CachedTokenCredential(inner, 5 * 60_000, now);
    await cache.getToken('a/.default');
    await cache.getToken('b/.default');
    await cache.getToken('a/.default', { claims: '{"access_token":{}}' });
    await cache.getToken('a/.default');
    expect(inner.calls).toBe(3);
  });
});
