import path from 'node:path';
import { z } from 'zod';
import { parseAllowedOrigins } from './graph/endpoints';

/** Repository root (this file is src/config.ts, or dist/src/config.js after a build). */
export const REPO_ROOT = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..');

/**
 * What is wrong with an SMTP_URL, in words that never contain it (it holds the password). Parsed as nodemailer parses
 * it (WHATWG URL). A `#`, `/` or `?` left unencoded in the password still parses, as a fragment, path or query after
 * a host made of the user name: an `@` after the authority, or any fragment, gives that away.
 */
export function smtpUrlProblem(value: string): string | undefined {
  const invalid = 'SMTP_URL is not a valid URL; percent-encode special characters in the user name and password';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid;
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return 'SMTP_URL must be an smtp:// or smtps:// URL';
  if (!url.hostname || url.hash || `${url.pathname}${url.search}`.includes('@')) return invalid;
  return undefined;
}

/** An empty variable counts as unset: docker-compose.yml passes `${SMTP_URL:-}` and the like through as ''. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);

/**
 * The one place that reads `process.env`. Every process (api, worker, emulator, dev launcher) calls `loadConfig`
 * once at start and passes the typed values on; a missing or malformed variable fails fast with its name.
 */
const ConfigFields = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** PostgreSQL of the HR data. The dev launcher sets it to its embedded server when unset. */
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Prepare hot statements once per connection; set false behind PgBouncer < 1.21 in transaction mode. */
  DATABASE_PREPARED_STATEMENTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** The outbox relay LISTENs for new rows; set false behind a pooler in transaction mode (then it polls). */
  OUTBOX_RELAY_LISTEN: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** HTTP worker processes sharing the port (node:cluster); 1 = a single process. */
  API_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /** Absolute base URL clients use to reach the api (SCIM `meta.location`); defaults to http://API_HOST:API_PORT. */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /** Largest accepted request body; larger ones get 413. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('entra-sync'),
  /** 32 bytes, base64: encrypts stored Graph client secrets (AES-256-GCM). The dev launcher generates one. */
  SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  /**
   * During a SECRETS_KEY rotation: the old key(s), comma-separated, base64 — stored credentials still decrypt with
   * them until `node dist/src/bin/admin.js rotate-secrets` has encrypted them under SECRETS_KEY.
   */
  SECRETS_KEY_PREVIOUS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const keys = (v ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean)
        .map((k) => Buffer.from(k, 'base64'));
      if (keys.some((k) => k.length !== 32)) {
        ctx.addIssue({ code: 'custom', message: 'each key must be 32 bytes, base64-encoded' });
        return z.NEVER;
      }
      return keys;
    }),
  /** The `temporal` CLI (dev server) and the time-skipping test server, installed from PyPI by the Makefile. */
  TEMPORAL_CLI_PATH: z.string().default(path.join(REPO_ROOT, '.tools/pypi/bin/temporal')),
  TEMPORAL_TEST_SERVER_PATH: z.string().default(path.join(REPO_ROOT, '.tools/pypi/bin/temporal-test-server')),
  /** PEM file with extra CA certificates the worker trusts for Graph and sign-in (a TLS-inspecting proxy's CA). */
  GRAPH_EXTRA_CA_CERTS: z.string().optional(),
  /**
   * Origins besides Microsoft's clouds that tenants' outbound settings may point `authorityHost` and `graphBaseUrl`
   * at (https URLs, comma-separated): the emulator in development and tests, or a Graph proxy. Unlisted origins are
   * refused, so an admin token cannot send the client secret or Graph tokens to a server of its choosing.
   */
  GRAPH_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseAllowedOrigins(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * Days a delivered outbox row is kept (it shows whether and when a change went out); the worker deletes older ones
   * every hour. Undelivered rows are never deleted. 0 = keep every row.
   */
  OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(7),
  /** Extra quiet period before each outbound sync (a Temporal timer, ~1 s granularity); 0 = sync at once. */
  OUTBOUND_DEBOUNCE_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  /**
   * Enrolments (the admin API's initial push) the relay lets go out before their first syncs finish; the rest wait in
   * the outbox and changes pass them. 0 = no limit.
   */
  OUTBOUND_ENROLMENTS_IN_FLIGHT: z.coerce.number().int().min(0).max(10_000).default(50),
  /**
   * Start-to-close timeout of one sync attempt: how long an attempt on a worker that died blocks before Temporal
   * retries it. Given to the workflows the relay starts from now on (running ones keep theirs).
   */
  OUTBOUND_SYNC_ATTEMPT_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(120_000),
  /**
   * Graph writes the worker allows itself per 150 s per (Entra tenant, app): Graph's quota is 3,000. Lower it when
   * other apps write to the same tenant with this app registration; raise it only against the emulator.
   */
  GRAPH_WRITES_PER_WINDOW: z.coerce.number().int().min(1).max(1_000_000).default(3000),
  /**
   * Share of each window's writes (percent) that bulk syncs (enrolments, new accounts) leave to changes of accounts
   * already in Entra. 5 % of 3,000 per 150 s is one change a second; raise it for a busier HR system.
   */
  GRAPH_CHANGE_RESERVE_PERCENT: z.coerce.number().int().min(0).max(50).default(5),
  /**
   * Share of each window's writes (percent) that bulk syncs and other changes leave to lifecycle changes (accounts
   * enabled or disabled: leavers, returns), so a leaver's disable is not held up by a mass update or a push. 1 % of
   * 3,000 per 150 s is 30 per window. Both reserves together at most 50 %.
   */
  GRAPH_LIFECYCLE_RESERVE_PERCENT: z.coerce.number().int().min(0).max(50).default(1),
  /**
   * Where the worker sends invitation emails (tenants' `inviteNewEmployees`): `smtp://user:pass@host:587` (STARTTLS,
   * required when there are credentials) or `smtps://user:pass@host:465`. Holds credentials: never logged, and no
   * error message repeats it. Unset: invitations wait as pending. Only the worker needs it.
   */
  SMTP_URL: unsetIfEmpty(z.string().optional()).superRefine((v, ctx) => {
    const problem = v === undefined ? undefined : smtpUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** Instead of SMTP: write invitations as .eml files into this folder (make start: .data/mail). */
  INVITE_MAIL_DIR: unsetIfEmpty(z.string().optional()),
  /** The invitations' From, e.g. `"Acme HR" <hr@acme.example>`; required with SMTP_URL or INVITE_MAIL_DIR. */
  INVITE_FROM: unsetIfEmpty(z.string().min(3).optional()),
  /** The sign-in link in every invitation (the HR system's sign-in page); required with SMTP_URL or INVITE_MAIL_DIR. */
  INVITE_SIGN_IN_URL: unsetIfEmpty(
    z
      .string()
      .url()
      .optional()
      .refine((v) => v === undefined || /^https?:\/\//i.test(v), 'must be an http(s) URL'),
  ),
  /** api: who may switch a tenant's invitations on — `tenant` (its own admins too) or `platform` (the platform admin only). */
  INVITE_SWITCH_BY: z.enum(['tenant', 'platform']).default('tenant'),
  /** Days an invitation may wait (mail server down, retries) before it is cancelled instead of sent; 0 = no limit. */
  INVITE_MAX_AGE_DAYS: z.coerce.number().int().min(0).max(365).default(7),
  EMULATOR_HOST: z.string().default('127.0.0.1'),
  EMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(8443),
  /** Graph emulator throttling (Graph's limits); `false` for raw-speed runs. */
  EMULATOR_THROTTLING: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Graph emulator state file; defaults to .data/emulator-state.json when run alone. */
  EMULATOR_SNAPSHOT_PATH: z.string().optional(),
  /** When set, the standalone emulator seeds the development tenant with this verified domain. */
  EMULATOR_SEED_DOMAIN: z.string().optional(),
});

const ConfigSchema = ConfigFields.refine(
  (c) => c.GRAPH_CHANGE_RESERVE_PERCENT + c.GRAPH_LIFECYCLE_RESERVE_PERCENT <= 50,
  {
    message: 'GRAPH_CHANGE_RESERVE_PERCENT and GRAPH_LIFECYCLE_RESERVE_PERCENT together may reserve at most 50 %',
    path: ['GRAPH_LIFECYCLE_RESERVE_PERCENT'],
  },
).superRefine((c, ctx) => {
  if (!c.SMTP_URL && !c.INVITE_MAIL_DIR) return;
  for (const name of ['INVITE_FROM', 'INVITE_SIGN_IN_URL'] as const) {
    if (!c[name])
      ctx.addIssue({ code: 'custom', path: [name], message: 'required when SMTP_URL or INVITE_MAIL_DIR is set' });
  }
});

export type Config = z.infer<typeof ConfigSchema> & {
  /** TEMPORAL_ADDRESS was given: use that server rather than starting a dev server (make start). */
  temporalAddressGiven: boolean;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return { ...parsed.data, temporalAddressGiven: Boolean(env.TEMPORAL_ADDRESS) };
}

export function publicBaseUrl(config: Pick<Config, 'PUBLIC_BASE_URL' | 'API_HOST' | 'API_PORT'>): string {
  return (config.PUBLIC_BASE_URL ?? `http://${config.API_HOST}:${config.API_PORT}`).replace(/\/+$/, '');
}
