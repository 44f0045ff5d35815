import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { createDb, ensureDatabase, migrateLatest, withDatabase } from '../src/db/knex';
import { createTenant } from '../src/db/tenants';
import { issueToken } from '../src/db/tokens';
import { stopChild, waitForPort } from '../src/dev/temporal-dev-server';
import { JsonClient, percentile, runLoad } from './lib/load';
import { parseNumberOptions } from './lib/args';

/**
 * bench/scim-load — an Entra-like SCIM mix against the api: filter GET 50 %, user PATCH 30 %, POST 15 %, group
 * member PATCH 5 %, `concurrency` clients for `seconds`. Prints req/s, p50/p95/p99 and errors, then the raw rate of
 * single-row PostgreSQL transactions on the same server with the same concurrency, so the ratio shows.
 *
 *   node dist/bench/scim-load.js [--seconds 20] [--concurrency 16] [--users 2000] [--groups 20]
 * With SCIM_BASE_URL and SCIM_TOKEN set it targets that api instead of starting its own (then pg_tps is skipped
 * unless BENCH_DATABASE_URL is given). BENCH_API_NODE_ARGS passes flags to the api's node, e.g. "--cpu-prof"; API_WORKERS sets its process count.
 */
interface Options {
  seconds: number;
  concurrency: number;
  users: number;
  groups: number;
}

function parseArgs(argv: string[]): Options {
  return parseNumberOptions<Options>(argv, { seconds: 20, concurrency: 16, users: 2000, groups: 20 });
}

interface Stack {
  scimBaseUrl: string;
  token: string;
  databaseUrl?: string;
  stop(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sync-bench-'));
  const pgPort = 55000 + Math.floor(Math.random() * 5000);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort, persistent: false });
  await ensureDatabase(pg.url, 'entra_sync_bench');
  // Same machine: the api (and the raw PostgreSQL comparison) use the Unix socket, as a single-box deployment would.
  const databaseUrl = withDatabase(pg.socketUrl, 'entra_sync_bench');
  const db = createDb({ url: databaseUrl, poolMax: 2 });
  await migrateLatest(db);
  const tenant = await createTenant(db, { name: 'Bench' });
  const { token } = await issueToken(db, { tenantId: tenant.id, kind: 'scim', name: 'bench' });
  await db.destroy();
  const apiPort = pgPort + 1;
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const api: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(__dirname, '../src/bin/api.js')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      API_PORT: String(apiPort),
      LOG_LEVEL: 'warn',
      API_WORKERS: process.env.API_WORKERS ?? '1',
      // Unreachable on purpose: SCIM must not depend on Temporal.
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort('127.0.0.1', apiPort, api, 30_000);
  return {
    scimBaseUrl: `http://127.0.0.1:${apiPort}/scim/v2`,
    token,
    databaseUrl,
    async stop() {
      await stopChild(api);
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const USER_SCHEMAS = [
  'urn:ietf:params:scim:schemas:core:2.0:User',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
];
const PATCH_SCHEMA = ['urn:ietf:params:scim:api:messages:2.0:PatchOp'];
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];

function newUser(n: string) {
  return {
    schemas: USER_SCHEMAS,
    externalId: `ext-${n}`,
    userName: `user.${n}@bench.example`,
    active: true,
    emails: [{ primary: true, type: 'work', value: `user.${n}@bench.example` }],
    name: { givenName: 'Given', familyName: `Family ${n}` },
    title: 'Engineer',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
  };
}

async function seed(
  client: JsonClient,
  opts: Options,
): Promise<{ users: Array<{ id: string; userName: string }>; groups: string[] }> {
  const users: Array<{ id: string; userName: string }> = [];
  const groups: string[] = [];
  const batch = 16;
  for (let i = 0; i < opts.users; i += batch) {
    const created = await Promise.all(
      Array.from({ length: Math.min(batch, opts.users - i) }, (_, k) =>
        client.request('POST', '/Users', newUser(`seed-${i + k}-${process.pid}`)),
      ),
    );
    for (const r of created) {
      if (r.status !== 201) throw new Error(`seeding a user failed: ${r.status} ${r.body}`);
      const body = JSON.parse(r.body) as { id: string; userName: string };
      users.push({ id: body.id, userName: body.userName });
    }
  }
  for (let g = 0; g < opts.groups; g++) {
    const r = await client.request('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: `Bench team ${g} ${process.pid}`,
      externalId: `grp-${g}-${process.pid}`,
    });
    if (r.status !== 201) throw new Error(`seeding a group failed: ${r.status} ${r.body}`);
    groups.push((JSON.parse(r.body) as { id: string }).id);
  }
  return { users, groups };
}

async function pgTransactionsPerSecond(databaseUrl: string, concurrency: number, seconds: number): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: concurrency });
  await pool.query('CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, v text NOT NULL)');
  const result = await runLoad(concurrency, seconds, async () => {
    await pool.query('INSERT INTO bench_rows (v) VALUES ($1)', ['x']);
    return true;
  });
  await pool.query('DROP TABLE bench_rows');
  await pool.end();
  return result.requests / result.seconds;
}

