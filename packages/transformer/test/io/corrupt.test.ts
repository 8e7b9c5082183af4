// SPEC section 11: every corrupt safetensors file gets one clear CheckpointError naming the file (and tensor).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CheckpointError, MAX_HEADER_BYTES, SafetensorsFile, writeSafetensors } from '../../src/index.js';
import { rawBytes, rawFile, tmpDir } from './raw.js';

const f32 = (n: number) => ({ dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] });

/** Opens `p` expecting a CheckpointError whose message matches `re` and names the file. */
function expectCorrupt(p: string, re: RegExp, key?: string): CheckpointError {
  let err: unknown;
  try {
    SafetensorsFile.open(p).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CheckpointError);
  const e = err as CheckpointError;
  expect(e.message).toMatch(re);
  expect(e.message).toContain(p);
  expect(e.file).toBe(p);
  if (key !== undefined) {
    expect(e.key).toBe(key);
    expect(e.message).toContain(JSON.stringify(key));
  }
  return e;
}

describe('corrupt safetensors files', () => {
  test('missing file', () => {
    expectCorrupt(path.join(tmpDir(), 'none.safetensors'), /cannot open \(ENOENT\)/);
  });

  test('a folder instead of a file', () => {
    expectCorrupt(tmpDir(), /(not a regular file|EISDIR)/);
  });

  test('shorter than the 8-byte length', () => {
    const p = path.join(tmpDir(), 'x.safetensors');
    fs.writeFileSync(p, new Uint8Array(5));
    expectCorrupt(p, /truncated: 5 bytes/);
  });

  test('header length past the end of the file', () => {
    expectCorrupt(rawFile({ a: f32(1) }, new Uint8Array(4), 1000n), /header length 1000 goes past the end/);
  });

  test('header length over 100 MB (and the largest u64)', () => {
    expectCorrupt(rawFile('{}', undefined, BigInt(MAX_HEADER_BYTES + 1)), /exceeds the 100000000-byte limit/);
    expectCorrupt(rawFile('{}', undefined, 2n ** 64n - 1n), /header length 18446744073709551615 exceeds/);
  });

  test('truncated data: a tensor ends past the end of the file', () => {
    const bytes = rawBytes({ a: f32(4) }, new Uint8Array(16));
    const p = path.join(tmpDir(), 't.safetensors');
    fs.writeFileSync(p, bytes.subarray(0, bytes.length - 3));
    expectCorrupt(p, /data_offsets \[0,16\] outside the data section of 13 bytes/, 'a');
  });

  test('header that is not valid UTF-8', () => {
    expectCorrupt(rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/);
  });

  test('invalid JSON', () => {
    expectCorrupt(rawFile('{"a": {"dtype": "F32",'), /not valid JSON/);
    expectCorrupt(rawFile(''), /not valid JSON/);
  });

  test('JSON that is not an object', () => {
    expectCorrupt(rawFile('[1, 2]'), /must be a JSON object, got \[1,2\]/);
    expectCorrupt(rawFile('null'), /must be a JSON object, got null/);
    expectCorrupt(rawFile('"x"'), /must be a JSON object/);
  });

  test('unknown dtype', () => {
    expectCorrupt(
      rawFile({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)),
      /unknown dtype "F128"/,
      'w',
    );
    expectCorrupt(
      rawFile({ w: { dtype: '__proto__', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /unknown dtype/,
      'w',
    );
    expectCorrupt(
      rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /unknown dtype undefined/,
      'w',
    );
  });

  test('bad shape', () => {
    const d = new Uint8Array(8);
    expectCorrupt(rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, d), /shape must be/, 'w');
    expectCorrupt(rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, d), /shape must be/, 'w');
    expectCorrupt(rawFile({ w: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, d), /shape must be/, 'w');
    expectCorrupt(
      rawFile({ w: { dtype: 'F32', shape: [2 ** 60, 2 ** 60], data_offsets: [0, 8] } }, d),
      /shape must be|needs/,
      'w',
    );
  });

  test('overlapping offsets', () => {
    const e = expectCorrupt(
      rawFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
      /overlap those of "a"/,
      'b',
    );
    expect(e.message).toContain('[4, 12]');
  });

  test('out-of-range offsets', () => {
    const d = new Uint8Array(8);
    expectCorrupt(
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, d),
      /outside the data section of 8 bytes/,
      'a',
    );
    expectCorrupt(
      rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, d),
      /outside the data section/,
      'a',
    );
    expectCorrupt(
      rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [-4, 0] } }, d),
      /outside the data section/,
      'a',
    );
    expectCorrupt(
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, d),
      /data_offsets must be \[begin, end\]/,
      'a',
    );
    expectCorrupt(
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, '8'] } }, d),
      /data_offsets must be two integers/,
      'a',
    );
    expectCorrupt(
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 2 ** 70] } }, d),
      /data_offsets must be two integers/,
      'a',
    );
  });

  test('byte length not equal to product(shape) x dtype size', () => {
    expectCorrupt(
      rawFile({ a: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 24] } }, new Uint8Array(24)),
      /hold 24 bytes but shape \[2,3\] of F16 needs 12/,
      'a',
    );
  });

  test('__proto__ as a tensor name is refused (and pollutes nothing)', () => {
    const p = rawFile('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4));
    expectCorrupt(p, /forbidden tensor name/, '__proto__');
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  test('__metadata__ must map strings to strings; its keys are stored safely', () => {
    expectCorrupt(rawFile({ __metadata__: { format: 1 } }), /__metadata__ value of "format" must be a string/);
    expectCorrupt(rawFile({ __metadata__: [] }), /__metadata__ must be an object/);
    const p = rawFile('{"__metadata__": {"__proto__": "x", "format": "pt"}}');
    const f = SafetensorsFile.open(p);
    expect(Object.getPrototypeOf(f.metadata)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(f.metadata, '__proto__')?.value).toBe('x');
    expect(({} as Record<string, unknown>).format).toBeUndefined();
  });

  test('entry that is not an object', () => {
    expectCorrupt(rawFile({ a: 5 }), /entry must be an object/, 'a');
    expectCorrupt(rawFile({ a: null }), /entry must be an object/, 'a');
  });

  test('8-bit float dtypes are recognised for inspection but not read as float32', () => {
    const p = rawFile({ q: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
    const f = SafetensorsFile.open(p);
    expect(f.info('q').dtype).toBe('F8_E4M3');
    expect(() => f.read('q')).toThrow(/dtype F8_E4M3 cannot be read as float32/);
  });

  test('integer and bool dtypes convert to float32', () => {
    const data = new Uint8Array(8 + 4 + 2 + 1 + 1);
    const dv = new DataView(data.buffer);
    dv.setBigInt64(0, -5n, true);
    dv.setInt32(8, 123456, true);
    dv.setInt16(12, -300, true);
    dv.setInt8(14, -7);
    dv.setUint8(15, 2);
    const p = rawFile(
      {
        i64: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
        i32: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
        i16: { dtype: 'I16', shape: [1], data_offsets: [12, 14] },
        i8: { dtype: 'I8', shape: [1], data_offsets: [14, 15] },
        b: { dtype: 'BOOL', shape: [1], data_offsets: [15, 16] },
      },
      data,
    );
    const f = SafetensorsFile.open(p);
    expect(['i64', 'i32', 'i16', 'i8', 'b'].map((n) => f.read(n).toArray()[0])).toEqual([-5, 123456, -300, -7, 1]);
  });

  test('the file shrinking after open is reported, not read as garbage', () => {
    const p = path.join(tmpDir(), 'shrink.safetensors');
    writeSafetensors(p, [{ name: 'a', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
    const f = SafetensorsFile.open(p);
    fs.truncateSync(p, f.dataStart + 8);
    expect(() => f.read('a')).toThrow(/truncated/);
    f.close();
    expect(() => f.read('a')).toThrow(/changed size/);
  });
});

describe('fuzz: the reader only ever throws CheckpointError', () => {
  const dir = tmpDir();
  const p = path.join(dir, 'fuzz.safetensors');

  /** Opens the file and reads every tensor; any error must be a CheckpointError. */
  function openAndReadAll(bytes: Uint8Array): void {
    fs.writeFileSync(p, bytes);
    try {
      const f = SafetensorsFile.open(p);
      for (const n of f.names()) {
        try {
          f.read(n);
        } catch (e) {
          if (!(e instanceof CheckpointError)) throw e;
        }
      }
      f.close();
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw new Error(`non-CheckpointError: ${String(e)}`, { cause: e });
    }
  }

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => openAndReadAll(b)),
      { numRuns: 200 },
    );
  });

  test('random header bytes behind a consistent length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), (h, d) =>
        openAndReadAll(rawBytes(h, d)),
      ),
      { numRuns: 200 },
    );
  });

  const arbDim = fc.oneof(
    fc.integer({ min: -2, max: 6 }),
    fc.constantFrom(1.5, 2 ** 53, 1e300, Number.NaN),
    fc.string({ maxLength: 2 }),
  );
  const arbOffset = fc.oneof(
    fc.integer({ min: -4, max: 80 }),
    fc.constantFrom(2 ** 60, 0.5, -0),
    fc.string({ maxLength: 2 }),
    fc.constant(null),
  );
  const arbEntry = fc.oneof(
    fc.record(
      {
        dtype: fc.oneof(
          fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E5M2', 'X', '__proto__', 'toString'),
          fc.anything(),
        ),
        shape: fc.oneof(fc.array(arbDim, { maxLength: 3 }), fc.anything()),
        data_offsets: fc.oneof(fc.array(arbOffset, { minLength: 0, maxLength: 3 }), fc.anything()),
      },
      { requiredKeys: [] },
    ),
    fc.anything(),
  );
  const arbKey = fc.oneof(
    fc.constantFrom('__proto__', '__metadata__', 'constructor', '', 'a', 'b'),
    fc.string({ maxLength: 4 }),
  );
  const arbHeader = fc.dictionary(arbKey, arbEntry, { maxKeys: 4 });

  test('random JSON headers (structure-aware), including __proto__ keys', () => {
    fc.assert(
      fc.property(arbHeader, fc.uint8Array({ maxLength: 96 }), fc.boolean(), (h, d, proto) => {
        let text = JSON.stringify(h);
        const protoEntry = '"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
        if (proto) text = text === '{}' ? `{${protoEntry}}` : `{${protoEntry},${text.slice(1)}`;
        openAndReadAll(rawBytes(text, d));
        expect(({} as Record<string, unknown>).dtype).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  test('random length prefixes', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 40 }), (len, d) =>
        openAndReadAll(rawBytes('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', d, len)),
      ),
      { numRuns: 200 },
    );
  });
});

