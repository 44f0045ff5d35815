/**
 * `make bench`: runs every benchmark in turn, each printing its figures and a closing JSON line. Benchmarks that
 * are not in this build yet are skipped with a note.
 */
const BENCHES = ['./scim-load', './graph-emulator', './outbound', './outbound-flood'];

async function main(): Promise<void> {
  for (const name of BENCHES) {
    let mod: { main?: (argv?: string[]) => Promise<unknown> };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(name) as typeof mod;
    } catch (err) {
      if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') {
        console.log(`\n== ${name}: not built, skipped`);
        continue;
      }
      throw err;
    }
    console.log(`\n== ${name.slice(2)}`);
    await mod.main?.([]);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
