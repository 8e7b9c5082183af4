import { basename } from 'node:path';

/**
 * The name prefix of this process's temporary files beside `path` (`.<name>.stade-tmp-<pid>`). The main thread
 * removes whatever carries it when the run is interrupted, even if the worker had not announced it yet.
 */
export function tempPrefix(path: string): string {
  return `.${basename(path)}.stade-tmp-${process.pid}`;
}
