import { existsSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error: plain .mjs helpers without type declarations
import { publicWorkspaces } from '../../../.ci/workspaces.mjs';
// @ts-expect-error: plain .mjs helper without type declarations
import { installEngines } from '../install.mjs';

/** Global setup: the runtimes are installed and every published workspace is built. */
export default function setup(): void {
  for (const { dir, pkg } of publicWorkspaces() as { dir: string; pkg: { name: string } }[]) {
    if (!existsSync(join(dir, 'dist'))) {
      throw new Error(`runtime tests: ${pkg.name} is not built (${dir}/dist is missing): run npm run build first`);
    }
  }
  installEngines();
}
