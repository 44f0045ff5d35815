import type { Db } from './knex';
import { decryptSecret, encryptSecret, SecretDecryptionError } from '../crypto/secrets';
import type { AppCertificate } from '../graph/app-certificate';
import { DEFAULT_MAPPING, DEFAULT_WATCHED_ATTRIBUTES, type MappingEntry } from '../graph/mapping';

/** The stored certificate credential as the API may show it (the key and certificate stay encrypted). */
export interface StoredCertificate {
  thumbprint: string;
  notAfter: Date;
}

/** A tenant's outbound settings as stored; the client secret or certificate stays encrypted here. */
export interface OutboundSettings {
  tenantId: string;
  enabled: boolean;
  graphTenantId: string | null;
  clientId: string | null;
  hasClientSecret: boolean;
  /** Set when the app signs in with a certificate instead of a secret (one credential at a time). */
  clientCertificate: StoredCertificate | null;
  authorityHost: string | null;
  graphBaseUrl: string | null;
  mapping: MappingEntry[];
  watchedAttributes: string[];
  setManager: boolean;
  updatedAt: Date;
}

/**
 * What the worker needs to call Graph for a tenant, with the credential decrypted (keep it in memory only): a client
 * secret or a certificate, exactly one of them.
 */
export interface GraphConnection {
  graphTenantId: string;
  clientId: string;
  clientSecret?: string;
  /** Private key and certificate, PEM (src/graph/app-certificate.ts). */
  clientCertificate?: string;
  authorityHost: string | null;
  graphBaseUrl: string | null;
}

/** A row of `outbound_settings`. */
export interface OutboundSettingsRow {
  tenant_id: string;
  enabled: boolean;
  graph_tenant_id: string | null;
  client_id: string | null;
  client_secret_encrypted: Buffer | null;
  client_certificate_encrypted: Buffer | null;
  client_certificate_thumbprint: string | null;
  client_certificate_not_after: Date | null;
  authority_host: string | null;
  graph_base_url: string | null;
  mapping: MappingEntry[];
  watched_attributes: string[];
  set_manager: boolean;
  updated_at: Date;
}

const secretContext = (tenantId: string) => `outbound-settings:${tenantId}`;
// Its own context: a sealed secret copied into the certificate column (or back) does not decrypt.
const certificateContext = (tenantId: string) => `outbound-settings:${tenantId}:certificate`;

/** The encrypted credential columns, which only getGraphConnection reads. */
export type SealedColumns = 'client_secret_encrypted' | 'client_certificate_encrypted';

function fromRow(r: OutboundSettingsRow): OutboundSettings {
  return settingsFromColumns(r, r.client_secret_encrypted !== null);
}

/** Settings from their columns without the sealed credentials, e.g. the `to_jsonb` of a row read with others. */
export function settingsFromColumns(
  r: Omit<OutboundSettingsRow, SealedColumns | 'updated_at' | 'client_certificate_not_after'> & {
    updated_at: Date | string;
    client_certificate_not_after: Date | string | null;
  },
  hasClientSecret: boolean,
): OutboundSettings {
  return {
    tenantId: r.tenant_id,
    enabled: r.enabled,
    graphTenantId: r.graph_tenant_id,
    clientId: r.client_id,
    hasClientSecret,
    clientCertificate:
      r.client_certificate_thumbprint && r.client_certificate_not_after
        ? { thumbprint: r.client_certificate_thumbprint, notAfter: new Date(r.client_certificate_not_after) }
        : null,
    authorityHost: r.authority_host,
    graphBaseUrl: r.graph_base_url,
    mapping: r.mapping,
    watchedAttributes: r.watched_attributes,
    setManager: r.set_manager,
    updatedAt: new Date(r.updated_at),
  };
}

export async function getOutboundSettings(db: Db, tenantId: string): Promise<OutboundSettings | undefined> {
  const row = await db<OutboundSettingsRow>('outbound_settings').where({ tenant_id: tenantId }).first();
  return row ? fromRow(row) : undefined;
}

