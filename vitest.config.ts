import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { reportName } from './.ci/workspaces.mjs';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources; only worker entry points are loaded from dist/.
const alias = {
  '@stade/tensor/testing': src('./packages/tensor/src/testing/index.ts'),
  '@stade/tensor': src('./packages/tensor/src/index.ts'),
  '@stade/transformer': src('./packages/transformer/src/index.ts'),
  '@stade/prune': src('./packages/prune/src/index.ts'),
  '@stade/eval': src('./packages/eval/src/index.ts'),
};

const project = (name: string, dir: string) => ({
  resolve: { alias },
  test: { name, root: src(dir), include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 120_000 },
});

// Under CI, each workspace's `npm test` (run by `turbo run test`) also writes vitest's JSON report to
// .ci/vitest/<package>.json; .ci/summary.mjs adds them up into CI's final line.
const pkg = process.env.npm_package_name;
const ciReports =
  process.env.CI && pkg?.startsWith('@stade/')
    ? { reporters: ['default', 'json'], outputFile: { json: src(`./.ci/vitest/${reportName(pkg)}`) } }
    : {};

export default defineConfig({
  test: {
    ...ciReports,
    projects: [
      project('@stade/tensor', './packages/tensor'),
      project('@stade/transformer', './packages/transformer'),
      project('@stade/prune', './packages/prune'),
      project('@stade/eval', './packages/eval'),
      project('@stade/cli', './apps/cli'),
      project('@stade/docs', './apps/docs'),
      {
        ...project('@stade/runtime-tests', './tests/runtimes'),
        test: {
          ...project('@stade/runtime-tests', './tests/runtimes').test,
          include: ['test/**/*.test.ts'],
          globalSetup: [src('./tests/runtimes/test/setup.ts')],
          testTimeout: 600_000,
        },
      },
    ],
  },
});
