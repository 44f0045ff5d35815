import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The emulator speaks HTTPS only: the Graph JS client adds `Authorization` only for https URLs, and
 * `@azure/identity` refuses an http authority (graph.md §13). The certificate is self-signed for 127.0.0.1,
 * ::1 and localhost, made a CA so it can be trusted through `NODE_EXTRA_CA_CERTS`.
 *
 * `selfsigned` 5 is async-only, but callers want this synchronously at start-up (before any server exists), so
 * generation runs once in a short child Node process; afterwards the files are just read.
 */

const GENERATOR = `
const selfsigned = require(process.argv[1]);
const fs = require('node:fs');
const path = require('node:path');
(async () => {
  const notBeforeDate = new Date(Date.now() - 24 * 3600 * 1000);
  const notAfterDate = new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'entra-sync graph emulator' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' } ] },
    ],
  });
  const dir = process.argv[2];
  const tmp = '.' + process.pid + '.tmp';
  fs.writeFileSync(path.join(dir, 'key.pem' + tmp), pems.private, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'cert.pem' + tmp), pems.cert);
  fs.renameSync(path.join(dir, 'key.pem' + tmp), path.join(dir, 'key.pem'));
  fs.renameSync(path.join(dir, 'cert.pem' + tmp), path.join(dir, 'cert.pem'));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function generate(dir: string): void {
  const result = spawnSync(process.execPath, ['-e', GENERATOR, require.resolve('selfsigned'), dir], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `could not generate the emulator certificate in ${dir}: ${result.stderr || result.error?.message || 'unknown error'}`,
    );
  }
}

/** Generates (once) a self-signed cert for 127.0.0.1/localhost into dir (cert.pem, key.pem) and returns {cert, key, certPath}. */
export function ensureEmulatorCertificate(dir: string): { cert: string; key: string; certPath: string } {
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  // cert.pem is renamed into place after key.pem, so its presence means the pair is complete.
  const ready = (): boolean => fs.existsSync(certPath) && fs.existsSync(keyPath);
  if (!ready()) {
    fs.mkdirSync(dir, { recursive: true });
    // Several processes (jest workers, the dev launcher) may start at once: one generates, the others wait, so a
    // key never ends up paired with another process's certificate.
    const lock = path.join(dir, '.generating');
    const deadline = Date.now() + 90_000;
    while (!ready()) {
      let owner = false;
      try {
        fs.mkdirSync(lock);
        owner = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (owner) {
        try {
          if (!ready()) generate(dir);
        } finally {
          fs.rmSync(lock, { recursive: true, force: true });
        }
        break;
      }
      // A lock left behind by a crashed process is stale after a minute.
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the emulator certificate in ${dir}`);
      sleepSync(100);
    }
  }
  return { cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8'), certPath };
}
