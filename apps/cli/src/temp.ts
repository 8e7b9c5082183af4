import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * The name prefix of this process's temporary files beside `path` (`.<name>.stade-tmp-<pid>`). The main thread
 * removes whatever carries it when the run is interrupted, even if the worker had not announced it yet.
 */
export function tempPrefix(path: string): string {
  return `.${basename(path)}.stade-tmp-${process.pid}`;
}

/** True when a process with this id exists (it may belong to someone else: then we leave its files alone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary folders beside `path` left by earlier runs that were killed outright (SIGKILL, power loss):
 * `.<name>.stade-tmp-<pid>-*` whose process no longer exists. Returns the removed paths (to report them).
 */
export function removeStaleTemps(path: string): string[] {
  const dir = dirname(resolve(path));
  const prefix = `.${basename(path)}.stade-tmp-`;
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)/.exec(e.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const p = join(dir, e);
    try {
      rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch {
      // cannot remove: leave it, the user sees it
    }
  }
  return removed;
}
