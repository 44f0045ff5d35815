import type { Client as TemporalClient } from '@temporalio/client';
import type { Db } from '../db/knex';
import type { GraphConnector } from '../graph/connector';
import type { Logger } from '../logger';

/** What the HTTP api needs from the outside world; tests build it with real or test parts. */
export interface ApiDeps {
  db: Db;
  logger: Logger;
  /** Absolute base URL of this api as clients see it, without trailing slash (SCIM meta.location). */
  publicBaseUrl: string;
  maxBodyBytes: number;
  /** Temporal client for provisioning status, retry and preview; absent when the api runs without Temporal. */
  temporal?: TemporalClient;
  temporalTaskQueue?: string;
  /** Encrypts stored Graph client secrets (32 bytes). */
  secretsKey?: Buffer;
  /** Keys of before a SECRETS_KEY rotation that still decrypt stored credentials (SECRETS_KEY_PREVIOUS). */
  previousSecretsKeys?: readonly Buffer[];
  /** Extra trusted CA (PEM) for Graph calls of test connection and preview (the emulator's certificate in tests). */
  graphExtraCaPem?: string;
  /** Origins besides Microsoft's clouds that outbound settings may point at (GRAPH_ALLOWED_ORIGINS; src/graph/endpoints.ts). */
  graphAllowedOrigins?: readonly string[];
  /**
   * Who may switch a tenant's invitation emails on (INVITE_SWITCH_BY): `tenant` (default) its own admins too, `platform`
   * the platform admin only — for an operator whose tenants must not mail in its name at will (docs/invitations.md).
   */
  inviteSwitchBy?: 'tenant' | 'platform';
  /** Graph access for the outbound preview; built from db and secretsKey when absent. */
  outboundGraph?: GraphConnector;
}
