import { startGraphEmulator, type RunningGraphEmulator } from '../../../src/emulator';
import { createHttp, type HttpResult } from './http';
import { standardSeed, testCertificate, FULL_APP_ID, TENANT_ID } from './target';

/** Graph's identity-service throttling: write budget per app+tenant, resource units per 10 s, 429 shape. */

const PASSWORD = 'kT9#mQ2vLp!x';

async function start(throttling: Parameters<typeof startGraphEmulator>[0]['throttling']): Promise<{
  emu: RunningGraphEmulator;
  call: (method: string, path: string, body?: unknown) => Promise<HttpResult>;
}> {
  const tls = testCertificate();
  const emu = await startGraphEmulator({ port: 0, tls, throttling, logRequests: false });
  emu.seed(standardSeed());
  const http = createHttp(emu.url, tls.cert);
  const tok = await http('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
    form: {
      grant_type: 'client_credentials',
      client_id: FULL_APP_ID,
      client_secret: 'full-secret',
      scope: 'https://graph.microsoft.com/.default',
    },
  });
  const auth = { Authorization: `Bearer ${tok.json.access_token as string}` };
  return {
    emu,
    call: (method, path, body) =>
      http(method, `/v1.0${path}`, body === undefined ? { headers: auth } : { headers: auth, body }),
  };
}

let n = 0;
const newUser = (): Record<string, unknown> => {
  n++;
  return {
    accountEnabled: true,
    displayName: `T ${n}`,
    mailNickname: `t${n}`,
    userPrincipalName: `t${n}.${Date.now()}@contoso.com`,
    passwordProfile: { password: PASSWORD },
  };
};

describe('throttling', () => {
  it('answers 429 TooManyRequests once the write budget per app and tenant is spent, with Retry-After and x-ms-throttle headers', async () => {
    const { emu, call } = await start({ appTenantWrites: 3, appTenantWriteWindowMs: 150_000 });
    try {
      for (let i = 0; i < 3; i++) expect((await call('POST', '/users', newUser())).status).toBe(201);
      const res = await call('POST', '/users', newUser());
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toMatch(/^[0-9]+$/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(140);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(150);
      expect(res.headers['x-ms-throttle-information']).toBe('WriteLimitExceeded');
      expect(res.headers['x-ms-throttle-scope']).toBe(`Tenant_Application/ReadWrite/${FULL_APP_ID}/${TENANT_ID}`);
      expect(res.json.error).toMatchObject({
        code: 'TooManyRequests',
        message: 'Please retry again later.',
        innerError: { code: '429', status: '429' },
      });
      expect(res.json.error.innerError['request-id']).toBe(res.headers['request-id']);
      // Reads are priced in resource units, not writes: still allowed.
      expect((await call('GET', '/users?$top=1')).status).toBe(200);
    } finally {
      await emu.stop();
    }
  });

  it('prices GET /users at 2 resource units, $select and $top<20 at one less each, never below 1', async () => {
    const { emu, call } = await start({ resourceUnitsSmall: 5, resourceUnitWindowMs: 10_000 });
    try {
      expect((await call('GET', '/users')).headers['x-ms-resource-unit']).toBe('2');
      expect((await call('GET', '/users?$select=id')).headers['x-ms-resource-unit']).toBe('1');
      expect((await call('GET', '/users?$select=id&$top=5')).headers['x-ms-resource-unit']).toBe('1');
      // 4 of 5 spent; a 2-unit request no longer fits.
      const res = await call('GET', '/users');
      expect(res.status).toBe(429);
      expect(res.headers['x-ms-throttle-information']).toBe('ResourceUnitLimitExceeded');
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(10);
    } finally {
      await emu.stop();
    }
  });

  it('reports x-ms-throttle-limit-percentage above 80% of a budget', async () => {
    const { emu, call } = await start({ resourceUnitsSmall: 10 });
    try {
      let last: HttpResult | undefined;
      for (let i = 0; i < 9; i++) last = await call('GET', '/users/none?$select=id');
      expect(last!.headers['x-ms-throttle-limit-percentage']).toBe('0.90');
    } finally {
      await emu.stop();
    }
  });

  it("uses Graph's default limits unless told otherwise, and none when throttling is off", async () => {
    const on = await start(true);
    const off = await start(false);
    try {
      expect((await on.call('GET', '/users?$top=1')).headers['x-ms-resource-unit']).toBe('1');
      const burst = await Promise.all(Array.from({ length: 50 }, () => off.call('POST', '/users', newUser())));
      expect(burst.every((r) => r.status === 201)).toBe(true);
    } finally {
      await on.emu.stop();
      await off.emu.stop();
    }
  });

  it('throttles $batch items individually inside a 200 envelope', async () => {
    const { emu, call } = await start({ appTenantWrites: 1 });
    try {
      const res = await call('POST', '/$batch', {
        requests: [
          { id: '1', method: 'POST', url: '/users', headers: { 'Content-Type': 'application/json' }, body: newUser() },
          { id: '2', method: 'POST', url: '/users', headers: { 'Content-Type': 'application/json' }, body: newUser() },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.json.responses.map((r: { status: number }) => r.status)).toEqual([201, 429]);
      expect(res.json.responses[1].headers['Retry-After']).toMatch(/^[0-9]+$/);
    } finally {
      await emu.stop();
    }
  });
});