describe('fuzz: damaged copies of a valid file only produce CheckpointError', () => {
  const dir = tmpDir();
  const good = path.join(dir, 'good.safetensors');
  writeSafetensors(good, [
    { name: 'model.layers.0.w', dtype: 'F32', shape: [3, 2], data: new Float32Array(6).fill(1) },
    { name: 'model.layers.0.b', dtype: 'F16', shape: [3], data: new Float32Array(3).fill(2) },
    { name: 'model.norm', dtype: 'BF16', shape: [], data: new Float32Array([3]) },
  ]);
  const bytes = fs.readFileSync(good);
  const p = path.join(dir, 'bad.safetensors');

  test('byte edits in the length and header, and truncations', () => {
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const edit = fc.record({
      at: fc.integer({ min: 0, max: headerEnd - 1 }),
      value: fc.oneof(
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom(0x22, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x30, 0x39, 0x2d),
      ),
    });
    fc.assert(
      fc.property(
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        fc.option(fc.integer({ min: 0, max: bytes.length })),
        (edits, cut) => {
          const b = Uint8Array.from(bytes);
          for (const e of edits) b[e.at] = e.value;
          fs.writeFileSync(p, cut === null ? b : b.subarray(0, cut));
          try {
            const f = SafetensorsFile.open(p);
            for (const n of f.names()) f.read(n);
            f.close();
          } catch (e) {
            if (!(e instanceof CheckpointError)) throw new Error(`non-CheckpointError: ${String(e)}`, { cause: e });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

test('file system errors read as one sentence naming the file once', () => {
  const p = path.join(tmpDir(), 'none.safetensors');
  expect(() => SafetensorsFile.open(p)).toThrow(`${p}: cannot open (ENOENT): no such file or directory`);
  try {
    SafetensorsFile.open(p);
  } catch (e) {
    expect((e as Error).message.split(p).length).toBe(2);
  }
});

test('a tensor too large to hold in one float32 array is a CheckpointError, not a RangeError', () => {
  const n = 1_200_000_000; // 4.8 GB of F32 in a sparse file
  const p = rawFile({ huge: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] } });
  fs.truncateSync(p, fs.statSync(p).size + n * 4);
  const f = SafetensorsFile.open(p);
  expect(() => f.read('huge')).toThrow(/tensor "huge": cannot allocate 1200000000 float32 values/);
  f.close();
  fs.rmSync(p);
});
