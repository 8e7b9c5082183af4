// Installs the JavaScript runtimes the runtime tests spawn (engines/: Node LTS, Bun and Deno from their npm
// packages, pinned by engines/package-lock.json) unless they are installed already. They live in their own
// folder, not in the root devDependencies: the `node` package's bin would shadow the machine's Node in every
// npm script. Run by .ci/run and by the tests' global setup; prints nothing when there is nothing to do.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const enginesDir = fileURLToPath(new URL('./engines/', import.meta.url));
const bin = (name) => join(enginesDir, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

/** The runtimes' launchers in engines/node_modules/.bin. */
export const engineBins = { node: bin('node'), bun: bin('bun'), deno: bin('deno') };

/**
 * The runtimes the tests and `npm run bench` use, as `cmd ...pre script`: Node 20 (the running Node), the
 * current Node LTS, Bun and Deno.
 */
export const runtimeCommands = () => [
  { name: 'node', cmd: process.execPath, pre: [] },
  { name: 'node-lts', cmd: engineBins.node, pre: [] },
  { name: 'bun', cmd: engineBins.bun, pre: [] },
  { name: 'deno', cmd: engineBins.deno, pre: ['run', '-A', '--quiet'] },
];

/** Installs engines/ from its lockfile when any launcher is missing. */
export function installEngines() {
  if (Object.values(engineBins).every((b) => existsSync(b))) return;
  console.error('runtime tests: installing Node LTS, Bun and Deno into tests/runtimes/engines (npm ci)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: enginesDir, stdio: 'inherit' });
  for (const [name, b] of Object.entries(engineBins)) {
    if (!existsSync(b)) throw new Error(`runtime tests: ${name} is still missing after npm ci in ${enginesDir}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) installEngines();
