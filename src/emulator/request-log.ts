import type { IncomingHttpHeaders } from 'node:http';

/**
 * Every Graph and identity request the emulator answered, for tests and operators to inspect what the worker
 * really sent (`GET /_emulator/requests`, JSON lines). Secrets never enter it: `Authorization` is cut to its scheme,
 * `passwordProfile.password` and `client_secret` are replaced.
 */
export interface RequestLogEntry {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
}

export const REDACTED = '[REDACTED]';
const SECRET_FORM_FIELDS = new Set(['client_secret', 'client_assertion', 'password', 'refresh_token']);

export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    if (k === 'authorization' || k === 'proxy-authorization') {
      const scheme = value.split(/\s+/)[0] ?? '';
      out[k] = `${scheme} …`;
    } else {
      out[k] = value;
    }
  }
  return out;
}

/** Deep copy with every `passwordProfile.password` (also inside `$batch` items) replaced. */
export function redactBody(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(redactBody);
  if (body === null || typeof body !== 'object') return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (k === 'passwordProfile' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const profile = { ...(v as Record<string, unknown>) };
      if ('password' in profile) profile.password = REDACTED;
      out[k] = profile;
    } else {
      out[k] = redactBody(v);
    }
  }
  return out;
}

export function redactForm(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form) out[k] = SECRET_FORM_FIELDS.has(k) ? REDACTED : v;
  return out;
}

export class RequestLog {
  private entries: RequestLogEntry[] = [];

  constructor(
    public enabled: boolean,
    private readonly capacity = 10_000,
    /** In-process observer of every answered request (benchmarks time Graph writes with it). */
    private readonly listener?: (entry: RequestLogEntry) => void,
  ) {}

  /** Whether anyone wants entries: the kept log or the in-process observer. */
  get wanted(): boolean {
    return this.enabled || this.listener !== undefined;
  }

  add(entry: RequestLogEntry): void {
    this.listener?.(entry);
    if (!this.enabled) return;
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  list(): readonly RequestLogEntry[] {
    return this.entries;
  }

  clear(): void {
    this.entries = [];
  }

  toJsonLines(): string {
    return this.entries.map((e) => JSON.stringify(e)).join('\n') + (this.entries.length ? '\n' : '');
  }
}
