import { AsyncLocalStorage } from 'node:async_hooks';
import tls from 'node:tls';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import type { GraphConnection } from '../db/outbound-settings';
import { storedCertificate, thumbprintOf } from './app-certificate';
import { BUDGET_DEADLINE, markCertificate } from './errors';
import { HttpsMessageHandler } from './https-handler';
import { TenantCheckingCredential } from './tenant-check';
import { CachedTokenCredential } from './token-cache';
import type { WriteBudget, WriteKind } from './write-budget';

/**
 * The Graph client factory: `@microsoft/microsoft-graph-client` with `@azure/identity`'s ClientSecretCredential (or
 * ClientCertificateCredential), identical for Microsoft's cloud and the local emulator — only the authority host and base URL differ.
 */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com';
/** Microsoft Graph's national cloud deployments: a token for one of them is asked for with its own origin. */
const NATIONAL_GRAPH_HOSTS = new Set([
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
]);

/**
 * The `.default` scope of the Graph deployment at `graphBaseUrl`: its own origin for a national cloud, else the global
 * service's (also for a stand-in such as the emulator, which issues tokens for the global audience).
 */
export function graphScope(graphBaseUrl: string | null | undefined): string {
  const origin = graphOrigin(graphBaseUrl);
  return NATIONAL_GRAPH_HOSTS.has(new URL(origin).hostname)
    ? `${origin}/.default`
    : `${DEFAULT_GRAPH_BASE_URL}/.default`;
}

/** Graph requests made inside `countGraphRequests(fn)`, for logs and the benchmark. */
export interface RequestTally {
  requests: number;
  writes: number;
  /** Which share of the write budget the scope's writes draw on (see WriteBudget). */
  writeKind: WriteKind;
  /** Gives up a write's wait for the budget (the activity's cancellation). */
  signal?: AbortSignal;
  /**
   * When (epoch ms) a write stops waiting for the budget and fails retryably instead: shortly before the attempt's
   * own start-to-close timeout, so the attempt ends itself rather than being timed out by the server while it waits
   * (a retry would then start beside it).
   */
  budgetDeadline?: number;
  /** Status and request-id of the scope's last answer from Graph, to name it when its body is not understood. */
  lastAnswer?: { status: number; requestId?: string };
}
const tallies = new AsyncLocalStorage<RequestTally>();

/**
 * Runs `fn` and reports how many Graph requests (and writes) it made, even with concurrent callers; its writes wait
 * for the write budget as `writeKind` (default: a change), until `signal` aborts.
 */
