/** Runs a benchmark's `main` as a script: exit code 0 when it finished, 1 (with the error) when it failed. */
export function runAsScript(main: () => Promise<unknown>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
