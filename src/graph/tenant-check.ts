import https from 'node:https';
import tls from 'node:tls';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/** The identity platform's answer for a tenant it does not know (AADSTS90002), as the classifier recognises it. */
export class TenantNotFoundError extends Error {
  override name = 'TenantNotFoundError';
  constructor(
    readonly tenant: string,
    readonly authorityHost: string,
  ) {
    super(`AADSTS90002 invalid_tenant: ${authorityHost} does not know the tenant '${tenant}'`);
  }
}

/**
 * MSAL reports a tenant the authority does not know exactly as it reports an unreachable authority
 * (`endpoints_resolution_error`): one is a typo a person must fix, the other an outage to wait out. When sign-in
 * fails that way, this asks the authority's discovery document once more and, if it answers `invalid_tenant`,
 * throws TenantNotFoundError instead. Only the failure path pays for the extra request.
 */
export class TenantCheckingCredential implements TokenCredential {
  constructor(
    private readonly inner: TokenCredential,
    private readonly tenant: string,
    private readonly authorityHost: string,
    private readonly extraCaPem?: string,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    try {
      return await this.inner.getToken(scopes, options);
    } catch (err) {
      if (/endpoints_resolution_error/.test(String((err as Error | undefined)?.message)) && (await this.unknown())) {
        throw new TenantNotFoundError(this.tenant, this.authorityHost);
      }
      throw err;
    }
  }

  /** True only when the authority answered that it does not know the tenant; any other outcome is not evidence. */
  private unknown(): Promise<boolean> {
    const url = new URL(
      `${encodeURIComponent(this.tenant)}/v2.0/.well-known/openid-configuration`,
      this.authorityHost.endsWith('/') ? this.authorityHost : `${this.authorityHost}/`,
    );
    return new Promise((resolve) => {
      const req = https.get(
        url,
        { timeout: 10_000, ...(this.extraCaPem ? { ca: [...tls.rootCertificates, this.extraCaPem] } : {}) },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (body.length < 64 * 1024) body += c;
          });
          res.on('end', () => resolve(res.statusCode === 400 && /invalid_tenant|AADSTS90002/.test(body)));
          res.on('error', () => resolve(false));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  }
}
