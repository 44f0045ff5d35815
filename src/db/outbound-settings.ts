import type { Db } from './knex';
import { decryptSecret, encryptSecret } from '../crypto/secrets';
import { DEFAULT_MAPPING, DEFAULT_WATCHED_ATTRIBUTES, type MappingEntry } from '../graph/mapping';

/** A tenant's outbound settings as stored; the client secret stays encrypted here. */
export interface OutboundSettings {
  tenantId: string;
  enabled: boolean;
  graphTenantId: string | null;
  clientId: string | null;
  hasClientSecret: boolean;
  authorityHost: string | null;
  graphBaseUrl: string | null;
  mapping: MappingEntry[];
  watchedAttributes: string[];
  setManager: boolean;
  updatedAt: Date;
}

/** What the worker needs to call Graph for a tenant, with the secret decrypted (keep it in memory only). */
export interface GraphConnection {
  graphTenantId: string;
  clientId: string;
  clientSecret: string;
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
  authority_host: string | null;
  graph_base_url: string | null;
  mapping: MappingEntry[];
  watched_attributes: string[];
  set_manager: boolean;
  updated_at: Date;
}

const secretContext = (tenantId: string) => `outbound-settings:${tenantId}`;

function fromRow(r: OutboundSettingsRow): OutboundSettings {
  return settingsFromColumns(r, r.client_secret_encrypted !== null);
}

/** Settings from their columns without the secret, e.g. the `to_jsonb` of a row read together with others. */
export function settingsFromColumns(
  r: Omit<OutboundSettingsRow, 'client_secret_encrypted' | 'updated_at'> & { updated_at: Date | string },
  hasClientSecret: boolean,
): OutboundSettings {
  return {
    tenantId: r.tenant_id,
    enabled: r.enabled,
    graphTenantId: r.graph_tenant_id,
    clientId: r.client_id,
    hasClientSecret,
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

/** The decrypted connection, or undefined when it is incomplete. */
export async function getGraphConnection(
  db: Db,
  tenantId: string,
  secretsKey: Buffer,
): Promise<GraphConnection | undefined> {
  const row = await db<OutboundSettingsRow>('outbound_settings').where({ tenant_id: tenantId }).first();
  if (!row?.graph_tenant_id || !row.client_id || !row.client_secret_encrypted) return undefined;
  return {
    graphTenantId: row.graph_tenant_id,
    clientId: row.client_id,
    clientSecret: decryptSecret(row.client_secret_encrypted, secretsKey, secretContext(tenantId)),
    authorityHost: row.authority_host,
    graphBaseUrl: row.graph_base_url,
  };
}

export interface OutboundSettingsPatch {
  enabled?: boolean;
  graphTenantId?: string | null;
  clientId?: string | null;
  /** Write-only: stored encrypted, never read back through the API. */
  clientSecret?: string;
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
  if (patch.clientSecret !== undefined) {
    if (!secretsKey) throw new Error('SECRETS_KEY is not configured; cannot store a client secret');
    values.client_secret_encrypted = encryptSecret(patch.clientSecret, secretsKey, secretContext(tenantId));
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
 * refresh the connection, so an admin's mapping or switch survives a restart.
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
  const connectionPatch: OutboundSettingsPatch = {
    graphTenantId: connection.graphTenantId,
    clientId: connection.clientId,
    clientSecret: connection.clientSecret,
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
