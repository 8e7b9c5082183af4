/**
 * Where a command writes: stdout (results only), stderr (progress, logs), and a registry of temporary
 * paths that must disappear if the run fails or is interrupted. In the `stade` process the command runs in
 * a worker thread and these calls become messages to the main thread (see main.ts / worker.ts).
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal (progress bars redraw in place) and its width. */
  readonly isTTY: boolean;
  readonly columns: number;
  /** A temporary file or folder now exists; remove it if the run dies. */
  tempCreated(path: string): void;
  /** The temporary path was renamed into place or removed. */
  tempDone(path: string): void;
}

/** An Io writing to the given functions (tests, or direct runs). */
export function captureIo(opts: Partial<Io> = {}): Io & { stdout: string[]; stderr: string[]; temps: Set<string> } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const temps = new Set<string>();
  return {
    stdout,
    stderr,
    temps,
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    isTTY: false,
    columns: 80,
    tempCreated: (p) => temps.add(p),
    tempDone: (p) => temps.delete(p),
    ...opts,
  };
}
