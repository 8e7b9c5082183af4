import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, Tensor } from '@stade/tensor';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  CheckpointError,
  DTYPE_SIZE,
  type FloatDtype,
  SafetensorsFile,
  SafetensorsWriter,
  writeSafetensors,
} from '../../src/index.js';
import { rawFile, tmpDir } from './raw.js';

const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** What a float32 value becomes after a round trip through `dtype`. */
function roundTrip(d: FloatDtype, x: number): number {
  if (d === 'F32') return Math.fround(x);
  return d === 'F16' ? f16ToF32(f32ToF16(x)) : bf16ToF32(f32ToBf16(x));
}

const arbShape = fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 });
const arbDtype = fc.constantFrom<FloatDtype>('F32', 'F16', 'BF16');
const arbName = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__proto__' && s !== '__metadata__');
const arbEntries = fc
  .uniqueArray(fc.record({ name: arbName, dtype: arbDtype, shape: arbShape }), {
    selector: (e) => e.name,
    maxLength: 5,
  })
  .chain((specs) =>
    fc.tuple(
      ...specs.map((s) =>
        fc.float32Array({ minLength: numel(s.shape), maxLength: numel(s.shape) }).map((data) => ({ ...s, data })),
      ),
    ),
  );

describe('writeSafetensors / SafetensorsFile round trip', () => {
  test('every dtype, random shapes (scalars and 0-sized dims), names and values incl. NaN/Inf/-0', () => {
    const dir = tmpDir();
    let k = 0;
    fc.assert(
      fc.property(arbEntries, (entries) => {
        const p = path.join(dir, `rt${k++}.safetensors`);
        writeSafetensors(p, entries);
        const f = SafetensorsFile.open(p);
        try {
          expect(new Set(f.names())).toEqual(new Set(entries.map((e) => e.name)));
          expect(f.metadata.format).toBe('pt');
          for (const e of entries) {
            const info = f.info(e.name);
            expect(info.dtype).toBe(e.dtype);
            expect(info.shape).toEqual(e.shape);
            const t = f.read(e.name);
            expect(t.shape).toEqual(e.shape);
            const got = t.toArray();
            const want = Array.from(e.data, (x) => roundTrip(e.dtype, x));
            for (let i = 0; i < want.length; i++) {
              if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
                throw new Error(`${e.dtype} ${e.name}[${i}]: got ${got[i]}, want ${want[i]}`);
              }
            }
            expect(f.readRaw(e.name).length).toBe(numel(e.shape) * DTYPE_SIZE[e.dtype]);
          }
        } finally {
          f.close();
          fs.rmSync(p);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('tensors larger than the 4 MB conversion scratch (odd sizes) convert exactly', () => {
    const p = path.join(tmpDir(), 'big.safetensors');
    const n = 2_100_001; // F16/BF16: 4.2 MB stored, two chunks plus one element
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 1000;
    writeSafetensors(p, [
      { name: 'h', dtype: 'F16', shape: [n], data },
      { name: 'b', dtype: 'BF16', shape: [1, n], data },
    ]);
    const f = SafetensorsFile.open(p);
    for (const [name, d] of [
      ['h', 'F16'],
      ['b', 'BF16'],
    ] as const) {
      const got = f.read(name).values();
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) if (got[i] !== roundTrip(d, data[i]!)) bad = i;
      expect(bad, `${name}: first mismatch`).toBe(-1);
    }
    f.close();
  });

  test('layout: 8-byte aligned header padded with spaces, metadata first, largest dtype then name order', () => {
    const p = path.join(tmpDir(), 'a.safetensors');
    const d = new Float32Array([1, 2, 3]);
    writeSafetensors(
      p,
      [
        { name: 'b', dtype: 'F16', shape: [3], data: d },
        { name: 'z', dtype: 'F32', shape: [3], data: d },
        { name: 'a', dtype: 'F16', shape: [1, 3], data: d },
        { name: 'y', dtype: 'F32', shape: [3, 1], data: d },
      ],
      { note: 'hi' },
    );
    const bytes = fs.readFileSync(p);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = bytes.subarray(8, 8 + n).toString('utf8');
    expect(header.startsWith('{"__metadata__":{"format":"pt","note":"hi"}')).toBe(true);
    expect(header.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
    const f = SafetensorsFile.open(p);
    const order = [...f.header.values()].sort((x, y) => x.begin - y.begin).map((t) => t.name);
    expect(order).toEqual(['y', 'z', 'a', 'b']);
    expect(f.dataStart + 3 * 4 * 2 + 3 * 2 * 2).toBe(bytes.length);
    f.close();
  });

  test('accepts a Tensor (including a transposed view) as data', () => {
    const p = path.join(tmpDir(), 't.safetensors');
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]).transpose(); // [3, 2] view
    writeSafetensors(p, [{ name: 'w', dtype: 'F32', shape: [3, 2], data: t }]);
    expect(SafetensorsFile.open(p).read('w').toArray()).toEqual([1, 4, 2, 5, 3, 6]);
  });

  test('object-internal names are ordinary tensors (constructor, toString, hasOwnProperty)', () => {
    const p = path.join(tmpDir(), 'n.safetensors');
    const names = ['constructor', 'toString', 'hasOwnProperty', 'prototype'];
    writeSafetensors(
      p,
      names.map((name, i) => ({ name, dtype: 'F32' as const, shape: [1], data: new Float32Array([i]) })),
    );
    const f = SafetensorsFile.open(p);
    expect(names.map((n) => f.read(n).toArray()[0])).toEqual([0, 1, 2, 3]);
    expect(f.has('valueOf')).toBe(false);
    expect(() => f.info('valueOf')).toThrow(CheckpointError);
  });

  test('writer refuses bad input and leaves nothing behind', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'bad.safetensors');
    const d = new Float32Array(4);
    const bad: Parameters<typeof writeSafetensors>[1][] = [
      [{ name: 'a', dtype: 'F32', shape: [5], data: d }], // too few values
      [
        { name: 'a', dtype: 'F32', shape: [4], data: d },
        { name: 'a', dtype: 'F32', shape: [4], data: d },
      ], // duplicate
      [{ name: '__proto__', dtype: 'F32', shape: [4], data: d }],
      [{ name: 'a', dtype: 'I32' as FloatDtype, shape: [4], data: d }],
      [{ name: 'a', dtype: 'F32', shape: [2, 2], data: Tensor.zeros([4]) }], // tensor shape differs
    ];
    for (const entries of bad) {
      expect(() => writeSafetensors(p, entries)).toThrow(CheckpointError);
      expect(fs.readdirSync(dir)).toEqual([]);
    }
  });

  test('a failed write keeps the previous file intact (atomic replace)', () => {
    const p = path.join(tmpDir(), 'keep.safetensors');
    writeSafetensors(p, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([7, 8]) }]);
    const before = fs.readFileSync(p);
    expect(() => writeSafetensors(p, [{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(
      CheckpointError,
    );
    expect(fs.readFileSync(p).equals(before)).toBe(true);
  });

  test('streaming writer: tensors written one at a time in any order; commit checks completeness', () => {
    const dir = tmpDir();
    const p = path.join(dir, 's.safetensors');
    const specs = [
      { name: 'l.0.w', dtype: 'BF16' as const, shape: [2, 2] },
      { name: 'l.1.w', dtype: 'F16' as const, shape: [3] },
      { name: 'e', dtype: 'F32' as const, shape: [] },
    ];
    const w = SafetensorsWriter.create(p, specs);
    w.write('l.1.w', new Float32Array([1, 2, 3]));
    expect(fs.existsSync(p)).toBe(false); // nothing visible before commit
    w.write('e', new Float32Array([42]));
    expect(() => w.write('e', new Float32Array([1]))).toThrow(/written twice/);
    expect(() => w.write('nope', new Float32Array([1]))).toThrow(/not in the planned header/);
    w.write('l.0.w', Tensor.from([1, 2, 3, 4], [2, 2]));
    w.commit();
    const f = SafetensorsFile.open(p);
    expect(f.read('e').toArray()).toEqual([42]);
    expect(f.read('l.0.w').toArray()).toEqual([1, 2, 3, 4]);
    expect(f.read('l.1.w').toArray()).toEqual([1, 2, 3]);
    expect(fs.readdirSync(dir)).toEqual(['s.safetensors']);

    const w2 = SafetensorsWriter.create(path.join(dir, 'incomplete.safetensors'), specs);
    w2.write('e', new Float32Array([1]));
    expect(() => w2.commit()).toThrow(/never written/);
    expect(fs.readdirSync(dir)).toEqual(['s.safetensors']);
  });

  test('F32 files are read straight into shared float32 storage; reads after close() reopen', () => {
    const p = path.join(tmpDir(), 'r.safetensors');
    writeSafetensors(p, [{ name: 'x', dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) }]);
    const f = SafetensorsFile.open(p);
    f.close();
    f.close();
    expect(f.read('x').toArray()).toEqual([1.5, -2]);
    f.close();
  });
});

describe('compatibility with files written by PyTorch (committed fixtures)', () => {
  const fixtures = path.resolve(__dirname, '../fixtures');
  const files = fs.existsSync(fixtures)
    ? fs
        .readdirSync(fixtures, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.safetensors'))
        .map((f) => path.join(fixtures, f))
    : [];

  test.runIf(files.length > 0)('reads every fixture; a rewrite holds the same raw tensor bytes and metadata', () => {
    for (const p of files) {
      const f = SafetensorsFile.open(p);
      const entries = f.names().map((name) => {
        const info = f.info(name);
        return { name, dtype: info.dtype as FloatDtype, shape: info.shape, data: f.read(name).values() };
      });
      const out = path.join(tmpDir(), 'copy.safetensors');
      writeSafetensors(out, entries, { ...f.metadata });
      const g = SafetensorsFile.open(out);
      expect({ ...g.metadata }).toEqual({ ...f.metadata });
      for (const e of entries) {
        expect(g.info(e.name).shape).toEqual(e.shape);
        expect(Buffer.from(g.readRaw(e.name)).equals(Buffer.from(f.readRaw(e.name))), `${p} ${e.name}`).toBe(true);
      }
      f.close();
      g.close();
    }
  });
});

test('reading one tensor reads only its bytes (3 GB sparse file; fs.readSync counted)', () => {
  const small = new Float32Array([1, 2, 3, 4]);
  const bigElems = 750_000_000; // 3 GB of F32, never materialised
  const header = {
    small: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
    big: { dtype: 'F32', shape: [bigElems], data_offsets: [16, 16 + bigElems * 4] },
  };
  const p = rawFile(header, new Uint8Array(small.buffer));
  const dataStart = fs.statSync(p).size - 16;
  fs.truncateSync(p, dataStart + 16 + bigElems * 4); // sparse: no disk used
  // Count every byte read through node:fs (the ESM named exports follow the CommonJS object after sync).
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const orig = cjsFs.readSync;
  const reads: number[] = [];
  cjsFs.readSync = ((...args: unknown[]) => {
    const n = (orig as (...a: unknown[]) => number)(...args);
    reads.push(n);
    return n;
  }) as typeof fs.readSync;
  syncBuiltinESMExports();
  try {
    const f = SafetensorsFile.open(p);
    expect(f.size).toBeGreaterThan(3e9);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(dataStart); // length prefix + header only
    reads.length = 0;
    expect(f.read('small').toArray()).toEqual([1, 2, 3, 4]);
    expect(reads).toEqual([16]);
    expect(f.info('big').end).toBe(16 + bigElems * 4);
    f.close();
  } finally {
    cjsFs.readSync = orig;
    syncBuiltinESMExports();
  }
});
