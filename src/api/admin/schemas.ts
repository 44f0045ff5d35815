import { z } from 'zod';
import { CUSTOM_ATTRIBUTE_ID, CUSTOM_ATTRIBUTE_TYPES } from '../../db/custom-attributes';
import { LIFECYCLE_STATUSES } from '../../db/employees';
import { UUID } from './auth';

/** A UUID in any case, lower-cased: ids are stored and compared in lower case. */
export const Uuid = z
  .string()
  .regex(UUID, 'must be a UUID')
  .transform((id) => id.toLowerCase());

/**
 * Keys that name an object's prototype machinery: SCIM bodies refuse them as keys (src/api/json-body.ts), so a custom
 * attribute with such an id could be defined but never written.
 */
export const FORBIDDEN_ATTRIBUTE_IDS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Request bodies and query strings of the admin API; also the source of the OpenAPI document's schemas. */
export const TenantCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  inviteNewEmployees: z.boolean().optional(),
});
export const TenantPatch = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  inviteNewEmployees: z.boolean().optional(),
});
export const TokenCreate = z.strictObject({ name: z.string().trim().min(1).max(200).default('token') });

export const CustomAttributeCreate = z.strictObject({
  id: z
    .string()
    .regex(CUSTOM_ATTRIBUTE_ID, 'letters, digits, "-" and "_" only, at most 64')
    .refine(
      (id) => !FORBIDDEN_ATTRIBUTE_IDS.includes(id),
      'is reserved: __proto__, constructor and prototype cannot be ids',
    )
    .optional(),
  name: z.string().trim().min(1).max(200),
  type: z.enum(CUSTOM_ATTRIBUTE_TYPES as [string, ...string[]]),
});

export const TeamCreate = z.strictObject({ displayName: z.string().trim().min(1).max(256) });

export const EmployeePatch = z.strictObject({ lifecycleStatus: z.enum(LIFECYCLE_STATUSES) });

export const EmployeeListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  // Bounded where a JavaScript number is still exact (PostgreSQL's bigint holds more, but 1e20 it refuses with a 500).
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  lifecycleStatus: z.enum(LIFECYCLE_STATUSES).optional(),
});

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});
