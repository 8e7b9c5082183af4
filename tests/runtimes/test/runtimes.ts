import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: plain .mjs helper without type declarations
import { runtimeCommands } from '../install.mjs';

/** A JavaScript runtime the tests spawn: `cmd ...pre script ...args`. */
export interface Runtime {
  name: string;
  cmd: string;
  pre: string[];
}

/** Node 20 (the machine's, the one running vitest), the current Node LTS, Bun and Deno (tests/runtimes/engines). */
export const RUNTIMES: Runtime[] = runtimeCommands() as Runtime[];

export const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** The result of one run. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script args` on `rt` (synchronously), with the worker-thread count fixed unless given. */
export function runOn(
  rt: Runtime,
  script: string,
  args: readonly string[] = [],
  opts: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
): Run {
  const r = spawnSync(rt.cmd, [...rt.pre, script, ...args], {
    cwd: opts.cwd ?? repo,
    env: { ...process.env, STADE_THREADS: '1', NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeout ?? 240_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The runtime's version line (for failure messages). */
export function versionOf(rt: Runtime): string {
  const r = spawnSync(rt.cmd, ['--version'], { encoding: 'utf8' });
  return `${rt.name} ${(r.stdout ?? '').split('\n')[0]}`.trim();
}
