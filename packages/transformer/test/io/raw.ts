// Test helpers: temporary folders and hand-made (possibly corrupt) safetensors files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh folder under os.tmpdir(), removed after the test file. */
export function tmpDir(prefix = 'stade-io-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** The bytes of a safetensors file: 8-byte LE length (or `length`), the header text/bytes, then `data`. */
export function rawBytes(
  header: string | Uint8Array | object,
  data: Uint8Array = new Uint8Array(0),
  length?: bigint,
): Uint8Array {
  const h =
    header instanceof Uint8Array
      ? header
      : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Writes `rawBytes(...)` to a new file and returns its path. */
export function rawFile(
  header: string | Uint8Array | object,
  data?: Uint8Array,
  length?: bigint,
  dir = tmpDir(),
): string {
  const p = path.join(dir, 'model.safetensors');
  fs.writeFileSync(p, rawBytes(header, data, length));
  return p;
}

/** A small valid Llama config.json object. */
export const LLAMA_CONFIG = Object.freeze({
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
});
