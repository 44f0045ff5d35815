import type { TokenCredential } from '@azure/identity';
import type { GraphConnection } from '../db/outbound-settings';
import { storedCertificate, thumbprintOf } from './app-certificate';
import { createCredential, createGraphClient, graphOrigin, graphScope } from './client';
import { GraphDirectory, isRegisteredElsewhereDenial, registeredForUsers } from './directory';
import { classifyGraphError, LEAVE_DATE_PERMISSION, ProvisioningError, REQUIRED_PERMISSION } from './errors';
import { extensionAppId, extensionTargets, type MappingEntry } from './mapping';

/**
 * "Test connection": can we sign in, and may the app read what every sync reads (verified domains, extension
 * definitions, users)? The answer names each missing application permission. Write permission cannot be probed
 * without writing, so it is read from the token's `roles` claim when the token is a JWT that carries one.
 */
export interface ConnectionCheck {
  name: 'token' | 'verifiedDomains' | 'extensionProperties' | 'readUsers' | 'writeUsers' | 'writeLeaveDate' | 'mapping';
  ok: boolean;
  detail: string;
}

export interface ConnectionTestResult {
  ok: boolean;
  checks: ConnectionCheck[];
  missingPermissions: string[];
  verifiedDomains: string[];
  extensionProperties: Array<{ name: string; isMultiValued: boolean; dataType: string; targetObjects?: string[] }>;
  /** What works now but needs an admin soon, e.g. a certificate close to its expiry. */
  warnings: string[];
}

/** A certificate expiring within this many days is named in Test connection's warnings. */
export const CERTIFICATE_RENEWAL_DAYS = 30;
const DAY_MS = 86_400_000;

const WRITE_ROLES = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];

/** The `roles` claim of a JWT access token, or undefined when it is not a readable JWT. */
export function tokenRoles(token: string): string[] | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { roles?: unknown };
    return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return undefined;
  }
}

