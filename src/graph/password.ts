import { randomInt } from 'node:crypto';

/**
 * One-time passwords for new Entra accounts: 12 characters with at least one lower-case letter, upper-case letter,
 * digit and symbol (the vendor article's rule, stricter than Entra's three-of-four). Symbols come from Entra's
 * allowed set (graph.md §5), minus blank and quotes so the password survives being read out or pasted.
 * The password goes into the create request only: callers must never store, log or return it.
 */
export const PASSWORD_LENGTH = 12;
export const LOWER = 'abcdefghijkmnopqrstuvwxyz';
export const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
export const DIGITS = '23456789';
export const SYMBOLS = '@#$%^&*-_!+=[]{}|:,.?/~()';
const ALL = LOWER + UPPER + DIGITS + SYMBOLS;

/** `pick(n)` returns a uniformly random integer in [0, n); injectable for tests of the composition. */
export function generateOneTimePassword(pick: (n: number) => number = (n) => randomInt(n)): string {
  const chars = [LOWER, UPPER, DIGITS, SYMBOLS].map((set) => set[pick(set.length)]!);
  while (chars.length < PASSWORD_LENGTH) chars.push(ALL[pick(ALL.length)]!);
  // Fisher–Yates, so the guaranteed classes do not always sit in the first four positions.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
