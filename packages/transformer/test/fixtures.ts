// Reads the golden fixtures written by tools/make_fixtures.py (see tools/README.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface Reference {
  seed: number;
  dtype: 'F32' | 'F16' | 'BF16';
  ids: number[];
  logits: { file: string; dtype: 'float32'; shape: [number, number] };
  perplexity: { seqlen: number; ids: number[]; ppl: number; windows: number; window_losses: number[] };
}

export interface Fixture {
  name: string;
  dir: string;
  ref: Reference;
  ids: Int32Array;
  /** PyTorch's logits, row-major [tokens, vocab]. */
  logits: Float32Array;
}

/** Every fixture folder, sorted by name. */
export function fixtureNames(): string[] {
  return fs
    .readdirSync(FIXTURES_DIR)
    .filter((n) => fs.existsSync(path.join(FIXTURES_DIR, n, 'reference.json')))
    .sort();
}

export function loadFixture(name: string): Fixture {
  const dir = path.join(FIXTURES_DIR, name);
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
  const buf = fs.readFileSync(path.join(dir, ref.logits.file));
  const logits = new Float32Array(buf.byteLength / 4);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < logits.length; i++) logits[i] = view.getFloat32(i * 4, true);
  if (logits.length !== ref.logits.shape[0] * ref.logits.shape[1])
    throw new Error(`${dir}: logits.bin does not match its shape`);
  return { name, dir, ref, ids: Int32Array.from(ref.ids), logits };
}

/** max |a - b| / max |b| (the "relative" error of a whole logits matrix). */
export function relMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= diff)) diff = d; // NaN propagates
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}
