#!/usr/bin/env node
// The `stade` command's launcher. It is committed (not built) so that npm can link it as a bin when the
// workspace is installed, before `npm run build` has produced dist/main.js; it then just loads the built CLI.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('stade: error: the CLI is not built yet (apps/cli/dist/main.js is missing): run npm run build first');
  process.exit(1);
}
await import(main.href);
