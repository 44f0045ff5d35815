import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export type CustomAttributeType = 'string' | 'number' | 'boolean' | 'date';
export const CUSTOM_ATTRIBUTE_TYPES: readonly CustomAttributeType[] = ['string', 'number', 'boolean', 'date'];

/**
 * A custom attribute defined in the HRIS. SCIM clients address it as
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:<id>` (the id is what admins paste into Entra).
 */
export interface CustomAttributeDefinition {
  id: string;
  name: string;
  type: CustomAttributeType;
  createdAt: Date;
}

/** Ids end up inside a SCIM attribute path, so they are restricted to characters that need no escaping there. */
export const CUSTOM_ATTRIBUTE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class DuplicateCustomAttributeError extends Error {
  override name = 'DuplicateCustomAttributeError';
  readonly status = 409;
  constructor(
    readonly id: string,
    /** The id that was asked for, when it differs from the existing one only in case. */
    requested?: string,
  ) {
    super(
      requested !== undefined && requested !== id
        ? `a custom attribute with id "${id}" already exists; "${requested}" differs only in case, and SCIM attribute names are case-insensitive`
        : `a custom attribute with id "${id}" already exists`,
    );
  }
}

export class InvalidCustomAttributeError extends Error {
  override name = 'InvalidCustomAttributeError';
  readonly status = 400;
}

interface Row {
  id: string;
  name: string;
  type: CustomAttributeType;
  created_at: Date;
}

const toDefinition = (r: Row): CustomAttributeDefinition => ({
  id: r.id,
  name: r.name,
  type: r.type,
  createdAt: r.created_at,
});

export async function listCustomAttributeDefinitions(
  db: Knex | Knex.Transaction,
  tenantId: string,
): Promise<CustomAttributeDefinition[]> {
  const rows: Row[] = await db('custom_attribute_definitions')
    .where({ tenant_id: tenantId })
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .select('id', 'name', 'type', 'created_at');
  return rows.map(toDefinition);
}

/** Creates a definition; without an id a short url-safe one is generated. Duplicate id → DuplicateCustomAttributeError. */
export async function createCustomAttributeDefinition(
  db: Knex,
  tenantId: string,
  input: { id?: string; name: string; type: CustomAttributeType },
): Promise<CustomAttributeDefinition> {
  const id = input.id ?? randomBytes(6).toString('base64url');
  if (!CUSTOM_ATTRIBUTE_ID.test(id)) {
    throw new InvalidCustomAttributeError('custom attribute id may contain only letters, digits, "-" and "_" (max 64)');
  }
  if (!CUSTOM_ATTRIBUTE_TYPES.includes(input.type)) {
    throw new InvalidCustomAttributeError(`custom attribute type must be one of ${CUSTOM_ATTRIBUTE_TYPES.join(', ')}`);
  }
  const name = input.name.trim();
  if (name.length === 0) throw new InvalidCustomAttributeError('custom attribute name must not be empty');
  // SCIM attribute names are case-insensitive (RFC 7643 §2.1), so "Shirt" beside "shirt" would be one name for two
  // attributes in /Schemas, and a path or filter in another case would find either: an id taken in any case is taken.
  const rows = await db.raw<{ rows: Row[] }>(
    `INSERT INTO custom_attribute_definitions (tenant_id, id, name, type)
       SELECT ?, ?, ?, ?
        WHERE NOT EXISTS (SELECT 1 FROM custom_attribute_definitions WHERE tenant_id = ? AND lower(id) = lower(?))
       ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id, name, type, created_at`,
    [tenantId, id, name, input.type, tenantId, id],
  );
  if (rows.rows.length === 0) {
    const taken = await db('custom_attribute_definitions')
      .where({ tenant_id: tenantId })
      .whereRaw('lower(id) = lower(?)', [id])
      .first<{ id: string } | undefined>('id');
    throw new DuplicateCustomAttributeError(taken?.id ?? id, id);
  }
  return toDefinition(rows.rows[0]);
}

const CUSTOM_SOURCE = 'customAttributes.';

/**
 * The outbound mapping sources (`customAttributes.<id>`) that name no custom attribute the tenant defines, each with
 * the defined id it differs from only in case, if any. The sync reads such a source as null, so mapping one would
 * clear the Entra property on every account it syncs.
 */
export async function undefinedCustomSources(
  db: Knex,
  tenantId: string,
  sources: readonly string[],
): Promise<Array<{ source: string; definedAs?: string }>> {
  const wanted = sources.filter((s) => s.startsWith(CUSTOM_SOURCE));
  if (wanted.length === 0) return [];
  const defined = (await listCustomAttributeDefinitions(db, tenantId)).map((d) => d.id);
  return wanted
    .map((source) => source.slice(CUSTOM_SOURCE.length))
    .filter((id) => !defined.includes(id))
    .map((id) => {
      const definedAs = defined.find((d) => d.toLowerCase() === id.toLowerCase());
      return { source: `${CUSTOM_SOURCE}${id}`, ...(definedAs ? { definedAs } : {}) };
    });
}

/** Whether the tenant's outbound mapping reads the custom attribute `id` (then it must not be deleted). */
export async function isMappedOutbound(db: Knex, tenantId: string, id: string): Promise<boolean> {
  const row = await db('outbound_settings')
    .where({ tenant_id: tenantId })
    .whereRaw(`mapping @> ?::jsonb`, [JSON.stringify([{ source: `${CUSTOM_SOURCE}${id}` }])])
    .first('tenant_id');
  return row !== undefined;
}

/**
 * Deletes a definition; returns false when the tenant has none with that id. Values already stored on employees are
 * kept (they reappear if the id is defined again) but are no longer returned over SCIM.
 */
export async function deleteCustomAttributeDefinition(db: Knex, tenantId: string, id: string): Promise<boolean> {
  const n = await db('custom_attribute_definitions').where({ tenant_id: tenantId, id }).delete();
  return n > 0;
}
