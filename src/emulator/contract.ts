import { z } from 'zod';
// Imported (not read from disk) so `tsc` copies the data file into dist/ next to the compiled module.
import contractJson from '../graph/graph-user-contract.json';

/**
 * The microsoft.graph.user contract (types, nullability, read-only, create/update settable), generated from
 * Microsoft's v1.0 metadata and kept as a data file next to this module. Validation and the default property set
 * are driven from it so the emulator cannot drift from Graph by hand-editing rules.
 */

export interface PropertySchema {
  type?: 'string' | 'boolean' | 'number' | 'array';
  format?: string;
  $ref?: string;
  items?: PropertySchema;
  nullable: boolean;
  readOnly?: boolean;
  create?: boolean;
  update?: boolean;
  requiredOnCreate?: boolean;
  appOnlyWritable?: boolean;
  maxLength?: number;
  maxItems?: number;
  itemMaxLength?: number;
  memberMaxLength?: number;
  writePermissions?: string[];
  flags?: string[];
}

const PropertySchemaZ: z.ZodType<PropertySchema> = z.lazy(() =>
  z.object({
    type: z.enum(['string', 'boolean', 'number', 'array']).optional(),
    format: z.string().optional(),
    $ref: z.string().optional(),
    items: PropertySchemaZ.optional(),
    nullable: z.boolean().default(true),
    readOnly: z.boolean().optional(),
    create: z.boolean().optional(),
    update: z.boolean().optional(),
    requiredOnCreate: z.boolean().optional(),
    appOnlyWritable: z.boolean().optional(),
    maxLength: z.number().optional(),
    maxItems: z.number().optional(),
    itemMaxLength: z.number().optional(),
    memberMaxLength: z.number().optional(),
    writePermissions: z.array(z.string()).optional(),
    flags: z.array(z.string()).optional(),
  }),
);

const ContractZ = z.object({
  entity: z.literal('microsoft.graph.user'),
  requiredOnCreate: z.array(z.string()),
  properties: z.record(z.string(), PropertySchemaZ),
  complexTypes: z.record(
    z.string(),
    z.object({ open: z.boolean().optional(), properties: z.record(z.string(), PropertySchemaZ) }),
  ),
  enums: z.record(z.string(), z.array(z.string())),
});

export interface UserContract {
  requiredOnCreate: readonly string[];
  properties: ReadonlyMap<string, PropertySchema>;
  /** lower-case name → canonical name, because Graph matches `$select`/`$filter` names case-insensitively. */
  canonicalNames: ReadonlyMap<string, string>;
  complexTypes: ReadonlyMap<string, { open: boolean; properties: ReadonlyMap<string, PropertySchema> }>;
  enums: ReadonlyMap<string, readonly string[]>;
}

/**
 * v1.0 returns only these without `$select` (graph.md §2). `securityIdentifier` is described as default in newer
 * descriptions but is not returned by v1.0 today, so it stays out.
 */
export const DEFAULT_USER_PROPERTIES: readonly string[] = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

/** The Edm type name of a primitive property, as the OData library writes it in messages. */
export function edmTypeName(schema: PropertySchema): string {
  if (schema.type === 'boolean') return 'Edm.Boolean';
  if (schema.type === 'number') return schema.format === 'int64' ? 'Edm.Int64' : 'Edm.Int32';
  switch (schema.format) {
    case 'date-time':
      return 'Edm.DateTimeOffset';
    case 'uuid':
      return 'Edm.Guid';
    case 'time':
      return 'Edm.TimeOfDay';
    default:
      return 'Edm.String';
  }
}

let cached: UserContract | undefined;

/** Loads and validates the contract file once per process. */
export function userContract(): UserContract {
  if (cached) return cached;
  const parsed = ContractZ.parse(contractJson as unknown);
  const properties = new Map(Object.entries(parsed.properties));
  const canonicalNames = new Map<string, string>();
  for (const name of properties.keys()) canonicalNames.set(name.toLowerCase(), name);
  const complexTypes = new Map(
    Object.entries(parsed.complexTypes).map(([k, v]) => [
      k,
      { open: v.open ?? false, properties: new Map(Object.entries(v.properties)) },
    ]),
  );
  cached = {
    requiredOnCreate: parsed.requiredOnCreate,
    properties,
    canonicalNames,
    complexTypes,
    enums: new Map(Object.entries(parsed.enums)),
  };
  return cached;
}