/**
 * The decrypted connection, or undefined when it is incomplete. `previousKeys` (SECRETS_KEY_PREVIOUS) still decrypt
 * what was stored before a key rotation.
 */
export async function getGraphConnection(
  db: Db,
  tenantId: string,
  secretsKey: Buffer,
  previousKeys: readonly Buffer[] = [],
): Promise<GraphConnection | undefined> {
  const row = await db<OutboundSettingsRow>('outbound_settings').where({ tenant_id: tenantId }).first();
  if (!row?.graph_tenant_id || !row.client_id) return undefined;
  const keys = [secretsKey, ...previousKeys];
  const credential = row.client_certificate_encrypted
    ? { clientCertificate: decryptSecret(row.client_certificate_encrypted, keys, certificateContext(tenantId)) }
    : row.client_secret_encrypted
      ? { clientSecret: decryptSecret(row.client_secret_encrypted, keys, secretContext(tenantId)) }
      : undefined;
  if (!credential) return undefined;
  return {
    graphTenantId: row.graph_tenant_id,
    clientId: row.client_id,
    ...credential,
    authorityHost: row.authority_host,
    graphBaseUrl: row.graph_base_url,
  };
}

export interface OutboundSettingsPatch {
  enabled?: boolean;
  graphTenantId?: string | null;
  clientId?: string | null;
  /** Write-only: stored encrypted, never read back through the API. Replaces a stored certificate. */
  clientSecret?: string;
  /** Write-only like the secret, already checked (parseAppCertificate). Replaces a stored secret. */
  clientCertificate?: AppCertificate;
  authorityHost?: string | null;
  graphBaseUrl?: string | null;
  mapping?: MappingEntry[];
  watchedAttributes?: string[];
  setManager?: boolean;
}

/** Creates or updates the tenant's settings; fields left out keep their value (defaults on first write). */
export async function upsertOutboundSettings(
  db: Db,
  tenantId: string,
  patch: OutboundSettingsPatch,
  secretsKey: Buffer | undefined,
): Promise<OutboundSettings> {
  const values: Partial<Omit<OutboundSettingsRow, 'updated_at'>> & { updated_at: unknown } = {
    updated_at: db.fn.now(),
  };
  if (patch.enabled !== undefined) values.enabled = patch.enabled;
  if (patch.graphTenantId !== undefined) values.graph_tenant_id = patch.graphTenantId;
  if (patch.clientId !== undefined) values.client_id = patch.clientId;
  if (patch.authorityHost !== undefined) values.authority_host = patch.authorityHost;
  if (patch.graphBaseUrl !== undefined) values.graph_base_url = patch.graphBaseUrl;
  if (patch.setManager !== undefined) values.set_manager = patch.setManager;
  if (patch.mapping !== undefined) values.mapping = JSON.stringify(patch.mapping) as unknown as MappingEntry[];
  if (patch.watchedAttributes !== undefined) {
    values.watched_attributes = JSON.stringify(patch.watchedAttributes) as unknown as string[];
  }
  if (patch.clientSecret !== undefined && patch.clientCertificate !== undefined) {
    throw new Error('give a client secret or a certificate, not both: the app signs in with one credential');
  }
  if (patch.clientSecret !== undefined) {
    if (!secretsKey) throw new Error('SECRETS_KEY is not configured; cannot store a client secret');
    values.client_secret_encrypted = encryptSecret(patch.clientSecret, secretsKey, secretContext(tenantId));
    values.client_certificate_encrypted = null;
    values.client_certificate_thumbprint = null;
    values.client_certificate_not_after = null;
  }
  if (patch.clientCertificate !== undefined) {
    if (!secretsKey) throw new Error('SECRETS_KEY is not configured; cannot store a client certificate');
    const cert = patch.clientCertificate;
    values.client_certificate_encrypted = encryptSecret(cert.pem, secretsKey, certificateContext(tenantId));
    values.client_certificate_thumbprint = cert.thumbprint;
    values.client_certificate_not_after = cert.notAfter;
    values.client_secret_encrypted = null;
  }
  const insert = {
    tenant_id: tenantId,
    mapping: JSON.stringify(DEFAULT_MAPPING),
    watched_attributes: JSON.stringify(DEFAULT_WATCHED_ATTRIBUTES),
    ...values,
  };
  const [row] = await db('outbound_settings')
    .insert(insert)
    .onConflict('tenant_id')
    .merge(Object.keys(values))
    .returning<OutboundSettingsRow[]>('*');
  return fromRow(row!);
}

