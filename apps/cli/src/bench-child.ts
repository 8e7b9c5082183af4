/**
 * One `stade bench` measurement in its own process (so that its resident memory is its own): reads the
 * request as JSON from argv[2], prints one JSON row on stdout, or one error line on stderr with exit code 1.
 */
import { type BenchRequest, measureSpeed } from './commands/bench-measure.js';
import { errorLine } from './errors.js';

try {
  const row = measureSpeed(JSON.parse(process.argv[2] ?? '') as BenchRequest);
  process.stdout.write(`${JSON.stringify(row)}\n`, () => process.exit(0));
} catch (e) {
  process.stderr.write(`${errorLine(e)}\n`, () => process.exit(1));
}
