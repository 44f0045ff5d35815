import https from 'node:https';

/** Minimal HTTPS client for the tests: raw status, headers and body, trusting exactly the given CA. */
export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary response shapes
}

export interface HttpOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Form body (sent as application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** Raw body string with its own Content-Type header. */
  raw?: string;
}

export function createHttp(
  baseUrl: string,
  ca: string | undefined,
): (method: string, path: string, opts?: HttpOptions) => Promise<HttpResult> {
  const agent = new https.Agent({ keepAlive: true, ca });
  return (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(path.startsWith('https://') ? path : baseUrl + path);
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let payload: string | undefined;
      if (opts.body !== undefined) {
        payload = JSON.stringify(opts.body);
        headers['Content-Type'] ??= 'application/json';
      } else if (opts.form) {
        payload = new URLSearchParams(opts.form).toString();
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
      } else if (opts.raw !== undefined) {
        payload = opts.raw;
      }
      const req = https.request(
        { method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
}
