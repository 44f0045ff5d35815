// Graph's own facts about the user entity (generated from Microsoft's v1.0 metadata; the emulator is driven by the
// same file, so what the worker checks here is what the emulator and Graph refuse).
import contract from './graph-user-contract.json';

const properties = contract.properties as Record<string, { maxLength?: number } | undefined>;

/** The most characters Graph takes for this user property, or undefined (no limit known, or not a string). */
export function maxLengthOf(property: string): number | undefined {
  return Object.hasOwn(properties, property) ? properties[property]?.maxLength : undefined;
}
