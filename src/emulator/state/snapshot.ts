import fs from 'node:fs';
import path from 'node:path';
import { appCertificateRecord } from '../client-assertion';
import type { AppRecord, DomainRecord, EmulatorStore, JsonObject } from './store';

/**
 * Optional persistence: the whole state (and the token signing key, so tokens the worker cached stay valid across
 * an emulator restart) as one JSON file, written atomically after changes (debounced) and on stop.
 */

interface SnapshotFile {
  version: 1;
  signingKey: string;
  tenants: {
    id: string;
    displayName: string;
    domains: DomainRecord[];
    /** `certificates` is absent in snapshots written before apps had certificates. */
    apps: (Omit<AppRecord, 'certificates'> & { certificates?: AppRecord['certificates'] })[];
    users: { id: string; props: JsonObject; managerId?: string; createdAtMs: number }[];
  }[];
}

export function writeSnapshot(file: string, store: EmulatorStore, signingKey: Buffer): void {
  const data: SnapshotFile = {
    version: 1,
    signingKey: signingKey.toString('base64'),
    tenants: [...store.tenants.values()].map((t) => ({
      id: t.id,
      displayName: t.displayName,
      domains: t.domains,
      apps: t.apps,
      users: [...t.users.values()],
    })),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Loads a snapshot into an empty store; returns the signing key, or undefined when there is no file. */
export function readSnapshot(file: string, store: EmulatorStore): Buffer | undefined {
  if (!fs.existsSync(file)) return undefined;
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotFile;
  if (data.version !== 1) throw new Error(`unsupported emulator snapshot version in ${file}`);
  for (const t of data.tenants) {
    const tenant = store.ensureTenant(t.id, t.displayName);
    tenant.domains = t.domains;
    // Certificate records are derived again from their PEM (snapshots from before certificates have none).
    tenant.apps = t.apps.map((a) => ({
      ...a,
      certificates: (a.certificates ?? []).map((c) => appCertificateRecord(c.pem)),
    }));
    for (const u of t.users) {
      tenant.users.set(u.id, { ...u });
      const upn = u.props.userPrincipalName;
      if (typeof upn === 'string') tenant.upnIndex.set(upn.toLowerCase(), u.id);
    }
  }
  return Buffer.from(data.signingKey, 'base64');
}

/** Coalesces bursts of changes into one write. */
export class SnapshotWriter {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly write: () => void,
    private readonly delayMs = 200,
  ) {}

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, this.delayMs);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.write();
  }

  get path(): string {
    return this.file;
  }
}
