// Prints "N passed, N failed" from vitest's JSON reports; exits non-zero when nothing ran or anything failed.
// Usage: node .ci/summary.mjs <report.json | folder of reports>. With a folder (CI: .ci/vitest, one report per
// workspace written by `npm test` under CI=true, see vitest.config.ts), every workspace with a `test` script
// must have left a report: a missing one counts as one failure (its tests never ran or vitest crashed).
// A test file that fails to load counts as one failure (it has no test results of its own).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { reportName, testedWorkspaces } from './workspaces.mjs';

const target = process.argv[2];
let reports = [];
let failed = 0;
if (target && existsSync(target) && statSync(target).isDirectory()) {
  const present = new Set(readdirSync(target).filter((f) => f.endsWith('.json')));
  for (const name of testedWorkspaces()) {
    const file = reportName(name);
    if (!present.has(file)) {
      console.log(`ci: no vitest report for ${name} (${join(target, file)})`);
      failed += 1;
    }
  }
  reports = [...present].sort().map((f) => join(target, f));
} else {
  reports = [target];
}
let passed = 0;
let skipped = 0;
for (const file of reports) {
  let r;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.log(`ci: no vitest report at ${file}: ${e.message}`);
    failed += 1;
    continue;
  }
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
  );
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + brokenFiles.length;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(passed > 0 && failed === 0 ? 0 : 1);
