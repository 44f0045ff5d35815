/** A benchmark's `--name value` arguments over its numeric defaults; a name it does not have is an error. */
export function parseNumberOptions<T extends { [K in keyof T]: number }>(argv: readonly string[], defaults: T): T {
  const opts = { ...defaults } as Record<string, number>;
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '');
    if (!Object.hasOwn(opts, key)) throw new Error(`unknown option ${argv[i]}`);
    opts[key] = Number(argv[i + 1]);
  }
  return opts as T;
}
