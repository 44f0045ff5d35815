import http from 'node:http';

/** Latency samples in milliseconds → the usual percentiles. */
export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i];
}

export interface HttpResult {
  status: number;
  body: string;
}

/** A keep-alive JSON client on one origin; no fetch overhead, so the generator stays cheap next to the server. */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly headers: Record<string, string>,
    maxSockets: number,
  ) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path: this.url.pathname.replace(/\/$/, '') + path,
          headers: {
            ...this.headers,
            ...(payload ? { 'content-type': 'application/scim+json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  errorSamples: string[];
}

/** Runs `concurrency` loops of `step` for `seconds`; a step returns false (or throws) for an error. */
export async function runLoad(
  concurrency: number,
  seconds: number,
  step: () => Promise<boolean | string>,
): Promise<LoadResult> {
  const deadline = performance.now() + seconds * 1000;
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        let outcome: boolean | string;
        try {
          outcome = await step();
        } catch (err) {
          outcome = String(err);
        }
        latenciesMs.push(performance.now() - t0);
        if (outcome !== true) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(String(outcome).slice(0, 300));
        }
      }
    }),
  );
  return {
    requests: latenciesMs.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    latenciesMs,
    errorSamples,
  };
}
