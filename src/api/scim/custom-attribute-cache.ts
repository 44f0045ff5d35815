import { listCustomAttributeDefinitions, type CustomAttributeDefinition } from '../../db/custom-attributes';
import type { Db } from '../../db/knex';
import type { CustomAttributeLookup } from './patch';

/** A tenant's custom attribute definitions with id lookups (exact, then case-insensitive). */
export class CustomAttributeSet {
  private readonly byId = new Map<string, CustomAttributeDefinition>();
  private readonly byLower = new Map<string, CustomAttributeDefinition>();

  constructor(readonly definitions: readonly CustomAttributeDefinition[]) {
    for (const d of definitions) {
      this.byId.set(d.id, d);
      if (!this.byLower.has(d.id.toLowerCase())) this.byLower.set(d.id.toLowerCase(), d);
    }
  }

  readonly lookup: CustomAttributeLookup = (id) => this.byId.get(id) ?? this.byLower.get(id.toLowerCase());
  readonly isDefined = (id: string): boolean => this.byId.has(id);

  /**
   * Whether a stored value may be shown as the attribute `id` defines it now. A definition deleted and made again with
   * another type leaves values of the old type on employees (kept, see deleteCustomAttributeDefinition): a string
   * must not come back as a number attribute's value.
   */
  readonly fits = (id: string, value: unknown): boolean => {
    const type = this.byId.get(id)?.type;
    switch (type) {
      case 'number':
        return typeof value === 'number';
      case 'boolean':
        return typeof value === 'boolean';
      case 'date':
        return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
      case 'string':
        return typeof value === 'string';
      default:
        return false;
    }
  };

  /** True when the two sets do not define the same ids with the same types. */
  differsFrom(other: CustomAttributeSet): boolean {
    if (other.definitions.length !== this.definitions.length) return true;
    return this.definitions.some((d) => other.byId.get(d.id)?.type !== d.type);
  }
}

const TTL_MS = 5_000;

/**
 * Caches each tenant's definitions for a few seconds so the hot paths (filter GET, PATCH) do not reload them per
 * request. A request that names an id the cached set does not know forces a reload (`fresh`, see withDefinitions),
 * so a definition an admin has just created works at once; a deleted one may still be accepted for up to TTL_MS.
 */
export class CustomAttributeCache {
  private readonly entries = new Map<string, { set: CustomAttributeSet; loadedAt: number }>();

  constructor(private readonly db: Db) {}

  async get(tenantId: string, opts: { fresh?: boolean } = {}): Promise<CustomAttributeSet> {
    const now = Date.now();
    const hit = this.entries.get(tenantId);
    if (hit && !opts.fresh && now - hit.loadedAt < TTL_MS) return hit.set;
    const set = new CustomAttributeSet(await listCustomAttributeDefinitions(this.db, tenantId));
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(tenantId, { set, loadedAt: now });
    return set;
  }
}
