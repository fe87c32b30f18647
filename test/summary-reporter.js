/** Prints one plain closing line "tests: N passed, N failed" so CI can read the outcome. */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    console.log(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
  }
}
module.exports = SummaryReporter;
