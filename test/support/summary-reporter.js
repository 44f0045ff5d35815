// Writes the run's closing line `N passed, M failed` for .ci/run. A file that could not run counts as failed.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed`;
    const out = path.resolve(__dirname, '../../.data/test-summary.txt');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${line}\n`);
  }
}

module.exports = SummaryReporter;