/**
 * For the dev launcher: points the tenant at a Graph (the emulator in `make start`). The first time, it also writes
 * the default mapping (names, job title, department, office location, employee id; lifecycle → accountEnabled and
 * the manager relationship always) and watched attributes and switches outbound provisioning on. Later starts only
 * refresh the connection, so an admin's mapping, switch or certificate survives a restart.
 */
export async function seedDefaultOutboundSettings(
  db: Db,
  tenantId: string,
  connection: {
    graphTenantId: string;
    clientId: string;
    clientSecret: string;
    authorityHost?: string;
    graphBaseUrl?: string;
  },
  secretsKey: Buffer,
): Promise<OutboundSettings> {
  const existing = await getOutboundSettings(db, tenantId);
  // An admin who switched the same app to a certificate (and uploaded it to the emulator) keeps it across restarts.
  const keepsCertificate =
    !!existing?.clientCertificate &&
    existing.graphTenantId === connection.graphTenantId &&
    existing.clientId === connection.clientId;
  const connectionPatch: OutboundSettingsPatch = {
    graphTenantId: connection.graphTenantId,
    clientId: connection.clientId,
    ...(keepsCertificate ? {} : { clientSecret: connection.clientSecret }),
    authorityHost: connection.authorityHost ?? null,
    graphBaseUrl: connection.graphBaseUrl ?? null,
  };
  if (existing) return upsertOutboundSettings(db, tenantId, connectionPatch, secretsKey);
  return upsertOutboundSettings(
    db,
    tenantId,
    {
      ...connectionPatch,
      enabled: true,
      mapping: DEFAULT_MAPPING,
      watchedAttributes: DEFAULT_WATCHED_ATTRIBUTES,
      setManager: true,
    },
    secretsKey,
  );
}

/**
 * Encrypts every stored client secret and certificate again under `secretsKey`, reading each with it or one of
 * `previousKeys`: the last step of a SECRETS_KEY rotation, after which SECRETS_KEY_PREVIOUS can go. Returns how many
 * credentials were encrypted again; throws (changing nothing) if one opens with none of the keys.
 */
export async function reencryptSecrets(db: Db, secretsKey: Buffer, previousKeys: readonly Buffer[]): Promise<number> {
  const keys = [secretsKey, ...previousKeys];
  return db.transaction(async (trx) => {
    const rows = await trx<OutboundSettingsRow>('outbound_settings')
      .where((q) => q.whereNotNull('client_secret_encrypted').orWhereNotNull('client_certificate_encrypted'))
      .orderBy('tenant_id')
      .forUpdate();
    let count = 0;
    const open = (sealed: Buffer, context: string, tenantId: string) => {
      try {
        return decryptSecret(sealed, keys, context);
      } catch (err) {
        throw new SecretDecryptionError(
          `the stored credential of tenant ${tenantId} opens with neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS; nothing was changed`,
          { cause: err },
        );
      }
    };
    for (const row of rows) {
      const values: Partial<OutboundSettingsRow> = {};
      if (row.client_secret_encrypted) {
        const context = secretContext(row.tenant_id);
        const plain = open(row.client_secret_encrypted, context, row.tenant_id);
        values.client_secret_encrypted = encryptSecret(plain, secretsKey, context);
        count++;
      }
      if (row.client_certificate_encrypted) {
        const context = certificateContext(row.tenant_id);
        const plain = open(row.client_certificate_encrypted, context, row.tenant_id);
        values.client_certificate_encrypted = encryptSecret(plain, secretsKey, context);
        count++;
      }
      await trx('outbound_settings').where({ tenant_id: row.tenant_id }).update(values);
    }
    return count;
  });
}