export async function countGraphRequests<T>(
  fn: () => Promise<T>,
  writeKind: WriteKind = 'change',
  signal?: AbortSignal,
  budgetDeadline?: number,
): Promise<{ result: T; tally: RequestTally }> {
  const tally: RequestTally = {
    requests: 0,
    writes: 0,
    writeKind,
    ...(signal ? { signal } : {}),
    ...(budgetDeadline !== undefined ? { budgetDeadline } : {}),
  };
  const result = await tallies.run(tally, fn);
  return { result, tally };
}
/** The tally of the current `countGraphRequests` scope (also readable when `fn` throws). */
export function currentTally(): RequestTally | undefined {
  return tallies.getStore();
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
/** POSTs that only read (Graph functions invoked with POST): no write budget, not counted as writes. */
const READING_POSTS = /\/directoryObjects\/getAvailableExtensionProperties(?:\?|$)/;

/**
 * Graph's `x-ms-throttle-priority` per lane (graph.md §10): should Graph throttle the app anyway (say several worker
 * processes share its quota), it throttles low-priority requests first and high-priority ones last. It does not change
 * the limits. A change goes without the header: normal.
 */
const THROTTLE_PRIORITY: Record<WriteKind, string | undefined> = { lifecycle: 'high', change: undefined, bulk: 'low' };

function setHeader(context: Context, name: string, value: string): void {
  const options = (context.options ??= {});
  if (options.headers instanceof Headers) options.headers.set(name, value);
  else options.headers = { ...(options.headers as Record<string, string> | undefined), [name]: value };
}

/** One write's turn in the budget, given up at the scope's `budgetDeadline` (classified GraphThrottled) or `signal`. */
async function takeBudget(budget: WriteBudget, kind: WriteKind, tally: RequestTally | undefined): Promise<void> {
  const deadline = tally?.budgetDeadline;
  if (deadline === undefined) {
    await budget.take(kind, tally?.signal);
    return;
  }
  const timeUp = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  try {
    await budget.take(kind, tally?.signal ? AbortSignal.any([tally.signal, timeUp]) : timeUp);
  } catch (err) {
    if (!timeUp.aborted || tally?.signal?.aborted) throw err;
    throw Object.assign(
      new Error(
        "The tenant's Graph writes are at their limit: this attempt waited for its turn until its time was nearly up, and tries again in a moment.",
      ),
      { name: BUDGET_DEADLINE },
    );
  }
}

/**
 * Counts requests, makes writes wait for the tenant's write budget and tells Graph each request's priority. Sits where
 * the SDK's RetryHandler would: we leave that handler out, because Temporal retries failed activities (honouring
 * Retry-After) and a hidden in-process retry would hold an activity slot and double-count writes.
 */
class BudgetMiddleware implements Middleware {
  private next?: Middleware;
  constructor(private readonly budget?: WriteBudget) {}
  async execute(context: Context): Promise<void> {
    const method = (context.options?.method ?? 'GET').toUpperCase();
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const isWrite = WRITE_METHODS.has(method) && !(method === 'POST' && READING_POSTS.test(url));
    const tally = tallies.getStore();
    // A write outside a sync's scope (none today) counts as a change.
    if (isWrite && this.budget) await takeBudget(this.budget, tally?.writeKind ?? 'change', tally);
    if (tally) {
      tally.requests++;
      if (isWrite) tally.writes++;
      const priority = THROTTLE_PRIORITY[tally.writeKind];
      if (priority) setHeader(context, 'x-ms-throttle-priority', priority);
    }
    await this.next!.execute(context);
    if (tally && context.response) {
      const requestId = context.response.headers.get('request-id') ?? undefined;
      tally.lastAnswer = { status: context.response.status, ...(requestId ? { requestId } : {}) };
    }
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

/** `https://host[:port]` without a trailing slash or version segment. */
export function graphOrigin(baseUrl: string | null | undefined): string {
  const url = new URL(baseUrl || DEFAULT_GRAPH_BASE_URL);
  return url.origin;
}

export interface GraphClientOptions {
  budget?: WriteBudget;
  /** Extra trusted CA certificate(s), PEM: the emulator's self-signed one, or a corporate proxy's CA. */
  extraCaPem?: string;
  /** Tests and `test connection` may pass their own credential; the default is createCredential's. */
  credential?: TokenCredential;
}

/** The app's credential: its certificate (a signed client assertion) when one is stored, else its client secret. */
export function createCredential(conn: GraphConnection, extraCaPem?: string): TokenCredential {
  const authorityHost = conn.authorityHost || DEFAULT_AUTHORITY_HOST;
  const options = {
    authorityHost,
    // With a custom authority (the emulator) MSAL must not ask login.microsoftonline.com about it.
    disableInstanceDiscovery: !!conn.authorityHost,
    // `ca` replaces the default store in core-rest-pipeline, so keep Node's roots next to the extra one.
    ...(extraCaPem ? { tlsOptions: { ca: [...tls.rootCertificates, extraCaPem] } } : {}),
  };
  let credential: TokenCredential;
  if (conn.clientCertificate) {
    credential = new CertificateNamingCredential(
      new ClientCertificateCredential(
        conn.graphTenantId,
        conn.clientId,
        { certificate: conn.clientCertificate },
        options,
      ),
      thumbprintOf(storedCertificate(conn.clientCertificate)),
    );
  } else if (conn.clientSecret) {
    credential = new ClientSecretCredential(conn.graphTenantId, conn.clientId, conn.clientSecret, options);
  } else {
    throw new Error('the connection has neither a client secret nor a certificate');
  }
  return new TenantCheckingCredential(credential, conn.graphTenantId, authorityHost, extraCaPem);
}

/** Marks a failed sign-in with the certificate's SHA-1 thumbprint, for the error classifier (markCertificate). */
class CertificateNamingCredential implements TokenCredential {
  constructor(
    private readonly inner: TokenCredential,
    private readonly thumbprint: string,
  ) {}
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    try {
      return await this.inner.getToken(scopes, options);
    } catch (err) {
      if (err instanceof Error) markCertificate(err, this.thumbprint);
      throw err;
    }
  }
}

/**
 * Hands the Graph SDK a token from the (cached) credential. The SDK's own TokenCredentialAuthenticationProvider
 * does the same but builds an Error object, stack trace and all, on every request in case it needs one.
 */
class CredentialAuthenticationProvider implements AuthenticationProvider {
  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
  ) {}
  async getAccessToken(): Promise<string> {
    const token = await this.credential.getToken(this.scope);
    if (!token?.token) throw new Error('The identity platform returned no access token for Microsoft Graph.');
    return token.token;
  }
}

export function createGraphClient(conn: GraphConnection, opts: GraphClientOptions = {}): Client {
  const origin = graphOrigin(conn.graphBaseUrl);
  const credential = new CachedTokenCredential(opts.credential ?? createCredential(conn, opts.extraCaPem));
  const authProvider = new CredentialAuthenticationProvider(credential, graphScope(conn.graphBaseUrl));
  const chain: Middleware[] = [
    new AuthenticationHandler(authProvider),
    new BudgetMiddleware(opts.budget),
    new TelemetryHandler(),
    new HttpsMessageHandler(opts.extraCaPem),
  ];
  return Client.initWithMiddleware({
    middleware: chain,
    baseUrl: origin,
    defaultVersion: 'v1.0',
    // The SDK sends the Authorization header only to Graph hosts or these (graph.md §13).
    customHosts: new Set([new URL(origin).hostname]),
  });
}