export async function main(argv = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const opts = parseArgs(argv);
  const external = process.env.SCIM_BASE_URL && process.env.SCIM_TOKEN;
  const stack: Stack = external
    ? {
        scimBaseUrl: process.env.SCIM_BASE_URL!,
        token: process.env.SCIM_TOKEN!,
        databaseUrl: process.env.BENCH_DATABASE_URL,
        stop: async () => undefined,
      }
    : await startStack();
  const client = new JsonClient(
    stack.scimBaseUrl,
    { authorization: `Bearer ${stack.token}`, accept: 'application/scim+json' },
    opts.concurrency,
  );
  try {
    console.log(`seeding ${opts.users} users and ${opts.groups} groups…`);
    const { users, groups } = await seed(client, opts);
    let posted = 0;
    const steps: Array<[number, () => Promise<boolean | string>]> = [
      [
        50,
        async () => {
          const u = pick(users);
          const r = await client.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${u.userName}"`)}`);
          return (r.status === 200 && r.body.includes(u.id)) || `GET ${r.status} ${r.body}`;
        },
      ],
      [
        30,
        async () => {
          const u = pick(users);
          const r = await client.request('PATCH', `/Users/${u.id}`, {
            schemas: PATCH_SCHEMA,
            Operations: [
              { op: 'Replace', path: 'title', value: `Title ${Math.random().toString(36).slice(2, 8)}` },
              {
                op: 'Replace',
                path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
                value: pick(['R&D', 'Sales', 'Ops']),
              },
            ],
          });
          return r.status === 200 || r.status === 204 || `PATCH user ${r.status} ${r.body}`;
        },
      ],
      [
        15,
        async () => {
          const r = await client.request(
            'POST',
            '/Users',
            newUser(`load-${process.pid}-${posted++}-${Math.random().toString(36).slice(2)}`),
          );
          if (r.status !== 201) return `POST ${r.status} ${r.body}`;
          const body = JSON.parse(r.body) as { id: string; userName: string };
          users.push({ id: body.id, userName: body.userName });
          return true;
        },
      ],
      [
        5,
        async () => {
          const r = await client.request('PATCH', `/Groups/${pick(groups)}`, {
            schemas: PATCH_SCHEMA,
            Operations: [{ op: 'Add', path: 'members', value: [{ value: pick(users).id }] }],
          });
          return r.status === 204 || r.status === 200 || `PATCH group ${r.status} ${r.body}`;
        },
      ],
    ];
    const labels = ['filter GET', 'user PATCH', 'user POST', 'group member PATCH'];
    const perOp = new Map<string, number[]>(labels.map((l) => [l, []]));
    const step = async () => {
      let roll = Math.random() * 100;
      let i = 0;
      while (i < steps.length - 1 && roll >= steps[i][0]) roll -= steps[i++][0];
      const t0 = performance.now();
      const outcome = await steps[i][1]();
      perOp.get(labels[i])!.push(performance.now() - t0);
      return outcome;
    };
    console.log(`warming up…`);
    await runLoad(opts.concurrency, 3, step);
    for (const l of labels) perOp.set(l, []);
    console.log(`running the Entra mix: ${opts.concurrency} clients for ${opts.seconds} s…`);
    const load = await runLoad(opts.concurrency, opts.seconds, step);
    const sorted = load.latenciesMs.sort((a, b) => a - b);
    const pgTps = stack.databaseUrl
      ? await pgTransactionsPerSecond(stack.databaseUrl, opts.concurrency, Math.min(10, opts.seconds))
      : null;
    const figures = {
      bench: 'scim-load',
      rps: Math.round(load.requests / load.seconds),
      p50_ms: Number(percentile(sorted, 50).toFixed(2)),
      p95_ms: Number(percentile(sorted, 95).toFixed(2)),
      p99_ms: Number(percentile(sorted, 99).toFixed(2)),
      errors: load.errors,
      pg_tps: pgTps === null ? null : Math.round(pgTps),
    };
    console.log(`requests ${load.requests} in ${load.seconds.toFixed(1)} s → ${figures.rps} req/s`);
    console.log(
      `latency p50 ${figures.p50_ms} ms · p95 ${figures.p95_ms} ms · p99 ${figures.p99_ms} ms · errors ${load.errors}`,
    );
    for (const [label, ms] of perOp) {
      const sortedOp = ms.sort((a, b) => a - b);
      console.log(
        `  ${label.padEnd(20)} n=${String(ms.length).padStart(6)}  p50 ${percentile(sortedOp, 50).toFixed(1)} ms  p99 ${percentile(sortedOp, 99).toFixed(1)} ms`,
      );
    }
    if (load.errorSamples.length) console.log(`first errors:\n  ${load.errorSamples.join('\n  ')}`);
    if (pgTps !== null)
      console.log(
        `raw PostgreSQL single-row transactions: ${figures.pg_tps}/s (api reaches ${((figures.rps / pgTps) * 100).toFixed(0)} % of it)`,
      );
    console.log(JSON.stringify(figures));
    return figures;
  } finally {
    client.close();
    await stack.stop();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
