import type { Express } from 'express';
import request from 'supertest';

/** A SCIM request to the app as a tenant's provisioning client sends it (bearer token, application/scim+json). */
export function scimRequest(app: Express, token: string, method: 'post' | 'patch', path: string, body: unknown) {
  return request(app)
    [method](`/scim/v2${path}`)
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', 'application/scim+json')
    .send(JSON.stringify(body));
}

/** Polls `fn` every 25 ms until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
