// Imports every installed @stade package by name (from a fresh folder where only the npm pack tarballs were
// installed) and runs a little of each. Prints one JSON line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = readdirSync(join(process.cwd(), 'node_modules', '@stade'));
const loaded = {};
for (const d of dirs) {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'node_modules', '@stade', d, 'package.json'), 'utf8'));
  if (!pkg.exports?.['.']) continue; // subpath exports only (the CLI: ./spec)
  loaded[pkg.name] = Object.keys(await import(pkg.name)).length;
}
const { Tensor, linear, setThreads, shutdownPool } = await import('@stade/tensor');
setThreads(2);
const y = linear(Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]), Tensor.from([1, 0, 0, 0, 1, 0], [2, 3]));
const spec = await import('@stade/cli/spec');
await shutdownPool();
console.log(JSON.stringify({ loaded, y: Array.from(y.values()), commands: Object.keys(spec).length > 0 }));
