import type { FaultState } from './faults';
import type { EmulatorStore, TenantState } from './state/store';

/** The authenticated caller of a Graph request, recovered from the access token. */
export interface Caller {
  tenant: TenantState;
  appId: string;
  /** Granted application permissions (the token's `roles`). */
  permissions: readonly string[];
}

/** A Graph request after HTTP parsing; also what one `$batch` item becomes. */
export interface GraphRequest {
  method: string;
  /** Path after `/v1.0`, still percent-encoded, e.g. `/users/a%23EXT%23%40x.com`. */
  path: string;
  /** Raw query string without `?`. */
  search: string;
  query: Map<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON body, or undefined when none was sent. */
  body: unknown;
  /** `https://host:port` as the client addressed us; used for `@odata.context` and `nextLink`. */
  baseUrl: string;
  caller: Caller;
}

export interface GraphResponse {
  status: number;
  body?: unknown;
  /** A plain-text body sent as is (`GET /users/$count`); takes the place of `body`. */
  text?: string;
  headers?: Record<string, string>;
}

/** What route handlers may touch. */
export interface EmulatorContext {
  store: EmulatorStore;
  faults: FaultState;
  now: () => number;
}
