import type { Io } from '../io.js';

/** Formats seconds as `m:ss` (or `h:mm:ss`). */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A progress bar with ETA on stderr. On a terminal it redraws one line in place (at most every 100 ms);
 * otherwise it prints plain lines (every step for short tasks, every 10% for long ones).
 */
export class Progress {
  private readonly start: number;
  private lastDraw = 0;
  private lastPct = -1;
  private drawn = false;

  constructor(
    private readonly io: Io,
    private readonly label: string,
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  /** Reports `done` of `total` steps finished, with an optional detail (e.g. the layer name). */
  update(done: number, detail = ''): void {
    const t = this.now();
    const elapsed = (t - this.start) / 1000;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : Number.NaN;
    const pct = Math.floor(frac * 100);
    const counts = `${done}/${this.total}`;
    const tail = `${counts} ${String(pct).padStart(3)}% ${fmtDuration(elapsed)} elapsed, ETA ${fmtDuration(eta)}`;
    if (this.io.isTTY) {
      if (t - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = t;
      const width = Math.max(10, Math.min(30, this.io.columns - this.label.length - tail.length - 10));
      const fill = Math.round(frac * width);
      let line = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${tail}`;
      if (detail) line += ` ${detail}`;
      line = line.slice(0, Math.max(20, this.io.columns - 1));
      this.io.err(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      const step = this.total > 10 ? 10 : 0;
      if (step > 0 && done < this.total && pct < this.lastPct + step) return;
      this.lastPct = pct;
      this.io.err(`${this.label}: ${tail}${detail ? ` ${detail}` : ''}\n`);
    }
  }

  /** Ends the bar (moves to a new line on a terminal). */
  finish(): void {
    if (this.io.isTTY && this.drawn) this.io.err('\n');
    this.drawn = false;
  }
}

/** A log line on stderr. */
export function log(io: Io, msg: string): void {
  io.err(`${msg}\n`);
}