export async function testGraphConnection(
  conn: GraphConnection,
  opts: { mapping?: MappingEntry[]; extraCaPem?: string } = {},
): Promise<ConnectionTestResult> {
  const checks: ConnectionCheck[] = [];
  const missing = new Set<string>();
  const result: ConnectionTestResult = {
    ok: false,
    checks,
    missingPermissions: [],
    verifiedDomains: [],
    extensionProperties: [],
    warnings: [],
  };
  const certificate = conn.clientCertificate ? storedCertificate(conn.clientCertificate) : undefined;
  if (certificate) {
    const notAfter = new Date(certificate.validTo);
    const daysLeft = Math.floor((notAfter.getTime() - Date.now()) / DAY_MS);
    if (notAfter.getTime() <= Date.now()) {
      result.warnings.push(
        `The certificate expired on ${notAfter.toISOString()}: make a new one, upload it to the app registration and give it in the outbound settings.`,
      );
    } else if (daysLeft < CERTIFICATE_RENEWAL_DAYS) {
      result.warnings.push(
        `The certificate expires on ${notAfter.toISOString()} (in ${daysLeft} days): make a new one, upload it to the app registration and give it in the outbound settings before then.`,
      );
    }
  }

  const credential: TokenCredential = createCredential(conn, opts.extraCaPem);
  let roles: string[] | undefined;
  try {
    const token = await credential.getToken(graphScope(conn.graphBaseUrl));
    if (!token) throw new Error('no token returned');
    roles = tokenRoles(token.token);
    checks.push({
      name: 'token',
      ok: true,
      detail: certificate
        ? `signed in with the client id and the certificate (thumbprint ${thumbprintOf(certificate)})`
        : 'signed in with the client id and secret',
    });
  } catch (err) {
    checks.push({ name: 'token', ok: false, detail: classifyGraphError(err, 'token').message });
    return result;
  }

  const directory = new GraphDirectory(
    createGraphClient(conn, { credential, extraCaPem: opts.extraCaPem }),
    graphOrigin(conn.graphBaseUrl),
  );
  const probe = async <T>(
    name: ConnectionCheck['name'],
    op: keyof typeof REQUIRED_PERMISSION,
    fn: () => Promise<T>,
    ok: (v: T) => string,
  ) => {
    try {
      const value = await fn();
      checks.push({ name, ok: true, detail: ok(value) });
      return value;
    } catch (err) {
      const c = err instanceof ProvisioningError ? err : classifyGraphError(err, op);
      if (c.type === 'PermissionDenied') missing.add(c.info.missingPermission ?? REQUIRED_PERMISSION[op]);
      checks.push({ name, ok: false, detail: c.message });
      return undefined;
    }
  };

  const domains = await probe(
    'verifiedDomains',
    'domains',
    () => directory.verifiedDomains(),
    (d) => `verified domains: ${d.join(', ') || 'none'}`,
  );
  result.verifiedDomains = domains ?? [];
  // Every app whose extension properties the mapping writes, and the connection's own app registration (where
  // extension properties for provisioning are usually registered). Unless the mapping writes its extensions, the
  // own app may be a multi-tenant app registered elsewhere, whose list would need Directory.Read.All: shown empty.
  const mappedApps = [...new Set(extensionTargets(opts.mapping ?? []).map(extensionAppId))].filter(
    (id): id is string => id !== undefined,
  );
  const ownApp = mappedApps.includes(conn.clientId) ? [] : [conn.clientId];
  let appsRead = mappedApps.length + ownApp.length;
  const exts = await probe(
    'extensionProperties',
    'extensions',
    async () => {
      const [mapped, own] = await Promise.all([
        directory.extensionDefinitions(mappedApps),
        directory.extensionDefinitions(ownApp).catch((err: unknown) => {
          if (!isRegisteredElsewhereDenial(err)) throw err;
          appsRead -= 1;
          return [];
        }),
      ]);
      return [...mapped, ...own];
    },
    (e) => `${e.length} extension properties readable on ${appsRead} app registration(s)`,
  );
  result.extensionProperties = exts ?? [];
  await probe(
    'readUsers',
    'lookup',
    () => directory.findUserByUpn(`entra-sync-connection-test@${domains?.[0] ?? 'invalid.example'}`, ['id']),
    () => 'users are readable',
  );

  if (roles !== undefined) {
    const canWrite = roles.some((r) => WRITE_ROLES.includes(r));
    if (!canWrite) missing.add('User.ReadWrite.All');
    checks.push({
      name: 'writeUsers',
      ok: canWrite,
      detail: canWrite
        ? 'the token grants creating and updating users'
        : 'the token grants neither User.ReadWrite.All nor Directory.ReadWrite.All',
    });
    if (opts.mapping?.some((m) => m.target === 'employeeLeaveDateTime')) {
      const canWriteLeaveDate = roles.includes(LEAVE_DATE_PERMISSION);
      if (!canWriteLeaveDate) missing.add(LEAVE_DATE_PERMISSION);
      checks.push({
        name: 'writeLeaveDate',
        ok: canWriteLeaveDate,
        detail: canWriteLeaveDate
          ? `the token grants ${LEAVE_DATE_PERMISSION}, which writing employeeLeaveDateTime needs`
          : `the mapping writes employeeLeaveDateTime, which needs ${LEAVE_DATE_PERMISSION}; the token does not grant it`,
      });
    }
  }

  if (opts.mapping && exts) {
    const problems: string[] = [];
    for (const name of extensionTargets(opts.mapping)) {
      const def = exts.find((e) => e.name.toLowerCase() === name.toLowerCase());
      if (!def) problems.push(`${name} is not registered`);
      else if (!registeredForUsers(def))
        problems.push(`${name} is registered for ${def.targetObjects!.join(', ')}, not for users`);
      else if (def.isMultiValued)
        problems.push(`${name} is multi-valued (only single-valued extension properties are supported)`);
    }
    checks.push({
      name: 'mapping',
      ok: problems.length === 0,
      detail: problems.length
        ? problems.join('; ')
        : 'every mapped extension property exists, is registered for users and is single-valued',
    });
  }

  result.missingPermissions = [...missing];
  result.ok = checks.every((c) => c.ok);
  return result;
}
