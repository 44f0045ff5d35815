import { GraphError } from './errors';

/**
 * Operator-controlled failures, so the worker's retry and blocking paths can be exercised: an error rate per status
 * code, added latency, a burst of forced 429s, and two replication delays, as happen in Entra right after a create:
 * a just-created user is not yet visible to manager `$ref` writes, or not yet to reads and updates (404), while its
 * userPrincipalName is already taken for new accounts.
 */
export interface FaultSettings {
  /** Status code → probability 0..1 per Graph request, e.g. {"503": 0.1}. */
  errorRates: Record<string, number>;
  latencyMs: number;
  /** Forced 429s still to serve, and the Retry-After they carry. */
  burst429: { remaining: number; retryAfterSeconds: number };
  replicationDelayMs: number;
  readReplicationDelayMs: number;
}

export function defaultFaults(): FaultSettings {
  return {
    errorRates: {},
    latencyMs: 0,
    burst429: { remaining: 0, retryAfterSeconds: 2 },
    replicationDelayMs: 0,
    readReplicationDelayMs: 0,
  };
}

/** Graph-shaped bodies for injected server errors (codes from Graph's errors page). */
const FAULT_ERRORS: Record<number, { code: string; message: string }> = {
  500: { code: 'generalException', message: 'An unspecified error has occurred.' },
  502: { code: 'BadGateway', message: 'The server received an invalid response from an upstream server.' },
  503: {
    code: 'serviceNotAvailable',
    message: 'The service is temporarily unavailable. Please retry the request after a delay.',
  },
  504: { code: 'GatewayTimeout', message: 'The server did not receive a timely response from an upstream server.' },
};

export function throttledError(retryAfterSeconds: number, extraHeaders: Record<string, string> = {}): GraphError {
  return new GraphError(
    429,
    'TooManyRequests',
    'Please retry again later.',
    undefined,
    { 'Retry-After': String(retryAfterSeconds), ...extraHeaders },
    { code: '429', status: '429' },
  );
}

export class FaultState {
  settings: FaultSettings = defaultFaults();
  private active = false;

  set(settings: FaultSettings): void {
    this.settings = settings;
    this.active =
      Object.values(settings.errorRates).some((r) => r > 0) ||
      settings.latencyMs > 0 ||
      settings.burst429.remaining > 0;
  }

  reset(): void {
    this.set(defaultFaults());
  }

  /** Whether any per-request fault is configured (keeps the hot path free of work when none is). */
  get any(): boolean {
    return this.active;
  }

  /** An injected failure for this request, if the dice say so. */
  pick(random: () => number = Math.random): GraphError | undefined {
    if (!this.active) return undefined;
    const burst = this.settings.burst429;
    if (burst.remaining > 0) {
      burst.remaining--;
      if (burst.remaining === 0) this.set(this.settings);
      return throttledError(burst.retryAfterSeconds);
    }
    for (const [statusText, rate] of Object.entries(this.settings.errorRates)) {
      if (rate > 0 && random() < rate) {
        const status = Number(statusText);
        if (status === 429) return throttledError(this.settings.burst429.retryAfterSeconds);
        const known = FAULT_ERRORS[status] ?? { code: 'UnknownError', message: 'An injected error occurred.' };
        return new GraphError(
          status,
          known.code,
          known.message,
          undefined,
          status === 503 ? { 'Retry-After': '1' } : undefined,
        );
      }
    }
    return undefined;
  }
}
