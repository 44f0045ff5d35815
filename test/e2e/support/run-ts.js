/**
 * Runs a TypeScript entry point in a plain child Node process (no build step), by transpiling each .ts file on
 * require with the project's TypeScript. Lets e2e tests start real entry points (src/bin/worker.ts) as separate
 * processes they can SIGKILL.   node test/e2e/support/run-ts.js src/bin/worker.ts
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  sourceMap: false,
};
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
// The entry point sees the argv node would give it: [node, entry, ...its arguments].
const entry = path.resolve(process.argv[2]);
process.argv.splice(1, 2, entry);
require(entry);
