import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { defaultDevSeed, DEV_APP_ID, DEV_CLIENT_SECRET, DEV_TENANT_ID } from '../src/emulator';
import { runAsScript } from './lib/main';

/**
 * `make bench` part: requests per second the Graph emulator serves for GET and PATCH of a user, throttling off,
 * over keep-alive HTTPS. The emulator runs in a child process so the load generator (this process) does not steal
 * its event loop; target ≥ 5,000 req/s each so the emulator is never the bottleneck of outbound benchmarks.
 * Ends with one JSON line: {"bench":"graph-emulator","get_rps":…,"patch_rps":…}.
 *
 *   node dist/bench/graph-emulator.js [--duration=5] [--concurrency=32]
 */

interface Options {
  durationS: number;
  concurrency: number;
}

function parseArgs(argv: readonly string[]): Options {
  const get = (name: string, fallback: number): number => {
    const hit = argv.find((a) => a.startsWith(`--${name}=`));
    const v = hit ? Number(hit.slice(name.length + 3)) : fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    return v;
  };
  return { durationS: get('duration', 5), concurrency: get('concurrency', 32) };
}

/** Child mode: start the emulator (throttling and request log off) and report its URL over IPC. */
async function serve(certDir: string): Promise<void> {
  const { ensureEmulatorCertificate, startGraphEmulator } = await import('../src/emulator');
  const tls = ensureEmulatorCertificate(certDir);
  const emu = await startGraphEmulator({ port: 0, tls, throttling: false, logRequests: false });
  process.send?.({ url: emu.url });
  process.on('disconnect', () => void emu.stop().then(() => process.exit(0)));
}

interface Res {
  status: number;
  body: string;
}

function request(
  agent: https.Agent,
  base: URL,
  method: string,
  p: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request({ method, hostname: base.hostname, port: base.port, path: p, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Runs `concurrency` request loops for `durationS`; returns completed requests per second. */
async function load(
  opts: Options,
  once: (i: number) => Promise<Res>,
  expected: number,
): Promise<{ rps: number; errors: number }> {
  const deadline = Date.now() + opts.durationS * 1000;
  let done = 0;
  let errors = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, worker) => {
      let i = worker;
      while (Date.now() < deadline) {
        const r = await once(i);
        i += opts.concurrency;
        if (r.status === expected) done++;
        else errors++;
      }
    }),
  );
  return { rps: Math.round(done / ((Date.now() - started) / 1000)), errors };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<{ get_rps: number; patch_rps: number }> {
  const opts = parseArgs(argv);
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-bench-'));
  const child: ChildProcess = fork(__filename, ['--serve', certDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: { url: string }) => resolve(m.url));
      child.once('exit', (code) => reject(new Error(`emulator child exited with ${code}`)));
    });
    const ca = fs.readFileSync(path.join(certDir, 'cert.pem'), 'utf8');
    const base = new URL(url);
    const agent = new https.Agent({ keepAlive: true, maxSockets: opts.concurrency, ca });
    const json = { 'Content-Type': 'application/json' };

    const seed = defaultDevSeed({ domain: 'bench.example' });
    const users = Array.from({ length: 200 }, (_, i) => ({
      userPrincipalName: `user${i}@bench.example`,
      displayName: `User ${i}`,
      accountEnabled: true,
    }));
    seed.tenants[0]!.users = users;
    const seeded = await request(agent, base, 'POST', '/_emulator/seed', json, JSON.stringify(seed));
    if (seeded.status !== 200) throw new Error(`seed failed: ${seeded.status} ${seeded.body}`);
    const ids = (JSON.parse(seeded.body) as { tenants: { users: { id: string }[] }[] }).tenants[0]!.users.map(
      (u) => u.id,
    );
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: DEV_APP_ID,
      client_secret: DEV_CLIENT_SECRET,
      scope: 'https://graph.microsoft.com/.default',
    });
    const tok = await request(
      agent,
      base,
      'POST',
      `/${DEV_TENANT_ID}/oauth2/v2.0/token`,
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      form.toString(),
    );
    const auth = { Authorization: `Bearer ${(JSON.parse(tok.body) as { access_token: string }).access_token}` };
    const ext = `extension_${DEV_APP_ID.replace(/-/g, '')}_hrId`;

    const get = (i: number): Promise<Res> =>
      request(
        agent,
        base,
        'GET',
        `/v1.0/users/${ids[i % ids.length]}?$select=id,displayName,accountEnabled,${ext}`,
        auth,
      );
    const patch = (i: number): Promise<Res> =>
      request(
        agent,
        base,
        'PATCH',
        `/v1.0/users/${ids[i % ids.length]}`,
        { ...auth, ...json },
        JSON.stringify({ jobTitle: `Title ${i}`, [ext]: `HR-${i}` }),
      );

    await load({ ...opts, durationS: 1 }, get, 200); // warm-up: TLS sessions, JIT
    console.log(
      `graph emulator at ${url}, throttling off, ${opts.concurrency} keep-alive connections, ${opts.durationS}s per phase`,
    );
    const g = await load(opts, get, 200);
    console.log(
      `GET   /v1.0/users/{id}?$select=…  ${g.rps} req/s${g.errors ? ` (${g.errors} unexpected statuses)` : ''}`,
    );
    const p = await load(opts, patch, 204);
    console.log(
      `PATCH /v1.0/users/{id}            ${p.rps} req/s${p.errors ? ` (${p.errors} unexpected statuses)` : ''}`,
    );
    agent.destroy();
    const figures = { get_rps: g.rps, patch_rps: p.rps };
    console.log(JSON.stringify({ bench: 'graph-emulator', ...figures }));
    return figures;
  } finally {
    child.disconnect();
    fs.rmSync(certDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv[2] === '--serve') {
    void serve(process.argv[3]!);
  } else {
    runAsScript(() => main());
  }
}
