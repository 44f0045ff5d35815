import https from 'node:https';
import tls from 'node:tls';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

/**
 * The last link of the Graph middleware chain: sends the request with node:https through a keep-alive agent.
 * It replaces the SDK's fetch-based HTTPMessageHandler for one reason: extra trusted CA certificates (the
 * emulator's self-signed certificate, or a TLS-inspecting proxy's CA) can be given per process in config, while
 * Node's fetch only honours NODE_EXTRA_CA_CERTS read at process start. Without extra CAs it trusts exactly
 * Node's default store, like fetch.
 */
export class HttpsMessageHandler implements Middleware {
  private readonly agent: https.Agent;

  constructor(extraCaPem?: string) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 64,
      // One secure context built once: passing `ca` instead makes the agent re-join every root certificate into its
      // pool key on each request (measured at ~3 % of the worker's CPU).
      ...(extraCaPem ? { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, extraCaPem] }) } : {}),
    });
  }

  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const options = context.options ?? {};
    const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]);
    const body = options.body === undefined || options.body === null ? undefined : Buffer.from(options.body as string);
    if (body) headers.set('content-length', String(body.length));
    const signal = options.signal ?? undefined;

    context.response = await new Promise<Response>((resolve, reject) => {
      const req = https.request(
        url,
        { method: options.method ?? 'GET', headers: Object.fromEntries(headers.entries()), agent: this.agent, signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const responseHeaders = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (v === undefined) continue;
              for (const item of Array.isArray(v) ? v : [v]) responseHeaders.append(k, item);
            }
            const noBody = status === 204 || status === 304 || (options.method ?? 'GET').toUpperCase() === 'HEAD';
            resolve(
              new Response(noBody ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage,
                headers: responseHeaders,
              }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes idle keep-alive sockets (worker shutdown, tests). */
  destroy(): void {
    this.agent.destroy();
  }
}
