import { DIGITS, generateOneTimePassword, LOWER, PASSWORD_LENGTH, SYMBOLS, UPPER } from '../../../src/graph/password';

describe('one-time password for new Entra accounts', () => {
  const samples = Array.from({ length: 2000 }, () => generateOneTimePassword());

  it('is 12 characters with at least one lower-case letter, upper-case letter, digit and symbol', () => {
    for (const p of samples) {
      expect(p).toHaveLength(PASSWORD_LENGTH);
      for (const set of [LOWER, UPPER, DIGITS, SYMBOLS]) expect([...p].some((c) => set.includes(c))).toBe(true);
    }
  });

  it("uses only characters Entra's password policy allows", () => {
    const allowed = /^[A-Za-z0-9@#$%^&*\-_!+=[\]{}|\\:',.?/`~"();<> ]+$/;
    for (const p of samples) expect(p).toMatch(allowed);
  });

  it('differs every time and does not always put the guaranteed classes first', () => {
    expect(new Set(samples).size).toBe(samples.length);
    const firstIsLower = samples.filter((p) => LOWER.includes(p[0]!)).length;
    expect(firstIsLower).toBeLessThan(samples.length * 0.6);
  });

  it('draws from the injected random source (crypto.randomInt by default)', () => {
    expect(generateOneTimePassword(() => 0)).toHaveLength(12);
  });
});
